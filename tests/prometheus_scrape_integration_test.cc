// A real Prometheus server scrapes the agent after it consumed a known
// stream; PromQL through Prometheus's HTTP API returns the shop's totals.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/live_shop.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

double QueryScalar(const PrometheusServer& prometheus, const std::string& expr) {
  std::vector<PromSample> samples;
  std::string error;
  EXPECT_TRUE(prometheus.Query(expr, &samples, &error)) << expr << ": " << error;
  EXPECT_EQ(samples.size(), 1u) << expr;
  return samples.empty() ? NAN : samples[0].value;
}

TEST(PrometheusScrapeTest, PromQLReturnsTheShopTotals) {
  std::string error;
  DemoShopOptions shop_options;
  shop_options.simulator.seed = 7;
  shop_options.simulator.orders_per_second = 30;
  shop_options.simulator.time_scale = 30;
  auto live = LiveShop::Create(shop_options, &error);
  ASSERT_NE(live, nullptr) << error;
  ASSERT_TRUE(live->ProduceSimulated(60'000).ok());
  const ShopTruth truth = live->shop().truth();

  AgentOptions options = live->AgentOptionsFor("prometheus-test");
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_TRUE(agent) << error;
  ASSERT_TRUE(agent->WaitFor(
      [&](const MetricsText& m) { return m.Sum("txmon_messages_total") == truth.messages; },
      std::chrono::seconds(60)));

  const std::string target = "127.0.0.1:" + std::to_string(agent->agent().web_port());
  PrometheusOptions prometheus_options;
  prometheus_options.targets = {target};
  prometheus_options.scrape_interval = std::chrono::milliseconds(500);
  auto prometheus = PrometheusServer::Start(prometheus_options, &error);
  ASSERT_TRUE(prometheus) << error;
  ASSERT_TRUE(prometheus->WaitForScrapes(target, 2, std::chrono::seconds(60), &error)) << error;

  EXPECT_EQ(QueryScalar(*prometheus, "up{job=\"txmon\"}"), 1);
  EXPECT_EQ(QueryScalar(*prometheus, "sum(shop_orders_created_total)"),
            TotalOf(truth.orders_created));
  EXPECT_EQ(QueryScalar(*prometheus, "sum(shop_orders_paid_total)"), TotalOf(truth.orders_paid));
  EXPECT_NEAR(QueryScalar(*prometheus, "sum(shop_gmv_paid_total)"),
              TotalOf(truth.paid_amount_cents) / 100.0, 1e-6);
  EXPECT_EQ(QueryScalar(*prometheus, "sum(shop_orders_paid_total{payment_method=\"alipay\"})"),
            [&] {
              int64_t total = 0;
              for (const auto& [key, count] : truth.orders_paid) {
                if (key.second == "alipay") total += count;
              }
              return static_cast<double>(total);
            }());
  EXPECT_EQ(QueryScalar(*prometheus, "sum(shop_order_amount_yuan_count)"),
            truth.order_amounts_cents.size());
  EXPECT_EQ(QueryScalar(*prometheus, "sum(shop_user_registrations_total)"),
            TotalOf(truth.user_registrations));
  EXPECT_EQ(QueryScalar(*prometheus, "sum(txmon_decode_errors_total)"), 0);
  // histogram_quantile over the agent's buckets parses and lands in range.
  double p95 = QueryScalar(
      *prometheus, "histogram_quantile(0.95, sum by (le) (shop_payment_duration_seconds_bucket))");
  EXPECT_GT(p95, 0);
  EXPECT_LE(p95, 1800);
}

}  // namespace
}  // namespace txmon::test
