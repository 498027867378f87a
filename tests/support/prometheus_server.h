// A real Prometheus server (/usr/bin/prometheus) for integration tests: it
// runs on a free loopback port with a generated config and its own TSDB in a
// fresh temporary directory, scrapes the given targets, and answers PromQL
// through its HTTP API. The destructor stops it and removes the directory.
// Prometheus 2.42 applies its targets up to 5 s after start, so the first
// scrape comes that late whatever the interval; WaitForScrapes() absorbs it.
// Threading: one owner; Query() and WaitForScrapes() may run concurrently.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace txmon::test {

struct PrometheusOptions {
  std::string binary = "/usr/bin/prometheus";
  std::vector<std::string> targets;  // "127.0.0.1:PORT", scraped at /metrics by job `job`
  std::string job = "txmon";
  // Added to the job's scrape config, indented as its fields (scheme: https,
  // tls_config:, basic_auth:, ...).
  std::string job_config;
  std::chrono::milliseconds scrape_interval{1000};  // also the evaluation interval
  // Appended to the generated YAML at top level (rule_files:, alerting:, ...).
  std::string extra_config;
  std::vector<std::string> extra_args;
  // The TSDB folder (e.g. one promtool backfilled); empty: a fresh one in
  // the server's directory. It is not removed with the server.
  std::string tsdb_path;
  std::chrono::milliseconds start_timeout{60000};
};

// One element of an instant-query result. A scalar result is one sample
// without labels.
struct PromSample {
  std::map<std::string, std::string> labels;  // including __name__ when present
  double value = 0;
};

// An instant query against any server with Prometheus's HTTP API (a
// Prometheus, or txmon's own /api/v1/query) at `time_seconds` (default: now).
bool QueryInstant(const std::string& base_url, const std::string& expr,
                  std::optional<double> time_seconds, std::vector<PromSample>* samples,
                  std::string* error);

class PrometheusServer {
 public:
  // Starts Prometheus and waits until /-/ready answers 200. Returns null and
  // sets `error` (with the end of Prometheus's log) if it does not get there.
  static std::unique_ptr<PrometheusServer> Start(const PrometheusOptions& options,
                                                 std::string* error);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT"
  const std::string& directory() const { return directory_; }

  // Evaluates `expr` at the current time (/api/v1/query). Returns false and
  // sets `error` on an HTTP or PromQL error, or a non-vector/scalar result.
  bool Query(const std::string& expr, std::vector<PromSample>* samples, std::string* error) const;

  // Waits until `target` ("127.0.0.1:PORT") has been scraped successfully at
  // least `count` times. On timeout, `error` carries the target's last error.
  bool WaitForScrapes(const std::string& target, int count, std::chrono::milliseconds timeout,
                      std::string* error) const;

  // Stops the server (SIGTERM, as an operator would), keeping its port and
  // TSDB; Restart starts it again on both and waits until it is ready.
  void Stop();
  bool Restart(std::string* error);

  // Prometheus's own log (its stderr).
  std::string Log() const;

 private:
  PrometheusServer() = default;
  bool StartProcess(const PrometheusOptions& options, std::string* error);
  bool WaitUntilReady(std::chrono::milliseconds timeout, std::string* error);
  std::string TargetHealth(const std::string& target) const;

  std::string directory_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  ProcessOptions process_options_;  // how it was started, for Restart
  std::chrono::milliseconds start_timeout_{60000};
};

}  // namespace txmon::test
