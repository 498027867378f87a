// The whole agent on a known generated stream: the simulated shop writes
// Canal messages into the embedded Kafka (librdkafka's mock cluster, the
// real protocol on loopback), the agent consumes them through KafkaSource,
// and every metric on /metrics must equal what the shop's own ground truth
// says — counters, every histogram bucket, sums — exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "tests/support/live_shop.h"
#include "tests/support/running_agent.h"
#include "tests/support/shop_truth_check.h"

namespace txmon::test {
namespace {

class KafkaPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DemoShopOptions options;
    options.partitions = 6;
    options.simulator.seed = 20241111;
    options.simulator.orders_per_second = 40;
    options.simulator.surge_multiplier = 4;
    options.simulator.surge_start_ms = 30'000;
    options.simulator.surge_duration_ms = 15'000;
    options.simulator.time_scale = 30;
    std::string error;
    live_ = LiveShop::Create(options, &error);
    ASSERT_NE(live_, nullptr) << error;
    Status produced = live_->ProduceSimulated(100'000);
    ASSERT_TRUE(produced.ok()) << produced.message();
    truth_ = live_->shop().truth();
    config_ = live_->config();
  }

  std::unique_ptr<RunningAgent> StartAgent() {
    AgentOptions options = live_->AgentOptionsFor("integration");
    // The mock cluster waits out a departed member's session before it
    // rebalances: keep that short so a restart is quick.
    options.config.source.kafka.properties = {{"session.timeout.ms", "6000"},
                                              {"heartbeat.interval.ms", "500"}};
    std::string error;
    auto agent = RunningAgent::Start(std::move(options), &error);
    EXPECT_TRUE(agent) << error;
    return agent;
  }

  std::unique_ptr<LiveShop> live_;
  AgentConfig config_;
  ShopTruth truth_;
};

TEST_F(KafkaPipelineTest, EveryMetricEqualsTheGroundTruth) {
  ASSERT_GT(truth_.messages, 5000) << "the stream should be big enough to mean something";
  ASSERT_GT(truth_.refunds, 0);
  ASSERT_GT(TotalOf(truth_.orders_cancelled), 0);
  ASSERT_GT(truth_.ddl_messages, 0);

  auto agent = StartAgent();
  ASSERT_TRUE(agent);
  MetricsText m;
  bool consumed = agent->WaitFor(
      [&](const MetricsText& scrape) {
        return scrape.Sum("txmon_messages_total") == static_cast<double>(truth_.messages);
      },
      std::chrono::seconds(90), &m);
  ASSERT_TRUE(consumed) << "consumed " << m.Sum("txmon_messages_total") << " of "
                        << truth_.messages;

  ExpectMetricsMatchTruth(m, truth_, config_);
  EXPECT_TRUE(agent->Stop().ok());
}

TEST_F(KafkaPipelineTest, ARestartedAgentInTheSameGroupDoesNotRecount) {
  // Consume everything, stop (committing the applied offsets), produce more,
  // restart: the new agent sees only the new messages.
  {
    auto agent = StartAgent();
    ASSERT_TRUE(agent);
    ASSERT_TRUE(agent->WaitFor(
        [&](const MetricsText& s) { return s.Sum("txmon_messages_total") == truth_.messages; },
        std::chrono::seconds(90)));
    ASSERT_TRUE(agent->Stop().ok());
  }
  ASSERT_TRUE(live_->ProduceSimulated(10'000).ok());
  const int64_t more = live_->shop().truth().messages - truth_.messages;
  ASSERT_GT(more, 0);
  auto agent = StartAgent();
  ASSERT_TRUE(agent);
  MetricsText m;
  EXPECT_TRUE(
      agent->WaitFor([&](const MetricsText& s) { return s.Sum("txmon_messages_total") >= more; },
                     std::chrono::seconds(60), &m));
  // Give a stray redelivery the chance to show before checking the total.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  m = agent->Scrape();
  EXPECT_EQ(m.Sum("txmon_messages_total"), more);
}

}  // namespace
}  // namespace txmon::test
