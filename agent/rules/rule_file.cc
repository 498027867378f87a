#include "agent/rules/rule_file.h"

#include <glob.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "agent/base/log.h"
#include "agent/history/retention_plan.h"
#include "agent/promql/promql_parser.h"

namespace txmon {

namespace {

// Reading stops at the first problem, which is thrown as a located message
// and returned as a Status by ParseRuleFile.
struct RuleFileError {
  std::string message;
};

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
              (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  return IsMetricName(name) && name.find(':') == std::string_view::npos;
}

class RuleFileReader {
 public:
  explicit RuleFileReader(std::string file) : file_(std::move(file)) {}

  void Read(const YAML::Node& root, std::vector<RuleGroupSpec>* out) {
    if (!root.IsDefined() || root.IsNull()) return;  // an empty file has no groups
    ExpectMap(root, "", {"groups"});
    const YAML::Node groups = root["groups"];
    if (!groups.IsDefined() || groups.IsNull()) return;
    if (!groups.IsSequence()) Fail(groups, "groups: want a list");
    std::set<std::string> names;
    for (const YAML::Node& group : groups) {
      RuleGroupSpec spec = ReadGroup(group);
      if (!names.insert(spec.name).second) {
        Fail(group, "groupname: \"" + spec.name + "\" is repeated in the same file");
      }
      out->push_back(std::move(spec));
    }
  }

 private:
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& reason) const {
    std::string where = file_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where +=
          ":" + std::to_string(node.Mark().line + 1) + ":" + std::to_string(node.Mark().column + 1);
    }
    throw RuleFileError{where + ": " + context_ + reason};
  }

  void ExpectMap(const YAML::Node& node, const std::string& what,
                 std::initializer_list<std::string_view> fields) const {
    if (!node.IsMap()) Fail(node, what + "want a mapping");
    for (const auto& entry : node) {
      std::string key = entry.first.as<std::string>();
      if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
        Fail(entry.first, what + "field " + key + " not found (allowed: " + Join(fields) + ")");
      }
    }
  }

  static std::string Join(std::initializer_list<std::string_view> fields) {
    std::string out;
    for (std::string_view field : fields) out += (out.empty() ? "" : ", ") + std::string(field);
    return out;
  }

  std::string Scalar(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar()) Fail(node, field + ": want a string");
    return node.as<std::string>();
  }

  int64_t Duration(const YAML::Node& node, const std::string& field) const {
    int64_t ms = 0;
    if (Status s = ParseDuration(Scalar(node, field), &ms); !s.ok()) {
      Fail(node, field + ": " + s.message());
    }
    return ms;
  }

  RuleGroupSpec ReadGroup(const YAML::Node& node) {
    context_.clear();
    ExpectMap(node, "group: ", {"name", "interval", "limit", "rules"});
    RuleGroupSpec group;
    group.file = file_;
    if (!node["name"]) Fail(node, "group: field name must be set");
    group.name = Scalar(node["name"], "name");
    if (group.name.empty()) Fail(node["name"], "groupname must not be empty");
    context_ = "group \"" + group.name + "\": ";
    if (node["interval"]) {
      group.interval_ms = Duration(node["interval"], "interval");
      if (group.interval_ms <= 0) Fail(node["interval"], "interval: must be positive");
    }
    if (node["limit"]) {
      try {
        group.limit = node["limit"].as<int64_t>();
      } catch (const YAML::Exception&) {
        Fail(node["limit"], "limit: want an integer");
      }
    }
    const YAML::Node rules = node["rules"];
    if (rules && !rules.IsNull()) {
      if (!rules.IsSequence()) Fail(rules, "rules: want a list");
      std::string group_context = context_;
      int index = 0;
      for (const YAML::Node& rule : rules) {
        context_ = group_context + "rule " + std::to_string(++index) + ": ";
        group.rules.push_back(ReadRule(rule, group_context, index));
      }
      context_ = group_context;
    }
    return group;
  }

  RuleSpec ReadRule(const YAML::Node& node, const std::string& group_context, int index) {
    ExpectMap(node, "",
              {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"});
    RuleSpec rule;
    rule.line = node.Mark().line + 1;
    bool record = static_cast<bool>(node["record"]), alert = static_cast<bool>(node["alert"]);
    if (record && alert) Fail(node, "only one of 'record' and 'alert' must be set");
    if (!record && !alert) Fail(node, "one of 'record' or 'alert' must be set");
    rule.kind = alert ? RuleSpec::Kind::kAlerting : RuleSpec::Kind::kRecording;
    rule.name = Scalar(alert ? node["alert"] : node["record"], alert ? "alert" : "record");
    context_ = group_context + "rule " + std::to_string(index) + " (" +
               (alert ? "alert" : "record") + " \"" + rule.name + "\"): ";
    if (rule.name.empty())
      Fail(node, std::string(alert ? "alert" : "record") + " must not be empty");
    if (record && !IsMetricName(rule.name)) {
      Fail(node["record"], "invalid recording rule name: " + rule.name);
    }
    ReadExpr(node, &rule);
    if (record) {
      for (const char* field : {"for", "keep_firing_for", "annotations"}) {
        if (node[field])
          Fail(node[field], std::string("invalid field '") + field + "' in recording rule");
      }
    } else {
      if (node["for"]) rule.for_ms = Duration(node["for"], "for");
      if (node["keep_firing_for"]) {
        rule.keep_firing_for_ms = Duration(node["keep_firing_for"], "keep_firing_for");
      }
    }
    rule.labels = ReadPairs(node["labels"], "labels", alert, rule.name);
    for (const TemplatedPair& label : rule.labels) {
      if (record && label.name == kMetricNameLabel) {
        Fail(node["labels"], "invalid recording rule label name: " + label.name);
      }
    }
    if (alert) rule.annotations = ReadPairs(node["annotations"], "annotations", true, rule.name);
    return rule;
  }

  void ReadExpr(const YAML::Node& node, RuleSpec* rule) {
    const YAML::Node expr = node["expr"];
    if (!expr || expr.IsNull() || Scalar(expr, "expr").empty()) {
      Fail(node, "field 'expr' must be set in rule");
    }
    rule->expr_text = expr.as<std::string>();
    ExprPtr parsed;
    if (Status s = ParseExpr(rule->expr_text, &parsed); !s.ok()) {
      Fail(expr, "expr: " + s.message());
    }
    ValueType type = parsed->type();
    if (type != ValueType::kVector && type != ValueType::kScalar) {
      Fail(expr, "expr: invalid expression type \"" + std::string(ValueTypeName(type)) +
                     "\" for a rule (want instant vector or scalar)");
    }
    if (Status s = RetentionPlan::CheckRuleExpr(*parsed); !s.ok())
      Fail(expr, "expr: " + s.message());
    rule->expr = std::move(parsed);
  }

  std::vector<TemplatedPair> ReadPairs(const YAML::Node& node, const std::string& field,
                                       bool templated, const std::string& rule_name) {
    std::vector<TemplatedPair> pairs;
    if (!node || node.IsNull()) return pairs;
    if (!node.IsMap()) Fail(node, field + ": want a mapping");
    for (const auto& entry : node) {
      TemplatedPair pair;
      pair.name = entry.first.as<std::string>();
      if (!IsLabelName(pair.name)) {
        Fail(entry.first, field == "labels" ? "invalid label name: " + pair.name
                                            : "invalid annotation name: " + pair.name);
      }
      pair.text = Scalar(entry.second, field + "." + pair.name);
      if (templated) {
        std::string template_name = "__alert_" + rule_name;
        if (Status s = AlertTemplate::Parse(pair.text, template_name, &pair.compiled); !s.ok()) {
          Fail(entry.second, field + "." + pair.name + ": " + s.message());
        }
      }
      pairs.push_back(std::move(pair));
    }
    return pairs;
  }

  const std::string file_;
  std::string context_;
};

}  // namespace

