// The history of every series: history.retention as a floor under the rules'
// windows, the sampler thread at history.resolution, the byte cap that drops
// the oldest samples first, and the config keys with their file:line:col
// errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <iterator>
#include <thread>

#include "agent/base/fixed_point.h"
#include "agent/base/wall_clock.h"
#include "agent/config/agent_config.h"
#include "agent/history/retention_plan.h"
#include "agent/history/sample_history.h"
#include "agent/history/store_sampler.h"
#include "agent/history/xor_chunk.h"
#include "agent/promql/promql_parser.h"
#include "agent/rules/rule_file.h"
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

// A fixed `@ <time>` would need its window kept from then on, without end:
// refused, saying why; `@ start()`/`@ end()` are the evaluation time in a
// rule, and keep what the plain selector keeps.
TEST(RetentionPlanTest, FixedAtTimesAreRefusedAndStartEndAreTheEvaluationTime) {
  for (const char* text : {"orders_total @ 1700000000", "rate(orders_total[5m] @ 1700000000)",
                           "sum(rate(orders_total[1m]))[5m:1m] @ 1700000000",
                           "max_over_time(rate(orders_total[1m] @ 1700000000.5)[5m:1m])",
                           "1 + sum by (c) (orders_total offset 1m @ 1700000000)"}) {
    ExprPtr expr;
    ASSERT_TRUE(ParseExpr(text, &expr).ok()) << text;
    Status s = RetentionPlan::CheckRuleExpr(*expr);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("reads samples at a fixed time"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("@ 1700000000"), std::string::npos) << s.message();
  }
  for (const char* text : {"rate(orders_total[5m] @ end())", "orders_total @ start() offset 1m",
                           "max_over_time(orders_total[10m:1m] @ end())"}) {
    ExprPtr expr;
    ASSERT_TRUE(ParseExpr(text, &expr).ok()) << text;
    EXPECT_TRUE(RetentionPlan::CheckRuleExpr(*expr).ok()) << text;
  }
  ExprPtr at_end, plain;
  ASSERT_TRUE(ParseExpr("rate(orders_total[5m] @ end())", &at_end).ok());
  ASSERT_TRUE(ParseExpr("rate(orders_total[5m])", &plain).ok());
  const Labels orders{{"__name__", "orders_total"}};
  EXPECT_EQ(RetentionPlan({at_end.get()}, 300'000).RetentionFor(orders),
            RetentionPlan({plain.get()}, 300'000).RetentionFor(orders));

  // A rule file with one is refused where the expression is written.
  std::vector<RuleGroupSpec> groups;
  Status loaded = ParseRuleFile(
      "groups:\n- name: g\n  rules:\n  - record: r\n    expr: orders_total @ 1700000000\n", "r.yml",
      &groups);
  EXPECT_FALSE(loaded.ok());
  EXPECT_NE(loaded.message().find("r.yml:5:11"), std::string::npos) << loaded.message();
  EXPECT_NE(loaded.message().find("fixed time"), std::string::npos) << loaded.message();
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
  for (int i = 1; i <= 1000; ++i) {
    app->Add(kMicrosPerUnit);
    amount->Resolve({})->Observe(amount->BucketFor(5 * kMicrosPerUnit), 5 * kMicrosPerUnit);
    sampler.Sample(i * 1000);
  }
  EXPECT_EQ(history.series_count(), 5u) << "the counter, two buckets, sum and count";
  // The last 10 s, at 1 s.
  EXPECT_EQ(Points(history, "orders_total", 990'000, 1'000'000), 11u);
  EXPECT_EQ(Points(history, "amount_bucket", 990'000, 1'000'000), 22u) << "le=10 and le=+Inf";
  EXPECT_EQ(Points(history, "amount_count", 990'000, 1'000'000), 11u);
  EXPECT_EQ(Points(history, "amount_sum", 990'000, 1'000'000), 11u);
  // Trimmed by whole chunks: at most one chunk more than the window.
  EXPECT_GE(Points(history, "orders_total"), 11u);
  EXPECT_LE(Points(history, "orders_total"), 11u + XorChunk::kMaxSamples);
  EXPECT_LE(history.sample_count(), 5 * (11u + XorChunk::kMaxSamples));
}

TEST(XorChunkTest, RoundTripsTimesAndValuesBitForBit) {
  XorChunk chunk;
  std::vector<Point> in;
  int64_t t = 1'700'000'000'000;
  const double values[] = {0,    1,          1,          -2.5, 1e300, NAN, StaleNaN(), INFINITY,
                           -0.0, 8652242.44, 8652242.44, 3,    3,     3,   1e-300,     42};
  for (size_t i = 0; i < XorChunk::kMaxSamples; ++i) {
    // Steady 1 s steps with jitter and a few large gaps: every dod width.
    t += i % 7 == 0 ? 1000 : i % 11 == 0 ? 70'000 : i % 13 == 0 ? 600'000'000 : 1000 + i % 3;
    in.push_back(Point{t, values[i % std::size(values)]});
    chunk.Append(t, in.back().value);
  }
  EXPECT_TRUE(chunk.full());
  std::vector<Point> out;
  chunk.Decode(INT64_MIN, INT64_MAX, &out);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].timestamp_ms, in[i].timestamp_ms) << i;
    uint64_t a, b;
    std::memcpy(&a, &in[i].value, 8);
    std::memcpy(&b, &out[i].value, 8);
    EXPECT_EQ(a, b) << i;
  }
  out.clear();
  chunk.Decode(in[10].timestamp_ms, in[20].timestamp_ms, &out);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out.front().timestamp_ms, in[10].timestamp_ms);
}

TEST(XorChunkTest, ASteadyCounterCostsAFewBitsASample) {
  XorChunk still, moving;
  for (int i = 0; i < XorChunk::kMaxSamples; ++i) {
    still.Append(1000 * i, 5);
    moving.Append(1000 * i, 3 * i);
  }
  still.Seal();
  moving.Seal();
  // 16 bytes for the first sample, 16 bits for the second one's delta,
  // then 2 bits (dod 0, xor 0) each.
  EXPECT_LE(still.memory_bytes() - sizeof(XorChunk), 16u + 2 + 120 / 4 + 1);
  EXPECT_LE(moving.memory_bytes() - sizeof(XorChunk), 16u + 120 * 3);
}

TEST(SampleHistoryTest, ByteCapDropsTheOldestChunksFirstAndCountsThem) {
  SampleHistory history;
  Labels a{{"__name__", "a"}};
  Labels b{{"__name__", "b"}};
  // a: chunks from 1, 121, 241, 361, 481; b: from 301, 421, 541.
  for (int t = 1; t <= 600; ++t) history.Append(a, t * 1000, t);
  for (int t = 301; t <= 600; ++t) history.Append(b, t * 1000, t);
  EXPECT_EQ(history.sample_count(), 900u);
  history.SetMaxBytes(history.bytes() - 1);
  EXPECT_EQ(history.EnforceBudget(), 120u) << "a's first chunk, the oldest";
  EXPECT_EQ(Points(history, "a", 0, 120'000), 0u);
  EXPECT_EQ(Points(history, "a"), 480u);
  EXPECT_EQ(Points(history, "b"), 300u);

  // Each series keeps its newest chunk even when the cap cannot be met.
  history.SetMaxBytes(1);
  history.EnforceBudget();
  EXPECT_EQ(Points(history, "a"), 120u);
  EXPECT_EQ(Points(history, "b"), 60u);
  EXPECT_EQ(history.dropped_samples(), 720u);
  EXPECT_EQ(history.sample_count(), 180u);
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
