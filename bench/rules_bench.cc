// Cost of one rule evaluation tick in the agent: sampling the MetricStore
// into the rules' history plus evaluating every group of the shipped
// rules/*.yml, over a store of ~10,000 series shaped like txmon.yml's
// metrics (orders by 20 channels × 400 provinces dominate) and txmon's own
// pipeline metrics. The history is warmed up to its steady size (the
// longest windows full) before timing; counters move between ticks.
//
// Reports per tick: time, history series and samples.
#include <benchmark/benchmark.h>

#include <random>

#include "agent/base/fixed_point.h"
#include "agent/pipeline/pipeline_metrics.h"
#include "agent/rules/rule_manager.h"
#include "agent/store/metric_store.h"

namespace txmon {
namespace {

std::vector<int64_t> Bounds(std::initializer_list<int64_t> units) {
  std::vector<int64_t> out;
  for (int64_t unit : units) out.push_back(unit * kMicrosPerUnit);
  return out;
}

struct ShopStore {
  MetricStore store;
  PipelineMetrics pipeline;
  std::vector<Series*> counters;  // the series the workload increments
  Metric* amount = nullptr;
  std::vector<Series*> amount_series;
  size_t series = 0;

  void Build(int provinces) {
    Metric *created, *paid, *gmv, *attempts, *cancelled, *refunds, *refund_amount, *duration;
    auto add = [&](MetricSpec spec, Metric** out) {
      Status s = store.Add(std::move(spec), out);
      if (!s.ok()) std::abort();
    };
    add({"shop_orders_created_total", "", MetricType::kCounter, {"channel", "province"}, {}, {}},
        &created);
    add({"shop_orders_paid_total", "", MetricType::kCounter, {"channel", "payment_method"}, {}, {}},
        &paid);
    add({"shop_gmv_paid_total", "", MetricType::kCounter, {"channel", "payment_method"}, {}, {}},
        &gmv);
    add({"shop_order_amount_yuan",
         "",
         MetricType::kHistogram,
         {"channel"},
         {},
         Bounds({10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000})},
        &amount);
    add({"shop_payment_duration_seconds",
         "",
         MetricType::kHistogram,
         {},
         {},
         Bounds({5, 10, 20, 30, 60, 120, 300, 600, 900, 1800})},
        &duration);
    add({"shop_orders_cancelled_total", "", MetricType::kCounter, {"channel"}, {}, {}}, &cancelled);
    add({"shop_refunds_total", "", MetricType::kCounter, {"reason"}, {}, {}}, &refunds);
    add({"shop_refund_amount_total", "", MetricType::kCounter, {"reason"}, {}, {}}, &refund_amount);
    add({"shop_payment_attempts_total", "", MetricType::kCounter, {"method", "result"}, {}, {}},
        &attempts);
    if (!pipeline.Register(store).ok()) std::abort();
    for (int c = 0; c < 20; ++c) {
      std::string channel = "channel" + std::to_string(c);
      for (int p = 0; p < provinces; ++p) {
        counters.push_back(created->Resolve({channel, "province" + std::to_string(p)}));
      }
      for (int m = 0; m < 10; ++m) {
        std::string method = "method" + std::to_string(m);
        counters.push_back(paid->Resolve({channel, method}));
        counters.push_back(gmv->Resolve({channel, method}));
      }
      counters.push_back(cancelled->Resolve({channel}));
      amount_series.push_back(amount->Resolve({channel}));
    }
    for (int r = 0; r < 16; ++r) {
      counters.push_back(refunds->Resolve({"reason" + std::to_string(r)}));
      counters.push_back(refund_amount->Resolve({"reason" + std::to_string(r)}));
    }
    for (int m = 0; m < 10; ++m) {
      counters.push_back(attempts->Resolve({"method" + std::to_string(m), "success"}));
      counters.push_back(attempts->Resolve({"method" + std::to_string(m), "failed"}));
    }
    duration->Resolve({});
    pipeline.SetSourceUp(true);
    store.VisitMetrics([&](const Metric& metric) {
      metric.VisitSeries([&](const Series& s) {
        series += metric.spec().type == MetricType::kHistogram ? s.bucket_size() + 2 : 1;
      });
    });
  }

  // About 200 orders a second, spread at random.
  void Advance(std::mt19937& random) {
    std::uniform_int_distribution<size_t> pick(0, counters.size() - 1);
    for (int i = 0; i < 200; ++i) counters[pick(random)]->Add(kMicrosPerUnit);
    for (Series* s : amount_series)
      s->Observe(amount->BucketFor(150 * kMicrosPerUnit), 150 * kMicrosPerUnit);
  }
};

void BM_ShippedRulesEvaluationTick(benchmark::State& state) {
  ShopStore shop;
  shop.Build(static_cast<int>(state.range(0)));
  RuleManagerOptions options;
  options.rule_files = {std::string(TXMON_SOURCE_DIR) + "/rules/*.yml"};
  std::unique_ptr<RuleManager> rules;
  Status s = RuleManager::Create(options, &shop.store, &rules);
  if (!s.ok()) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  std::mt19937 random(7);
  int64_t now = 1'700'000'000'000;
  // Warm up: fill the longest windows on store series (5m at 1s).
  for (int i = 0; i < 330; ++i) {
    shop.Advance(random);
    rules->EvaluateAll(now += 1000);
  }
  for (auto _ : state) {
    state.PauseTiming();
    shop.Advance(random);
    state.ResumeTiming();
    rules->EvaluateAll(now += 1000);
  }
  state.counters["store_series"] = static_cast<double>(shop.series);
  state.counters["history_series"] = static_cast<double>(rules->history().series_count());
  state.counters["history_samples"] = static_cast<double>(rules->history().sample_count());
  uint64_t failures = 0;
  for (const auto& group : rules->groups()) failures += group->failures();
  state.counters["failed_rules"] = static_cast<double>(failures);
}
BENCHMARK(BM_ShippedRulesEvaluationTick)->Arg(480)->Unit(benchmark::kMillisecond)->Iterations(60);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