Status ParseRuleFile(const std::string& yaml, const std::string& file,
                     std::vector<RuleGroupSpec>* out) {
  try {
    YAML::Node root = YAML::Load(yaml);
    std::vector<RuleGroupSpec> groups;
    RuleFileReader(file).Read(root, &groups);
    for (RuleGroupSpec& group : groups) out->push_back(std::move(group));
    return Status::Ok();
  } catch (const RuleFileError& error) {
    return Status::Error(error.message);
  } catch (const YAML::Exception& error) {
    return Status::Error(file + ":" + std::to_string(error.mark.line + 1) + ":" +
                         std::to_string(error.mark.column + 1) + ": " + error.msg);
  }
}

Status LoadRuleFiles(const std::vector<std::string>& patterns, std::vector<RuleGroupSpec>* out,
                     std::vector<std::string>* unmatched) {
  std::set<std::string> seen;
  for (const std::string& pattern : patterns) {
    glob_t matches{};
    int rc = glob(pattern.c_str(), 0, nullptr, &matches);
    if (rc != 0 && rc != GLOB_NOMATCH) {
      globfree(&matches);
      return Status::Error("rule_files: cannot expand \"" + pattern + "\"");
    }
    std::vector<std::string> files(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
    globfree(&matches);
    if (files.empty()) {
      if (unmatched != nullptr) {
        unmatched->push_back(pattern);
      } else {
        Log(LogLevel::kWarn, "rules",
            "rule_files pattern matches no file; its rules are not loaded", {{"pattern", pattern}});
      }
    }
    for (const std::string& file : files) {
      if (!seen.insert(file).second) continue;
      std::ifstream input(file);
      if (!input) return Status::Error(file + ": cannot read rule file");
      std::stringstream text;
      text << input.rdbuf();
      if (Status s = ParseRuleFile(text.str(), file, out); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace txmon
