#include "agent/remote/remote_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include "agent/base/log.h"
#include "agent/base/wall_clock.h"
#include "agent/remote/write_request.h"

namespace txmon {

namespace {

// How far back each read looks: a series whose samples were appended late
// (a slow sampler tick, a recording rule) is still caught within it.
constexpr int64_t kLookbackTicks = 30;

// The longest Retry-After honoured.
constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::minutes(5);

Labels WithTargetLabels(const Labels& labels, const Labels& target) {
  LabelsBuilder builder(labels);
  for (const Label& label : target) {
    if (!labels.Has(label.name)) builder.Set(label.name, label.value);
  }
  return builder.Build();
}

}  // namespace

Status RemoteWriter::Create(RemoteWriterOptions options, const SeriesStorage* storage,
                            std::unique_ptr<RemoteWriter>* out) {
  if (options.capacity == 0 || options.max_samples_per_send == 0 || options.resolution_ms <= 0) {
    return Status::Error("remote write: capacity, max_samples_per_send and resolution must be > 0");
  }
  std::unique_ptr<RemoteWriter> writer(new RemoteWriter());
  writer->options_ = std::move(options);
  writer->storage_ = storage;
  if (!writer->options_.sent_file.empty()) {
    std::ifstream in(writer->options_.sent_file);
    long long saved = 0;
    if (in >> saved) {
      writer->persisted_ms_ = saved;
      writer->options_.min_timestamp_ms =
          std::max<int64_t>(writer->options_.min_timestamp_ms, saved + 1);
    }
  }
  if (Status s = RemoteWriteClient::Create(writer->options_.endpoint, &writer->client_); !s.ok()) {
    return s;
  }
  *out = std::move(writer);
  return Status::Ok();
}

RemoteWriter::~RemoteWriter() { Stop(); }

void RemoteWriter::Start(Labels target_labels) {
  target_labels_ = std::move(target_labels);
  reader_ = std::thread([this] { RunReader(); });
  sender_ = std::thread([this] { RunSender(); });
}

void RemoteWriter::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cancel_.store(true);
  wake_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (sender_.joinable()) sender_.join();
}

const Labels* RemoteWriter::SeriesFor(const Labels& labels, Cursor** cursor) {
  auto [it, inserted] = cursors_.try_emplace(labels.Key());
  if (inserted) {
    series_.push_back(WithTargetLabels(labels, target_labels_));
    it->second = Cursor{&series_.back(), std::numeric_limits<int64_t>::min()};
  }
  *cursor = &it->second;
  return it->second.labels;
}

void RemoteWriter::ReadOnce() {
  std::lock_guard read_lock(read_mutex_);
  std::vector<Queued> fresh;
  const auto now = std::chrono::steady_clock::now();
  int64_t min_ms = options_.min_timestamp_ms;
  if (high_water_ms_ != INT64_MIN) {
    min_ms = std::max(min_ms, high_water_ms_ - kLookbackTicks * options_.resolution_ms);
  }
  int64_t high_water = high_water_ms_;
  storage_->Select(
      {}, min_ms, std::numeric_limits<int64_t>::max(),
      [&](const Labels& labels, std::span<const Point> points) {
        Cursor* cursor = nullptr;
        const Labels* series = SeriesFor(labels, &cursor);
        for (const Point& p : points) {
          if (p.timestamp_ms <= cursor->last_ms || p.timestamp_ms < options_.min_timestamp_ms) {
            continue;
          }
          fresh.push_back(Queued{series, p.timestamp_ms, p.value, now});
          cursor->last_ms = p.timestamp_ms;
          high_water = std::max(high_water, p.timestamp_ms);
        }
      });
  high_water_ms_ = high_water;
  if (fresh.empty()) return;
  {
    std::lock_guard lock(mutex_);
    stats_.samples_read += fresh.size();
    stats_.highest_read_ms = std::max(stats_.highest_read_ms, high_water);
    for (const Queued& q : fresh) {
      if (queue_.size() >= options_.capacity) {
        queue_.pop_front();  // the oldest go first: the newest matter most
        ++stats_.samples_dropped;
      }
      queue_.push_back(q);
    }
  }
  wake_.notify_all();
}

