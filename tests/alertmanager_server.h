// Test helpers for alert delivery: a real Alertmanager
// (/usr/bin/prometheus-alertmanager) on a loopback port with a given config
// and its own data folder, and a webhook receiver (the agent's WebServer)
// that records what Alertmanager posts. Header-only, shared by
// notify_test.cc and alertmanager_config_test.cc.
// Threading: one owner each; WebhookReceiver's accessors are thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/web/web_server.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace txmon::test {

inline constexpr const char* kAlertmanagerBinary = "/usr/bin/prometheus-alertmanager";

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class WebhookReceiver {
 public:
  WebhookReceiver() {
    WebServerOptions options;
    options.listen_address = "127.0.0.1:0";
    Status status = WebServer::Start(std::move(options), &server_);
    EXPECT_TRUE(status.ok()) << status.message();
    server_->Handle("/", [this](const HttpRequest& request) {
      std::lock_guard lock(mutex_);
      posts_.push_back({request.path, request.body});
      return txmon::HttpResponse::Text(200, "ok");
    });
  }
  // A URL on this receiver; `path` tells receivers apart.
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  // Waits for a post to `path` containing every one of `parts`; returns
  // its body or "".
  std::string WaitFor(std::initializer_list<std::string> parts, std::chrono::milliseconds timeout,
                      const std::string& path = "/hook") {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& [post_path, body] : posts_) {
          bool all = post_path == path;
          for (const std::string& part : parts) all &= body.find(part) != std::string::npos;
          if (all) return body;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }
  std::string All() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [path, body] : posts_) out += path + ": " + body + "\n";
    return out.empty() ? "(nothing)" : out;
  }

 private:
  std::unique_ptr<WebServer> server_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> posts_;
};

// Routes every alert to `webhook_url` with the shortest waits Alertmanager
// allows, resolved notifications included.
inline std::string QuickRoutingConfig(const std::string& webhook_url) {
  return "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 100ms\n"
         "  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n"
         "    webhook_configs:\n      - url: " +
         webhook_url + "\n        send_resolved: true\n";
}

class AlertmanagerServer {
 public:
  // Starts Alertmanager with `config` (YAML text) on 127.0.0.1:`port` and
  // waits until /-/ready answers. Null and `error` if it is missing or
  // does not get ready.
  static std::unique_ptr<AlertmanagerServer> Start(int port, const std::string& config,
                                                   std::string* error) {
    if (access(kAlertmanagerBinary, X_OK) != 0) {
      *error = std::string(kAlertmanagerBinary) +
               " is missing: install the Debian package \"prometheus-alertmanager\"";
      return nullptr;
    }
    auto server = std::unique_ptr<AlertmanagerServer>(new AlertmanagerServer());
    server->port_ = port;
    std::string directory = ::testing::TempDir() + "alertmanager-XXXXXX";
    if (mkdtemp(directory.data()) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    server->directory_ = directory;
    std::ofstream(directory + "/alertmanager.yml") << config;
    ProcessOptions options;
    options.binary = kAlertmanagerBinary;
    options.args = {
        "--config.file=" + directory + "/alertmanager.yml", "--storage.path=" + directory + "/data",
        "--web.listen-address=127.0.0.1:" + std::to_string(port), "--cluster.listen-address="};
    options.stderr_path = directory + "/stderr";
    server->process_ = Process::Start(options, error);
    if (!server->process_) return nullptr;
    HttpClientOptions quick;
    quick.timeout = std::chrono::milliseconds(500);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (HttpGet(server->url() + "/-/ready", quick).status == 200) return server;
      if (!server->process_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    *error = "alertmanager did not become ready:\n" + server->process_->Stderr(4096);
    return nullptr;
  }

  ~AlertmanagerServer() {
    if (process_) process_->Stop();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return process_ ? process_->Stderr(8192) : ""; }

 private:
  AlertmanagerServer() = default;
  int port_ = 0;
  std::string directory_;
  std::unique_ptr<Process> process_;
};

}  // namespace txmon::test
