// Exact counts across crashes: a fixed stream of over 200,000 row changes
// flows through the mock cluster into the txmon binary, which is killed with
// SIGKILL at random moments at least 10 times and restarted each time from
// its checkpoint. At the end every counter, histogram bucket and sum on
// /metrics equals the ground truth exactly.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "agent/base/civil_time.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/demo/embedded_kafka.h"
#include "agent/demo/shop_simulator.h"
#include "tests/support/http_client.h"
#include "tests/support/running_agent.h"
#include "tests/support/shop_truth_check.h"
#include "tests/support/txmon_process.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kPartitions = 48;  // keeps each partition under the mock's 5 MiB retention
constexpr int kKills = 12;
const char* kTopic = "shop.binlog";

double MessagesIn(const Checkpoint& checkpoint) {
  for (const MetricSnapshot& m : checkpoint.store.metrics) {
    if (m.name != "txmon_messages_total") continue;
    int64_t total = 0;
    for (const SeriesSnapshot& s : m.series) total += s.value;
    return total / 1e6;
  }
  return 0;
}

class CheckpointCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("txmon-crash-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    config_ = ShippedConfig();
    ASSERT_TRUE(LocalZone::Use(config_.time_zone).ok());
    Status status = EmbeddedKafka::Start({}, &kafka_);
    ASSERT_TRUE(status.ok()) << status.message();
    ASSERT_TRUE(kafka_->CreateTopic(kTopic, kPartitions).ok());
    ShopSimulatorOptions options;
    options.seed = 5;
    options.orders_per_second = 1500;
    options.time_scale = 30;
    options.record_each_order = true;
    ShopSimulator simulator(options);
    simulator.AdvanceTo(options.start_time_ms + 45'000, messages_);
    truth_ = simulator.truth();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts txmon on the shipped config in consumer group `group`.
  TxmonProcess StartAgent(const std::string& group) {
    std::ifstream shipped(std::string(TXMON_SOURCE_DIR) + "/txmon.yml");
    std::stringstream text;
    text << shipped.rdbuf();
    std::string config = text.str();
    auto replace = [&](const std::string& from, const std::string& to) {
      config.replace(config.find(from), from.size(), to);
    };
    replace("brokers: 127.0.0.1:9092", "brokers: " + kafka_->bootstrap_servers());
    replace("group_id: txmon", "group_id: " + group);
    const std::string path = (dir_ / (group + ".yml")).string();
    std::ofstream(path) << config;
    std::string error;
    TxmonProcess txmon = StartTxmon({"--config.file=" + path, "--checkpoint.file=" + checkpoint(),
                                     "--checkpoint.interval=200ms"},
                                    (dir_ / group).string(), &error);
    EXPECT_TRUE(txmon.process) << error;
    return txmon;
  }

  std::string checkpoint() const { return (dir_ / "state.ckpt").string(); }

  fs::path dir_;
  AgentConfig config_;
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::vector<CanalMessageOut> messages_;
  ShopTruth truth_;
};

TEST_F(CheckpointCrashTest, CountsStayExactThroughRepeatedSigkill) {
  ASSERT_GE(truth_.rows_total, 200'000);
  // Produce while the agent is killed and restarted, so kills land mid-stream.
  std::atomic<size_t> produced{0};
  std::thread producer([&] {
    const auto start = Clock::now();
    const double per_second = messages_.size() / 40.0;
    for (size_t i = 0; i < messages_.size(); ++i) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(i / per_second));
      if (Clock::now() < due) std::this_thread::sleep_until(due);
      const CanalMessageOut& m = messages_[i];
      ASSERT_TRUE(kafka_->Produce(kTopic, m.partition_key_hash % kPartitions, m.json).ok());
      produced = i + 1;
    }
  });

  std::mt19937 random(20241111);
  double largest_replay = 0;
  int kills = 0;
  for (int run = 0; run < kKills; ++run) {
    // A new group per run: a killed member would otherwise hold its
    // partitions until its session expires. Positions come from the
    // checkpoint, not the group.
    TxmonProcess txmon = StartAgent("crash-" + std::to_string(run));
    ASSERT_TRUE(txmon.process);
    Process* agent = txmon.process.get();
    const std::string& url = txmon.metrics_url;
    // Wait until it consumes, then kill it at a random moment.
    double at_start = -1, seen = -1;
    for (int i = 0; i < 300; ++i) {
      MetricsText m = MetricsText::Parse(HttpGet(url).body);
      if (m.Has("txmon_source_up")) {
        seen = m.Sum("txmon_messages_total");
        if (at_start < 0) at_start = seen;
        if (seen > at_start) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(seen, at_start) << "run " << run << " never consumed:\n" << agent->Stderr();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution(0, 700)(random)));
    seen = MetricsText::Parse(HttpGet(url).body).Sum("txmon_messages_total");
    agent->Signal(SIGKILL);
    ASSERT_TRUE(agent->Wait(std::chrono::seconds(10)).has_value());
    ++kills;
    Checkpoint saved;
    bool found = false;
    std::string from;
    ASSERT_TRUE(ReadCheckpointFile(checkpoint(), &saved, &found, &from).ok());
    ASSERT_TRUE(found);
    largest_replay = std::max(largest_replay, seen - MessagesIn(saved));
  }
  producer.join();
  ASSERT_TRUE(kafka_->Flush(std::chrono::seconds(30)).ok());

  TxmonProcess txmon = StartAgent("final");
  ASSERT_TRUE(txmon.process);
  Process* agent = txmon.process.get();
  const std::string& url = txmon.metrics_url;
  // Waits while the agent makes progress: a slow machine is not a failure,
  // a stall (30 s without one more message) is.
  MetricsText m;
  double last_seen = -1;
  auto last_progress = Clock::now();
  while (Clock::now() - last_progress < std::chrono::seconds(30)) {
    m = MetricsText::Parse(HttpGet(url).body);
    const double seen = m.Sum("txmon_messages_total");
    if (seen >= truth_.messages) break;
    if (seen > last_seen) {
      last_seen = seen;
      last_progress = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto Lag = [&] {
    std::string lag;
    for (int32_t p = 0; p < kPartitions; ++p) {
      std::optional<double> v = m.Find("txmon_kafka_consumer_lag_messages",
                                       {{"topic", kTopic}, {"partition", std::to_string(p)}});
      if (v && *v > 0) lag += " " + std::to_string(p) + ":" + std::to_string(*v);
    }
    return lag;
  };
  if (m.Sum("txmon_messages_total") < truth_.messages) {
    ADD_FAILURE() << "the final agent stalled at " << m.Sum("txmon_messages_total") << " of "
                  << truth_.messages << " messages; lag by partition:" << Lag() << "\nits log:\n"
                  << agent->Stderr(16 * 1024);
  }
  // Anything double-counted would now show; give it a moment to appear.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  m = MetricsText::Parse(HttpGet(url).body);
  printf("kills: %d, rows: %lld, messages: %lld, largest replay after a kill: %.0f messages\n",
         kills, static_cast<long long>(truth_.rows_total), static_cast<long long>(truth_.messages),
         largest_replay);
  EXPECT_GE(kills, 10);
  EXPECT_EQ(m.Sum("txmon_messages_total"), truth_.messages);
  ExpectMetricsMatchTruth(m, truth_, config_);
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace txmon::test