void RemoteWriter::RunReader() {
  // Ticks at the history's resolution, a tenth of it after the sampler's
  // wall-clock-aligned tick, so each read finds the tick's samples.
  const int64_t period = options_.resolution_ms;
  const int64_t offset = std::max<int64_t>(1, period / 10);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const int64_t now = WallClockMs();
    int64_t next = FloorDiv(now - offset, period) * period + period + offset;
    wake_.wait_for(lock, std::chrono::milliseconds(next - now), [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    ReadOnce();
    lock.lock();
  }
}

void RemoteWriter::RunSender() {
  std::unique_lock lock(mutex_);
  std::vector<Queued> batch;
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const auto deadline = queue_.front().queued_at + options_.batch_send_deadline;
    wake_.wait_until(lock, deadline, [this] {
      return stopping_ || queue_.size() >= options_.max_samples_per_send;
    });
    if (stopping_) return;
    if (queue_.empty()) continue;
    const size_t count = std::min(queue_.size(), options_.max_samples_per_send);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(count));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(count));
    in_flight_ = count;
    lock.unlock();
    const bool go_on = Deliver(batch);
    lock.lock();
    in_flight_ = 0;
    if (!go_on) return;
  }
}

bool RemoteWriter::Deliver(std::vector<Queued>& batch) {
  // One TimeSeries per series, its samples in time order (the stable sort
  // keeps the queue's order, which is time order per series).
  std::stable_sort(batch.begin(), batch.end(),
                   [](const Queued& a, const Queued& b) { return a.labels < b.labels; });
  std::vector<Point> points;
  points.reserve(batch.size());
  std::vector<WriteSeries> series;
  int64_t highest = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < batch.size();) {
    size_t j = i;
    const size_t first = points.size();
    while (j < batch.size() && batch[j].labels == batch[i].labels) {
      points.push_back(Point{batch[j].timestamp_ms, batch[j].value});
      highest = std::max(highest, batch[j].timestamp_ms);
      ++j;
    }
    series.push_back(WriteSeries{batch[i].labels, {}});
    series.back().samples = std::span<const Point>(points).subspan(first, j - i);
    i = j;
  }
  std::string raw, body;
  EncodeWriteRequest(series, &raw);
  SnappyCompress(raw, &body);

  PersistSent(highest);
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (true) {
    const auto start = std::chrono::steady_clock::now();
    RemoteWriteClient::Result result = client_->Post(body, &cancel_);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::unique_lock lock(mutex_);
    if (result.status.ok()) {
      stats_.samples_sent += batch.size();
      stats_.bytes_sent += body.size();
      stats_.requests_sent++;
      stats_.send_seconds_sum += seconds;
      stats_.highest_sent_ms = std::max(stats_.highest_sent_ms, highest);
      return true;
    }
    if (!result.retryable) {
      stats_.samples_failed += batch.size();
      lock.unlock();
      LogFailure(result.status, "dropped");
      return true;
    }
    if (stopping_) return false;  // aborted by Stop: not a failure of the receiver
    stats_.samples_retried += batch.size();
    lock.unlock();
    LogFailure(result.status, "will retry");
    lock.lock();
    // A receiver that says when to come back is believed (up to
    // kMaxRetryAfter, so a wild value cannot park the queue for hours).
    const std::chrono::milliseconds wait =
        result.retry_after > std::chrono::milliseconds(0)
            ? std::min<std::chrono::milliseconds>(result.retry_after, kMaxRetryAfter)
            : backoff;
    wake_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) return false;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void RemoteWriter::PersistSent(int64_t timestamp_ms) {
  if (options_.sent_file.empty() || timestamp_ms <= persisted_ms_) return;
  const std::string tmp = options_.sent_file + ".tmp";
  const std::string text = std::to_string(timestamp_ms) + "\n";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  if (fd >= 0) close(fd);
  ok = ok && rename(tmp.c_str(), options_.sent_file.c_str()) == 0;
  if (!ok) {
    // Sent all the same: only a clock stepping back across a restart could
    // then resend, and the receiver would refuse those samples (counted).
    static LogRateLimit limit(2);
    uint64_t suppressed = 0;
    if (limit.Allow(&suppressed)) {
      Log(LogLevel::kWarn, "remote_write", "cannot record the newest timestamp sent",
          {{"remote_name", options_.name},
           {"file", options_.sent_file},
           {"err", strerror(errno)},
           {"suppressed", std::to_string(suppressed)}});
    }
    return;
  }
  persisted_ms_ = timestamp_ms;
}

