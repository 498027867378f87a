#include "agent/main/start_check.h"

#include <memory>
#include <set>

#include "agent/base/civil_time.h"
#include "agent/decode/decoder_factory.h"
#include "agent/map/row_mapper.h"
#include "agent/rules/rule_file.h"
#include "agent/store/metric_store.h"

namespace txmon {

namespace {

// Series names a rule may select without a mapping producing them: the
// agent's own metrics (which ones exist depends on the source), the ALERTS
// series of the rules, and `up`, which Prometheus adds where it scrapes.
bool IsOutsideMappings(const std::string& name) {
  return name.starts_with("txmon_") || name.starts_with("process_") || name == "up" ||
         name == "ALERTS" || name == "ALERTS_FOR_STATE";
}

// Every series name the mappings and recording rules write.
std::set<std::string> ProducedNames(const AgentConfig& config,
                                    const std::vector<RuleGroupSpec>& groups) {
  std::set<std::string> names;
  for (const MetricMapping& m : config.metrics) {
    names.insert(m.name);
    if (m.type != MetricType::kHistogram) continue;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      names.insert(m.name + std::string(suffix));
    }
  }
  for (const RuleGroupSpec& group : groups) {
    for (const RuleSpec& rule : group.rules) {
      if (rule.kind == RuleSpec::Kind::kRecording) names.insert(rule.name);
    }
  }
  return names;
}

void WarnAboutUnknownSelectors(const AgentConfig& config, const std::vector<RuleGroupSpec>& groups,
                               std::vector<std::string>* warnings) {
  const std::set<std::string> produced = ProducedNames(config, groups);
  for (const RuleGroupSpec& group : groups) {
    for (const RuleSpec& rule : group.rules) {
      std::set<std::string> reported;
      VisitSelectors(*rule.expr, [&](const VectorSelector& selector, int64_t) {
        const std::string& name = selector.metric_name;
        if (name.empty() || produced.count(name) || IsOutsideMappings(name)) return;
        if (!reported.insert(name).second) return;
        warnings->push_back(
            group.file + ":" + std::to_string(rule.line) + ": group \"" + group.name + "\", " +
            (rule.kind == RuleSpec::Kind::kAlerting ? "alert" : "record") + " \"" + rule.name +
            "\" selects \"" + name + "\", which no metric of the config produces");
      });
    }
  }
}

}  // namespace

Status CheckStart(const AgentConfig& config, bool source_file_given, StartCheck* result) {
  *result = StartCheck();
  if (Status s = LocalZone::Check(config.time_zone); !s.ok()) {
    return Status::Error(config.file + ": global.time_zone: " + s.message());
  }
  if (!source_file_given) {
    if (Status s = CheckConfiguredSource(config); !s.ok()) return s;
  }
  MetricStore scratch;
  std::unique_ptr<RowMapper> mapper;
  if (Status s = RowMapper::Compile(config.metrics, scratch, &mapper); !s.ok()) return s;
  if (source_file_given || !config.source.has_binlog) {
    std::unique_ptr<Decoder> decoder;
    DecodeSchema schema = mapper->decode_schema();
    schema.max_message_bytes = config.source.max_message_bytes;
    if (Status s = CreateDecoder(config.source.format, schema, &decoder); !s.ok()) return s;
  }
  std::vector<RuleGroupSpec> groups;
  if (Status s = LoadRuleFiles(config.rule_files, &groups, &result->unmatched_rule_files);
      !s.ok()) {
    return Status::Error("rules: " + s.message());
  }
  result->rule_groups = groups.size();
  WarnAboutUnknownSelectors(config, groups, &result->warnings);
  return Status::Ok();
}

}  // namespace txmon
