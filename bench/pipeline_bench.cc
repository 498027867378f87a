// decode → map → store on a realistic mix: the demo shop's Canal messages
// (orders, payments, refunds, users; ~1 KB each, some multi-row, a few DDL)
// through the shipped txmon.yml mappings with their labels, on one thread.
// Reports rows/s and heap allocations per row in steady state.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "agent/base/civil_time.h"
#include "agent/config/agent_config.h"
#include "agent/decode/canal_decoder.h"
#include "agent/demo/shop_simulator.h"
#include "agent/pipeline/pipeline.h"
#include "tests/support/allocation_counter/allocation_counter.h"

namespace txmon {
namespace {

struct Workload {
  std::vector<std::string> messages;
  size_t rows = 0;
  size_t bytes = 0;
};

const Workload& ShopWorkload() {
  static const Workload workload = [] {
    Workload w;
    ShopSimulatorOptions options;
    options.seed = 42;
    options.orders_per_second = 200;
    options.time_scale = 30;
    options.record_each_order = false;
    ShopSimulator simulator(options);
    std::vector<CanalMessageOut> out;
    simulator.AdvanceTo(options.start_time_ms + 120'000, out);
    for (CanalMessageOut& message : out) {
      w.bytes += message.json.size();
      w.messages.push_back(std::move(message.json));
    }
    w.rows = simulator.truth().rows_total;
    return w;
  }();
  return workload;
}

void BM_DecodeMapStore(benchmark::State& state) {
  AgentConfig config;
  Status s = LoadConfigFile(std::string(TXMON_SOURCE_DIR) + "/txmon.yml", &config);
  if (!s.ok() || !LocalZone::Use(config.time_zone).ok()) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  const Workload& workload = ShopWorkload();
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  if (!metrics.Register(store).ok() || !RowMapper::Compile(config.metrics, store, &mapper).ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  CanalDecoder decoder(mapper->decode_schema());
  MessageProcessor processor(decoder, *mapper, metrics);
  std::vector<SourceMessage> batch;
  for (size_t i = 0; i < workload.messages.size(); ++i) {
    batch.push_back({workload.messages[i], {"bench", 0, static_cast<int64_t>(i)}});
  }
  const int64_t now_ms = 1731254400000 + 120'000;
  for (const SourceMessage& m : batch) processor.Process(m, now_ms);  // warm up: series, buffers

  uint64_t allocations_before = static_cast<uint64_t>(test::AllocationCount());
  for (auto _ : state) {
    for (const SourceMessage& m : batch) processor.Process(m, now_ms);
  }
  uint64_t allocations = static_cast<uint64_t>(test::AllocationCount()) - allocations_before;
  const double rows = static_cast<double>(workload.rows) * state.iterations();
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.SetBytesProcessed(static_cast<int64_t>(workload.bytes * state.iterations()));
  state.counters["messages"] = static_cast<double>(workload.messages.size());
  state.counters["rows_per_message"] =
      static_cast<double>(workload.rows) / workload.messages.size();
  state.counters["bytes_per_message"] =
      static_cast<double>(workload.bytes) / workload.messages.size();
  state.counters["allocations_per_row"] = allocations / rows;
}
BENCHMARK(BM_DecodeMapStore)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
