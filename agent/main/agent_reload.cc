// Agent::Reload and its HTTP handler: re-reading txmon.yml and the rule
// files while the agent runs (SIGHUP, POST /-/reload).
#include <chrono>

#include "agent/base/log.h"
#include "agent/base/wall_clock.h"
#include "agent/decode/decoder_factory.h"
#include "agent/main/agent.h"
#include "agent/main/binlog_wiring.h"

namespace txmon {

namespace {

constexpr int64_t kOne = 1'000'000;  // 1 in micro-units

// What a reload cannot change while running, so the operator knows a
// restart is still due.
void WarnAboutRestartOnlyChanges(const AgentConfig& running, const AgentConfig& loaded) {
  if (running.time_zone != loaded.time_zone) {
    Log(LogLevel::kWarn, "config", "global.time_zone changes need a restart",
        {{"running", running.time_zone}, {"loaded", loaded.time_zone}});
  }
  const KafkaConfig& a = running.source.kafka;
  const KafkaConfig& b = loaded.source.kafka;
  if (a.brokers != b.brokers || a.topics != b.topics || a.group_id != b.group_id) {
    Log(LogLevel::kWarn, "config", "source changes need a restart");
  }
  if (running.alertmanager_urls != loaded.alertmanager_urls ||
      running.external_labels != loaded.external_labels) {
    Log(LogLevel::kWarn, "config", "alerting.alertmanagers and external_labels need a restart");
  }
  if (running.remote_write != loaded.remote_write) {
    Log(LogLevel::kWarn, "config", "remote_write changes need a restart");
  }
}

// Anyone who can reach POST /-/reload can ask for reloads as fast as the
// network allows; with a broken file each would log a line. The gauge
// txmon_config_last_reload_successful still says every outcome.
void LogRefusedReload(const std::string& path, const Status& status) {
  static LogRateLimit limit(2);
  uint64_t suppressed = 0;
  if (!limit.Allow(&suppressed)) return;
  Log(LogLevel::kError, "config", "refused the reloaded configuration; keeping the running one",
      {{"file", path}, {"err", status.message()}, {"suppressed", std::to_string(suppressed)}});
}

}  // namespace

Status Agent::RegisterReloadMetrics() {
  Metric *successful, *timestamp;
  if (Status s = store_.Add({"txmon_config_last_reload_successful",
                             "1 if the last configuration reload succeeded, else 0.",
                             MetricType::kGauge,
                             {},
                             {},
                             {}},
                            &successful);
      !s.ok()) {
    return s;
  }
  if (Status s = store_.Add({"txmon_config_last_reload_success_timestamp_seconds",
                             "Time of the last successful configuration load (the start counts), "
                             "seconds since the epoch.",
                             MetricType::kGauge,
                             {},
                             {},
                             {}},
                            &timestamp);
      !s.ok()) {
    return s;
  }
  reload_successful_ = successful->Resolve({});
  reload_timestamp_ = timestamp->Resolve({});
  return Status::Ok();
}

void Agent::RecordReload(bool ok) {
  reload_successful_->Set(ok ? kOne : 0);
  if (ok) reload_timestamp_->Set(FloorDiv(WallClockMs(), 1000) * kOne);
}

Status Agent::Reload() {
  std::lock_guard lock(reload_mutex_);
  const std::string path = options_.config.file;
  AgentConfig loaded;
  Status s = options_.load_config ? options_.load_config(&loaded) : LoadConfigFile(path, &loaded);
  if (s.ok()) s = ApplyReload(loaded);
  RecordReload(s.ok());
  if (!s.ok()) {
    LogRefusedReload(path, s);
    return s;
  }
  WarnAboutRestartOnlyChanges(options_.config, loaded);
  Log(LogLevel::kInfo, "config", "reloaded the configuration",
      {{"file", path},
       {"metrics", std::to_string(loaded.metrics.size())},
       {"rule_groups", std::to_string(rules_->groups().size())}});
  const std::string time_zone = options_.config.time_zone;
  SourceConfig source = std::move(options_.config.source);
  options_.config = std::move(loaded);
  options_.config.time_zone = time_zone;       // still the one in use
  options_.config.source = std::move(source);  // likewise
  return Status::Ok();
}

// Rules are checked before the mappings are handed over, and the mappings
// compiled before the rules are swapped, so a refusal changes nothing.
Status Agent::ApplyReload(const AgentConfig& config) {
  std::vector<RuleGroupSpec> groups;
  if (Status s = LoadRuleFiles(config.rule_files, &groups); !s.ok()) {
    return Status::Error("rules: " + s.message());
  }
  std::unique_ptr<RowMapper> mapper;
  if (Status s = RowMapper::CompileForReload(config.metrics, store_, &mapper); !s.ok()) return s;
  DecodeSchema schema = mapper->decode_schema();
  schema.max_message_bytes = config.source.max_message_bytes;
  std::unique_ptr<Decoder> decoder;
  if (Status s =
          MakeDecoder(config.source.format, schema, binlog_config(), &binlog_columns_, &decoder);
      !s.ok()) {
    return s;
  }
  rules_->Reload(std::move(groups), config.evaluation_interval_ms);
  pipeline_->Reconfigure(std::move(decoder), std::move(mapper));
  return Status::Ok();
}

HttpHandler ReloadHandler(Agent* agent, bool enabled) {
  return [agent, enabled](const HttpRequest& request) {
    if (!enabled) return HttpResponse::Text(403, "Lifecycle API is not enabled.\n");
    if (request.method != "POST" && request.method != "PUT") {
      return HttpResponse::MethodNotAllowed("POST, PUT", "Only POST or PUT requests allowed\n");
    }
    Status s = agent->Reload();
    if (!s.ok()) return HttpResponse::Text(500, "failed to reload config: " + s.message() + "\n");
    return HttpResponse::Text(200, "");
  };
}

}  // namespace txmon
