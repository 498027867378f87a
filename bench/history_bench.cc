// The history of every series, measured: 10,000 series shaped like the
// shop's (orders by 20 channels x 450 provinces, most of which do not move
// in a given second, and 1,000 GMV counters in yuan with cents) sampled
// every second for 15 minutes into the XOR-chunk history, then the live
// dashboard's kind of queries through the agent's query API.
//
// Prints: bytes per sample (against 16 for a plain timestamp+double), the
// history's bytes and the process RSS growth, and p50/p99 latency of
// instant and range queries.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "agent/rules/rule_manager.h"
#include "agent/web/prometheus_api.h"
#include "bench/support/shop_backlog.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

constexpr int kChannels = 20;
constexpr int kProvinces = 450;
constexpr int kGmvSeries = 1000;
constexpr int kSeconds = 15 * 60;
constexpr int64_t kStart = 1'800'000'000'000;

double RssMiB() { return static_cast<double>(bench::RssKiB(getpid())) / 1024; }

struct Latency {
  double p50_ms, p99_ms;
};

template <typename Run>
Latency Measure(int runs, Run run) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

int Main() {
  std::unique_ptr<RuleManager> rules;
  if (!RuleManager::Create({}, {}, nullptr, &rules).ok()) return 1;
  SampleHistory& history = rules->history();
  std::vector<SampleHistory::SeriesId> orders, gmv;
  for (int c = 0; c < kChannels; ++c) {
    for (int p = 0; p < kProvinces; ++p) {
      orders.push_back(history.Intern(Labels{{"__name__", "shop_orders_created_total"},
                                             {"channel", "ch" + std::to_string(c)},
                                             {"province", "p" + std::to_string(p)}},
                                      kSeconds * 1000));
    }
  }
  for (int i = 0; i < kGmvSeries; ++i) {
    gmv.push_back(history.Intern(Labels{{"__name__", "shop_gmv_paid_total"},
                                        {"channel", "ch" + std::to_string(i % kChannels)},
                                        {"payment_method", "m" + std::to_string(i / kChannels)}},
                                 kSeconds * 1000));
  }
  std::vector<double> order_values(orders.size()), gmv_values(gmv.size());
  std::mt19937 random(7);
  const double rss_before = RssMiB();
  auto fill_start = std::chrono::steady_clock::now();
  for (int s = 0; s <= kSeconds; ++s) {
    // ~200 orders a second spread over 9,000 series; a third of the GMV
    // counters move, by an amount with cents.
    for (int o = 0; o < 200; ++o) order_values[random() % orders.size()] += 1;
    for (double& v : gmv_values) {
      if (random() % 3 == 0) v += static_cast<double>(1000 + random() % 50000) / 100;
    }
    const int64_t t = kStart + s * 1000;
    for (size_t i = 0; i < orders.size(); ++i) history.Append(orders[i], t, order_values[i]);
    for (size_t i = 0; i < gmv.size(); ++i) history.Append(gmv[i], t, gmv_values[i]);
  }
  const double fill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();
  const double samples = static_cast<double>(history.sample_count());
  std::printf("history: %zu series, %.0f samples, %.2f MiB, %.2f bytes/sample (plain: 16)\n",
              history.series_count(), samples, static_cast<double>(history.bytes()) / (1 << 20),
              static_cast<double>(history.bytes()) / samples);
  std::printf("RSS growth while filling: %.1f MiB; append: %.0f ns/sample\n", RssMiB() - rss_before,
              fill_s * 1e9 / samples);

  PrometheusApi api{rules.get(), nullptr, {}};
  const int64_t end_s = (kStart + kSeconds * 1000) / 1000;
  const char* queries[] = {
      "sum(rate(shop_orders_created_total[1m]))",
      "sum by (channel) (rate(shop_orders_created_total[1m]))",
      "sort_desc(sum by (province) (increase(shop_orders_created_total[15m])))",
      "sum by (payment_method) (increase(shop_gmv_paid_total[1m]))",
  };
  for (const char* query : queries) {
    HttpRequest instant;
    instant.method = "GET";
    instant.query = "query=" + test::UrlEncode(query) + "&time=" + std::to_string(end_s);
    int status = 0;
    Latency at = Measure(20, [&] { status = ServeQueryApi(api, instant).status; });
    if (status != 200) std::printf("instant %s: status %d\n", query, status);
    HttpRequest range;
    range.method = "GET";
    range.query = "query=" + test::UrlEncode(query) + "&start=" + std::to_string(end_s - 60) +
                  "&end=" + std::to_string(end_s) + "&step=1";
    HttpResponse answer;
    Latency over = Measure(5, [&] { answer = ServeQueryRangeApi(api, range); });
    std::printf(
        "%-75s instant p50 %6.1f ms p99 %6.1f ms | range 1m@1s p50 %7.1f ms p99 %7.1f ms%s\n",
        query, at.p50_ms, at.p99_ms, over.p50_ms, over.p99_ms,
        answer.status == 200 ? "" : (" (" + answer.body.substr(0, 90) + ")").c_str());
  }
  return 0;
}

}  // namespace
}  // namespace txmon

int main() { return txmon::Main(); }
