// An Agent running on a background thread, as integration tests and
// benchmarks need it: started with a web server on a free loopback port,
// stopped (finishing its batch) and joined on destruction.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "agent/main/agent.h"
#include "tests/support/metrics_text.h"

namespace txmon::test {

// The shipped txmon.yml, read from the source tree.
AgentConfig ShippedConfig();

class RunningAgent {
 public:
  // Creates the agent (web server on 127.0.0.1:0 unless options say
  // otherwise) and starts Run on a thread. Null plus `error` on failure.
  static std::unique_ptr<RunningAgent> Start(AgentOptions options, std::string* error);
  ~RunningAgent();

  Agent& agent() { return *agent_; }
  std::string url(const std::string& path) const;  // http://127.0.0.1:PORT/path
  MetricsText Scrape() const { return MetricsText::Fetch(url("/metrics")); }

  // Scrapes until `done` holds or `timeout` passes; returns the last scrape
  // and whether `done` held.
  bool WaitFor(const std::function<bool(const MetricsText&)>& done,
               std::chrono::milliseconds timeout, MetricsText* last = nullptr) const;

  // Stops the pipeline and waits for Run to return; returns its status.
  Status Stop();

 private:
  RunningAgent() = default;
  std::unique_ptr<Agent> agent_;
  std::thread thread_;
  Status run_status_;
  bool stopped_ = false;
};

}  // namespace txmon::test
