// Notifier: delivers alerts to Alertmanagers (API v2) off the evaluation
// path. Send only enqueues; each Alertmanager has its own bounded queue and
// sender thread, which posts batches of up to max_batch_size alerts.
//
// Delivery: a batch that fails with a transport error or a 5xx stays at the
// head of the queue and is retried with exponential backoff (initial_backoff
// doubling to max_backoff) until it succeeds, so an Alertmanager that is
// down at first still gets the alerts when it comes back. A 4xx drops the
// batch (the same body would fail again). A full queue drops its oldest
// alerts. Firing alerts are also re-sent by the rules every resend delay
// with endsAt ahead, as in Prometheus, so Alertmanager keeps them open.
//
// Self-metrics (Prometheus's prometheus_notifications_* as txmon_*):
// sent/errors/dropped per Alertmanager, queue length and capacity, latency.
//
// Threading: Send and CollectMetrics from any thread. Stop (and the
// destructor) from the owner; it does not wait for queued alerts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "agent/base/status.h"
#include "agent/notify/alertmanager_alert.h"

namespace txmon {

struct NotifierOptions {
  // Base URLs: "http://127.0.0.1:9093" (POSTs go to URL/api/v2/alerts).
  std::vector<std::string> alertmanager_urls;
  size_t queue_capacity = 10'000;  // per Alertmanager
  size_t max_batch_size = 64;
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
};

struct AlertmanagerStats {
  std::string url;       // the alerts endpoint
  uint64_t sent = 0;     // alerts delivered
  uint64_t errors = 0;   // alerts in failed posts (each attempt counts)
  uint64_t dropped = 0;  // alerts given up: queue overflow or a 4xx
  size_t queue_length = 0;
  uint64_t posts = 0;  // successful posts
  double latency_seconds_sum = 0;
};

class Notifier {
 public:
  // Starts one sender per URL. An empty list is allowed: Send then does
  // nothing.
  static Status Create(NotifierOptions options, std::unique_ptr<Notifier>* out);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Send(std::vector<AlertmanagerAlert> alerts);
  void Stop();

  std::vector<AlertmanagerStats> stats() const;
  std::vector<prometheus::MetricFamily> CollectMetrics() const;

 private:
  class Sender;
  Notifier() = default;
  NotifierOptions options_;
  std::vector<std::unique_ptr<Sender>> senders_;
};

}  // namespace txmon
