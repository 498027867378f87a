// End to end through the embedded Kafka (librdkafka's mock cluster, the real
// protocol on loopback) into the real txmon binary, as a user runs it:
//
//  1. Throughput: a backlog of the simulated shop's Canal messages, consumed
//     from scratch; rows/s from the first applied message to the last.
//  2. Memory: the same run with one extra mapping labelled by user_id, so
//     the agent holds over 10,000 active series; RSS of the txmon process.
//  3. Latency at a steady rate (default 50,000 messages/s): time from a
//     message being handed to the producer to /metrics counting it, by
//     polling /metrics back to back. A message counts as visible when the
//     agent's message total reaches its sequence number, an approximation
//     across partitions, and polling adds up to one scrape to every figure:
//     these are upper bounds.
//
// Usage: end_to_end_bench [rate_per_second] [seconds]
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/demo/embedded_kafka.h"
#include "bench/support/shop_backlog.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

using bench::CountSeries;
using bench::RssKiB;
using bench::SumOf;

using Clock = std::chrono::steady_clock;
constexpr int kPartitions = 32;
const char* kTopic = "shop.binlog";

std::string Scrape(const std::string& url) { return test::HttpGet(url).body; }

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
}

int Main(int argc, char** argv) {
  const double rate = argc > 1 ? atof(argv[1]) : 50000;
  const double seconds = argc > 2 ? atof(argv[2]) : 10;
  const bool verbose = argc > 3 && std::string(argv[3]) == "-v";
  std::vector<std::string> messages;
  size_t rows = 0;
  auto kafka = bench::StartShopBacklog(40, kTopic, kPartitions, &messages, &rows);
  if (!kafka) return 1;
  size_t bytes = 0;
  for (const std::string& m : messages) bytes += m.size();
  printf("backlog: %zu messages, %zu rows, %.0f bytes/message\n", messages.size(), rows,
         static_cast<double>(bytes) / messages.size());

  const std::string dir =
      std::filesystem::temp_directory_path() / ("txmon-e2e-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string url;
  auto agent = bench::StartBenchAgent(
      dir, bench::WriteBenchConfig(dir, kafka->bootstrap_servers(), "backlog", "earliest", true),
      "backlog", &url);
  if (!agent) return 1;

  // 1 + 2: the backlog.
  Clock::time_point first_seen{}, done{};
  std::string text;
  const auto deadline = Clock::now() + std::chrono::seconds(180);
  while (Clock::now() < deadline) {
    text = Scrape(url);
    double seen = SumOf(text, "txmon_messages_total");
    if (seen > 0 && first_seen == Clock::time_point{}) first_seen = Clock::now();
    if (seen >= messages.size()) {
      done = Clock::now();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (done == Clock::time_point{}) {
    fprintf(stderr, "the agent did not consume the backlog:\n%s\n", agent->Stderr().c_str());
    return 1;
  }
  const double backlog_seconds = std::chrono::duration<double>(done - first_seen).count();
  printf("throughput: %.0f rows/s, %.0f messages/s (backlog consumed in %.2f s)\n",
         rows / backlog_seconds, messages.size() / backlog_seconds, backlog_seconds);
  printf("memory: %zu series on /metrics, RSS %.1f MiB\n", CountSeries(text),
         RssKiB(agent->pid()) / 1024.0);

  // 3: steady rate, on a fresh agent (new group, from the end of the topic)
  // with the shipped mappings only, so each poll of /metrics stays small.
  agent->Stop();
  agent = bench::StartBenchAgent(
      dir, bench::WriteBenchConfig(dir, kafka->bootstrap_servers(), "steady", "latest", false),
      "steady", &url);
  if (!agent) return 1;
  for (int i = 0; i < 100 && SumOf(Scrape(url), "txmon_source_up") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(4));  // the group's first join
  const size_t total = static_cast<size_t>(rate * seconds);
  const double base = SumOf(Scrape(url), "txmon_messages_total");
  std::vector<Clock::time_point> sent(total);
  std::atomic<size_t> produced{0};
  std::thread producer([&] {
    const auto start = Clock::now();
    for (size_t i = 0; i < total; ++i) {
      // Paced in 1 ms steps with a sleep, not a spin: on two cores a spinning
      // producer would take the CPU the broker and the agent need.
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(i / rate));
      if (Clock::now() < due) std::this_thread::sleep_until(due + std::chrono::milliseconds(1));
      sent[i] = Clock::now();
      produced.store(i + 1, std::memory_order_release);
      (void)kafka->Produce(kTopic, static_cast<int32_t>(i % kPartitions),
                           messages[i % messages.size()]);
    }
  });
  std::vector<double> latencies_ms;
  size_t visible = 0;
  const auto latency_deadline = Clock::now() + std::chrono::duration<double>(seconds + 30);
  auto next_report = Clock::now();
  while (visible < total && Clock::now() < latency_deadline) {
    std::string scrape = Scrape(url);
    double seen = SumOf(scrape, "txmon_messages_total") - base;
    const auto now = Clock::now();
    if (verbose && now >= next_report) {
      printf("  produced %zu, visible %.0f, consumer lag %.0f\n", produced.load(), seen,
             SumOf(scrape, "txmon_kafka_consumer_lag_messages"));
      next_report = now + std::chrono::seconds(1);
    }
    size_t upto = std::min(static_cast<size_t>(seen), produced.load(std::memory_order_acquire));
    for (; visible < upto; ++visible) {
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(now - sent[visible]).count());
    }
  }
  producer.join();
  // Per second of the run, so a stall shows where it happened.
  for (size_t second = 0; second * rate < latencies_ms.size(); ++second) {
    size_t begin = static_cast<size_t>(second * rate);
    size_t end = std::min(latencies_ms.size(), static_cast<size_t>((second + 1) * rate));
    std::vector<double> window(latencies_ms.begin() + begin, latencies_ms.begin() + end);
    printf("  second %zu: p50 %.1f ms, p99 %.1f ms\n", second, Percentile(window, 0.5),
           Percentile(window, 0.99));
  }
  printf(
      "latency at %.0f messages/s for %.0f s (produce -> visible on /metrics): p50 %.1f ms, "
      "p99 %.1f ms, max %.1f ms over %zu messages\n",
      rate, seconds, Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
      Percentile(latencies_ms, 1.0), latencies_ms.size());
  printf("memory after the steady run: RSS %.1f MiB\n", RssKiB(agent->pid()) / 1024.0);
  agent->Stop();
  std::filesystem::remove_all(dir);
  return visible == total ? 0 : 1;
}

}  // namespace
}  // namespace txmon

int main(int argc, char** argv) { return txmon::Main(argc, argv); }
