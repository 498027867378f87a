// State the txmon binary keeps across a config reload and a restart:
// SIGHUP and POST /-/reload bring new mappings and rules live without
// resetting counters or alert state, a broken config is refused while the
// running one keeps working, and a pending alert's activeAt survives a
// restart through the checkpoint, as do the live board's "today" figures.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/metrics_text.h"
#include "tests/support/txmon_process.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfigHead = R"(global:
  evaluation_interval: 100ms
rule_files: [rules.yml]
metrics:
  - name: orders_total
    help: Orders created.
    type: counter
    table: orders
    on: insert
    labels: [{name: channel}]
)";

constexpr const char* kAmountMetric = R"(  - name: order_amount_total
    help: Amount of the orders created.
    type: counter
    table: orders
    on: insert
    value: {column: amount}
)";

constexpr const char* kDeletedMetric = R"(  - name: orders_deleted_total
    help: Orders deleted.
    type: counter
    table: orders
    on: delete
)";

// The metric the live board counts "orders today" from.
constexpr const char* kShopOrdersMetric = R"(  - name: shop_orders_created_total
    help: Orders created.
    type: counter
    table: orders
    on: insert
)";

// A `for: 1h` alert stays pending through the test: its activeAt shows
// whether its state survived a reload.
constexpr const char* kRules = R"(groups:
  - name: orders
    interval: 100ms
    rules:
      - alert: OrdersSeen
        expr: sum(orders_total) >= 1
        for: 1h
)";

constexpr const char* kMoreRules = R"(      - record: orders:sum
        expr: sum(orders_total)
)";

std::string Insert(int id, const std::string& channel) {
  return R"({"data":[{"id":")" + std::to_string(id) + R"(","channel":")" + channel +
         R"j(","amount":"10.5"}],"database":"shop","es":1700000000000,"id":1,"isDdl":false,)j"
         R"j("mysqlType":{"id":"BIGINT","channel":"VARCHAR(16)","amount":"DECIMAL(10,2)"},)j"
         R"("old":null,"pkNames":["id"],"sql":"","table":"orders","ts":1700000000001,)"
         R"("type":"INSERT"})"
         "\n";
}

