// The txmon binary as a user runs it: help, version, exit codes, config
// checking, file replay and a graceful stop of the demo on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/metrics_text.h"
#include "tests/support/process.h"
#include "tests/support/txmon_process.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;

const std::string kTxmon = std::string(TXMON_BINARY_DIR) + "/txmon";
const std::string kShippedConfig = std::string(TXMON_SOURCE_DIR) + "/txmon.yml";

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

class CommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("txmon-cli-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Process> Start(std::vector<std::string> args) {
    ProcessOptions options{
        kTxmon, std::move(args), "", (dir_ / "out").string(), (dir_ / "err").string(), {}};
    std::string error;
    auto process = Process::Start(options, &error);
    EXPECT_TRUE(process) << error;
    return process;
  }

  CommandResult Execute(std::vector<std::string> args) {
    auto process = Start(std::move(args));
    CommandResult run;
    if (!process) return run;
    std::optional<int> code = process->Wait(std::chrono::seconds(30));
    EXPECT_TRUE(code.has_value()) << "txmon did not exit";
    run.exit_code = code.value_or(-1);
    run.out = process->Stdout();
    run.err = process->Stderr();
    return run;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  fs::path dir_;
};

TEST_F(CommandLineTest, HelpExplainsEveryFlagAndCommand) {
  CommandResult run = Execute({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const char* text :
       {"--config.file", "--source.file", "--web.listen-address", "--log.level", "--log.format",
        "--web.config.file", "--web.enable-lifecycle", "txmon demo", "txmon check config",
        "txmon check web-config", "Exit codes"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text << " not in:\n" << run.out;
  }
  CommandResult demo = Execute({"demo", "--help"});
  EXPECT_EQ(demo.exit_code, 0);
  for (const char* text : {"--rate", "--surge", "--web.listen-address", "--time-scale",
                           "--outage.start", "--outage.duration", "ShopPaymentFailureRatioHigh"}) {
    EXPECT_NE(demo.out.find(text), std::string::npos) << text;
  }
  CommandResult version = Execute({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("txmon, version ")) << version.out;
}

TEST_F(CommandLineTest, BadUsageExitsTwo) {
  CommandResult run = Execute({"--no-such-flag"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("unknown flag --no-such-flag"), std::string::npos) << run.err;
  EXPECT_EQ(Execute({"--log.level=loud"}).exit_code, 2);
  EXPECT_EQ(Execute({"demo", "--rate=fast"}).exit_code, 2);
}

TEST_F(CommandLineTest, CheckConfigAcceptsTheShippedFileAndRefusesABadOne) {
  CommandResult good = Execute({"check", "config", kShippedConfig});
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_NE(good.out.find("SUCCESS"), std::string::npos) << good.out;

  std::string bad = WriteFile("bad.yml",
                              "metrics:\n"
                              "  - name: orders_total\n"
                              "    help: Orders.\n"
                              "    type: histogram\n"
                              "    table: orders\n");
  CommandResult run = Execute({"check", "config", bad});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.out.find(bad + ":2:5: metrics[0]: a histogram needs \"buckets\""),
            std::string::npos)
      << run.out;
}

TEST_F(CommandLineTest, CheckConfigAndTheStartRefuseABadRemoteWriteAlike) {
  std::string bad =
      WriteFile("remote.yml",
                "metrics:\n"
                "  - {name: orders_total, help: Orders., type: counter, table: orders}\n"
                "remote_write:\n"
                "  - url: http://127.0.0.1:9/api/v1/write\n"
                "    authorization: {credentials_file: no-such.token}\n");
  const std::string want = bad + ":5:39: remote_write[0].authorization.credentials_file: " +
                           (dir_ / "no-such.token").string() +
                           ": cannot open: No such file or directory";
  CommandResult check = Execute({"check", "config", bad});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.out.find(want), std::string::npos) << check.out;
  std::string empty = WriteFile("empty.jsonl", "");
  CommandResult start = Execute(
      {"--config.file=" + bad, "--source.file=" + empty, "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(start.exit_code, 2);
  EXPECT_NE(start.err.find(want), std::string::npos) << start.err;
}

// A config the start refuses is one `txmon check config` refuses, at the
// same FILE:LINE:COL (the node at fault, not the metric's first line).
struct BadConfig {
  const char* name;
  std::string yaml;
  std::string where;  // "LINE:COL: PATH: " the message starts with, after the file
  std::string reason;
};

// A shop whose schema is not the demo's: mall.t_order.
std::string MallConfig(const std::string& global, const std::string& source,
                       const std::string& metrics) {
  return global + source + "metrics:\n" + metrics;
}

constexpr const char* kKafkaSource =
    "source:\n  kafka:\n    brokers: 127.0.0.1:1\n    topics: [mall.binlog]\n";

std::string Counter(const std::string& name, const std::string& labels = "") {
  return "  - name: " + name +
         "\n"
         "    help: Orders.\n"
         "    type: counter\n"
         "    database: mall\n"
         "    table: t_order\n" +
         labels;
}

std::vector<BadConfig> BadConfigs() {
  const std::string utc = "global:\n  time_zone: UTC\n";
  return {
      {"digit-first metric name", MallConfig(utc, kKafkaSource, Counter("1mall_orders_total")),
       "8:11: metrics[0].name: ", "must not start with a digit"},
      {"dashes in a metric name",
       MallConfig(utc, kKafkaSource, Counter("mall-orders-created_total")),
       "8:11: metrics[0].name: ", "character '-' is not allowed"},
      {"dashes in a label name",
       MallConfig(utc, kKafkaSource,
                  Counter("mall_orders_total",
                          "    labels:\n      - name: order-source\n        column: source\n")),
       "14:15: metrics[0].labels[0].name: ", "invalid label name"},
      {"misspelt time zone",
       MallConfig("global:\n  time_zone: Europe/Berln\n", kKafkaSource,
                  Counter("mall_orders_total")),
       "2:14: global.time_zone: ", "unknown time zone"},
      {"no source at all", MallConfig(utc, "", Counter("mall_orders_total")),
       " source: ", "source: give source.kafka or source.binlog"},
      {"kafka without topics",
       MallConfig(utc, "source:\n  kafka:\n    brokers: 127.0.0.1:1\n",
                  Counter("mall_orders_total")),
       "5:5: source.kafka: ", "needs brokers and topics"},
      {"histogram label le",
       MallConfig(utc, kKafkaSource,
                  "  - name: mall_pay_seconds\n    help: Pay time.\n    type: histogram\n"
                  "    table: t_order\n    buckets: [1, 10]\n    labels: [{name: le}]\n"),
       "13:21: metrics[0].labels[0].name: ", "reserved for the buckets of histograms"},
      {"label quantile",
       MallConfig(utc, kKafkaSource,
                  Counter("mall_orders_total", "    labels: [{name: quantile}]\n")),
       "13:21: metrics[0].labels[0].name: ", "reserved for the quantiles of summaries"},
      {"__ label",
       MallConfig(utc, kKafkaSource,
                  Counter("mall_orders_total", "    labels: [{name: __shop}]\n")),
       "13:21: metrics[0].labels[0].name: ", "reserved for Prometheus"},
      {"__ metric", MallConfig(utc, kKafkaSource, Counter("__mall_orders_total")),
       "8:11: metrics[0].name: ", "reserved for Prometheus"},
      {"source.exclude pattern that does not compile",
       MallConfig(utc, std::string(kKafkaSource) + "  exclude: ['mall\\.t_refund(']\n",
                  Counter("mall_orders_total")),
       "7:13: source.exclude: ", "invalid regular expression"},
      {"table pattern that does not compile",
       MallConfig(utc, kKafkaSource,
                  "  - name: mall_orders_total\n    help: Orders.\n    type: counter\n"
                  "    table: t_order_(\\d+\n"),
       "11:12: metrics[0].table: ", "invalid regular expression"},
      {"gauge named like a histogram's series",
       MallConfig(utc, kKafkaSource,
                  "  - name: mall_pay_seconds\n    help: Pay time.\n    type: histogram\n"
                  "    table: t_order\n    buckets: [1, 10]\n"
                  "  - name: mall_pay_seconds_count\n    help: Pays.\n    type: gauge\n"
                  "    table: t_order\n"),
       "13:11: metrics[1].name: ", "is the name of a series of histogram"},
  };
}

TEST_F(CommandLineTest, CheckConfigGivesTheStartsVerdictOnEveryBadConfig) {
  for (const BadConfig& bad : BadConfigs()) {
    SCOPED_TRACE(bad.name);
    const std::string path = WriteFile("mall.yml", bad.yaml);
    const std::string expected = path + ":" + bad.where;
    CommandResult check = Execute({"check", "config", path});
    EXPECT_EQ(check.exit_code, 2) << check.out;
    EXPECT_NE(check.out.find("FAILED: " + expected), std::string::npos) << check.out;
    EXPECT_NE(check.out.find(bad.reason), std::string::npos) << check.out;
    CommandResult start = Execute({"--config.file=" + path, "--web.listen-address=127.0.0.1:0"});
    EXPECT_EQ(start.exit_code, 2) << start.err;
    EXPECT_NE(start.err.find("err=\"" + expected), std::string::npos) << start.err;
    EXPECT_NE(start.err.find(bad.reason), std::string::npos) << start.err;
  }
  // The same config without a source is fine for a replay, both ways.
  const std::string replay =
      WriteFile("replay.yml", MallConfig("", "", Counter("mall_orders_total")));
  const std::string empty = WriteFile("empty.jsonl", "");
  EXPECT_EQ(Execute({"check", "config", "--source.file=" + empty, replay}).exit_code, 0);
  EXPECT_EQ(Execute({"--config.file=" + replay, "--source.file=" + empty,
                     "--web.listen-address=127.0.0.1:0"})
                .exit_code,
            0);
}

TEST_F(CommandLineTest, ARuleSelectingAMetricNoMappingProducesIsWarnedAbout) {
  WriteFile("mall-rules.yml",
            "groups:\n"
            "  - name: mall\n"
            "    rules:\n"
            "      - record: mall:gmv:rate1m\n"
            "        expr: sum(rate(mall_gmv_payed_total[1m]))\n"
            "      - alert: MallGmvLow\n"
            "        expr: mall:gmv:rate1m < 1 and on() txmon_source_up == 1\n");
  const std::string config = WriteFile(
      "mall.yml",
      MallConfig("rule_files: [mall-rules.yml]\n", kKafkaSource, Counter("mall_gmv_paid_total")));
  CommandResult check = Execute({"check", "config", config});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("WARNING: " + (dir_ / "mall-rules.yml").string() +
                           ":4: group \"mall\", record \"mall:gmv:rate1m\" selects "
                           "\"mall_gmv_payed_total\", which no metric of the config produces"),
            std::string::npos)
      << check.out;
  // The recording rule's own name and the self-metric are not warned about.
  EXPECT_EQ(check.out.find("MallGmvLow"), std::string::npos) << check.out;
}

TEST_F(CommandLineTest, OneShotReplaysAFileAndPrintsTheFinalMetrics) {
  const std::string config = WriteFile(
      "mall.yml",
      MallConfig(
          "global:\n  time_zone: Europe/Berlin\n", "",
          Counter("mall_orders_created_total",
                  "    on: insert\n    labels: [{name: source, values: [ios, android, pc]}]\n") +
              "  - name: mall_gmv_paid_total\n    help: Paid.\n    type: counter\n"
              "    table: t_order\n    transition: {column: order_state, to: \"1\"}\n"
              "    value: {column: total_fee}\n"));
  const std::string file = std::string(TXMON_SOURCE_DIR) + "/tests/golden/mall_first_hour.jsonl";
  CommandResult run = Execute({"--config.file=" + config, "--source.file=" + file, "--one-shot"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Only the exposition on standard output (logs go to standard error).
  EXPECT_TRUE(run.out.starts_with("# HELP ")) << run.out;
  MetricsText metrics = MetricsText::Parse(run.out);
  EXPECT_EQ(metrics.Value("mall_orders_created_total", {{"source", "ios"}}), 1) << run.out;
  EXPECT_EQ(metrics.Value("mall_orders_created_total", {{"source", "android"}}), 1) << run.out;
  EXPECT_EQ(metrics.Value("txmon_messages_total", {{"type", "INSERT"}}), 2) << run.out;
  // `values:` series exist at 0 before their first row; so do the skip and
  // fold counters of every mapping that can raise them.
  EXPECT_NE(run.out.find("mall_orders_created_total{source=\"pc\"} 0\n"), std::string::npos)
      << run.out;
  for (const char* line :
       {"txmon_mapping_skipped_total{metric=\"mall_gmv_paid_total\",reason=\"null_value\"} 0\n",
        "txmon_mapping_skipped_total{metric=\"mall_gmv_paid_total\",reason=\"bad_number\"} 0\n",
        "txmon_mapping_skipped_total{metric=\"mall_gmv_paid_total\",reason=\"negative_value\"} 0\n",
        "txmon_label_values_folded_total{metric=\"mall_orders_created_total\"} 0\n",
        "txmon_series_folded_total{metric=\"mall_orders_created_total\"} 0\n"}) {
    EXPECT_NE(run.out.find(line), std::string::npos) << line << run.out;
  }

  CommandResult without_file = Execute({"--config.file=" + config, "--one-shot"});
  EXPECT_EQ(without_file.exit_code, 2);
  EXPECT_NE(without_file.err.find("--one-shot needs --source.file"), std::string::npos);
}

TEST_F(CommandLineTest, ASkippedRowIsLoggedWithItsPositionAndPrimaryKey) {
  // Line 16 of the golden replay: order 4, created with a NULL amount.
  const std::string file = std::string(TXMON_SOURCE_DIR) + "/tests/golden/shop_lifecycle.jsonl";
  CommandResult run =
      Execute({"--config.file=" + kShippedConfig, "--source.file=" + file, "--one-shot"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const size_t at = run.err.find("msg=\"skipped a row the mapping could not count\"");
  ASSERT_NE(at, std::string::npos) << run.err;
  const std::string line = run.err.substr(at, run.err.find('\n', at) - at);
  for (const char* field : {"metric=shop_order_amount_yuan", "reason=null_value", "column=amount",
                            "offset=16", "primary_key=\"id=4\""}) {
    EXPECT_NE(line.find(field), std::string::npos) << field << " not in " << line;
  }
}

TEST_F(CommandLineTest, ARuleFilesGlobThatMatchesNothingIsWarnedAbout) {
  std::string config = WriteFile("txmon.yml",
                                 "rule_files: [no-such-dir/*.yml]\n"
                                 "metrics:\n"
                                 "  - name: orders_total\n"
                                 "    help: Orders.\n"
                                 "    type: counter\n"
                                 "    table: orders\n");
  const std::string pattern = (dir_ / "no-such-dir/*.yml").string();
  CommandResult check = Execute({"check", "config", "--source.file=-", config});
  EXPECT_EQ(check.exit_code, 0) << check.out;  // as in Prometheus, not an error
  EXPECT_NE(check.out.find("WARNING: rule_files: \"" + pattern + "\" matches no file"),
            std::string::npos)
      << check.out;
  // The shipped config's rules/*.yml does match: no warning.
  CommandResult shipped = Execute({"check", "config", kShippedConfig});
  EXPECT_EQ(shipped.out.find("WARNING"), std::string::npos) << shipped.out;

  std::string empty = WriteFile("empty.jsonl", "");
  CommandResult run = Execute(
      {"--config.file=" + config, "--source.file=" + empty, "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("level=warn component=rules msg=\"rule_files pattern matches no file"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("pattern=" + pattern), std::string::npos) << run.err;
}

TEST_F(CommandLineTest, TheDemoReloadsItsCompiledInConfig) {
  std::string error;
  TxmonProcess txmon =
      StartTxmon({"demo", "--web.enable-lifecycle"}, (dir_ / "demo-reload").string(), &error);
  ASSERT_TRUE(txmon.process) << error;
  const std::string base = txmon.metrics_url.substr(0, txmon.metrics_url.find("/metrics"));
  // Without --config.file every reload failed: "txmon.yml (embedded): cannot open".
  for (int i = 0; i < 2; ++i) {
    HttpResponse reload = HttpPost(base + "/-/reload", "", "");
    EXPECT_EQ(reload.status, 200) << reload.body;
  }
  MetricsText metrics = MetricsText::Parse(HttpGet(txmon.metrics_url).body);
  EXPECT_EQ(metrics.Value("txmon_config_last_reload_successful", {}), 1);
  txmon.process->Signal(SIGTERM);
  ASSERT_TRUE(txmon.process->Wait(std::chrono::seconds(20)).has_value());
  const std::string log = txmon.process->Stderr();
  EXPECT_EQ(log.find("refused the reloaded configuration"), std::string::npos) << log;
  EXPECT_EQ(log.find("source changes need a restart"), std::string::npos) << log;
  EXPECT_NE(log.find("reloaded the configuration"), std::string::npos) << log;
}

TEST_F(CommandLineTest, TheAgentRefusesABadConfigAtStart) {
  std::string bad = WriteFile(
      "bad.yml", "metrics:\n  - name: x_total\n    help: X.\n    type: countr\n    table: t\n");
  CommandResult run = Execute({"--config.file=" + bad, "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find(bad + ":4:11: metrics[0].type: unknown type"), std::string::npos)
      << run.err;
}

TEST_F(CommandLineTest, CheckWebConfigAndTheAgentRefuseABadWebConfig) {
  std::string good = WriteFile("web.yml",
                               "http_server_config:\n  headers:\n"
                               "    X-Frame-Options: deny\n");
  CommandResult ok = Execute({"check", "web-config", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("SUCCESS: plain HTTP, 0 basic auth users"), std::string::npos) << ok.out;

  std::string bad = WriteFile("bad-web.yml", "basic_auth_users:\n  alice: hunter2\n");
  const std::string reason = bad + ":2:10: basic_auth_users.alice: not a bcrypt hash";
  CommandResult check = Execute({"check", "web-config", bad});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.out.find(reason), std::string::npos) << check.out;
  for (const char* command : {"agent", "demo"}) {
    std::vector<std::string> args = {"--config.file=" + kShippedConfig, "--web.config.file=" + bad,
                                     "--web.listen-address=127.0.0.1:0"};
    if (std::string(command) == "demo")
      args = {"demo", "--web.config.file=" + bad, "--web.listen-address=127.0.0.1:0"};
    CommandResult run = Execute(args);
    EXPECT_EQ(run.exit_code, 2) << command;
    EXPECT_NE(run.err.find(reason), std::string::npos) << command << ": " << run.err;
  }
}

TEST_F(CommandLineTest, ReplaysAFileAndExitsZeroAtItsEnd) {
  std::string input = std::string(TXMON_SOURCE_DIR) + "/tests/golden/shop_lifecycle.jsonl";
  CommandResult run = Execute({"--config.file=" + kShippedConfig, "--source.file=" + input,
                               "--web.listen-address=127.0.0.1:0", "--log.format=json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // The bad line is logged with its position, as JSON.
  EXPECT_NE(run.err.find("\"reason\":\"invalid_json\""), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("\"offset\":\"7\""), std::string::npos) << run.err;
}

TEST_F(CommandLineTest, DemoServesMetricsAndStopsCleanlyOnSigterm) {
  std::string error;
  TxmonProcess txmon = StartTxmon({"demo", "--rate=50"}, (dir_ / "demo").string(), &error);
  ASSERT_TRUE(txmon.process) << error;
  Process* demo = txmon.process.get();
  const std::string& url = txmon.metrics_url;
  EXPECT_NE(demo->Stdout().find("embedded Kafka at 127.0.0.1:"), std::string::npos);
  double orders = 0;
  for (int i = 0; i < 200 && orders == 0; ++i) {
    HttpResponse response = HttpGet(url);
    if (response.status == 200) {
      MetricsText metrics = MetricsText::Parse(response.body);
      orders = metrics.Sum("shop_orders_created_total");
    }
    if (orders == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(orders, 0) << "no orders after 20 s";
  HttpResponse ready = HttpGet(url.substr(0, url.find("/metrics")) + "/-/ready");
  EXPECT_EQ(ready.status, 200);
  // As in Prometheus, POST /-/reload needs --web.enable-lifecycle.
  HttpResponse reload = HttpPost(url.substr(0, url.find("/metrics")) + "/-/reload", "", "");
  EXPECT_EQ(reload.status, 403) << reload.body;
  demo->Signal(SIGTERM);
  std::optional<int> code = demo->Wait(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << demo->Stderr();
}

}  // namespace
}  // namespace txmon::test
