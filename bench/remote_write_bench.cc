// Remote write encoding: one WriteRequest of 2,000 samples over series
// shaped like the shop's (name, four labels, instance and job), encoded and
// snappy-compressed, with 1 sample per series per request (2,000 series:
// what the default 100 ms batch_send_deadline sends at a 1 s resolution) or
// 5 (400 series: a 5 s deadline). Prints bytes per sample as counters.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

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

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
