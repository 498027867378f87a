// decode → map → store on a realistic mix: the demo shop's Canal messages
// (orders, payments, refunds, users; ~1 KB each, some multi-row, a few DDL)
// through the shipped txmon.yml mappings with their labels, on one thread;
// and the same changes as Debezium (without and with the schema envelope)
// and Maxwell publish them (bench/support/cdc_rewrite.h: one message per
// row, Maxwell's rows of one Canal message as one xid transaction).
// Reports rows/s and heap allocations per row in steady state, per format.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "agent/base/civil_time.h"
#include "agent/config/agent_config.h"
#include "agent/decode/canal_decoder.h"
#include "agent/decode/decoder_factory.h"
#include "agent/demo/shop_simulator.h"
#include "agent/pipeline/pipeline.h"
#include "bench/support/cdc_rewrite.h"
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

enum Format : int { kCanal, kDebeziumBare, kDebeziumEnvelope, kMaxwell };

// The shop workload as `format` writes it.
const Workload& WorkloadIn(Format format) {
  static Workload rewritten[4];
  static bool done[4] = {};
  const Workload& canal = ShopWorkload();
  if (format == kCanal) return canal;
  if (!done[format]) {
    const auto target = format == kDebeziumBare       ? bench::CdcFormat::kDebeziumBare
                        : format == kDebeziumEnvelope ? bench::CdcFormat::kDebeziumEnvelope
                                                      : bench::CdcFormat::kMaxwell;
    Workload& w = rewritten[format];
    long xid = 1;
    for (const std::string& message : canal.messages) {
      bench::RewriteCanalMessage(message, target, xid++, &w.messages);
    }
    for (const std::string& m : w.messages) w.bytes += m.size();
    w.rows = canal.rows;
    done[format] = true;
  }
  return rewritten[format];
}

// The shipped mappings; for Debezium without its schema they say which
// columns are decimals and epoch-ms datetimes, as a user of that format must.
Status LoadMappings(Format format, AgentConfig* config) {
  const std::string path = std::string(TXMON_SOURCE_DIR) + "/txmon.yml";
  if (format != kDebeziumBare) return LoadConfigFile(path, config);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::string yaml = text.str();
  auto replace_all = [&](std::string_view from, std::string_view to) {
    for (size_t at = yaml.find(from); at != std::string::npos;
         at = yaml.find(from, at + to.size())) {
      yaml.replace(at, from.size(), to);
    }
  };
  replace_all("value: {column: amount}", "value: {column: amount, scale: 2}");
  replace_all("seconds_between: {start: created_at, end: paid_at}",
              "seconds_between: {start: {column: created_at, epoch: ms}, "
              "end: {column: paid_at, epoch: ms}}");
  return ParseConfig(yaml, path, config);
}

constexpr const char* kFormatNames[] = {"canal", "debezium", "debezium", "maxwell"};

void BM_DecodeMapStore(benchmark::State& state) {
  const auto format = static_cast<Format>(state.range(0));
  AgentConfig config;
  Status s = LoadMappings(format, &config);
  if (!s.ok() || !LocalZone::Use(config.time_zone).ok()) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  const Workload& workload = WorkloadIn(format);
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  if (!metrics.Register(store).ok() || !RowMapper::Compile(config.metrics, store, &mapper).ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  std::unique_ptr<Decoder> decoder;
  if (!CreateDecoder(kFormatNames[format], mapper->decode_schema(), &decoder).ok()) {
    state.SkipWithError("no decoder");
    return;
  }
  MessageProcessor processor(*decoder, *mapper, metrics);
  std::vector<SourceMessage> batch;
  for (size_t i = 0; i < workload.messages.size(); ++i) {
    batch.push_back({workload.messages[i], {"bench", 0, static_cast<int64_t>(i)}});
  }
  const int64_t now_ms = 1731254400000 + 120'000;
  for (const SourceMessage& m : batch) processor.Process(m, now_ms);  // warm up: series, buffers
  // Every format must give the shop's figures, not just go fast: the GMV
  // of one pass, to compare across formats.
  int64_t gmv_micros = 0;
  if (const Metric* gmv = store.Find("shop_gmv_paid_total")) {
    gmv->VisitSeries([&](const Series& series) { gmv_micros += series.value(); });
  }

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
  state.counters["gmv_one_pass"] = static_cast<double>(gmv_micros) / 1e6;
}
BENCHMARK(BM_DecodeMapStore)
    ->ArgName("format")
    ->Arg(kCanal)
    ->Arg(kDebeziumBare)
    ->Arg(kDebeziumEnvelope)
    ->Arg(kMaxwell)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
