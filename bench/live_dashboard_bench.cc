// The live dashboard ("Shop — live (agent)", grafana/dashboards/shop-live.json)
// against the agent, measured two ways.
//
// 1. In process: 10,000 series shaped like the shop's (orders by 20 channels
//    x 450 provinces, GMV by channel and payment method, payments, refunds,
//    status transitions, registrations, two histograms, and the rest filled
//    with other counters) sampled every second for 15 minutes into the
//    history, then every panel query of the dashboard as Grafana sends it
//    at its 1 s refresh: range panels over the dashboard's 15 minutes at a
//    1 s step (901 points; $__rate_interval is 4s, Grafana's
//    max(4 x timeInterval, interval + timeInterval) with timeInterval 1s),
//    the bar gauges and tables as instant queries. Prints bytes per sample,
//    the RSS growth of the filled history, and p50/p99 wall time per query.
//
// 2. The real txmon binary consuming the simulated shop's backlog from the
//    embedded Kafka (over 10,000 active series: one more mapping labelled by
//    user id), three times: history off (retention 0s), history on, and
//    history on while a Grafana-like client asks every panel query of the
//    dashboard once a second (range panels over the last 15 minutes at 1 s).
//    Prints pipeline rows/s and the agent's RSS at the end of each, and the
//    client's latency under ingest.
//
// Usage: live_dashboard_bench [runs] [backlog_seconds]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/rules/rule_manager.h"
#include "agent/web/prometheus_api.h"
#include "bench/support/shop_backlog.h"
#include "tests/support/dashboard_queries.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSeconds = 15 * 60;
constexpr int64_t kStart = 1'800'000'000'000;
constexpr int kPartitions = 96;
constexpr char kTopic[] = "shop.binlog";

struct PanelQuery {
  std::string title;
  std::string expr;
  bool instant = false;
};

// Every panel target of the live dashboard, Grafana's variables
// substituted as a viewer of "All" at a 1 s refresh gets them.
std::vector<PanelQuery> LiveDashboardQueries() {
  std::vector<PanelQuery> out;
  const std::map<std::string, std::string> variables = {{"__rate_interval", "4s"}};
  for (const test::DashboardTarget& target : test::ReadDashboardTargets(
           std::string(TXMON_SOURCE_DIR) + "/grafana/dashboards/shop-live.json")) {
    out.push_back(PanelQuery{target.panel_title,
                             test::SubstituteGrafanaVariables(target.expr, variables),
                             target.instant});
  }
  return out;
}

// The query string Grafana sends for `query` when the dashboard's range
// ends at `end_s`.
std::string QueryString(const PanelQuery& query, int64_t end_s) {
  std::string text = "query=" + test::UrlEncode(query.expr);
  if (query.instant) return text + "&time=" + std::to_string(end_s);
  return text + "&start=" + std::to_string(end_s - kSeconds) + "&end=" + std::to_string(end_s) +
         "&step=1";
}

double RssMiB() { return static_cast<double>(bench::RssKiB(getpid())) / 1024; }

struct Latency {
  double p50_ms = 0, p99_ms = 0;
};