bool WaitUntil(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// The text between `"key":"` and the next quote in `json`, or "".
std::string JsonField(const std::string& json, const std::string& key) {
  const std::string open = "\"" + key + "\":\"";
  size_t start = json.find(open);
  if (start == std::string::npos) return "";
  start += open.size();
  return json.substr(start, json.find('"', start) - start);
}

// The text of the number after `"key":` in `json`, or "".
std::string JsonNumber(const std::string& json, const std::string& key) {
  const std::string open = "\"" + key + "\":";
  size_t start = json.find(open);
  if (start == std::string::npos) return "";
  start += open.size();
  return json.substr(start, json.find_first_of(",}", start) - start);
}

class AgentStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("txmon-reload-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    config_ = (dir_ / "txmon.yml").string();
    Write("txmon.yml", kConfigHead);
    Write("rules.yml", kRules);
    const std::string fifo = (dir_ / "changes.fifo").string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    // Read-write, so neither side's open waits for the other.
    fifo_fd_ = open(fifo.c_str(), O_RDWR);
    ASSERT_GE(fifo_fd_, 0);
    StartAgent();
  }
  // Starts txmon on the FIFO, checkpointing into the test's folder.
  void StartAgent() {
    std::string error;
    txmon_ =
        StartTxmon({"--config.file=" + config_, "--source.file=" + (dir_ / "changes.fifo").string(),
                    "--checkpoint.file=" + (dir_ / "checkpoint").string(),
                    "--checkpoint.interval=100ms", "--web.enable-lifecycle"},
                   (dir_ / "txmon").string(), &error);
    ASSERT_TRUE(txmon_.process) << error;
    base_url_ = txmon_.metrics_url.substr(0, txmon_.metrics_url.rfind("/metrics"));
  }
  void TearDown() override {
    if (fifo_fd_ >= 0) close(fifo_fd_);
    if (txmon_.process) txmon_.process->Stop();
    fs::remove_all(dir_);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  void Send(const std::string& lines) {
    ASSERT_EQ(write(fifo_fd_, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  }
  MetricsText Scrape() const { return MetricsText::Fetch(txmon_.metrics_url); }
  std::optional<double> Metric(const std::string& name, const Labels& labels = {}) const {
    return Scrape().Find(name, labels);
  }
  bool MetricIs(const std::string& name, const Labels& labels, double value) const {
    return Metric(name, labels) == value;
  }
  std::string ActiveAt() const {
    return JsonField(HttpGet(base_url_ + "/api/v1/alerts").body, "activeAt");
  }
  std::string Log() const { return txmon_.process->Stderr(); }
  // The live board's latest frame, from its event stream read for a moment.
  std::string LiveFrame() const {
    HttpClientOptions options;
    options.timeout = std::chrono::milliseconds(700);
    const std::string body = HttpGet(base_url_ + "/live/events", options).body;
    const size_t last = body.rfind("data: ");
    if (last == std::string::npos) return "";
    return body.substr(last, body.find('\n', last) - last);
  }

  fs::path dir_;
  std::string config_;
  int fifo_fd_ = -1;
  TxmonProcess txmon_;
  std::string base_url_;
};

TEST_F(AgentStateTest, NewMappingsAndRulesGoLiveAndStateCarriesOver) {
  Send(Insert(1, "app") + Insert(2, "app") + Insert(3, "web"));
  ASSERT_TRUE(WaitUntil([&] {
    return MetricIs("orders_total", {{"channel", "app"}}, 2);
  })) << Scrape().series().size()
      << Log();
  EXPECT_EQ(Metric("txmon_config_last_reload_successful"), 1);
  ASSERT_TRUE(WaitUntil([&] { return !ActiveAt().empty(); })) << Log();
  const std::string active_at = ActiveAt();

  // SIGHUP: a new metric and a new rule.
  Write("txmon.yml", std::string(kConfigHead) + kAmountMetric);
  Write("rules.yml", std::string(kRules) + kMoreRules);
  txmon_.process->Signal(SIGHUP);
  // The new mapping's series exists from the moment the pipeline switched.
  ASSERT_TRUE(WaitUntil([&] { return MetricIs("order_amount_total", {}, 0); })) << Log();
  EXPECT_NE(HttpGet(base_url_ + "/api/v1/rules").body.find("\"orders:sum\""), std::string::npos);
  Send(Insert(4, "app"));
  ASSERT_TRUE(WaitUntil([&] { return MetricIs("order_amount_total", {}, 10.5); })) << Log();
  EXPECT_EQ(Metric("orders_total", {{"channel", "app"}}), 3);  // not reset
  EXPECT_EQ(Metric("orders_total", {{"channel", "web"}}), 1);
  EXPECT_EQ(ActiveAt(), active_at);  // the pending alert kept its state

  // POST /-/reload: one more metric; GET is not allowed.
  Write("txmon.yml", std::string(kConfigHead) + kAmountMetric + kDeletedMetric);
  EXPECT_EQ(HttpGet(base_url_ + "/-/reload").status, 405);
  HttpResponse reload = HttpPost(base_url_ + "/-/reload", "", "text/plain");
  EXPECT_EQ(reload.status, 200) << reload.body;
  ASSERT_TRUE(WaitUntil([&] { return MetricIs("orders_deleted_total", {}, 0); })) << Log();
  EXPECT_EQ(Metric("order_amount_total"), 10.5);
  EXPECT_EQ(Metric("txmon_config_last_reload_successful"), 1);
}

TEST_F(AgentStateTest, ABrokenConfigIsRefusedAndTheRunningOneKeepsWorking) {
  Send(Insert(1, "app"));
  ASSERT_TRUE(WaitUntil([&] {
    return MetricIs("orders_total", {{"channel", "app"}}, 1);
  })) << Log();
  const double loaded_at = Metric("txmon_config_last_reload_success_timestamp_seconds").value_or(0);
  EXPECT_GT(loaded_at, 1.7e9);

  Write("txmon.yml", std::string(kConfigHead) + "  - {name: x_total, help: X., type: countr}\n");
  HttpResponse reload = HttpPost(base_url_ + "/-/reload", "", "text/plain");
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find("txmon.yml:11:37: metrics[1].type: unknown type \"countr\""),
            std::string::npos)
      << reload.body;
  EXPECT_EQ(Metric("txmon_config_last_reload_successful"), 0);
  EXPECT_EQ(Metric("txmon_config_last_reload_success_timestamp_seconds"), loaded_at);

  // A metric whose labels changed cannot keep its series: refused too.
  std::string relabelled = kConfigHead;
  relabelled.replace(relabelled.find("{name: channel}"), 15, "{name: shop}");
  Write("txmon.yml", relabelled);
  txmon_.process->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] {
    return Log().find("changed its labels [channel] -> [shop]") != std::string::npos;
  })) << Log();
  EXPECT_NE(Log().find("refused the reloaded configuration"), std::string::npos);
  EXPECT_TRUE(txmon_.process->Running());

  Send(Insert(2, "app"));
  ASSERT_TRUE(WaitUntil([&] {
    return MetricIs("orders_total", {{"channel", "app"}}, 2);
  })) << Log();
  EXPECT_FALSE(Metric("orders_total", {{"shop", "unknown"}}).has_value());
  EXPECT_EQ(Metric("txmon_config_last_reload_successful"), 0);

  Write("txmon.yml", kConfigHead);
  EXPECT_EQ(HttpPost(base_url_ + "/-/reload", "", "text/plain").status, 200);
  EXPECT_EQ(Metric("txmon_config_last_reload_successful"), 1);
}

