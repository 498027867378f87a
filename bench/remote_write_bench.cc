// Remote write encoding: one WriteRequest of 2,000 samples over series
// shaped like the shop's (name, four labels, instance and job), encoded and
// snappy-compressed, with 1 sample per series per request (2,000 series:
// what the default 100 ms batch_send_deadline sends at a 1 s resolution) or
// 5 (400 series: a 5 s deadline). Prints bytes per sample as counters.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "agent/history/sample_history.h"
#include "agent/remote/remote_writer.h"
#include "agent/remote/write_request.h"

namespace txmon {
namespace {

std::vector<Labels> ShopSeries(size_t count) {
  static const char* kChannels[] = {"app", "web", "mini_program", "pos"};
  std::vector<Labels> out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back(Labels{{"__name__", "shop_orders_created_total"},
                         {"channel", kChannels[i % 4]},
                         {"province", "province_" + std::to_string(i % 34)},
                         {"payment_method", "method_" + std::to_string(i % 7)},
                         {"sku", "sku_" + std::to_string(i)},
                         {"instance", "txmon-1.example.internal:9464"},
                         {"job", "txmon"}});
  }
  return out;
}

void BM_EncodeAndCompress(benchmark::State& state) {
  const size_t per_series = static_cast<size_t>(state.range(0));
  const size_t samples_per_request = 2000;
  std::vector<Labels> labels = ShopSeries(samples_per_request / per_series);
  std::vector<std::vector<Point>> points(labels.size());
  int64_t t = 1'764'633'600'000;
  for (size_t s = 0; s < labels.size(); ++s) {
    for (size_t k = 0; k < per_series; ++k) {
      points[s].push_back(Point{t + static_cast<int64_t>(k) * 1000, 1000.0 + s * 3 + k});
    }
  }
  std::vector<WriteSeries> series;
  for (size_t s = 0; s < labels.size(); ++s) series.push_back({&labels[s], points[s]});
  std::string raw, body;
  for (auto _ : state) {
    raw.clear();
    EncodeWriteRequest(series, &raw);
    SnappyCompress(raw, &body);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples_per_request));
  state.counters["raw_bytes_per_sample"] = static_cast<double>(raw.size()) / samples_per_request;
  state.counters["snappy_bytes_per_sample"] =
      static_cast<double>(body.size()) / samples_per_request;
}
BENCHMARK(BM_EncodeAndCompress)->Arg(1)->Arg(5);

// The reader's tick: 10,000 series with a minute of history each, one new
// sample per series since the last read, taken into the queue (no sender
// runs, so nothing is posted).
void BM_ReaderTick(benchmark::State& state) {
  std::vector<Labels> labels = ShopSeries(10'000);
  SampleHistory history;
  std::vector<SampleHistory::SeriesId> ids;
  for (const Labels& l : labels) ids.push_back(history.Intern(l));
  int64_t t = 1'764'633'600'000;
  for (int k = 0; k < 60; ++k, t += 1000) {
    for (size_t s = 0; s < ids.size(); ++s) history.Append(ids[s], t, s + k);
  }
  RemoteWriterOptions options;
  options.endpoint.url = "http://127.0.0.1:9/api/v1/write";
  options.capacity = 100'000'000;
  std::unique_ptr<RemoteWriter> writer;
  if (!RemoteWriter::Create(options, &history, &writer).ok()) return;
  writer->ReadOnce();
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t s = 0; s < ids.size(); ++s) history.Append(ids[s], t, static_cast<double>(s));
    t += 1000;
    state.ResumeTiming();
    writer->ReadOnce();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_ReaderTick)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