Latency Percentiles(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

// The shop's metrics as the live dashboard selects them, 10,000 series in
// all, into `history`; returns how many.
size_t FillHistory(SampleHistory& history) {
  struct Counter {
    SampleHistory::SeriesId id;
    double value = 0;
    double step = 1;     // what one event adds
    unsigned every = 1;  // moves in about 1 of `every` seconds
  };
  std::vector<Counter> counters;
  auto add = [&](Labels labels, double step, unsigned every) {
    counters.push_back(Counter{history.Intern(labels, kSeconds * 1000), 0, step, every});
  };
  const std::vector<std::string> methods = {"alipay", "wechat", "card", "balance", "cod"};
  for (int c = 0; c < 20; ++c) {
    const std::string channel = "ch" + std::to_string(c);
    for (int p = 0; p < 450; ++p) {
      add(Labels{{"__name__", "shop_orders_created_total"},
                 {"channel", channel},
                 {"province", "p" + std::to_string(p)}},
          1, 45);
    }
    add(Labels{{"__name__", "shop_orders_paid_total"}, {"channel", channel}}, 1, 1);
    add(Labels{{"__name__", "shop_orders_cancelled_total"}, {"channel", channel}}, 1, 8);
    add(Labels{{"__name__", "shop_user_registrations_total"}, {"channel", channel}}, 1, 3);
    for (const std::string& method : methods) {
      add(Labels{{"__name__", "shop_gmv_paid_total"},
                 {"channel", channel},
                 {"payment_method", method}},
          123.45, 2);
    }
    for (const char* le : {"50", "100", "200", "500", "1000", "2000", "5000", "+Inf"}) {
      add(Labels{{"__name__", "shop_order_amount_yuan_bucket"}, {"channel", channel}, {"le", le}},
          1, 1);
    }
  }
  for (const char* reason : {"damaged", "late", "wrong_item", "changed_mind", "other"}) {
    add(Labels{{"__name__", "shop_refunds_total"}, {"reason", reason}}, 1, 10);
    add(Labels{{"__name__", "shop_refund_amount_total"}, {"reason", reason}}, 88.8, 10);
  }
  for (const std::string& method : methods) {
    for (const char* result : {"success", "failed"}) {
      add(
          Labels{
              {"__name__", "shop_payment_attempts_total"}, {"method", method}, {"result", result}},
          1, 1);
    }
  }
  for (const char* le : {"0.5", "1", "2", "5", "10", "30", "60", "120", "300", "+Inf"}) {
    add(Labels{{"__name__", "shop_payment_duration_seconds_bucket"}, {"le", le}}, 1, 1);
  }
  const char* statuses[] = {"created", "paid", "shipped", "delivered", "cancelled"};
  for (const char* from : statuses) {
    for (const char* to : statuses) {
      if (std::string(from) != to) {
        add(Labels{{"__name__", "shop_order_status_transitions_total"}, {"from", from}, {"to", to}},
            1, 2);
      }
    }
  }
  for (int i = 0; counters.size() < 10'000; ++i) {
    add(Labels{{"__name__", "bench_other_total"}, {"i", std::to_string(i)}}, 1, 5);
  }
  std::mt19937 random(7);
  for (int s = 0; s <= kSeconds; ++s) {
    const int64_t t = kStart + static_cast<int64_t>(s) * 1000;
    for (Counter& counter : counters) {
      if (random() % counter.every == 0) counter.value += counter.step * (1 + random() % 3);
      history.Append(counter.id, t, counter.value);
    }
  }
  return counters.size();
}

int InProcess(int runs, const std::vector<PanelQuery>& queries) {
  std::unique_ptr<RuleManager> rules;
  if (!RuleManager::Create({}, {}, nullptr, &rules).ok()) return 1;
  SampleHistory& history = rules->history();
  const double rss_before = RssMiB();
  const size_t series = FillHistory(history);
  const double samples = static_cast<double>(history.sample_count());
  std::printf(
      "in process: %zu series x 15 min at 1 s, %.0f samples, %.2f MiB, %.2f bytes/sample (plain: "
      "16); RSS growth %.1f MiB\n",
      series, samples, static_cast<double>(history.bytes()) / (1 << 20),
      static_cast<double>(history.bytes()) / samples, RssMiB() - rss_before);

  PrometheusApi api{rules.get(), nullptr, {}};
  const int64_t end_s = (kStart + kSeconds * 1000) / 1000;
  std::printf("every live-dashboard query, %d runs each (wall time; range: 15 min at 1 s):\n",
              runs);
  for (const PanelQuery& query : queries) {
    HttpRequest request;
    request.method = "GET";
    request.query = QueryString(query, end_s);
    std::vector<double> ms;
    HttpResponse answer;
    for (int i = 0; i < runs; ++i) {
      const auto start = Clock::now();
      answer = query.instant ? ServeQueryApi(api, request) : ServeQueryRangeApi(api, request);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    const Latency latency = Percentiles(ms);
    std::printf("  %-7s p50 %7.1f ms p99 %7.1f ms  %s%s\n", query.instant ? "instant" : "range",
                latency.p50_ms, latency.p99_ms, query.expr.c_str(),
                answer.status == 200 ? "" : (" (" + answer.body.substr(0, 90) + ")").c_str());
  }
  return 0;
}

// Polls /metrics until the agent has applied `messages`; rows/s from the
// first applied message to the last, 0 if it does not get there.
double IngestSeconds(const std::string& url, size_t messages) {
  Clock::time_point first{};
  const auto deadline = Clock::now() + std::chrono::seconds(600);
  while (Clock::now() < deadline) {
    const double seen = bench::SumOf(test::HttpGet(url).body, "txmon_messages_total");
    const auto now = Clock::now();
    if (seen > 0 && first == Clock::time_point{}) first = now;
    if (seen >= static_cast<double>(messages)) {
      return std::chrono::duration<double>(now - first).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

int RealAgent(int backlog_seconds, const std::vector<PanelQuery>& queries) {
  std::vector<std::string> messages;
  size_t rows = 0;
  auto kafka = bench::StartShopBacklog(backlog_seconds, kTopic, kPartitions, &messages, &rows);
  if (!kafka) return 1;
  std::printf("real agent: backlog of %zu messages, %zu rows on %d partitions\n", messages.size(),
              rows, kPartitions);
  const std::string dir =
      std::filesystem::temp_directory_path() / ("txmon-live-dash-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  struct Mode {
    const char* name;
    bool history, grafana;
  };
  double alone_rate = 0;
  for (const Mode& mode : {Mode{"history-off", false, false}, Mode{"history-on", true, false},
                           Mode{"history-on-grafana", true, true}}) {
    std::string config_path =
        bench::WriteBenchConfig(dir, kafka->bootstrap_servers(), mode.name, "earliest", true);
    if (!mode.history) {
      std::ifstream in(config_path);
      std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t at = config.find("  retention: 15m");
      if (at == std::string::npos) {
        std::fprintf(stderr, "txmon.yml has no history retention to turn off\n");
        return 1;
      }
      config.replace(at, 16, "  retention: 0s");
      std::ofstream(config_path) << config;
    }
    std::string url;
    auto agent = bench::StartBenchAgent(dir, config_path, mode.name, &url);
    if (!agent) return 1;
    const std::string base = url.substr(0, url.size() - std::string("/metrics").size());
    std::atomic<bool> stop{false};
    std::vector<double> query_ms;
    size_t failed = 0;
    std::thread grafana;
    if (mode.grafana) {
      grafana = std::thread([&] {
        // As a dashboard opened on a running agent: from its first answer on.
        while (!stop && test::HttpGet(url).status != 200) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        while (!stop) {
          const auto round = Clock::now();
          const int64_t end_s = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
          for (const PanelQuery& query : queries) {
            const auto start = Clock::now();
            test::HttpResponse answer =
                test::HttpGet(base + (query.instant ? "/api/v1/query?" : "/api/v1/query_range?") +
                              QueryString(query, end_s));
            query_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
            if (answer.status != 200) ++failed;
          }
          std::this_thread::sleep_until(round + std::chrono::seconds(1));
        }
      });
    }
    const double seconds = IngestSeconds(url, messages.size());
    const std::string page = test::HttpGet(url).body;
    stop = true;
    if (grafana.joinable()) grafana.join();
    if (seconds <= 0) {
      std::fprintf(stderr, "the agent did not consume the backlog:\n%s\n", agent->Stderr().c_str());
      return 1;
    }
    const double rate = static_cast<double>(rows) / seconds;
    std::printf(
        "  %-19s %8.0f rows/s (%.1f s), %zu samples on /metrics, history %.1f MiB, RSS %.1f MiB\n",
        mode.name, rate, seconds, bench::CountSeries(page),
        bench::SumOf(page, "txmon_history_bytes") / (1 << 20),
        static_cast<double>(bench::RssKiB(agent->pid())) / 1024.0);
    if (mode.grafana) {
      const Latency latency = Percentiles(query_ms);
      std::printf(
          "    Grafana-like load: %zu queries (%zu per round), p50 %.1f ms p99 %.1f ms, %zu "
          "failed; ingest with load / without: %.0f%%\n",
          query_ms.size(), queries.size(), latency.p50_ms, latency.p99_ms, failed,
          100.0 * rate / alone_rate);
    }
    if (mode.history) alone_rate = rate;
    agent->Stop();
  }
  std::filesystem::remove_all(dir);
  return 0;
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 11;
  const int backlog_seconds = argc > 2 ? std::atoi(argv[2]) : 120;
  const std::vector<PanelQuery> queries = LiveDashboardQueries();
  if (queries.empty()) {
    std::fprintf(stderr, "no panel queries in grafana/dashboards/shop-live.json\n");
    return 1;
  }
  if (int status = InProcess(runs, queries); status != 0) return status;
  if (backlog_seconds <= 0) return 0;
  return RealAgent(backlog_seconds, queries);
}

}  // namespace
}  // namespace txmon

int main(int argc, char** argv) { return txmon::Main(argc, argv); }
