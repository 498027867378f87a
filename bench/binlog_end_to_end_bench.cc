// End to end from a real MariaDB into the real txmon binary reading the
// binlog as a replica (source.binlog), as a user runs it:
//
//  1. Catch-up: a backlog of committed rows (multi-row INSERTs, 1,000 rows a
//     transaction) is in the binlog before txmon starts at `earliest`;
//     rows/s from the first row visible on /metrics to the last.
//  2. COMMIT → visible on /metrics for single-row autocommit INSERTs at a
//     steady rate (1,000 and 10,000 rows/s by default, 4 writer connections).
//     Each row's clock starts when its INSERT is sent (the commit happens
//     inside it) and stops at the first /metrics scrape (polled back to back)
//     whose count reaches the row's rank in commit order (the order the
//     writers saw their OKs, which the binlog follows up to the writers'
//     concurrency). A scrape takes about a millisecond, included.
//
// Usage: binlog_end_to_end_bench [backlog_rows] [seconds_per_rate] [rate...]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "agent/source/mysql_connection.h"
#include "tests/support/http_client.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/txmon_process.h"

namespace txmon {
namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
}

double Count(const std::string& url) {
  const std::string body = test::HttpGet(url).body;
  const std::string key = "\nrows_total ";
  const size_t at = body.find(key);
  return at == std::string::npos ? -1 : atof(body.c_str() + at + key.size());
}

std::unique_ptr<MysqlConnection> Connect(const test::MariaDbServer& server) {
  MysqlError error;
  auto c = MysqlConnection::Open({server.socket_path(), "root", "", "", "", "", 5, 0}, &error);
  if (!c) fprintf(stderr, "connect: %s\n", error.message.c_str());
  return c;
}

bool Run(MysqlConnection& c, const std::string& sql) {
  MysqlError error;
  if (c.Query(sql, nullptr, &error)) return true;
  fprintf(stderr, "%s: %s\n", sql.substr(0, 80).c_str(), error.message.c_str());
  return false;
}

// Inserts `rows` rows from id `first`, 1,000 per transaction.
bool WriteBacklog(MysqlConnection& c, int first, int rows) {
  for (int id = first; id < first + rows;) {
    std::string sql = "INSERT INTO shop.sales VALUES ";
    for (int i = 0; i < 1000 && id < first + rows; ++i, ++id) {
      sql += (i ? ",(" : "(") + std::to_string(id) + ", 12.34, 'app')";
    }
    if (!Run(c, sql)) return false;
  }
  return true;
}

struct Commit {
  Clock::time_point sent, ok;
};

// Single-row commits at `rate` rows/s for `seconds` over 4 connections.
std::vector<Commit> WriteSteady(const test::MariaDbServer& server, int first, double rate,
                                double seconds) {
  constexpr int kWriters = 4;
  std::mutex mutex;
  std::vector<Commit> commits;
  std::atomic<int> next_id{first};
  std::vector<std::thread> writers;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto c = Connect(server);
      if (!c) return;
      const auto interval = std::chrono::duration<double>(kWriters / rate);
      auto due = start + std::chrono::duration_cast<Clock::duration>(interval * w / kWriters);
      while (due < end) {
        std::this_thread::sleep_until(due);
        const int id = next_id++;
        Commit commit;
        commit.sent = Clock::now();
        if (!Run(*c, "INSERT INTO shop.sales VALUES (" + std::to_string(id) + ", 1.00, 'web')"))
          return;
        commit.ok = Clock::now();
        {
          std::lock_guard lock(mutex);
          commits.push_back(commit);
        }
        due += std::chrono::duration_cast<Clock::duration>(interval);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  std::sort(commits.begin(), commits.end(),
            [](const Commit& a, const Commit& b) { return a.ok < b.ok; });
  return commits;
}

// Scrapes back to back until the count reaches `target`: (time, count).
std::vector<std::pair<Clock::time_point, double>> Observe(const std::string& url, double target,
                                                          std::atomic<bool>* stop) {
  std::vector<std::pair<Clock::time_point, double>> seen;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    const double n = Count(url);
    seen.emplace_back(Clock::now(), n);
    if (n >= target && stop->load()) break;
  }
  return seen;
}