void RemoteWriter::LogFailure(const Status& status, const char* outcome) {
  static LogRateLimit limit(2);
  uint64_t suppressed = 0;
  if (!limit.Allow(&suppressed)) return;
  Log(LogLevel::kWarn, "remote_write", "sending samples failed",
      {{"remote_name", options_.name},
       {"url", options_.endpoint.url},
       {"err", status.message()},
       {"outcome", outcome},
       {"suppressed", std::to_string(suppressed)}});
}

RemoteWriterStats RemoteWriter::stats() const {
  std::lock_guard lock(mutex_);
  RemoteWriterStats out = stats_;
  out.pending = queue_.size() + in_flight_;
  return out;
}

std::vector<prometheus::MetricFamily> RemoteWriter::CollectMetrics(
    const std::vector<std::unique_ptr<RemoteWriter>>& writers) {
  using prometheus::MetricType;
  struct Def {
    const char* name;
    const char* help;
    MetricType type;
    double (*value)(const RemoteWriterStats&, const RemoteWriterOptions&);
  };
  static const Def kDefs[] = {
      {"txmon_remote_write_samples_total", "Samples delivered to the remote storage.",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.samples_sent);
       }},
      {"txmon_remote_write_failed_total",
       "Samples in batches the remote storage refused for good (a 4xx other than 429).",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.samples_failed);
       }},
      {"txmon_remote_write_retried_total",
       "Samples in sends that failed with a 5xx, 429 or transport error and are retried.",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.samples_retried);
       }},
      {"txmon_remote_write_dropped_total",
       "Samples dropped unsent because the queue was full (the oldest go first).",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.samples_dropped);
       }},
      {"txmon_remote_write_read_samples_total", "Samples read from the history into the queue.",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.samples_read);
       }},
      {"txmon_remote_write_bytes_total",
       "Bytes of delivered request bodies (protobuf after snappy compression).",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.bytes_sent);
       }},
      {"txmon_remote_write_requests_total", "Requests delivered to the remote storage.",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.requests_sent);
       }},
      {"txmon_remote_write_pending_samples", "Samples queued or in flight, not yet delivered.",
       MetricType::Gauge,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.pending);
       }},
      {"txmon_remote_write_highest_timestamp_seconds",
       "Newest sample timestamp read from the history for this queue.", MetricType::Gauge,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.highest_read_ms) / 1000.0;
       }},
      {"txmon_remote_write_highest_sent_timestamp_seconds",
       "Newest sample timestamp delivered to the remote storage.", MetricType::Gauge,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) {
         return static_cast<double>(s.highest_sent_ms) / 1000.0;
       }},
      {"txmon_remote_write_sent_batch_duration_seconds_total", "Time spent in delivered requests.",
       MetricType::Counter,
       [](const RemoteWriterStats& s, const RemoteWriterOptions&) { return s.send_seconds_sum; }},
      {"txmon_remote_write_queue_capacity", "Samples the queue holds at most.", MetricType::Gauge,
       [](const RemoteWriterStats&, const RemoteWriterOptions& o) {
         return static_cast<double>(o.capacity);
       }},
      {"txmon_remote_write_shards", "Senders of the queue (one: samples go out in order).",
       MetricType::Gauge, [](const RemoteWriterStats&, const RemoteWriterOptions&) { return 1.0; }},
  };
  std::vector<RemoteWriterStats> stats;
  for (const auto& writer : writers) stats.push_back(writer->stats());
  std::vector<prometheus::MetricFamily> families;
  if (writers.empty()) return families;
  for (const Def& def : kDefs) {
    prometheus::MetricFamily family;
    family.name = def.name;
    family.help = def.help;
    family.type = def.type;
    for (size_t i = 0; i < writers.size(); ++i) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"remote_name", writers[i]->name()});
      metric.label.push_back({"url", writers[i]->url()});
      const double value = def.value(stats[i], writers[i]->options_);
      if (def.type == MetricType::Counter) metric.counter.value = value;
      if (def.type == MetricType::Gauge) metric.gauge.value = value;
      family.metric.push_back(std::move(metric));
    }
    families.push_back(std::move(family));
  }
  return families;
}

}  // namespace txmon
