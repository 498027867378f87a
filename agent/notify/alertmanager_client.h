// AlertmanagerClient: one Alertmanager's API v2 over HTTP (libcurl):
// POST {base}/api/v2/alerts with a JSON array of alerts. It keeps one
// connection open between posts.
//
// Threading: one thread at a time per client (each sender owns one).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "agent/base/status.h"
#include "agent/notify/alertmanager_alert.h"

namespace txmon {

// The API v2 body for `alerts`: [{"labels":{...},"annotations":{...},
// "startsAt":"RFC3339","endsAt":"RFC3339","generatorURL":"..."}].
std::string EncodeAlerts(std::span<const AlertmanagerAlert> alerts);

class AlertmanagerClient {
 public:
  // `base_url`: "http://host:9093" or with a path prefix
  // ("http://host/alertmanager"); refused unless http:// or https://.
  static Status Create(const std::string& base_url, std::chrono::milliseconds timeout,
                       std::unique_ptr<AlertmanagerClient>* out);
  ~AlertmanagerClient();

  struct Result {
    Status status;
    bool retryable = true;  // false for a 4xx: the same body would fail again
  };
  Result Post(const std::string& body);

  const std::string& alerts_url() const { return alerts_url_; }

 private:
  AlertmanagerClient() = default;
  std::string alerts_url_;
  std::chrono::milliseconds timeout_{0};
  void* curl_ = nullptr;  // CURL*, kept for connection reuse
};

}  // namespace txmon