void MeasureLatency(const test::MariaDbServer& server, const std::string& url, int* next_id,
                    double rate, double seconds) {
  const double base = Count(url);
  std::atomic<bool> writing_done{false};
  std::vector<std::pair<Clock::time_point, double>> seen;
  const double expected_rows = rate * seconds;
  std::thread observer([&] { seen = Observe(url, base + 1, &writing_done); });
  std::vector<Commit> commits = WriteSteady(server, *next_id, rate, seconds);
  *next_id += static_cast<int>(commits.size()) + 1000;
  // Let the observer see the last commit.
  const double target = base + static_cast<double>(commits.size());
  while (Count(url) < target) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  writing_done = true;
  observer.join();
  std::vector<double> from_send, from_ok;
  size_t s = 0;
  for (size_t k = 0; k < commits.size(); ++k) {
    while (s < seen.size() && seen[s].second < base + static_cast<double>(k + 1)) ++s;
    if (s == seen.size()) break;
    from_send.push_back(
        std::chrono::duration<double, std::milli>(seen[s].first - commits[k].sent).count());
    from_ok.push_back(
        std::chrono::duration<double, std::milli>(seen[s].first - commits[k].ok).count());
  }
  const double achieved = commits.size() / seconds;
  printf(
      "latency at %.0f rows/s (achieved %.0f, %zu single-row commits, %.0f expected): "
      "COMMIT sent -> /metrics p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
      "COMMIT OK -> /metrics p50 %.2f ms, p99 %.2f ms\n",
      rate, achieved, commits.size(), expected_rows, Percentile(from_send, 0.5),
      Percentile(from_send, 0.99), Percentile(from_send, 1.0), Percentile(from_ok, 0.5),
      Percentile(from_ok, 0.99));
}

int Main(int argc, char** argv) {
  const int backlog = argc > 1 ? atoi(argv[1]) : 500000;
  const double seconds = argc > 2 ? atof(argv[2]) : 10;
  std::vector<double> rates;
  for (int i = 3; i < argc; ++i) rates.push_back(atof(argv[i]));
  if (rates.empty()) rates = {1000, 10000};

  std::string error;
  auto server = test::MariaDbServer::Start(test::MariaDbOptions(), &error);
  if (!server) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  auto root = Connect(*server);
  if (!root || !Run(*root, "CREATE USER 'txmon'@'%' IDENTIFIED BY 'secret'") ||
      !Run(*root, "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'txmon'@'%'") ||
      !Run(*root, "CREATE DATABASE shop") ||
      !Run(*root,
           "CREATE TABLE shop.sales (id INT PRIMARY KEY, amount DECIMAL(10,2), channel "
           "VARCHAR(8)) ENGINE=InnoDB")) {
    return 1;
  }
  const auto backlog_start = Clock::now();
  if (!WriteBacklog(*root, 1, backlog)) return 1;
  printf("backlog: %d rows written in %.2f s\n", backlog,
         std::chrono::duration<double>(Clock::now() - backlog_start).count());

  const std::string dir = server->directory() + "/txmon";
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/txmon.yml";
  std::ofstream(config) << "source:\n  binlog:\n    address: " << server->address()
                        << "\n    user: txmon\n    password: secret\n    server_id: 77\n"
                           "    start: earliest\nmetrics:\n"
                           "  - {name: rows_total, help: R., type: counter, database: shop, table: "
                           "sales, on: insert}\n"
                           "  - {name: amount_total, help: A., type: counter, database: shop, "
                           "table: sales, on: insert, value: {column: amount}}\n";
  test::TxmonProcess agent = test::StartTxmon({"--config.file=" + config}, dir + "/txmon", &error);
  if (!agent.process) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const Clock::time_point serving = Clock::now();
  Clock::time_point first{}, last{};
  double first_count = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  while (Clock::now() < deadline) {
    const double n = Count(agent.metrics_url);
    if (n > 0 && first == Clock::time_point{}) {
      first = Clock::now();
      first_count = n;
    }
    if (n >= backlog) {
      last = Clock::now();
      break;
    }
  }
  if (last == Clock::time_point{}) {
    fprintf(stderr, "the backlog was not caught up\n");
    return 1;
  }
  const double secs = std::chrono::duration<double>(last - first).count();
  const double total = std::chrono::duration<double>(last - serving).count();
  printf(
      "catch-up from a backlog: %d rows in %.3f s from txmon serving /metrics (connect, dump, "
      "decode, map): %.0f rows/s; first rows visible after %.3f s (%.0f rows), then %.0f "
      "rows/s to the last\n",
      backlog, total, backlog / total, std::chrono::duration<double>(first - serving).count(),
      first_count, (backlog - first_count) / secs);
  const test::MetricsText metrics = test::MetricsText::Fetch(agent.metrics_url);
  printf("check: rows_total %.0f (want %d), amount_total %.2f (want %.2f)\n",
         metrics.Sum("rows_total"), backlog, metrics.Sum("amount_total"), backlog * 12.34);
  int next_id = backlog + 1;
  for (double rate : rates) MeasureLatency(*server, agent.metrics_url, &next_id, rate, seconds);
  agent.process->Stop();
  return 0;
}

}  // namespace
}  // namespace txmon

int main(int argc, char** argv) { return txmon::Main(argc, argv); }
