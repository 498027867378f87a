// Kafka outages as the agent lives them: brokers unreachable at start, and
// brokers gone mid-stream. The agent keeps running and says it is not ready
// (/-/ready 503, txmon_source_up 0); when the brokers return it consumes
// everything, and the metrics equal the simulated shop's ground truth
// exactly — nothing lost, nothing counted twice.
#include <gtest/gtest.h>

#include "agent/base/civil_time.h"
#include "agent/demo/demo_shop.h"
#include "agent/demo/embedded_kafka.h"
#include "tests/support/http_client.h"
#include "tests/support/running_agent.h"
#include "tests/support/shop_truth_check.h"

namespace txmon::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int32_t kAllBrokers = -1;

class KafkaOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = ShippedConfig();
    ASSERT_TRUE(LocalZone::Use(config_.time_zone).ok());
    std::string error;
    kafka_ = EmbeddedKafka::Start({}, &error);
    ASSERT_NE(kafka_, nullptr) << error;
    DemoShopOptions options;
    options.simulator.seed = 23;
    options.simulator.orders_per_second = 40;
    options.simulator.time_scale = 30;
    shop_ = std::make_unique<DemoShop>(kafka_.get(), options);
  }

  // Simulated shop time, produced and flushed to the broker.
  void Produce(int64_t simulated_ms) {
    ASSERT_TRUE(shop_->ProduceSimulated(simulated_ms).ok());
    Status flushed = kafka_->Flush(seconds(30));
    ASSERT_TRUE(flushed.ok()) << flushed.message();
  }

  std::unique_ptr<RunningAgent> StartAgent() {
    AgentOptions options;
    options.config = config_;
    options.config.source.kafka.brokers = kafka_->bootstrap_servers();
    options.config.source.kafka.topics = {shop_->topic()};
    options.config.source.kafka.group_id = "outage-test";
    std::string error;
    auto agent = RunningAgent::Start(std::move(options), &error);
    EXPECT_NE(agent, nullptr) << error;
    return agent;
  }

  // Waits until /-/ready answers `status` and txmon_source_up reads `up`.
  static bool WaitForReadiness(const RunningAgent& agent, long status, double up) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (HttpGet(agent.url("/-/ready")).status == status &&
          agent.Scrape().Sum("txmon_source_up") == up) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

  void ExpectEverythingCountedOnce(const RunningAgent& agent) {
    const ShopTruth truth = shop_->truth();
    MetricsText metrics;
    ASSERT_TRUE(agent.WaitFor(
        [&](const MetricsText& m) { return m.Sum("txmon_messages_total") >= truth.messages; },
        seconds(60), &metrics))
        << "applied " << metrics.Sum("txmon_messages_total") << " of " << truth.messages;
    std::this_thread::sleep_for(milliseconds(500));  // anything counted twice would show now
    ExpectMetricsMatchTruth(agent.Scrape(), truth, config_);
  }

  AgentConfig config_;
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::unique_ptr<DemoShop> shop_;
};

TEST_F(KafkaOutageTest, BrokersUnreachableAtStartThenBack) {
  Produce(60'000);
  ASSERT_TRUE(kafka_->SetBrokerDown(kAllBrokers).ok());
  auto agent = StartAgent();
  ASSERT_NE(agent, nullptr);

  // Up and serving, but not ready, for as long as the brokers are away.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(HttpGet(agent->url("/-/healthy")).status, 200);
    EXPECT_EQ(HttpGet(agent->url("/-/ready")).status, 503);
    MetricsText metrics = agent->Scrape();
    EXPECT_EQ(metrics.Sum("txmon_source_up"), 0);
    EXPECT_EQ(metrics.Sum("txmon_messages_total"), 0);
    std::this_thread::sleep_for(milliseconds(300));
  }

  ASSERT_TRUE(kafka_->SetBrokerUp(kAllBrokers).ok());
  EXPECT_TRUE(WaitForReadiness(*agent, 200, 1));
  ExpectEverythingCountedOnce(*agent);
}

TEST_F(KafkaOutageTest, BrokersGoneMidStreamThenBack) {
  Produce(30'000);
  auto agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  ExpectEverythingCountedOnce(*agent);
  ASSERT_TRUE(WaitForReadiness(*agent, 200, 1));

  ASSERT_TRUE(kafka_->SetBrokerDown(kAllBrokers).ok());
  EXPECT_TRUE(WaitForReadiness(*agent, 503, 0));
  // The shop keeps selling: its producer queues until the brokers return.
  ASSERT_TRUE(shop_->ProduceSimulated(30'000).ok());

  ASSERT_TRUE(kafka_->SetBrokerUp(kAllBrokers).ok());
  Status flushed = kafka_->Flush(seconds(30));
  ASSERT_TRUE(flushed.ok()) << flushed.message();
  EXPECT_TRUE(WaitForReadiness(*agent, 200, 1));
  ExpectEverythingCountedOnce(*agent);
}

}  // namespace
}  // namespace txmon::test
