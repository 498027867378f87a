#include "tests/support/running_agent.h"

#include <gtest/gtest.h>

namespace txmon::test {

AgentConfig ShippedConfig() {
  AgentConfig config;
  Status s = LoadConfigFile(std::string(TXMON_SOURCE_DIR) + "/txmon.yml", &config);
  EXPECT_TRUE(s.ok()) << s.message();
  return config;
}

std::unique_ptr<RunningAgent> RunningAgent::Start(AgentOptions options, std::string* error) {
  if (options.web_listen_address == ":9464") options.web_listen_address = "127.0.0.1:0";
  std::unique_ptr<RunningAgent> running(new RunningAgent());
  if (Status s = Agent::Create(std::move(options), &running->agent_); !s.ok()) {
    *error = s.message();
    return nullptr;
  }
  RunningAgent* self = running.get();
  running->thread_ = std::thread([self] { self->run_status_ = self->agent_->Run(); });
  return running;
}

RunningAgent::~RunningAgent() {
  if (!stopped_) {
    Status s = Stop();
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

Status RunningAgent::Stop() {
  if (!stopped_) {
    agent_->RequestStop();
    if (thread_.joinable()) thread_.join();
    stopped_ = true;
  }
  return run_status_;
}

std::string RunningAgent::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(agent_->web_port()) + path;
}

bool RunningAgent::WaitFor(const std::function<bool(const MetricsText&)>& done,
                           std::chrono::milliseconds timeout, MetricsText* last) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    MetricsText scrape = Scrape();
    bool ok = done(scrape);
    if (last) *last = scrape;
    if (ok) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace txmon::test
