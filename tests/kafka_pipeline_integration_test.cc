// The whole agent on a known generated stream: the simulated shop writes
// Canal messages into the embedded Kafka (librdkafka's mock cluster, the
// real protocol on loopback), the agent consumes them through KafkaSource,
// and every metric on /metrics must equal what the shop's own ground truth
// says — counters, every histogram bucket, sums — exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "agent/base/civil_time.h"
#include "agent/demo/demo_shop.h"
#include "agent/demo/embedded_kafka.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

// Cumulative bucket counts of histogram `name`, summed over its other
// labels, keyed by upper bound (+Inf as infinity).
std::map<double, double> Buckets(const MetricsText& metrics, const std::string& name) {
  std::map<double, double> out;
  const std::string prefix = name + "_bucket{";
  for (const auto& [key, value] : metrics.series()) {
    if (!key.starts_with(prefix)) continue;
    size_t at = key.find("le=\"");
    if (at == std::string::npos) continue;
    std::string le = key.substr(at + 4, key.find('"', at + 4) - at - 4);
    double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
    out[bound] += value;
  }
  return out;
}

// What the cumulative buckets must be for these observations.
std::map<double, double> ExpectedBuckets(const std::vector<int64_t>& bounds_micros,
                                         const std::vector<double>& observations) {
  std::map<double, double> out;
  for (int64_t bound : bounds_micros) out[bound / 1e6] = 0;
  out[INFINITY] = 0;
  for (double value : observations) {
    for (auto& [bound, count] : out) {
      if (value <= bound) ++count;
    }
  }
  return out;
}

const MetricMapping& MappingNamed(const AgentConfig& config, const std::string& name) {
  for (const MetricMapping& m : config.metrics) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no mapping " << name;
  return config.metrics.front();
}

class KafkaPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = ShippedConfig();
    // The shop writes DATETIMEs in the zone the agent reads them in.
    ASSERT_TRUE(LocalZone::Use(config_.time_zone).ok());
    std::string error;
    kafka_ = EmbeddedKafka::Start({}, &error);
    ASSERT_TRUE(kafka_) << error;
    DemoShopOptions options;
    options.partitions = 6;
    options.simulator.seed = 20241111;
    options.simulator.orders_per_second = 40;
    options.simulator.surge_multiplier = 4;
    options.simulator.surge_start_ms = 30'000;
    options.simulator.surge_duration_ms = 15'000;
    options.simulator.time_scale = 30;
    shop_ = std::make_unique<DemoShop>(kafka_.get(), options);
    ASSERT_TRUE(shop_->ProduceSimulated(100'000).ok());
    ASSERT_TRUE(kafka_->Flush(std::chrono::seconds(30)).ok());
    ASSERT_EQ(shop_->produce_errors(), 0u);
    truth_ = shop_->truth();
  }

  std::unique_ptr<RunningAgent> StartAgent() {
    AgentOptions options;
    options.config = config_;
    options.config.source.kafka.brokers = kafka_->bootstrap_servers();
    options.config.source.kafka.topics = {shop_->topic()};
    options.config.source.kafka.group_id = "integration";
    options.config.source.kafka.start_offset = "earliest";
    // The mock cluster waits out a departed member's session before it
    // rebalances: keep that short so a restart is quick.
    options.config.source.kafka.properties = {{"session.timeout.ms", "6000"},
                                              {"heartbeat.interval.ms", "500"}};
    std::string error;
    auto agent = RunningAgent::Start(std::move(options), &error);
    EXPECT_TRUE(agent) << error;
    return agent;
  }

  AgentConfig config_;
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::unique_ptr<DemoShop> shop_;
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

  EXPECT_EQ(m.Sum("txmon_decode_errors_total"), 0);
  EXPECT_EQ(m.Sum("txmon_mapping_skipped_total"), 0);
  EXPECT_EQ(m.Value("txmon_source_up"), 1);
  EXPECT_EQ(m.Sum("txmon_messages_total", {{"type", "ALTER"}}) +
                m.Sum("txmon_messages_total", {{"type", "CREATE"}}),
            truth_.ddl_messages);
  for (const auto& [key, count] : truth_.rows) {
    const auto& [table, type] = key;
    std::string op = type == "INSERT" ? "insert" : type == "UPDATE" ? "update" : "delete";
    EXPECT_EQ(
        m.Value("txmon_row_events_total", {{"database", "shop"}, {"table", table}, {"type", op}}),
        count)
        << table << " " << type;
  }
  EXPECT_EQ(m.Value("txmon_event_lag_seconds_count"), truth_.rows_total);

  for (const auto& [key, count] : truth_.orders_created) {
    EXPECT_EQ(
        m.Value("shop_orders_created_total", {{"channel", key.first}, {"province", key.second}}),
        count);
  }
  EXPECT_EQ(m.Sum("shop_orders_created_total"), TotalOf(truth_.orders_created));
  for (const auto& [key, count] : truth_.orders_paid) {
    Labels labels{{"channel", key.first}, {"payment_method", key.second}};
    EXPECT_EQ(m.Value("shop_orders_paid_total", labels), count);
    // Exact: the sum of decimal strings, not of floats.
    EXPECT_EQ(m.Value("shop_gmv_paid_total", labels),
              static_cast<double>(truth_.paid_amount_cents.at(key)) / 100.0);
  }
  EXPECT_EQ(m.Sum("shop_orders_paid_total"), TotalOf(truth_.orders_paid));
  for (const auto& [key, count] : truth_.status_transitions) {
    EXPECT_EQ(
        m.Value("shop_order_status_transitions_total", {{"from", key.first}, {"to", key.second}}),
        count);
  }
  for (const auto& [channel, count] : truth_.orders_cancelled) {
    EXPECT_EQ(m.Value("shop_orders_cancelled_total", {{"channel", channel}}), count);
  }
  EXPECT_EQ(m.Sum("shop_refunds_total"), truth_.refunds);
  EXPECT_EQ(m.Sum("shop_refund_amount_total"), truth_.refund_amount_cents / 100.0);
  for (const auto& [channel, count] : truth_.user_registrations) {
    EXPECT_EQ(m.Value("shop_user_registrations_total", {{"channel", channel}}), count);
  }
  for (const auto& [method, count] : truth_.payments_failed) {
    EXPECT_EQ(m.Value("shop_payment_attempts_total", {{"method", method}, {"result", "failed"}}),
              count);
  }
  for (const auto& [method, count] : truth_.payments_succeeded) {
    EXPECT_EQ(m.Value("shop_payment_attempts_total", {{"method", method}, {"result", "success"}}),
              count);
  }

  // Histograms: every bucket, the count and the sum.
  std::vector<double> amounts;
  int64_t amount_cents = 0;
  for (int64_t cents : truth_.order_amounts_cents) {
    amounts.push_back(cents / 100.0);
    amount_cents += cents;
  }
  EXPECT_EQ(
      Buckets(m, "shop_order_amount_yuan"),
      ExpectedBuckets(MappingNamed(config_, "shop_order_amount_yuan").bucket_bounds, amounts));
  EXPECT_EQ(m.Sum("shop_order_amount_yuan_count"), amounts.size());
  EXPECT_EQ(m.Sum("shop_order_amount_yuan_sum"), amount_cents / 100.0);

  std::vector<double> delays(truth_.payment_delays_seconds.begin(),
                             truth_.payment_delays_seconds.end());
  int64_t delay_total = 0;
  for (int64_t d : truth_.payment_delays_seconds) delay_total += d;
  EXPECT_EQ(Buckets(m, "shop_payment_duration_seconds"),
            ExpectedBuckets(MappingNamed(config_, "shop_payment_duration_seconds").bucket_bounds,
                            delays));
  EXPECT_EQ(m.Value("shop_payment_duration_seconds_sum"), static_cast<double>(delay_total));

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
  ASSERT_TRUE(shop_->ProduceSimulated(10'000).ok());
  ASSERT_TRUE(kafka_->Flush(std::chrono::seconds(30)).ok());
  const int64_t more = shop_->truth().messages - truth_.messages;
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
