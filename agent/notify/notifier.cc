#include "agent/notify/notifier.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "agent/base/log.h"
#include "agent/base/metric_families.h"
#include "agent/notify/alertmanager_client.h"

namespace txmon {

// One Alertmanager: its queue, its thread, its counters.
class Notifier::Sender {
 public:
  Sender(std::unique_ptr<AlertmanagerClient> client, const NotifierOptions& options)
      : client_(std::move(client)), options_(options), thread_([this] { Run(); }) {}

  ~Sender() { Stop(); }

  void Enqueue(const std::vector<AlertmanagerAlert>& alerts) {
    {
      std::lock_guard lock(mutex_);
      for (const AlertmanagerAlert& alert : alerts) {
        if (queue_.size() >= options_.queue_capacity) {
          queue_.pop_front();  // the oldest is the least useful
          ++stats_.dropped;
        }
        queue_.push_back(alert);
      }
    }
    wake_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  AlertmanagerStats stats() const {
    std::lock_guard lock(mutex_);
    AlertmanagerStats out = stats_;
    out.url = client_->alerts_url();
    out.queue_length = queue_.size();
    return out;
  }

 private:
  void Run() {
    std::chrono::milliseconds backoff = options_.initial_backoff;
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      size_t count = std::min(queue_.size(), options_.max_batch_size);
      std::vector<AlertmanagerAlert> batch(queue_.begin(), queue_.begin() + count);
      lock.unlock();
      auto start = std::chrono::steady_clock::now();
      AlertmanagerClient::Result result = client_->Post(EncodeAlerts(batch));
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      lock.lock();
      if (result.status.ok() || !result.retryable) {
        RemoveHead(batch);
        if (result.status.ok()) {
          stats_.sent += count;
          stats_.posts++;
          stats_.latency_seconds_sum += seconds;
          backoff = options_.initial_backoff;
          continue;
        }
        stats_.errors += count;
        stats_.dropped += count;
        LogFailure(result.status, "dropped");
        continue;
      }
      stats_.errors += count;
      LogFailure(result.status, "will retry");
      wake_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  // Removes the posted alerts from the head of the queue. Overflow may have
  // dropped some of them meanwhile, so only the ones still there go.
  void RemoveHead(const std::vector<AlertmanagerAlert>& batch) {
    size_t n = 0;
    while (n < batch.size() && n < queue_.size() && SameAlert(queue_[n], batch[n])) ++n;
    if (n == batch.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      return;
    }
    // Overflow shifted the queue: drop the batch's alerts wherever they are.
    for (const AlertmanagerAlert& sent : batch) {
      auto it = std::find_if(queue_.begin(), queue_.end(),
                             [&](const AlertmanagerAlert& a) { return SameAlert(a, sent); });
      if (it != queue_.end()) queue_.erase(it);
    }
  }

  static bool SameAlert(const AlertmanagerAlert& a, const AlertmanagerAlert& b) {
    return a.labels == b.labels && a.starts_at_ms == b.starts_at_ms && a.ends_at_ms == b.ends_at_ms;
  }

  void LogFailure(const Status& status, const char* outcome) {
    static LogRateLimit limit(2);
    uint64_t suppressed = 0;
    if (!limit.Allow(&suppressed)) return;
    Log(LogLevel::kWarn, "notify", "sending alerts to Alertmanager failed",
        {{"alertmanager", client_->alerts_url()},
         {"err", status.message()},
         {"outcome", outcome},
         {"suppressed", std::to_string(suppressed)}});
  }

  std::unique_ptr<AlertmanagerClient> client_;
  const NotifierOptions& options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<AlertmanagerAlert> queue_;
  AlertmanagerStats stats_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the other members exist
};

Status Notifier::Create(NotifierOptions options, std::unique_ptr<Notifier>* out) {
  if (options.queue_capacity == 0 || options.max_batch_size == 0) {
    return Status::Error("notifier: queue capacity and batch size must be positive");
  }
  std::unique_ptr<Notifier> notifier(new Notifier());
  notifier->options_ = std::move(options);
  std::vector<std::unique_ptr<AlertmanagerClient>> clients;
  for (const std::string& url : notifier->options_.alertmanager_urls) {
    std::unique_ptr<AlertmanagerClient> client;
    if (Status s = AlertmanagerClient::Create(url, notifier->options_.timeout, &client); !s.ok()) {
      return s;
    }
    clients.push_back(std::move(client));
  }
  for (auto& client : clients) {
    notifier->senders_.push_back(std::make_unique<Sender>(std::move(client), notifier->options_));
  }
  *out = std::move(notifier);
  return Status::Ok();
}

Notifier::~Notifier() { Stop(); }

void Notifier::Send(std::vector<AlertmanagerAlert> alerts) {
  if (alerts.empty()) return;
  for (const auto& sender : senders_) sender->Enqueue(alerts);
}

void Notifier::Stop() {
  for (const auto& sender : senders_) sender->Stop();
}

std::vector<AlertmanagerStats> Notifier::stats() const {
  std::vector<AlertmanagerStats> out;
  for (const auto& sender : senders_) out.push_back(sender->stats());
  return out;
}

std::vector<prometheus::MetricFamily> Notifier::CollectMetrics() const {
  using prometheus::MetricType;
  auto sent = NewMetricFamily("txmon_notifications_sent_total",
                              "Alerts delivered to each Alertmanager.", MetricType::Counter);
  auto errors = NewMetricFamily(
      "txmon_notifications_errors_total",
      "Alerts in posts that failed, per Alertmanager (each attempt counts).", MetricType::Counter);
  auto dropped = NewMetricFamily(
      "txmon_notifications_dropped_total",
      "Alerts given up for an Alertmanager: queue overflow or refused (4xx).", MetricType::Counter);
  auto length =
      NewMetricFamily("txmon_notifications_queue_length",
                      "Alerts waiting to be sent to each Alertmanager.", MetricType::Gauge);
  auto latency =
      NewMetricFamily("txmon_notifications_latency_seconds",
                      "Time to post a batch successfully, per Alertmanager.", MetricType::Summary);
  for (const AlertmanagerStats& s : stats()) {
    const MetricLabelPairs labels = {{"alertmanager", s.url}};
    AddMetricValue(sent, labels, static_cast<double>(s.sent));
    AddMetricValue(errors, labels, static_cast<double>(s.errors));
    AddMetricValue(dropped, labels, static_cast<double>(s.dropped));
    AddMetricValue(length, labels, static_cast<double>(s.queue_length));
    AddMetricSummary(latency, labels, s.posts, s.latency_seconds_sum);
  }
  auto capacity =
      NewMetricFamily("txmon_notifications_queue_capacity",
                      "Capacity of each Alertmanager's alert queue.", MetricType::Gauge);
  AddMetricValue(capacity, {}, static_cast<double>(options_.queue_capacity));
  auto discovered = NewMetricFamily("txmon_notifications_alertmanagers_discovered",
                                    "Alertmanagers alerts are sent to.", MetricType::Gauge);
  AddMetricValue(discovered, {}, static_cast<double>(senders_.size()));
  return {sent, errors, dropped, length, latency, capacity, discovered};
}

}  // namespace txmon