TEST_F(AgentStateTest, APendingAlertKeepsItsActiveAtAcrossARestart) {
  Send(Insert(1, "app") + Insert(2, "app"));
  ASSERT_TRUE(WaitUntil([&] { return !ActiveAt().empty(); })) << Log();
  const std::string active_at = ActiveAt();
  Write("txmon.yml", "metrics: []\n");  // a refused reload before the restart
  EXPECT_EQ(HttpPost(base_url_ + "/-/reload", "", "text/plain").status, 500);
  Write("txmon.yml", kConfigHead);

  ASSERT_EQ(txmon_.process->Stop(), 0) << Log();  // SIGTERM: a last checkpoint
  StartAgent();
  EXPECT_EQ(Metric("orders_total", {{"channel", "app"}}), 2);
  // The start's load counts, not the reload state saved in the checkpoint.
  EXPECT_EQ(Metric("txmon_config_last_reload_successful"), 1);
  // After a few evaluations the alert is still the one from before.
  ASSERT_TRUE(WaitUntil([&] { return Scrape().Sum("txmon_rule_evaluations_total") >= 3; }))
      << Log();
  EXPECT_EQ(ActiveAt(), active_at) << Log();
}

TEST_F(AgentStateTest, TheLiveBoardsOrdersTodayCarryOverARestart) {
  // The board looks its metrics up at start: restart with the one it counts.
  ASSERT_EQ(txmon_.process->Stop(), 0) << Log();
  Write("txmon.yml", std::string(kConfigHead) + kShopOrdersMetric);
  StartAgent();
  Send(Insert(1, "app") + Insert(2, "web") + Insert(3, "app"));
  ASSERT_TRUE(WaitUntil([&] { return JsonNumber(LiveFrame(), "orders_today") == "3"; }))
      << LiveFrame() << Log();
  const std::string since = JsonField(LiveFrame(), "since");

  ASSERT_EQ(txmon_.process->Stop(), 0) << Log();  // SIGTERM: a last checkpoint
  StartAgent();
  const std::string frame = LiveFrame();
  EXPECT_EQ(JsonNumber(frame, "orders_today"), "3") << frame << Log();
  EXPECT_EQ(JsonField(frame, "since"), since) << frame;
  EXPECT_NE(Log().find("today's figures continue from the checkpoint"), std::string::npos) << Log();
  // A file source resumes by line: the stream from its start, one order more.
  Send(Insert(1, "app") + Insert(2, "web") + Insert(3, "app") + Insert(4, "web"));
  ASSERT_TRUE(WaitUntil([&] { return JsonNumber(LiveFrame(), "orders_today") == "4"; }))
      << LiveFrame() << Log();
}

}  // namespace
}  // namespace txmon::test
