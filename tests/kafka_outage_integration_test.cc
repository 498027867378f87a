// Kafka outages as the agent lives them: brokers unreachable at start, and
// brokers gone mid-stream. The agent keeps running and says it is not ready
// (/-/ready 503, txmon_source_up 0); when the brokers return it consumes
// everything, and the metrics equal the simulated shop's ground truth
// exactly — nothing lost, nothing counted twice.
#include <gtest/gtest.h>

#include "tests/support/http_client.h"
#include "tests/support/live_shop.h"
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
    DemoShopOptions options;
    options.simulator.seed = 23;
    options.simulator.orders_per_second = 40;
    options.simulator.time_scale = 30;
    std::string error;
    live_ = LiveShop::Create(options, &error);
    ASSERT_NE(live_, nullptr) << error;
  }

  // Simulated shop time, produced and flushed to the broker.
  void Produce(int64_t simulated_ms) {
    Status produced = live_->ProduceSimulated(simulated_ms);
    ASSERT_TRUE(produced.ok()) << produced.message();
  }

  std::unique_ptr<RunningAgent> StartAgent() {
    std::string error;
    auto agent = RunningAgent::Start(live_->AgentOptionsFor("outage-test"), &error);
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
    const ShopTruth truth = live_->shop().truth();
    MetricsText metrics;
    ASSERT_TRUE(agent.WaitFor(
        [&](const MetricsText& m) { return m.Sum("txmon_messages_total") >= truth.messages; },
        seconds(60), &metrics))
        << "applied " << metrics.Sum("txmon_messages_total") << " of " << truth.messages;
    std::this_thread::sleep_for(milliseconds(500));  // anything counted twice would show now
    ExpectMetricsMatchTruth(agent.Scrape(), truth, live_->config());
  }

  std::unique_ptr<LiveShop> live_;
};

TEST_F(KafkaOutageTest, BrokersUnreachableAtStartThenBack) {
  Produce(60'000);
  ASSERT_TRUE(live_->kafka().SetBrokerDown(kAllBrokers).ok());
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

  ASSERT_TRUE(live_->kafka().SetBrokerUp(kAllBrokers).ok());
  EXPECT_TRUE(WaitForReadiness(*agent, 200, 1));
  ExpectEverythingCountedOnce(*agent);
}

TEST_F(KafkaOutageTest, BrokersGoneMidStreamThenBack) {
  Produce(30'000);
  auto agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  ExpectEverythingCountedOnce(*agent);
  ASSERT_TRUE(WaitForReadiness(*agent, 200, 1));

  ASSERT_TRUE(live_->kafka().SetBrokerDown(kAllBrokers).ok());
  EXPECT_TRUE(WaitForReadiness(*agent, 503, 0));
  // The shop keeps selling: its producer queues until the brokers return.
  ASSERT_TRUE(live_->shop().ProduceSimulated(30'000).ok());

  ASSERT_TRUE(live_->kafka().SetBrokerUp(kAllBrokers).ok());
  Status flushed = live_->kafka().Flush(seconds(30));
  ASSERT_TRUE(flushed.ok()) << flushed.message();
  EXPECT_TRUE(WaitForReadiness(*agent, 200, 1));
  ExpectEverythingCountedOnce(*agent);
}

}  // namespace
}  // namespace txmon::test
