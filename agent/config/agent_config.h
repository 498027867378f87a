// AgentConfig: txmon.yml, read and validated. Loading never starts anything;
// `txmon check config` and the agent's start-up share this code, so a config
// that passes the check is one the agent accepts.
//
// Errors name the file, line and column and what is wrong:
//   txmon.yml:23:11: metrics[2].type: unknown type "countr" (want counter, gauge or histogram)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/config/remote_write_config.h"
#include "agent/map/metric_mapping.h"

namespace txmon {

struct KafkaConfig {
  std::string brokers;
  std::vector<std::string> topics;
  std::string group_id = "txmon";
  std::string start_offset = "earliest";  // for groups without a committed offset
  // Passed to librdkafka as they are (security.protocol, sasl.*, ssl.*, ...).
  std::vector<std::pair<std::string, std::string>> properties;
  // Exact sums across the agents of one group: a one-partition topic where
  // each agent publishes the positions its checkpoint counts (empty: off).
  std::string handover_topic;
};

// source.binlog: txmon as a replica of a MySQL/MariaDB server.
struct BinlogConfig {
  std::string address;  // host:port, or the path of a unix socket
  std::string user;
  std::string password;       // given inline, or read from password_file
  std::string password_file;  // resolved against the config's folder
  uint32_t server_id = 0;
  // current | earliest | file (start_file, start_pos) | gtid (start_gtid)
  std::string start = "current";
  std::string start_file;
  uint32_t start_pos = 4;
  std::string start_gtid;
  std::vector<std::string> databases;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
};

struct SourceConfig {
  std::string format = "canal";
  size_t max_message_bytes = 1 << 20;
  KafkaConfig kafka;
  bool has_kafka = false;   // source.kafka was given
  bool has_binlog = false;  // source.binlog was given
  BinlogConfig binlog;
  // source.include / source.exclude: "database.table" RE2 patterns (whole
  // name, as Canal's filter); rows of tables not included, or excluded, are
  // ignored (counted in txmon_ignored_messages_total only).
  std::vector<std::string> include, exclude;
  // "FILE:LINE:COL" of the source node (source.kafka when given), or FILE
  // without a source section, for CheckConfiguredSource's messages.
  std::string where;
};

// The live screen's figures: which metrics and labels it reads. Unset keys
// keep the names the shipped txmon.yml uses; keys that are set must name a
// metric of `metrics` of the right type (and label), else the config is
// refused.
struct LiveConfig {
  std::string orders = "shop_orders_created_total";
  std::string paid_orders = "shop_orders_paid_total";
  std::string gmv = "shop_gmv_paid_total";
  std::string payment_time = "shop_payment_duration_seconds";
  std::string channel_label = "channel";
  std::string province_label = "province";
  std::string currency = "¥";
};

// history: the recent samples of every series the store holds, which the
// PromQL API answers from. Rules that read further back keep their longer
// windows for the series they select.
struct HistoryConfig {
  int64_t retention_ms = 15 * 60 * 1000;  // history.retention; 0 turns it off
  int64_t resolution_ms = 1000;           // history.resolution: one sample per series per tick
  uint64_t max_bytes = 256ull << 20;      // history.max_bytes: past it, the oldest samples go
};

struct AgentConfig {
  std::string time_zone = "UTC";
  // Rules: evaluated inside the agent (Prometheus rule-file format).
  int64_t evaluation_interval_ms = 1000;
  std::vector<std::pair<std::string, std::string>> external_labels;
  // global.max_series: every metric's max_series unless it sets its own.
  uint32_t max_series = kDefaultMaxSeries;
  std::vector<std::string> rule_files;  // globs, resolved against the config's folder
  std::vector<std::string> alertmanager_urls;
  SourceConfig source;
  std::vector<MetricMapping> metrics;
  LiveConfig live;
  HistoryConfig history;
  std::vector<RemoteWriteConfig> remote_write;
  std::string file;  // where it was read from
};

// Whether the config names a source the agent can read: source.binlog, or
// source.kafka with brokers and topics. Checked at start (and by `txmon
// check config`) unless --source.file replaces the configured source.
Status CheckConfiguredSource(const AgentConfig& config);

// Reads `path`. On error, `config` is left unspecified.
Status LoadConfigFile(const std::string& path, AgentConfig* config);
// Parses YAML text; `file` names it in messages.
Status ParseConfig(const std::string& yaml, const std::string& file, AgentConfig* config);

}  // namespace txmon
