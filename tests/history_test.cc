// The history of every series: history.retention as a floor under the rules'
// windows, the sampler thread at history.resolution, the byte cap that drops
// the oldest samples first, and the config keys with their file:line:col
// errors.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "agent/base/fixed_point.h"
#include "agent/base/wall_clock.h"
#include "agent/config/agent_config.h"
#include "agent/history/retention_plan.h"
#include "agent/history/sample_history.h"
#include "agent/history/store_sampler.h"
#include "agent/promql/promql_parser.h"
#include "agent/rules/rule_manager.h"
#include "agent/store/metric_store.h"

namespace txmon {
namespace {

size_t Points(const SampleHistory& history, const std::string& name, int64_t min_ms = INT64_MIN,
              int64_t max_ms = INT64_MAX) {
  std::vector<LabelMatcher> matchers(1);
  EXPECT_TRUE(LabelMatcher::Make(LabelMatcher::Type::kEqual, std::string(kMetricNameLabel), name,
                                 &matchers[0])
                  .ok());
  size_t points = 0;
  history.Select(matchers, min_ms, max_ms,
                 [&](const Labels&, std::span<const Point> p) { points += p.size(); });
  return points;
}

TEST(RetentionPlanTest, FloorKeepsEverySeriesAndRulesKeepLongerWindows) {
  ExprPtr expr;
  ASSERT_TRUE(ParseExpr("rate(orders_total[1h])", &expr).ok());
  RetentionPlan plan({expr.get()}, 300'000, /*floor_ms=*/900'000);
  EXPECT_TRUE(plan.MayMatchName("anything_at_all"));
  EXPECT_EQ(plan.RetentionFor(Labels{{"__name__", "other"}}), 900'000);
  EXPECT_EQ(plan.RetentionFor(Labels{{"__name__", "orders_total"}}), 3'600'000);
  EXPECT_EQ(plan.max_retention_ms(), 3'600'000);

  RetentionPlan rules_only({expr.get()}, 300'000);
  EXPECT_FALSE(rules_only.MayMatchName("other"));
  EXPECT_EQ(rules_only.RetentionFor(Labels{{"__name__", "other"}}), std::nullopt);
}

TEST(StoreSamplerTest, WithAFloorEveryStoreSeriesIsSampledAndTrimmed) {
  MetricStore store;
  Metric* orders = nullptr;
  Metric* amount = nullptr;
  ASSERT_TRUE(
      store.Add({"orders_total", "Orders.", MetricType::kCounter, {"channel"}, {}, {}}, &orders)
          .ok());
  ASSERT_TRUE(
      store
          .Add({"amount", "Amounts.", MetricType::kHistogram, {}, {}, {10 * kMicrosPerUnit}},
               &amount)
          .ok());
  RetentionPlan plan({}, 300'000, /*floor_ms=*/10'000);
  SampleHistory history;
  StoreSampler sampler(store, plan, &history);
  Series* app = orders->Resolve({"app"});
  for (int i = 1; i <= 30; ++i) {
    app->Add(kMicrosPerUnit);
    amount->Resolve({})->Observe(amount->BucketFor(5 * kMicrosPerUnit), 5 * kMicrosPerUnit);
    sampler.Sample(i * 1000);
  }
  // 10 s of retention at 1 s, plus the newest older sample for lookback.
  EXPECT_EQ(Points(history, "orders_total"), 11u);
  EXPECT_EQ(Points(history, "amount_bucket"), 22u) << "le=10 and le=+Inf";
  EXPECT_EQ(Points(history, "amount_count"), 11u);
  EXPECT_EQ(Points(history, "amount_sum"), 11u);
  EXPECT_EQ(history.series_count(), 5u);
  EXPECT_EQ(history.sample_count(), 55u);
  EXPECT_EQ(history.bytes(), 55u * sizeof(Point));
}

TEST(SampleHistoryTest, ByteCapDropsTheOldestSamplesFirstAndCountsThem) {
  SampleHistory history;
  Labels a{{"__name__", "a"}};
  Labels b{{"__name__", "b"}};
  for (int t = 1; t <= 10; ++t) history.Append(a, t * 1000, t);
  for (int t = 6; t <= 10; ++t) history.Append(b, t * 1000, t);
  history.SetMaxBytes(8 * sizeof(Point));
  EXPECT_EQ(history.EnforceBudget(), 7u);
  EXPECT_EQ(history.dropped_samples(), 7u);
  EXPECT_EQ(history.sample_count(), 8u);
  // a kept 4..10 minus the drops at 6: oldest timestamps went first, across series.
  EXPECT_EQ(Points(history, "a", 0, 6000), 0u);
  EXPECT_EQ(Points(history, "a"), 4u) << "7..10";
  EXPECT_EQ(Points(history, "b"), 4u) << "7..10";

  // Each series keeps its newest sample even when the cap cannot be met.
  history.SetMaxBytes(1);
  history.EnforceBudget();
  EXPECT_EQ(Points(history, "a"), 1u);
  EXPECT_EQ(Points(history, "b"), 1u);
  EXPECT_EQ(history.dropped_samples(), 13u);
}

TEST(RuleManagerHistoryTest, SamplerThreadFillsTheHistoryWithoutAnyRule) {
  MetricStore store;
  Metric* orders = nullptr;
  ASSERT_TRUE(
      store.Add({"orders_total", "Orders.", MetricType::kCounter, {}, {}, {}}, &orders).ok());
  orders->Resolve({})->Add(3 * kMicrosPerUnit);
  RuleManagerOptions options;
  options.history_retention_ms = 60'000;
  options.history_resolution_ms = 50;
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create(options, {}, &store, &manager).ok());
  manager->Start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Points(manager->history(), "orders_total") < 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  manager->Stop();
  EXPECT_GE(Points(manager->history(), "orders_total"), 4u);
  QueryResult result;
  ASSERT_TRUE(manager->Query("orders_total", WallClockMs(), &result).ok());
  ASSERT_EQ(result.vector.size(), 1u);
  EXPECT_EQ(result.vector[0].value, 3);
}

// ------------------------------------------------------------------ config

const char* kMetrics = "metrics:\n  - {name: a_total, help: A., type: counter, table: t}\n";

std::string ErrorOf(const std::string& yaml) {
  AgentConfig config;
  Status s = ParseConfig(yaml + kMetrics, "txmon.yml", &config);
  return s.ok() ? "ok" : s.message();
}

TEST(HistoryConfigTest, DefaultsAndValues) {
  AgentConfig config;
  ASSERT_TRUE(ParseConfig(kMetrics, "txmon.yml", &config).ok());
  EXPECT_EQ(config.history.retention_ms, 15 * 60 * 1000);
  EXPECT_EQ(config.history.resolution_ms, 1000);
  EXPECT_EQ(config.history.max_bytes, 256u << 20);

  Status s = ParseConfig(
      std::string("history: {retention: 30m, resolution: 250ms, max_bytes: 1GiB}\n") + kMetrics,
      "txmon.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(config.history.retention_ms, 30 * 60 * 1000);
  EXPECT_EQ(config.history.resolution_ms, 250);
  EXPECT_EQ(config.history.max_bytes, 1ull << 30);
  ASSERT_TRUE(
      ParseConfig(std::string("history:\n  max_bytes: 1000\n") + kMetrics, "txmon.yml", &config)
          .ok());
  EXPECT_EQ(config.history.max_bytes, 1000u);
}

TEST(HistoryConfigTest, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(ErrorOf("history:\n  retention: soon\n"),
            "txmon.yml:2:14: history.retention: expected a duration such as 15m or 1s");
  EXPECT_EQ(ErrorOf("history:\n  resolution: 0s\n"),
            "txmon.yml:2:15: history.resolution: expected a duration such as 15m or 1s");
  EXPECT_EQ(ErrorOf("history:\n  max_bytes: 12 parsecs\n"),
            "txmon.yml:2:14: history.max_bytes: expected a size such as 256MiB or 1GB");
  EXPECT_EQ(ErrorOf("history:\n  retention: 1s\n  resolution: 5s\n"),
            "txmon.yml:2:14: history.retention: must be at least history.resolution (or 0 to "
            "turn the history off)");
  EXPECT_EQ(ErrorOf("history:\n  keep: 1h\n"),
            "txmon.yml:2:3: history: unknown field \"keep\" (known: max_bytes, resolution, "
            "retention)");
}

}  // namespace
}  // namespace txmon
