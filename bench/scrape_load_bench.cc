// Ingest under heavy scraping: does serving /metrics as fast as `wrk` can ask
// slow the pipeline down? The real txmon binary consumes the simulated shop's
// backlog from the embedded Kafka twice, each time in a fresh consumer group:
//
//  1. alone: rows/s from the first applied message to the last;
//  2. while wrk (one thread, `connections` connections) hammers /metrics:
//     rows/s again, and wrk's requests/s, bytes/s and latency.
//
// The agent holds over 10,000 series (one mapping labelled by user_id), so
// each scrape serializes a large page once its series exist. On two cores
// the agent, the broker and wrk (a whole core by itself) share the CPU, so
// much of the slowdown is the machine, not a stall; per-second progress is
// printed so a stall (a second with no rows) would show.
//
// Usage: scrape_load_bench [connections] [backlog_seconds]
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include "agent/demo/embedded_kafka.h"
#include "bench/support/shop_backlog.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPartitions = 96;
constexpr char kTopic[] = "shop.binlog";

struct IngestRun {
  double seconds = 0;
  double slowest_second_rows = 0;  // fewest rows applied in one whole second
  bool complete = false;
};

// Polls /metrics (every 100 ms) until the agent has applied `messages`.
IngestRun WatchIngest(const std::string& url, size_t messages, double rows_per_message) {
  IngestRun run;
  Clock::time_point first{}, second_start{};
  double at_second_start = 0;
  run.slowest_second_rows = -1;
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  while (Clock::now() < deadline) {
    double seen = bench::SumOf(test::HttpGet(url).body, "txmon_messages_total");
    const auto now = Clock::now();
    if (seen > 0 && first == Clock::time_point{}) first = second_start = now;
    if (first != Clock::time_point{} && now - second_start >= std::chrono::seconds(1)) {
      double rows = (seen - at_second_start) * rows_per_message;
      printf("    %.0f rows in the last second\n", rows);
      if (seen < messages && (run.slowest_second_rows < 0 || rows < run.slowest_second_rows)) {
        run.slowest_second_rows = rows;
      }
      at_second_start = seen;
      second_start = now;
    }
    if (seen >= messages) {
      run.seconds = std::chrono::duration<double>(now - first).count();
      run.complete = true;
      return run;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return run;
}

// wrk's summary: "Requests/sec: 1234.56", "Transfer/sec: 1.2GB", latency.
void PrintWrkSummary(const std::string& output) {
  std::smatch match;
  static const std::regex kRate(R"(Requests/sec:\s+([\d.]+))");
  static const std::regex kLatency(R"(Latency\s+(\S+)\s+(\S+)\s+(\S+))");
  static const std::regex kErrors(R"(Non-2xx or 3xx responses: (\d+))");
  static const std::regex kTransfer(R"(Transfer/sec:\s+(\S+))");
  if (std::regex_search(output, match, kRate)) {
    printf("  wrk: %s scrapes/s", match[1].str().c_str());
  }
  if (std::regex_search(output, match, kTransfer)) printf(" (%s/s)", match[1].str().c_str());
  if (std::regex_search(output, match, kLatency)) {
    printf(", latency avg %s, max %s", match[1].str().c_str(), match[3].str().c_str());
  }
  printf(", non-2xx: %s\n",
         std::regex_search(output, match, kErrors) ? match[1].str().c_str() : "0");
}

int Main(int argc, char** argv) {
  const int connections = argc > 1 ? atoi(argv[1]) : 8;
  const int backlog_seconds = argc > 2 ? atoi(argv[2]) : 120;
  std::vector<std::string> messages;
  size_t rows = 0;
  auto kafka = bench::StartShopBacklog(backlog_seconds, kTopic, kPartitions, &messages, &rows);
  if (!kafka) return 1;
  std::string error;
  const double rows_per_message = static_cast<double>(rows) / messages.size();
  printf("backlog: %zu messages, %zu rows on %d partitions\n", messages.size(), rows, kPartitions);

  const std::string dir =
      std::filesystem::temp_directory_path() / ("txmon-scrape-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  double alone_rate = 0;
  for (const bool scraped : {false, true}) {
    const std::string name = scraped ? "scraped" : "alone";
    std::string url;
    auto agent = bench::StartBenchAgent(
        dir, bench::WriteBenchConfig(dir, kafka->bootstrap_servers(), name, "earliest", true), name,
        &url);
    if (!agent) return 1;
    std::unique_ptr<test::Process> wrk;
    if (scraped) {
      test::ProcessOptions options{
          "wrk",
          {"-t1", "-c" + std::to_string(connections), "-d300s", "--latency", url},
          "",
          dir + "/wrk.out",
          dir + "/wrk.err",
          {}};
      wrk = test::Process::Start(options, &error);
      if (!wrk) {
        fprintf(stderr, "wrk: %s\n", error.c_str());
        return 1;
      }
    }
    printf("%s:\n", scraped ? "ingest while wrk scrapes /metrics" : "ingest alone");
    IngestRun run = WatchIngest(url, messages.size(), rows_per_message);
    const std::string page = test::HttpGet(url).body;
    if (wrk) {
      wrk->Signal(SIGINT);  // wrk prints its summary on SIGINT
      wrk->Wait(std::chrono::seconds(10));
    }
    if (!run.complete) {
      fprintf(stderr, "the agent did not consume the backlog:\n%s\n", agent->Stderr().c_str());
      return 1;
    }
    const double rate = rows / run.seconds;
    printf(
        "  ingest: %.0f rows/s (%.2f s), slowest whole second %.0f rows, %zu series, RSS %.1f "
        "MiB\n",
        rate, run.seconds, run.slowest_second_rows, bench::CountSeries(page),
        bench::RssKiB(agent->pid()) / 1024.0);
    if (wrk) {
      PrintWrkSummary(wrk->Stdout());
      printf("  ingest with scraping / alone: %.0f%%\n", 100.0 * rate / alone_rate);
    }
    alone_rate = rate;
    agent->Stop();
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace txmon

int main(int argc, char** argv) { return txmon::Main(argc, argv); }
