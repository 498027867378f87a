// RemoteWriter: sends every series of the sample history to one Prometheus
// remote write 1.0 endpoint (Prometheus, Thanos Receive, Mimir,
// VictoriaMetrics), off the hot path.
//
// Two threads of its own. The reader wakes at every history resolution tick
// (just after the sampler's), reads the samples that arrived since its last
// read of each series and queues them, oldest first; a series' samples are
// therefore sent at the history's resolution, in time order, each once.
// The sender takes up to max_samples_per_send samples when that many wait
// or the oldest has waited batch_send_deadline, and posts them as one
// WriteRequest (labels sorted, each series' samples in time order).
//
// Delivery, as the spec says: a transport error, a 5xx or a 429 keeps the
// batch and retries it with exponential backoff (min_backoff doubling to
// max_backoff; a Retry-After the receiver sends with a 429 or 5xx is waited
// instead, up to 5 minutes) until it is delivered; any other 4xx drops the batch, counted
// as failed (the same body would be refused again). The queue holds at most
// `capacity` samples: past it the oldest are dropped and counted, so an
// outage costs the oldest samples beyond the capacity and nothing within it.
// Samples older than `min_timestamp_ms` (the agent's start) are never sent:
// the history starts empty at each start, so after a restart nothing older
// than what was already sent goes out again; with `sent_file` not even when
// the wall clock went back meanwhile.
//
// Every series gets `target_labels` (instance, job, external labels) where
// it lacks the label, so agents never write the same series.
//
// Self-metrics with the names of Prometheus' own remote storage queue:
// txmon_remote_write_samples_total, ..._failed_total, ..._retried_total,
// ..._dropped_total, ..._pending_samples, ..._highest_timestamp_seconds,
// ..._highest_sent_timestamp_seconds, ..._bytes_total, ..._shards, ...
//
// Threading: Start and Stop from the owner; CollectMetrics and stats from
// any thread. The storage must outlive Stop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <prometheus/metric_family.h>

#include "agent/base/status.h"
#include "agent/promql/labels.h"
#include "agent/promql/series_storage.h"
#include "agent/remote/remote_write_client.h"

namespace txmon {

struct RemoteWriterOptions {
  std::string name;  // remote_name in the self-metrics
  RemoteWriteEndpoint endpoint;
  size_t capacity = 500'000;
  size_t max_samples_per_send = 2'000;
  std::chrono::milliseconds batch_send_deadline{100};
  std::chrono::milliseconds min_backoff{30};
  std::chrono::milliseconds max_backoff{5'000};
  int64_t resolution_ms = 1000;  // the history's; the reader's period
  int64_t min_timestamp_ms = 0;  // older samples are never sent
  // Where the newest timestamp this writer may have sent is kept, across
  // restarts (empty: nowhere). It is written (and fsynced) before each
  // request whose newest sample is past it, and read at Create, which then
  // raises min_timestamp_ms above it: a wall clock that stepped back while
  // the agent was down never makes it resend (out-of-order 400s).
  std::string sent_file;
};

struct RemoteWriterStats {
  uint64_t samples_sent = 0;     // delivered (2xx)
  uint64_t samples_failed = 0;   // in batches refused for good (4xx but 429)
  uint64_t samples_retried = 0;  // in attempts that will be retried (each counts)
  uint64_t samples_dropped = 0;  // queue overflow
  uint64_t samples_read = 0;     // taken from the history into the queue
  uint64_t bytes_sent = 0;       // compressed bodies delivered
  uint64_t requests_sent = 0;
  size_t pending = 0;  // queued or in flight
  int64_t highest_read_ms = 0;
  int64_t highest_sent_ms = 0;
  double send_seconds_sum = 0;  // time of delivered requests
};

class RemoteWriter {
 public:
  static Status Create(RemoteWriterOptions options, const SeriesStorage* storage,
                       std::unique_ptr<RemoteWriter>* out);
  ~RemoteWriter();
  RemoteWriter(const RemoteWriter&) = delete;
  RemoteWriter& operator=(const RemoteWriter&) = delete;

  // Starts both threads; `target_labels` go on every series that lacks them.
  void Start(Labels target_labels);
  // Stops both threads, aborting a request in flight; a batch not yet
  // delivered is given up (still counted as pending).
  void Stop();

  // One read of the history now, as the reader does at each tick (tests).
  void ReadOnce();

  RemoteWriterStats stats() const;
  const std::string& name() const { return options_.name; }
  const std::string& url() const { return options_.endpoint.url; }

  // The self-metrics of `writers`, one family per metric name, one series
  // per writer (labels remote_name and url, as in Prometheus).
  static std::vector<prometheus::MetricFamily> CollectMetrics(
      const std::vector<std::unique_ptr<RemoteWriter>>& writers);

 private:
  struct Queued {
    const Labels* labels;  // in series_, never moved
    int64_t timestamp_ms;
    double value;
    std::chrono::steady_clock::time_point queued_at;
  };
  struct Cursor {
    const Labels* labels;
    int64_t last_ms;
  };

  RemoteWriter() = default;
  void RunReader();
  void RunSender();
  // Posts `batch` until it is delivered, refused or Stop; false on Stop.
  bool Deliver(std::vector<Queued>& batch);
  void LogFailure(const Status& status, const char* outcome);
  // Makes `sent_file` say at least `timestamp_ms` before it is sent.
  void PersistSent(int64_t timestamp_ms);
  int64_t persisted_ms_ = INT64_MIN;  // what sent_file says (sender thread)
  const Labels* SeriesFor(const Labels& labels, Cursor** cursor);

  RemoteWriterOptions options_;
  const SeriesStorage* storage_ = nullptr;
  std::unique_ptr<RemoteWriteClient> client_;
  Labels target_labels_;

  // The reader's own: one entry per series seen, never removed (stable
  // addresses for the queue's pointers).
  std::deque<Labels> series_;
  std::unordered_map<std::string, Cursor> cursors_;
  int64_t high_water_ms_ = INT64_MIN;
  std::mutex read_mutex_;  // ReadOnce from tests beside the reader

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  size_t in_flight_ = 0;
  RemoteWriterStats stats_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // set by Stop: aborts a request in flight
  std::thread reader_, sender_;
};

}  // namespace txmon
