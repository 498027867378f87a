#include "agent/config/agent_config.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "agent/base/civil_time.h"
#include "agent/base/duration.h"
#include "agent/base/fixed_point.h"
#include "agent/base/metric_names.h"
#include "agent/config/config_reader.h"
#include "agent/decode/decoder_factory.h"
#include "agent/decode/name_pattern.h"

namespace txmon {

namespace {

bool ReadImage(ConfigReader& r, const YAML::Node& node, const std::string& path, RowImage* image) {
  if (!node) return true;
  std::string text;
  if (!r.String(node, path, &text)) return false;
  if (text == "before") {
    *image = RowImage::kBefore;
  } else if (text == "after") {
    *image = RowImage::kAfter;
  } else {
    return r.Fail(node, path, "unknown image \"" + text + "\" (want before or after)");
  }
  return true;
}

// `scale: N` (a DECIMAL's digits after the point) and `epoch: days | ms |
// us | ns` (a DATE/DATETIME written as a count since the epoch): needed only
// for Debezium without its schema envelope, which does not carry them.
bool ReadColumnHint(ConfigReader& r, const YAML::Node& node, const std::string& path,
                    ColumnHint* hint) {
  if (node["scale"]) {
    uint32_t scale = 0;
    if (!r.Uint32(node["scale"], path + ".scale", &scale)) return false;
    if (scale > 30) return r.Fail(node["scale"], path + ".scale", "a DECIMAL scale is 0 to 30");
    hint->scale = static_cast<int8_t>(scale);
  }
  if (node["epoch"]) {
    std::string unit;
    if (!r.String(node["epoch"], path + ".epoch", &unit)) return false;
    static const std::pair<std::string_view, EpochUnit> kUnits[] = {{"days", EpochUnit::kDays},
                                                                    {"ms", EpochUnit::kMillis},
                                                                    {"us", EpochUnit::kMicros},
                                                                    {"ns", EpochUnit::kNanos}};
    auto it = std::find_if(std::begin(kUnits), std::end(kUnits),
                           [&](const auto& entry) { return entry.first == unit; });
    if (it == std::end(kUnits)) {
      return r.Fail(node["epoch"], path + ".epoch",
                    "unknown epoch unit \"" + unit + "\" (want days, ms, us or ns)");
    }
    hint->epoch = it->second;
  }
  if (hint->scale >= 0 && hint->epoch != EpochUnit::kNone) {
    return r.Fail(node, path, "a column has a scale or an epoch, not both");
  }
  return true;
}

bool ReadColumnRef(ConfigReader& r, const YAML::Node& node, const std::string& path,
                   ColumnRef* ref) {
  if (node.IsScalar()) return r.String(node, path, &ref->column);
  if (!r.ExpectMap(node, path, {"column", "image", "scale", "epoch"})) return false;
  if (!node["column"]) return r.Fail(node, path, "missing \"column\"");
  return r.String(node["column"], path + ".column", &ref->column) &&
         ReadImage(r, node["image"], path + ".image", &ref->image) &&
         ReadColumnHint(r, node, path, &ref->hint);
}

bool ReadFilter(ConfigReader& r, const YAML::Node& node, const std::string& path,
                ColumnFilter* filter) {
  if (!r.ExpectMap(node, path,
                   {"column", "image", "equals", "not_equals", "in", "not_in", "is_null"}))
    return false;
  if (!node["column"]) return r.Fail(node, path, "missing \"column\"");
  if (!r.String(node["column"], path + ".column", &filter->ref.column) ||
      !ReadImage(r, node["image"], path + ".image", &filter->ref.image)) {
    return false;
  }
  int conditions = 0;
  for (const char* key : {"equals", "not_equals", "in", "not_in"}) {
    if (!node[key]) continue;
    ++conditions;
    filter->negate = std::string_view(key).starts_with("not_");
    if (!r.StringList(node[key], path + "." + key, &filter->any_of)) return false;
  }
  if (node["is_null"]) {
    ++conditions;
    bool is_null = false;
    if (!r.Bool(node["is_null"], path + ".is_null", &is_null)) return false;
    filter->is_null = is_null;
  }
  if (conditions != 1) {
    return r.Fail(node, path, "needs exactly one of equals, not_equals, in, not_in, is_null");
  }
  return true;
}

bool ReadTransition(ConfigReader& r, const YAML::Node& node, const std::string& path,
                    StatusTransition* transition) {
  if (!r.ExpectMap(node, path, {"column", "from", "to"})) return false;
  if (!node["column"]) return r.Fail(node, path, "missing \"column\"");
  if (!r.String(node["column"], path + ".column", &transition->column)) return false;
  if (node["from"] && !r.StringList(node["from"], path + ".from", &transition->from)) return false;
  if (node["to"] && !r.StringList(node["to"], path + ".to", &transition->to)) return false;
  return true;
}

bool ReadLabel(ConfigReader& r, const YAML::Node& node, const std::string& path,
               LabelMapping* label) {
  if (!r.ExpectMap(
          node, path,
          {"name", "column", "image", "max_values", "null_value", "values", "scale", "epoch"}))
    return false;
  if (!node["name"]) return r.Fail(node, path, "missing \"name\"");
  if (!r.String(node["name"], path + ".name", &label->name)) return false;
  if (std::string problem = LabelNameProblem(label->name); !problem.empty()) {
    return r.Fail(node["name"], path + ".name",
                  "invalid label name \"" + label->name + "\": " + problem);
  }
  label->ref.column = label->name;
  if (node["column"] && !r.String(node["column"], path + ".column", &label->ref.column))
    return false;
  if (!ReadImage(r, node["image"], path + ".image", &label->ref.image) ||
      !ReadColumnHint(r, node, path, &label->ref.hint)) {
    return false;
  }
  if (node["max_values"] && !r.Uint32(node["max_values"], path + ".max_values", &label->max_values))
    return false;
  if (node["values"] && !r.StringList(node["values"], path + ".values", &label->values))
    return false;
  label->null_value = "unknown";
  if (node["null_value"] && !r.String(node["null_value"], path + ".null_value", &label->null_value))
    return false;
  return true;
}

bool ReadValue(ConfigReader& r, const YAML::Node& node, const std::string& path,
               ValueMapping* value) {
  if (node.IsScalar()) {
    value->kind = ValueMapping::Kind::kConstant;
    return r.Decimal(node, path, &value->constant_micros);
  }
  if (!r.ExpectMap(node, path, {"column", "image", "scale", "epoch", "seconds_between"})) {
    return false;
  }
  if (node["column"]) {
    value->kind = ValueMapping::Kind::kColumn;
    return r.String(node["column"], path + ".column", &value->column.column) &&
           ReadImage(r, node["image"], path + ".image", &value->column.image) &&
           ReadColumnHint(r, node, path, &value->column.hint);
  }
  const YAML::Node between = node["seconds_between"];
  if (!between) return r.Fail(node, path, "needs \"column\" or \"seconds_between\"");
  if (!r.ExpectMap(between, path + ".seconds_between", {"start", "end"})) return false;
  if (!between["start"] || !between["end"]) {
    return r.Fail(between, path + ".seconds_between", "needs \"start\" and \"end\" columns");
  }
  value->kind = ValueMapping::Kind::kSecondsBetween;
  return ReadColumnRef(r, between["start"], path + ".seconds_between.start",
                       &value->start_column) &&
         ReadColumnRef(r, between["end"], path + ".seconds_between.end", &value->end_column);
}

bool ReadOps(ConfigReader& r, const YAML::Node& node, const std::string& path, uint8_t* mask) {
  std::vector<std::string> ops;
  if (!r.StringList(node, path, &ops)) return false;
  *mask = 0;
  for (const std::string& op : ops) {
    if (op == "insert") {
      *mask |= 1 << static_cast<int>(RowOp::kInsert);
    } else if (op == "update") {
      *mask |= 1 << static_cast<int>(RowOp::kUpdate);
    } else if (op == "delete") {
      *mask |= 1 << static_cast<int>(RowOp::kDelete);
    } else {
      return r.Fail(node, path, "unknown change type \"" + op + "\" (want insert, update, delete)");
    }
  }
  return true;
}

bool ReadMetricType(ConfigReader& r, const YAML::Node& node, const std::string& path,
                    MetricType* type) {
  std::string text;
  if (!r.String(node, path, &text)) return false;
  if (text == "counter") {
    *type = MetricType::kCounter;
  } else if (text == "gauge") {
    *type = MetricType::kGauge;
  } else if (text == "histogram") {
    *type = MetricType::kHistogram;
  } else {
    return r.Fail(node, path, "unknown type \"" + text + "\" (want counter, gauge or histogram)");
  }
  return true;
}

bool ReadBuckets(ConfigReader& r, const YAML::Node& node, const std::string& path,
                 std::vector<int64_t>* bounds) {
  if (!node.IsSequence() || node.size() == 0) {
    return r.Fail(node, path, "expected a non-empty list of numbers");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    int64_t micros = 0;
    if (!r.Decimal(node[i], path + "[" + std::to_string(i) + "]", &micros)) return false;
    if (!bounds->empty() && micros <= bounds->back()) {
      return r.Fail(node[i], path, "buckets must be strictly ascending");
    }
    bounds->push_back(micros);
  }
  return true;
}

bool ReadGaugeAction(ConfigReader& r, const YAML::Node& node, const std::string& path,
                     GaugeAction* action) {
  std::string text;
  if (!r.String(node, path, &text)) return false;
  if (text == "set") {
    *action = GaugeAction::kSet;
  } else if (text == "add") {
    *action = GaugeAction::kAdd;
  } else if (text == "subtract") {
    *action = GaugeAction::kSubtract;
  } else {
    return r.Fail(node, path, "unknown action \"" + text + "\" (want set, add or subtract)");
  }
  return true;
}

// Metric::kMaxLabels, which the store refuses past.
constexpr size_t kMaxMetricLabels = 8;

// Checks that only make sense once the whole metric is read.
bool ValidateMetric(ConfigReader& r, const YAML::Node& node, const std::string& path,
                    const MetricMapping& m) {
  if (m.type == MetricType::kCounter && !m.name.ends_with("_total")) {
    return r.Fail(node["name"], path + ".name",
                  "counter names end in \"_total\" (Prometheus naming): \"" + m.name + "\"");
  }
  if (m.type == MetricType::kHistogram && m.bucket_bounds.empty()) {
    return r.Fail(node, path, "a histogram needs \"buckets\"");
  }
  if (m.type != MetricType::kHistogram && node["buckets"]) {
    return r.Fail(node["buckets"], path + ".buckets", "only histograms have buckets");
  }
  if (m.type != MetricType::kGauge && node["action"]) {
    return r.Fail(node["action"], path + ".action", "only gauges have an action");
  }
  if (m.type == MetricType::kCounter && m.value.kind == ValueMapping::Kind::kConstant &&
      m.value.constant_micros < 0) {
    return r.Fail(node["value"], path + ".value", "a counter cannot count a negative constant");
  }
  if (m.transition && (m.ops_mask & ~(1 << static_cast<int>(RowOp::kUpdate)))) {
    return r.Fail(node["on"], path + ".on", "a transition only matches updates");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < m.labels.size(); ++i) {
    const std::string label_path = path + ".labels[" + std::to_string(i) + "]";
    if (!names.insert(m.labels[i].name).second) {
      return r.Fail(node["labels"][i]["name"], label_path + ".name",
                    "label \"" + m.labels[i].name + "\" twice");
    }
    if (i == kMaxMetricLabels) {
      return r.Fail(node["labels"][i], label_path,
                    "a metric has at most " + std::to_string(kMaxMetricLabels) + " labels");
    }
  }
  return true;
}

// `database:` and `table:` are names, or RE2 patterns (name_pattern.h).
bool CheckNamePattern(ConfigReader& r, const YAML::Node& node, const std::string& path,
                      const std::string& text) {
  NamePattern pattern;
  if (Status s = NamePattern::Compile(text, &pattern); !s.ok()) {
    return r.Fail(node, path, "\"" + text + "\": " + s.message());
  }
  return true;
}

// `m` arrives with the defaults from `global` filled in.
bool ReadMetric(ConfigReader& r, const YAML::Node& node, const std::string& path,
                MetricMapping* m) {
  if (!r.ExpectMap(
          node, path,
          {"name", "help", "type", "database", "table", "tables", "on", "where", "transition",
           "labels", "value", "buckets", "action", "max_series", "bootstrap_inserts"})) {
    return false;
  }
  for (const char* required : {"name", "help", "type"}) {
    if (!node[required]) return r.Fail(node, path, std::string("missing \"") + required + "\"");
  }
  m->origin = r.Origin(node);
  if (!r.String(node["name"], path + ".name", &m->name) ||
      !r.String(node["help"], path + ".help", &m->help) ||
      !ReadMetricType(r, node["type"], path + ".type", &m->type)) {
    return false;
  }
  if (std::string problem = MetricNameProblem(m->name); !problem.empty()) {
    return r.Fail(node["name"], path + ".name",
                  "invalid metric name \"" + m->name + "\": " + problem);
  }
  if (node["database"] && !r.String(node["database"], path + ".database", &m->database))
    return false;
  if (node["table"].IsDefined() == node["tables"].IsDefined()) {
    return r.Fail(node, path, "needs exactly one of \"table\" or \"tables\"");
  }
  const char* tables_key = node["table"] ? "table" : "tables";
  if (!r.StringList(node[tables_key], path + "." + tables_key, &m->tables)) return false;
  if (!CheckNamePattern(r, node["database"], path + ".database", m->database)) return false;
  for (size_t i = 0; i < m->tables.size(); ++i) {
    const YAML::Node at = node[tables_key].IsSequence() ? node[tables_key][i] : node[tables_key];
    if (!CheckNamePattern(r, at, path + "." + tables_key, m->tables[i])) return false;
  }

  if (node["transition"]) {
    m->transition.emplace();
    if (!ReadTransition(r, node["transition"], path + ".transition", &*m->transition)) return false;
    m->ops_mask = 1 << static_cast<int>(RowOp::kUpdate);
  } else {
    m->ops_mask = 0b111;
  }
  if (node["on"] && !ReadOps(r, node["on"], path + ".on", &m->ops_mask)) return false;
  if (node["bootstrap_inserts"] &&
      !r.Bool(node["bootstrap_inserts"], path + ".bootstrap_inserts", &m->bootstrap_inserts)) {
    return false;
  }

  if (const YAML::Node where = node["where"]) {
    if (!where.IsSequence()) return r.Fail(where, path + ".where", "expected a list");
    for (size_t i = 0; i < where.size(); ++i) {
      if (!ReadFilter(r, where[i], path + ".where[" + std::to_string(i) + "]",
                      &m->filters.emplace_back()))
        return false;
    }
  }
  if (const YAML::Node labels = node["labels"]) {
    if (!labels.IsSequence()) return r.Fail(labels, path + ".labels", "expected a list");
    for (size_t i = 0; i < labels.size(); ++i) {
      if (!ReadLabel(r, labels[i], path + ".labels[" + std::to_string(i) + "]",
                     &m->labels.emplace_back()))
        return false;
    }
  }
  if (node["value"] && !ReadValue(r, node["value"], path + ".value", &m->value)) return false;
  if (node["buckets"] && !ReadBuckets(r, node["buckets"], path + ".buckets", &m->bucket_bounds))
    return false;
  if (node["action"] && !ReadGaugeAction(r, node["action"], path + ".action", &m->gauge_action))
    return false;
  if (node["max_series"] && !r.Uint32(node["max_series"], path + ".max_series", &m->max_series))
    return false;
  return ValidateMetric(r, node, path, *m);
}

bool ReadKafka(ConfigReader& r, const YAML::Node& node, KafkaConfig* kafka) {
  const std::string path = "source.kafka";
  if (!r.ExpectMap(
          node, path,
          {"brokers", "topics", "group_id", "start_offset", "properties", "handover_topic"}))
    return false;
  if (node["brokers"] && !r.String(node["brokers"], path + ".brokers", &kafka->brokers))
    return false;
  if (node["topics"] && !r.StringList(node["topics"], path + ".topics", &kafka->topics))
    return false;
  if (node["group_id"] && !r.String(node["group_id"], path + ".group_id", &kafka->group_id))
    return false;
  if (node["handover_topic"] &&
      !r.String(node["handover_topic"], path + ".handover_topic", &kafka->handover_topic))
    return false;
  if (node["start_offset"]) {
    if (!r.String(node["start_offset"], path + ".start_offset", &kafka->start_offset)) return false;
    if (kafka->start_offset != "earliest" && kafka->start_offset != "latest") {
      return r.Fail(node["start_offset"], path + ".start_offset", "want earliest or latest");
    }
  }
  if (const YAML::Node props = node["properties"]) {
    if (!props.IsMap()) return r.Fail(props, path + ".properties", "expected a mapping");
    for (const auto& entry : props) {
      std::string value;
      if (!r.String(entry.second, path + ".properties." + entry.first.Scalar(), &value))
        return false;
      kafka->properties.emplace_back(entry.first.Scalar(), value);
    }
  }
  return true;
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "D-S-N", three unsigned numbers (a MariaDB GTID).
bool IsMariadbGtid(std::string_view text) {
  const size_t a = text.find('-');
  const size_t b = a == std::string_view::npos ? a : text.find('-', a + 1);
  return b != std::string_view::npos && AllDigits(text.substr(0, a)) &&
         AllDigits(text.substr(a + 1, b - a - 1)) && AllDigits(text.substr(b + 1));
}

// "BASE.NNNNNN", as servers name their binlog files.
bool IsBinlogFileName(std::string_view name) {
  const size_t dot = name.rfind('.');
  return dot != std::string_view::npos && dot > 0 && AllDigits(name.substr(dot + 1));
}

bool ReadBinlogStart(ConfigReader& r, const YAML::Node& node, BinlogConfig* binlog) {
  const std::string path = "source.binlog.start";
  if (node.IsScalar()) {
    if (!r.String(node, path, &binlog->start)) return false;
    if (binlog->start != "current" && binlog->start != "earliest") {
      return r.Fail(node, path,
                    "want current, earliest, {file: NAME, pos: N} or {gtid: \"D-S-N\"}");
    }
    return true;
  }
  if (!r.ExpectMap(node, path, {"file", "pos", "gtid"})) return false;
  if (node["gtid"]) {
    if (node["file"] || node["pos"]) return r.Fail(node, path, "give either gtid or file/pos");
    if (!r.String(node["gtid"], path + ".gtid", &binlog->start_gtid)) return false;
    std::stringstream parts(binlog->start_gtid);
    for (std::string gtid; std::getline(parts, gtid, ',');) {
      if (!IsMariadbGtid(gtid)) {
        return r.Fail(
            node["gtid"], path + ".gtid",
            "\"" + gtid + "\" is not a MariaDB GTID (domain-server-sequence, e.g. 0-1-100)");
      }
    }
    binlog->start = "gtid";
    return true;
  }
  if (!node["file"]) return r.Fail(node, path, "missing \"file\"");
  if (!r.String(node["file"], path + ".file", &binlog->start_file)) return false;
  if (!IsBinlogFileName(binlog->start_file)) {
    return r.Fail(
        node["file"], path + ".file",
        "\"" + binlog->start_file + "\" is not a binlog file name (e.g. mysql-bin.000042)");
  }
  if (node["pos"]) {
    if (!r.Uint32(node["pos"], path + ".pos", &binlog->start_pos)) return false;
    if (binlog->start_pos < 4) return r.Fail(node["pos"], path + ".pos", "must be >= 4");
  }
  binlog->start = "file";
  return true;
}

bool ReadBinlogTls(ConfigReader& r, const YAML::Node& node, BinlogConfig* binlog) {
  const std::string path = "source.binlog.tls";
  if (!r.ExpectMap(node, path, {"ca_file", "cert_file", "key_file"})) return false;
  if (node["ca_file"] && !r.String(node["ca_file"], path + ".ca_file", &binlog->tls_ca_file))
    return false;
  if (node["cert_file"] &&
      !r.String(node["cert_file"], path + ".cert_file", &binlog->tls_cert_file))
    return false;
  if (node["key_file"] && !r.String(node["key_file"], path + ".key_file", &binlog->tls_key_file))
    return false;
  if (binlog->tls_cert_file.empty() != binlog->tls_key_file.empty()) {
    return r.Fail(node, path, "cert_file and key_file go together");
  }
  return true;
}

// A relative path from the config file's folder.
std::string FromConfigFolder(const std::string& config_file, const std::string& path) {
  const std::filesystem::path base = std::filesystem::path(config_file).parent_path();
  if (path.empty() || std::filesystem::path(path).is_absolute() || base.empty()) return path;
  return (base / path).string();
}

bool ReadBinlogPassword(ConfigReader& r, const YAML::Node& node, const std::string& config_file,
                        BinlogConfig* binlog) {
  const std::string path = "source.binlog";
  if (node["password"] && node["password_file"]) {
    return r.Fail(node["password_file"], path, "give either password or password_file");
  }
  if (node["password"]) return r.String(node["password"], path + ".password", &binlog->password);
  if (!node["password_file"]) return true;
  if (!r.String(node["password_file"], path + ".password_file", &binlog->password_file))
    return false;
  binlog->password_file = FromConfigFolder(config_file, binlog->password_file);
  std::string text;
  if (Status s = ReadTextFile(binlog->password_file, &text); !s.ok()) {
    return r.Fail(node["password_file"], path + ".password_file", s.message());
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  binlog->password = text;
  return true;
}

bool ReadBinlog(ConfigReader& r, const YAML::Node& node, const std::string& config_file,
                BinlogConfig* binlog) {
  const std::string path = "source.binlog";
  if (!r.ExpectMap(node, path,
                   {"address", "user", "password", "password_file", "server_id", "start",
                    "databases", "tls"}))
    return false;
  if (!node["address"])
    return r.Fail(node, path, "missing \"address\" (host:port or a socket path)");
  if (!r.String(node["address"], path + ".address", &binlog->address)) return false;
  if (!binlog->address.starts_with('/') && binlog->address.find(':') == std::string::npos) {
    return r.Fail(node["address"], path + ".address",
                  "\"" + binlog->address + "\" is neither host:port nor a socket path");
  }
  if (!node["user"]) return r.Fail(node, path, "missing \"user\"");
  if (!r.String(node["user"], path + ".user", &binlog->user)) return false;
  if (!ReadBinlogPassword(r, node, config_file, binlog)) return false;
  if (!node["server_id"]) {
    return r.Fail(node, path,
                  "missing \"server_id\" (a number no other replica of the server uses)");
  }
  if (!r.Uint32(node["server_id"], path + ".server_id", &binlog->server_id)) return false;
  if (binlog->server_id == 0) {
    return r.Fail(node["server_id"], path + ".server_id",
                  "must not be 0 (a replica with server_id 0 stops at the end of the binlog)");
  }
  if (node["start"] && !ReadBinlogStart(r, node["start"], binlog)) return false;
  if (node["databases"] &&
      !r.StringList(node["databases"], path + ".databases", &binlog->databases))
    return false;
  if (node["tls"] && !ReadBinlogTls(r, node["tls"], binlog)) return false;
  binlog->tls_ca_file = FromConfigFolder(config_file, binlog->tls_ca_file);
  binlog->tls_cert_file = FromConfigFolder(config_file, binlog->tls_cert_file);
  binlog->tls_key_file = FromConfigFolder(config_file, binlog->tls_key_file);
  return true;
}

bool ReadSource(ConfigReader& r, const YAML::Node& node, const std::string& config_file,
                SourceConfig* source) {
  if (!r.ExpectMap(node, "source",
                   {"format", "max_message_bytes", "kafka", "binlog", "include", "exclude"}))
    return false;
  for (const char* key : {"include", "exclude"}) {
    if (!node[key]) continue;
    std::vector<std::string>* out =
        std::string_view(key) == "include" ? &source->include : &source->exclude;
    const std::string path = std::string("source.") + key;
    if (!r.StringList(node[key], path, out)) return false;
    for (size_t i = 0; i < out->size(); ++i) {
      const YAML::Node at = node[key].IsSequence() ? node[key][i] : node[key];
      NamePattern pattern;
      if (Status s = NamePattern::Compile((*out)[i], &pattern); !s.ok()) {
        return r.Fail(at, path, "\"" + (*out)[i] + "\": " + s.message());
      }
    }
  }
  if (node["kafka"] && node["binlog"]) {
    return r.Fail(node["binlog"], "source",
                  "source.kafka and source.binlog are exclusive: give one of them");
  }
  if (node["format"]) {
    if (!r.String(node["format"], "source.format", &source->format)) return false;
    const std::vector<std::string_view>& formats = DecoderFormats();
    if (std::find(formats.begin(), formats.end(), source->format) == formats.end()) {
      return r.Fail(
          node["format"], "source.format",
          "unsupported format \"" + source->format + "\" (supported: " + DecoderFormatList() + ")");
    }
  }
  if (node["max_message_bytes"]) {
    uint64_t bytes = 0;
    if (!r.Unsigned(node["max_message_bytes"], "source.max_message_bytes", &bytes)) return false;
    if (bytes == 0)
      return r.Fail(node["max_message_bytes"], "source.max_message_bytes", "must be > 0");
    source->max_message_bytes = bytes;
  }
  source->where = r.Where(node["kafka"] ? node["kafka"] : node);
  source->has_kafka = static_cast<bool>(node["kafka"]);
  source->has_binlog = static_cast<bool>(node["binlog"]);
  if (source->has_binlog) return ReadBinlog(r, node["binlog"], config_file, &source->binlog);
  return !node["kafka"] || ReadKafka(r, node["kafka"], &source->kafka);
}

bool ReadGlobal(ConfigReader& r, const YAML::Node& node, AgentConfig* config) {
  if (!r.ExpectMap(node, "global",
                   {"time_zone", "evaluation_interval", "external_labels", "max_series"}))
    return false;
  if (node["max_series"] && !r.Uint32(node["max_series"], "global.max_series", &config->max_series))
    return false;
  if (node["time_zone"]) {
    if (!r.String(node["time_zone"], "global.time_zone", &config->time_zone)) return false;
    if (Status s = LocalZone::Check(config->time_zone); !s.ok()) {
      return r.Fail(node["time_zone"], "global.time_zone", s.message());
    }
  }
  if (const YAML::Node interval = node["evaluation_interval"]) {
    std::optional<std::chrono::milliseconds> ms =
        interval.IsScalar() ? ParseDuration(interval.Scalar()) : std::nullopt;
    if (!ms || ms->count() <= 0) {
      return r.Fail(interval, "global.evaluation_interval",
                    "expected a duration such as 1s or 250ms");
    }
    config->evaluation_interval_ms = ms->count();
  }
  if (const YAML::Node labels = node["external_labels"]) {
    if (!labels.IsMap()) return r.Fail(labels, "global.external_labels", "expected a mapping");
    for (const auto& entry : labels) {
      std::string value;
      if (!r.String(entry.second, "global.external_labels." + entry.first.Scalar(), &value))
        return false;
      config->external_labels.emplace_back(entry.first.Scalar(), value);
    }
  }
  return true;
}

// rule_files: globs; relative ones are resolved against the config file's
// folder, as Prometheus does.
bool ReadRuleFiles(ConfigReader& r, const YAML::Node& node, AgentConfig* config) {
  std::vector<std::string> patterns;
  if (!r.StringList(node, "rule_files", &patterns)) return false;
  const std::filesystem::path base = std::filesystem::path(config->file).parent_path();
  for (const std::string& pattern : patterns) {
    std::filesystem::path path(pattern);
    config->rule_files.push_back(path.is_absolute() || base.empty() ? pattern
                                                                    : (base / path).string());
  }
  return true;
}

bool ReadAlerting(ConfigReader& r, const YAML::Node& node, AgentConfig* config) {
  if (!r.ExpectMap(node, "alerting", {"alertmanagers"})) return false;
  if (!node["alertmanagers"]) return true;
  if (!r.StringList(node["alertmanagers"], "alerting.alertmanagers", &config->alertmanager_urls))
    return false;
  for (const std::string& url : config->alertmanager_urls) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return r.Fail(node["alertmanagers"], "alerting.alertmanagers",
                    "\"" + url + "\" is not an http:// or https:// URL");
    }
  }
  return true;
}

const MetricMapping* FindMapping(const std::vector<MetricMapping>& metrics,
                                 const std::string& name) {
  for (const MetricMapping& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

bool HasLabel(const MetricMapping& m, const std::string& label) {
  for (const LabelMapping& l : m.labels) {
    if (l.name == label) return true;
  }
  return false;
}

// live.<key>: a metric of `metrics`, of `type`.
bool ReadLiveMetric(ConfigReader& r, const YAML::Node& live, const char* key, MetricType type,
                    const std::vector<MetricMapping>& metrics, std::string* out) {
  const YAML::Node node = live[key];
  if (!node) return true;
  const std::string path = std::string("live.") + key;
  if (!r.String(node, path, out)) return false;
  const MetricMapping* m = FindMapping(metrics, *out);
  if (m == nullptr) return r.Fail(node, path, "no metric \"" + *out + "\" in metrics");
  if (m->type != type) {
    return r.Fail(node, path,
                  "metric \"" + *out + "\" is a " + std::string(MetricTypeName(m->type)) +
                      ", the screen needs a " + std::string(MetricTypeName(type)));
  }
  return true;
}

// live.<key>_label: a label of each of `metric_names` that exists.
bool ReadLiveLabel(ConfigReader& r, const YAML::Node& live, const char* key,
                   const std::vector<const std::string*>& metric_names,
                   const std::vector<MetricMapping>& metrics, std::string* out) {
  const YAML::Node node = live[key];
  if (!node) return true;
  const std::string path = std::string("live.") + key;
  if (!r.String(node, path, out)) return false;
  for (const std::string* name : metric_names) {
    const MetricMapping* m = FindMapping(metrics, *name);
    if (m != nullptr && !HasLabel(*m, *out)) {
      return r.Fail(node, path, "metric \"" + *name + "\" has no label \"" + *out + "\"");
    }
  }
  return true;
}

bool ReadLive(ConfigReader& r, const YAML::Node& node, const std::vector<MetricMapping>& metrics,
              LiveConfig* live) {
  if (!r.ExpectMap(node, "live",
                   {"orders", "paid_orders", "gmv", "payment_time", "channel_label",
                    "province_label", "currency"})) {
    return false;
  }
  return ReadLiveMetric(r, node, "orders", MetricType::kCounter, metrics, &live->orders) &&
         ReadLiveMetric(r, node, "paid_orders", MetricType::kCounter, metrics,
                        &live->paid_orders) &&
         ReadLiveMetric(r, node, "gmv", MetricType::kCounter, metrics, &live->gmv) &&
         ReadLiveMetric(r, node, "payment_time", MetricType::kHistogram, metrics,
                        &live->payment_time) &&
         ReadLiveLabel(r, node, "channel_label", {&live->orders, &live->gmv}, metrics,
                       &live->channel_label) &&
         ReadLiveLabel(r, node, "province_label", {&live->orders}, metrics,
                       &live->province_label) &&
         (!node["currency"] || r.String(node["currency"], "live.currency", &live->currency));
}

// A byte size: a whole number, optionally with a unit as Prometheus'
// --storage.tsdb.retention.size takes them (B, KB, MB, GB, TB: powers of
// 1024; KiB, MiB, GiB, TiB as well).
std::optional<uint64_t> ParseByteSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  uint64_t number = std::stoull(std::string(text.substr(0, digits)));
  static const std::vector<std::pair<std::string_view, int>> kUnits = {
      {"", 0},     {"B", 0},   {"KB", 10},  {"KiB", 10}, {"MB", 20},
      {"MiB", 20}, {"GB", 30}, {"GiB", 30}, {"TB", 40},  {"TiB", 40}};
  for (const auto& [unit, shift] : kUnits) {
    if (text.substr(digits) == unit) return number << shift;
  }
  return std::nullopt;
}

bool ReadHistoryDuration(ConfigReader& r, const YAML::Node& node, const std::string& path,
                         bool allow_zero, int64_t* out) {
  std::optional<std::chrono::milliseconds> ms =
      node.IsScalar() ? ParseDuration(node.Scalar()) : std::nullopt;
  if (!ms || ms->count() < 0 || (!allow_zero && ms->count() == 0)) {
    return r.Fail(node, path, "expected a duration such as 15m or 1s");
  }
  *out = ms->count();
  return true;
}

bool ReadHistory(ConfigReader& r, const YAML::Node& node, HistoryConfig* history) {
  if (!r.ExpectMap(node, "history", {"retention", "resolution", "max_bytes"})) return false;
  if (node["retention"] && !ReadHistoryDuration(r, node["retention"], "history.retention",
                                                /*allow_zero=*/true, &history->retention_ms)) {
    return false;
  }
  if (node["resolution"] && !ReadHistoryDuration(r, node["resolution"], "history.resolution",
                                                 /*allow_zero=*/false, &history->resolution_ms)) {
    return false;
  }
  if (const YAML::Node bytes = node["max_bytes"]) {
    std::optional<uint64_t> parsed =
        bytes.IsScalar() ? ParseByteSize(bytes.Scalar()) : std::nullopt;
    if (!parsed || *parsed == 0) {
      return r.Fail(bytes, "history.max_bytes", "expected a size such as 256MiB or 1GB");
    }
    history->max_bytes = *parsed;
  }
  if (history->retention_ms > 0 && history->retention_ms < history->resolution_ms) {
    return r.Fail(node["retention"], "history.retention",
                  "must be at least history.resolution (or 0 to turn the history off)");
  }
  return true;
}

// A histogram "x" also writes x_bucket, x_sum and x_count: no other metric
// may have one of those names (Prometheus would see two types for one name).
bool CheckSeriesNames(ConfigReader& r, const YAML::Node& nodes,
                      const std::vector<MetricMapping>& metrics) {
  for (size_t h = 0; h < metrics.size(); ++h) {
    if (metrics[h].type != MetricType::kHistogram) continue;
    for (size_t i = 0; i < metrics.size(); ++i) {
      for (std::string_view suffix : kHistogramSuffixes) {
        if (metrics[i].name != metrics[h].name + std::string(suffix)) continue;
        const std::string path = "metrics[" + std::to_string(i) + "].name";
        return r.Fail(nodes[i]["name"], path,
                      "\"" + metrics[i].name + "\" is the name of a series of histogram \"" +
                          metrics[h].name + "\" (" + r.Where(nodes[h]["name"]) +
                          "): Prometheus would reject the scrape");
      }
    }
  }
  return true;
}

bool ReadConfig(ConfigReader& r, const YAML::Node& root, AgentConfig* config) {
  if (!root.IsDefined() || root.IsNull()) return r.Fail(root, "config", "the file is empty");
  if (!r.ExpectMap(root, "config",
                   {"global", "source", "metrics", "rule_files", "alerting", "live", "history",
                    "remote_write"}))
    return false;
  if (root["history"] && !ReadHistory(r, root["history"], &config->history)) return false;
  if (root["remote_write"]) {
    if (!ReadRemoteWrite(r, root["remote_write"], config->file, &config->remote_write)) {
      return false;
    }
    if (!config->remote_write.empty() && config->history.retention_ms == 0) {
      return r.Fail(root["history"]["retention"], "history.retention",
                    "remote_write sends the history's samples: give a retention > 0");
    }
  }
  if (root["global"] && !ReadGlobal(r, root["global"], config)) return false;
  if (root["rule_files"] && !ReadRuleFiles(r, root["rule_files"], config)) return false;
  if (root["alerting"] && !ReadAlerting(r, root["alerting"], config)) return false;
  if (root["source"] && !ReadSource(r, root["source"], config->file, &config->source)) return false;
  const YAML::Node metrics = root["metrics"];
  if (!metrics || !metrics.IsSequence() || metrics.size() == 0) {
    return r.Fail(metrics ? metrics : root, "metrics", "expected a non-empty list of metrics");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < metrics.size(); ++i) {
    std::string path = "metrics[" + std::to_string(i) + "]";
    MetricMapping& m = config->metrics.emplace_back();
    m.max_series = config->max_series;
    if (!ReadMetric(r, metrics[i], path, &m)) return false;
    if (!names.insert(m.name).second) {
      return r.Fail(metrics[i]["name"], path + ".name",
                    "metric \"" + m.name + "\" is defined twice");
    }
    if (m.name.starts_with("txmon_")) {
      return r.Fail(metrics[i]["name"], path + ".name",
                    "the txmon_ prefix is reserved for self-metrics");
    }
  }
  if (!CheckSeriesNames(r, metrics, config->metrics)) return false;
  if (root["live"] && !ReadLive(r, root["live"], config->metrics, &config->live)) return false;
  return true;
}

}  // namespace

Status CheckConfiguredSource(const AgentConfig& config) {
  const SourceConfig& source = config.source;
  const std::string& where = source.where.empty() ? config.file : source.where;
  if (source.has_binlog) return Status::Ok();
  if (!source.has_kafka) {
    return Status::Error(where +
                         ": source: give source.kafka or source.binlog (or run with "
                         "--source.file)");
  }
  if (source.kafka.brokers.empty() || source.kafka.topics.empty()) {
    return Status::Error(where + ": source.kafka: needs brokers and topics (or run with " +
                         "--source.file)");
  }
  return Status::Ok();
}

Status ParseConfig(const std::string& yaml, const std::string& file, AgentConfig* config) {
  *config = AgentConfig();
  config->file = file;
  ConfigReader reader(file);
  YAML::Node root;
  if (Status s = ParseYaml(yaml, file, &root); !s.ok()) return s;
  if (!ReadConfig(reader, root, config)) return Status::Error(reader.error());
  return Status::Ok();
}

Status LoadConfigFile(const std::string& path, AgentConfig* config) {
  std::string text;
  if (Status s = ReadTextFile(path, &text); !s.ok()) return s;
  return ParseConfig(text, path, config);
}

}  // namespace txmon
