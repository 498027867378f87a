// query_range over many series: 5,000 counters (10 channels x 500
// provinces, a fifth of them moving each second) sampled every second for
// 15 minutes, and the queries a dashboard sends, each evaluated as Grafana
// asks for them: 15 minutes at a 15 s step (61 steps) and 5 minutes at 1 s
// (301 steps). A range query evaluates the expression at every step, over
// every selected series: the per-series, per-step work is what this
// measures. Prints p50/p99 of the thread's CPU time per query (the machine
// these figures come from is shared: wall time there measures neighbours).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "agent/rules/rule_manager.h"
#include "agent/web/prometheus_api.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

constexpr int kChannels = 10;
constexpr int kProvinces = 500;
constexpr int kSeconds = 15 * 60;
constexpr int64_t kStart = 1'800'000'000'000;

struct Latency {
  double p50_ms, p99_ms;
};

double ThreadCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

template <typename Run>
Latency Measure(int runs, Run run) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const double start = ThreadCpuMs();
    run();
    ms.push_back(ThreadCpuMs() - start);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 11;
  std::unique_ptr<RuleManager> rules;
  if (!RuleManager::Create({}, {}, nullptr, &rules).ok()) return 1;
  SampleHistory& history = rules->history();
  std::vector<SampleHistory::SeriesId> ids;
  for (int c = 0; c < kChannels; ++c) {
    for (int p = 0; p < kProvinces; ++p) {
      ids.push_back(history.Intern(Labels{{"__name__", "shop_orders_created_total"},
                                          {"channel", "ch" + std::to_string(c)},
                                          {"province", "p" + std::to_string(p)}},
                                   kSeconds * 1000));
    }
  }
  std::vector<double> values(ids.size());
  std::mt19937 random(7);
  for (int s = 0; s <= kSeconds; ++s) {
    for (size_t i = 0; i < values.size() / 5; ++i) values[random() % values.size()] += 1;
    for (size_t i = 0; i < ids.size(); ++i) history.Append(ids[i], kStart + s * 1000, values[i]);
  }
  std::printf("%zu series, %zu samples, %d runs per query\n", history.series_count(),
              history.sample_count(), runs);

  PrometheusApi api{rules.get(), nullptr, {}};
  const int64_t end_s = (kStart + kSeconds * 1000) / 1000;
  const char* queries[] = {
      "sum(rate(shop_orders_created_total[1m]))",
      "sum by (channel) (rate(shop_orders_created_total[1m]))",
      "topk(5, sum by (province) (increase(shop_orders_created_total[5m])))",
      "rate(shop_orders_created_total[1m])",
      "shop_orders_created_total",
      "max_over_time(shop_orders_created_total[5m])",
  };
  struct Grid {
    const char* name;
    int64_t span_s, step_s;
  };
  const Grid grids[] = {{"15m@15s", 15 * 60 - 60, 15}, {"5m@1s", 5 * 60, 1}};
  for (const char* query : queries) {
    std::printf("%-70s", query);
    for (const Grid& grid : grids) {
      HttpRequest range;
      range.method = "GET";
      range.query = "query=" + test::UrlEncode(query) +
                    "&start=" + std::to_string(end_s - grid.span_s) +
                    "&end=" + std::to_string(end_s) + "&step=" + std::to_string(grid.step_s);
      HttpResponse answer;
      Latency over = Measure(runs, [&] { answer = ServeQueryRangeApi(api, range); });
      std::printf(" | %s CPU p50 %7.1f ms p99 %7.1f ms", grid.name, over.p50_ms, over.p99_ms);
      if (answer.status != 200) std::printf(" (%s)", answer.body.substr(0, 80).c_str());
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace
}  // namespace txmon

int main(int argc, char** argv) { return txmon::Main(argc, argv); }
