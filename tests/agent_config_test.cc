#include "agent/config/agent_config.h"

#include <gtest/gtest.h>

#include "agent/map/row_mapper.h"

namespace txmon {
namespace {

std::string ErrorOf(const std::string& yaml) {
  AgentConfig config;
  Status s = ParseConfig(yaml, "txmon.yml", &config);
  return s.ok() ? "OK" : s.message();
}

const char* kMetricHead = "metrics:\n  - name: orders_total\n    help: Orders.\n";

TEST(AgentConfigTest, ColumnHintsForDebeziumWithoutSchema) {
  AgentConfig config;
  const std::string yaml = std::string(kMetricHead) +
                           "    type: counter\n    table: orders\n    bootstrap_inserts: true\n"
                           "    value: {column: amount, scale: 2}\n"
                           "    labels:\n      - {name: day, column: paid_at, epoch: ms}\n";
  Status s = ParseConfig(yaml, "txmon.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(config.metrics.size(), 1u);
  EXPECT_TRUE(config.metrics[0].bootstrap_inserts);
  EXPECT_EQ(config.metrics[0].value.column.hint.scale, 2);
  EXPECT_EQ(config.metrics[0].labels[0].ref.hint.epoch, EpochUnit::kMillis);

  EXPECT_EQ(
      ErrorOf(std::string(kMetricHead) +
              "    type: counter\n    table: orders\n    value: {column: amount, scale: 31}\n"),
      "txmon.yml:6:36: metrics[0].value.scale: a DECIMAL scale is 0 to 30");
  EXPECT_EQ(ErrorOf(std::string(kMetricHead) +
                    "    type: counter\n    table: orders\n    value: {column: t, epoch: hours}\n"),
            "txmon.yml:6:31: metrics[0].value.epoch: unknown epoch unit \"hours\" (want days, ms, "
            "us or ns)");
}

TEST(AgentConfigTest, ShippedConfigIsValidAndCompiles) {
  AgentConfig config;
  Status s = LoadConfigFile(std::string(TXMON_SOURCE_DIR) + "/txmon.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(config.time_zone, "Asia/Shanghai");
  EXPECT_EQ(config.source.kafka.topics, std::vector<std::string>{"shop.binlog"});
  EXPECT_EQ(config.source.kafka.group_id, "txmon");
  std::vector<std::string> names;
  for (const MetricMapping& m : config.metrics) names.push_back(m.name);
  for (const char* expected :
       {"shop_orders_created_total", "shop_orders_paid_total", "shop_gmv_paid_total",
        "shop_order_amount_yuan", "shop_payment_duration_seconds",
        "shop_order_status_transitions_total", "shop_orders_cancelled_total", "shop_refunds_total",
        "shop_refund_amount_total", "shop_user_registrations_total"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  MetricStore store;
  std::unique_ptr<RowMapper> mapper;
  s = RowMapper::Compile(config.metrics, store, &mapper);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(AgentConfigTest, ErrorsNameFileLineAndReason) {
  EXPECT_EQ(ErrorOf(std::string(kMetricHead) + "    type: countr\n    table: orders\n"),
            "txmon.yml:4:11: metrics[0].type: unknown type \"countr\" (want counter, gauge or "
            "histogram)");
  EXPECT_EQ(
      ErrorOf(std::string(kMetricHead) + "    type: counter\n    table: orders\n    lables: []\n"),
      "txmon.yml:6:5: metrics[0]: unknown field \"lables\" (known: action, bootstrap_inserts, "
      "buckets, "
      "database, help, labels, max_series, name, on, table, tables, transition, type, value, "
      "where)");
  EXPECT_EQ(ErrorOf("metrics:\n  - name: x_total\n    help: [\n"),
            ErrorOf("metrics:\n  - name: x_total\n    help: [\n"));
  EXPECT_NE(ErrorOf("metrics:\n  - name: x_total\n    help: [\n").find("txmon.yml:4:"),
            std::string::npos)
      << ErrorOf("metrics:\n  - name: x_total\n    help: [\n");
  EXPECT_NE(ErrorOf("metrics: []\n").find("metrics: expected a non-empty list"), std::string::npos);
  EXPECT_EQ(ErrorOf(""), "txmon.yml: config: the file is empty");
}

TEST(AgentConfigTest, RefusesInconsistentMetrics) {
  auto metric = [](const std::string& body) {
    return ErrorOf("metrics:\n  - name: m_total\n    help: M.\n" + body);
  };
  EXPECT_NE(metric("    type: histogram\n    table: t\n").find("a histogram needs \"buckets\""),
            std::string::npos);
  EXPECT_NE(metric("    type: counter\n    table: t\n    buckets: [1]\n").find("only histograms"),
            std::string::npos);
  EXPECT_NE(metric("    type: counter\n    table: t\n    buckets: [2, 1]\n").find("ascending"),
            std::string::npos);
  EXPECT_NE(metric("    type: counter\n").find("exactly one of \"table\" or \"tables\""),
            std::string::npos);
  EXPECT_NE(metric("    type: counter\n    table: t\n    on: [upsert]\n")
                .find("unknown change type \"upsert\""),
            std::string::npos);
  EXPECT_NE(metric("    type: counter\n    table: t\n    transition: {column: s}\n    on: insert\n")
                .find("a transition only matches updates"),
            std::string::npos);
  EXPECT_NE(metric("    type: counter\n    table: t\n    where: [{column: a}]\n")
                .find("needs exactly one of equals"),
            std::string::npos);
  EXPECT_NE(ErrorOf("metrics:\n  - name: m\n    help: M.\n    type: counter\n    table: t\n")
                .find("counter names end in \"_total\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("metrics:\n  - name: txmon_x_total\n    help: M.\n    type: counter\n    table: t\n")
          .find("reserved"),
      std::string::npos);
  std::string twice =
      "metrics:\n"
      "  - {name: a_total, help: A., type: counter, table: t}\n"
      "  - {name: a_total, help: A., type: counter, table: t}\n";
  EXPECT_EQ(ErrorOf(twice), "txmon.yml:3:12: metrics[1].name: metric \"a_total\" is defined twice");
}

TEST(AgentConfigTest, MaxSeriesDefaultsToGlobalAndMetricsOverrideIt) {
  AgentConfig config;
  Status s = ParseConfig("metrics:\n  - {name: a_total, help: A., type: counter, table: t}\n",
                         "x.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(config.metrics[0].max_series, kDefaultMaxSeries);

  s = ParseConfig(
      "global:\n  max_series: 500\n"
      "metrics:\n"
      "  - {name: a_total, help: A., type: counter, table: t}\n"
      "  - {name: b_total, help: B., type: counter, table: t, max_series: 0}\n",
      "x.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(config.max_series, 500u);
  EXPECT_EQ(config.metrics[0].max_series, 500u);
  EXPECT_EQ(config.metrics[1].max_series, 0u);

  EXPECT_EQ(ErrorOf(std::string(kMetricHead) +
                    "    type: counter\n    table: orders\n    max_series: -3\n"),
            "txmon.yml:6:17: metrics[0].max_series: expected a whole number >= 0");
  EXPECT_EQ(ErrorOf("global:\n  max_series: 5000000000\n" + std::string(kMetricHead) +
                    "    type: counter\n    table: orders\n"),
            "txmon.yml:2:15: global.max_series: must be at most 4294967295");
}

TEST(AgentConfigTest, ReadsSourceAndKafkaProperties) {
  AgentConfig config;
  Status s = ParseConfig(
      "source:\n  kafka:\n    brokers: b:9092\n    topics: t\n    properties:\n"
      "      security.protocol: SASL_SSL\n      sasl.mechanism: PLAIN\n"
      "metrics:\n  - {name: a_total, help: A., type: counter, table: t}\n",
      "x.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(config.source.kafka.brokers, "b:9092");
  EXPECT_EQ(config.source.kafka.topics, std::vector<std::string>{"t"});
  ASSERT_EQ(config.source.kafka.properties.size(), 2u);
  EXPECT_EQ(config.source.kafka.properties[0].first, "security.protocol");
  EXPECT_EQ(config.source.kafka.properties[1].second, "PLAIN");
  EXPECT_NE(ErrorOf("source:\n  format: avro\nmetrics: [{name: a_total, help: A., type: counter, "
                    "table: t}]\n")
                .find("unsupported format \"avro\""),
            std::string::npos);
}

const char* kOneMetric = "metrics:\n  - {name: a_total, help: A., type: counter, table: t}\n";

TEST(AgentConfigTest, ReadsSourceBinlog) {
  AgentConfig config;
  Status s =
      ParseConfig(std::string("source:\n  binlog:\n    address: 127.0.0.1:3306\n"
                              "    user: txmon\n    password: secret\n"
                              "    server_id: 4242\n"
                              "    start: {file: mysql-bin.000042, pos: 120}\n"
                              "    databases: [shop]\n"
                              "    tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}\n") +
                      kOneMetric,
                  "/etc/txmon/txmon.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  const BinlogConfig& b = config.source.binlog;
  EXPECT_TRUE(config.source.has_binlog);
  EXPECT_FALSE(config.source.has_kafka);
  EXPECT_EQ(b.address, "127.0.0.1:3306");
  EXPECT_EQ(b.user, "txmon");
  EXPECT_EQ(b.password, "secret");
  EXPECT_EQ(b.server_id, 4242u);
  EXPECT_EQ(b.start, "file");
  EXPECT_EQ(b.start_file, "mysql-bin.000042");
  EXPECT_EQ(b.start_pos, 120u);
  EXPECT_EQ(b.databases, std::vector<std::string>{"shop"});
  EXPECT_EQ(b.tls_ca_file, "/etc/txmon/ca.pem");  // relative to the config's folder
  EXPECT_EQ(b.tls_key_file, "/etc/txmon/k.pem");

  ASSERT_TRUE(ParseConfig(std::string("source:\n  binlog: {address: /run/mysqld/mysqld.sock, "
                                      "user: u, server_id: 7, start: {gtid: \"0-1-100\"}}\n") +
                              kOneMetric,
                          "x.yml", &config)
                  .ok());
  EXPECT_EQ(config.source.binlog.start, "gtid");
  EXPECT_EQ(config.source.binlog.start_gtid, "0-1-100");
  ASSERT_TRUE(ParseConfig(std::string("source:\n  binlog: {address: h:1, user: u, server_id: 7, "
                                      "start: earliest}\n") +
                              kOneMetric,
                          "x.yml", &config)
                  .ok());
  EXPECT_EQ(config.source.binlog.start, "earliest");
}

TEST(AgentConfigTest, ReadsTheBinlogPasswordFromAFile) {
  const std::string dir = ::testing::TempDir();
  {
    std::FILE* f = std::fopen((dir + "/mysql.password").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("s3cret\n", f);
    std::fclose(f);
  }
  AgentConfig config;
  Status s = ParseConfig(std::string("source:\n  binlog: {address: h:1, user: u, server_id: 7, "
                                     "password_file: mysql.password}\n") +
                             kOneMetric,
                         dir + "/txmon.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(config.source.binlog.password, "s3cret");
  EXPECT_NE(ErrorOf(std::string("source:\n  binlog: {address: h:1, user: u, server_id: 7, "
                                "password_file: /nonexistent/pw}\n") +
                    kOneMetric)
                .find("txmon.yml:2:64: source.binlog.password_file: /nonexistent/pw: cannot open"),
            std::string::npos)
      << ErrorOf(std::string("source:\n  binlog: {address: h:1, user: u, server_id: 7, "
                             "password_file: /nonexistent/pw}\n") +
                 kOneMetric);
}

TEST(AgentConfigTest, RefusesBadBinlogSettings) {
  auto binlog = [](const std::string& fields) {
    return ErrorOf("source:\n  binlog:\n" + fields + kOneMetric);
  };
  const std::string base = "    address: h:3306\n    user: u\n";
  EXPECT_EQ(ErrorOf(std::string("source:\n  kafka: {brokers: b:1, topics: t}\n  binlog: "
                                "{address: h:1, user: u, server_id: 1}\n") +
                    kOneMetric),
            "txmon.yml:3:11: source: source.kafka and source.binlog are exclusive: give one of "
            "them");
  EXPECT_EQ(binlog(base),
            "txmon.yml:3:5: source.binlog: missing \"server_id\" (a number no other "
            "replica of the server uses)");
  EXPECT_EQ(binlog(base + "    server_id: 0\n"),
            "txmon.yml:5:16: source.binlog.server_id: must not be 0 (a replica with server_id 0 "
            "stops at the end of the binlog)");
  EXPECT_EQ(binlog("    address: nowhere\n    user: u\n    server_id: 1\n"),
            "txmon.yml:3:14: source.binlog.address: \"nowhere\" is neither host:port nor a "
            "socket path");
  EXPECT_EQ(binlog(base + "    server_id: 1\n    start: latest\n"),
            "txmon.yml:6:12: source.binlog.start: want current, earliest, {file: NAME, pos: N} "
            "or {gtid: \"D-S-N\"}");
  EXPECT_EQ(binlog(base + "    server_id: 1\n    start: {file: binlog}\n"),
            "txmon.yml:6:19: source.binlog.start.file: \"binlog\" is not a binlog file name (e.g. "
            "mysql-bin.000042)");
  EXPECT_EQ(binlog(base + "    server_id: 1\n    start: {gtid: 0-1}\n"),
            "txmon.yml:6:19: source.binlog.start.gtid: \"0-1\" is not a MariaDB GTID "
            "(domain-server-sequence, e.g. 0-1-100)");
  EXPECT_EQ(binlog(base + "    server_id: 1\n    tls: {cert_file: c.pem}\n"),
            "txmon.yml:6:10: source.binlog.tls: cert_file and key_file go together");
  EXPECT_EQ(binlog(base + "    server_id: 1\n    pasword: x\n"),
            "txmon.yml:6:5: source.binlog: unknown field \"pasword\" (known: address, databases, "
            "password, password_file, server_id, start, tls, user)");
}

TEST(AgentConfigTest, MissingFileIsRefusedWithItsPath) {
  AgentConfig config;
  Status s = LoadConfigFile("/nonexistent/txmon.yml", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "/nonexistent/txmon.yml: cannot open: No such file or directory");
}

}  // namespace
}  // namespace txmon

namespace txmon {
namespace {

constexpr const char* kLiveMetrics = R"(metrics:
  - name: acme_orders_total
    help: Orders.
    type: counter
    table: orders
    labels: [{name: store_front}]
  - name: acme_wait_seconds
    help: Waits.
    type: histogram
    table: orders
    value: {column: wait}
    buckets: [1, 5]
)";

TEST(AgentConfigTest, LiveNamesItsMetricsAndRefusesOnesThatDoNotFit) {
  AgentConfig config;
  ASSERT_TRUE(ParseConfig(std::string(kLiveMetrics) +
                              "live:\n  orders: acme_orders_total\n  payment_time: "
                              "acme_wait_seconds\n  channel_label: store_front\n  currency: €\n",
                          "txmon.yml", &config)
                  .ok());
  EXPECT_EQ(config.live.orders, "acme_orders_total");
  EXPECT_EQ(config.live.payment_time, "acme_wait_seconds");
  EXPECT_EQ(config.live.channel_label, "store_front");
  EXPECT_EQ(config.live.currency, "€");
  EXPECT_EQ(config.live.gmv, "shop_gmv_paid_total");  // unset: the shipped name

  EXPECT_EQ(ErrorOf(std::string(kLiveMetrics) + "live:\n  orders: acme_order_total\n"),
            "txmon.yml:14:11: live.orders: no metric \"acme_order_total\" in metrics");
  EXPECT_EQ(ErrorOf(std::string(kLiveMetrics) + "live:\n  orders: acme_wait_seconds\n"),
            "txmon.yml:14:11: live.orders: metric \"acme_wait_seconds\" is a histogram, the "
            "screen needs a counter");
  EXPECT_EQ(ErrorOf(std::string(kLiveMetrics) +
                    "live:\n  orders: acme_orders_total\n  province_label: region\n"),
            "txmon.yml:15:19: live.province_label: metric \"acme_orders_total\" has no label "
            "\"region\"");
  EXPECT_NE(ErrorOf(std::string(kLiveMetrics) + "live:\n  order: x\n").find("unknown field"),
            std::string::npos);
}

const char* kCounter =
    "metrics:\n  - {name: orders_total, help: Orders., type: counter, table: orders}\n";

TEST(AgentConfigTest, RemoteWriteTakesPrometheusKeys) {
  AgentConfig config;
  const std::string yaml = std::string(kCounter) +
                           "remote_write:\n"
                           "  - url: https://mimir.example/api/v1/push\n"
                           "    name: mimir\n"
                           "    remote_timeout: 10s\n"
                           "    headers: {X-Scope-OrgID: shop}\n"
                           "    basic_auth: {username: txmon, password: pw}\n"
                           "    tls_config: {insecure_skip_verify: true, server_name: mimir}\n"
                           "    queue_config:\n"
                           "      capacity: 20000\n"
                           "      max_samples_per_send: 1000\n"
                           "      batch_send_deadline: 250ms\n"
                           "      min_backoff: 50ms\n"
                           "      max_backoff: 10s\n"
                           "  - url: http://vm:8428/api/v1/write\n"
                           "    authorization: {credentials: tok}\n";
  Status s = ParseConfig(yaml, "txmon.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(config.remote_write.size(), 2u);
  const RemoteWriteConfig& m = config.remote_write[0];
  EXPECT_EQ(m.name, "mimir");
  EXPECT_EQ(m.remote_timeout_ms, 10'000);
  EXPECT_EQ(m.headers[0].second, "shop");
  EXPECT_EQ(m.basic_auth_password, "pw");
  EXPECT_TRUE(m.tls_insecure_skip_verify);
  EXPECT_EQ(m.capacity, 20'000u);
  EXPECT_EQ(m.max_samples_per_send, 1000u);
  EXPECT_EQ(m.batch_send_deadline_ms, 250);
  EXPECT_EQ(m.min_backoff_ms, 50);
  EXPECT_EQ(m.max_backoff_ms, 10'000);
  const RemoteWriteConfig& vm = config.remote_write[1];
  EXPECT_EQ(vm.name, "http://vm:8428/api/v1/write");
  EXPECT_EQ(vm.authorization_type, "Bearer");
  EXPECT_EQ(vm.authorization_credentials, "tok");
  EXPECT_EQ(vm.capacity, 500'000u);  // defaults
  EXPECT_EQ(vm.max_samples_per_send, 2'000u);
}

TEST(AgentConfigTest, RemoteWriteErrorsNameTheLine) {
  const std::string head = std::string(kCounter) + "remote_write:\n";
  EXPECT_EQ(ErrorOf(head + "  - url: vm:8428\n"),
            "txmon.yml:4:10: remote_write[0].url: \"vm:8428\" is not an http:// or https:// URL");
  EXPECT_EQ(ErrorOf(head + "  - name: x\n"), "txmon.yml:4:5: remote_write[0]: url is required");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    queue_config: {capacity: 0}\n"),
            "txmon.yml:5:30: remote_write[0].queue_config.capacity: must be > 0");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    queue_config: {max_shards: 4}\n"),
            "txmon.yml:5:20: remote_write[0].queue_config: unknown field \"max_shards\" (known: "
            "batch_send_deadline, capacity, max_backoff, max_samples_per_send, min_backoff)");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    queue_config: {capacity: 10, "
                           "max_samples_per_send: 100}\n"),
            "txmon.yml:5:56: remote_write[0].queue_config.max_samples_per_send: must be at most "
            "capacity");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    remote_timeout: soon\n"),
            "txmon.yml:5:21: remote_write[0].remote_timeout: expected a duration such as 30s or "
            "100ms");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    headers: {Content-Type: text/plain}\n"),
            "txmon.yml:5:15: remote_write[0].headers: Content-Type is a reserved header. It must "
            "not be changed");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    basic_auth: {username: u}\n"
                           "    authorization: {credentials: c}\n"),
            "txmon.yml:6:20: remote_write[0]: at most one of basic_auth and authorization must be "
            "configured");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    authorization: {type: Basic}\n"),
            "txmon.yml:5:27: remote_write[0].authorization.type: authorization type cannot be set "
            "to \"basic\", use \"basic_auth\" instead");
  EXPECT_EQ(
      ErrorOf(head + "  - url: http://a\n    basic_auth: {username: u, password_file: /no/such}\n"),
      "txmon.yml:5:46: remote_write[0].basic_auth.password_file: /no/such: cannot open: No such "
      "file or directory");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n    write_relabel_configs: []\n"),
            "txmon.yml:5:28: remote_write[0].write_relabel_configs: not supported yet: every "
            "series is sent");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\n  - url: http://a\n"),
            "txmon.yml:5:10: remote_write[1]: two remote_write entries are named \"http://a\" "
            "(give each a distinct name or url)");
  EXPECT_EQ(ErrorOf(head + "  - url: http://a\nhistory: {retention: 0s}\n"),
            "txmon.yml:5:22: history.retention: remote_write sends the history's samples: give a "
            "retention > 0");
  EXPECT_EQ(ErrorOf(std::string(kCounter) + "remote_write: {url: http://a}\n"),
            "txmon.yml:3:15: remote_write: expected a list");
}

}  // namespace
}  // namespace txmon
