#include "agent/history/sample_history.h"

#include <algorithm>
#include <mutex>

namespace txmon {

SampleHistory::SeriesId SampleHistory::Intern(const Labels& labels, int64_t retention_ms) {
  std::string key = labels.Key();
  {
    std::shared_lock lock(mutex_);
    auto it = by_key_.find(key);
    if (it != by_key_.end() && windows_[it->second].retention_ms >= retention_ms) {
      return it->second;
    }
  }
  std::unique_lock lock(mutex_);
  auto [it, inserted] = by_key_.try_emplace(std::move(key), static_cast<SeriesId>(windows_.size()));
  if (inserted) {
    windows_.push_back(Window{labels, retention_ms, {}});
    by_name_[std::string(labels.metric_name())].push_back(it->second);
  } else {
    Window& window = windows_[it->second];
    window.retention_ms = std::max(window.retention_ms, retention_ms);
  }
  return it->second;
}

void SampleHistory::Append(SeriesId id, int64_t timestamp_ms, double value) {
  std::unique_lock lock(mutex_);
  Window& window = windows_[id];
  if (!window.chunks.empty() && window.chunks.back().max_time() >= timestamp_ms) return;
  if (window.chunks.empty() || window.chunks.back().full()) {
    if (!window.chunks.empty()) {
      bytes_ -= window.chunks.back().memory_bytes();
      window.chunks.back().Seal();
      bytes_ += window.chunks.back().memory_bytes();
    }
    window.chunks.emplace_back();
    bytes_ += window.chunks.back().memory_bytes();
  }
  XorChunk& head = window.chunks.back();
  size_t before = head.memory_bytes();
  head.Append(timestamp_ms, value);
  bytes_ += head.memory_bytes() - before;
  ++live_samples_;
  Trim(window);
}

void SampleHistory::DropFirstChunk(Window& window) {
  live_samples_ -= window.chunks.front().count();
  bytes_ -= window.chunks.front().memory_bytes();
  window.chunks.erase(window.chunks.begin());
}

void SampleHistory::Trim(Window& window) {
  if (window.retention_ms == kKeepAll) return;
  int64_t cutoff = window.chunks.back().max_time() - window.retention_ms;
  // A chunk goes once the next one starts at or before the cutoff: the
  // newest sample at or before it, which the lookback of an instant
  // selector still reaches, is then in the next one.
  while (window.chunks.size() >= 2 && window.chunks[1].min_time() <= cutoff) {
    DropFirstChunk(window);
  }
}

int64_t SampleHistory::LastTimestamp(SeriesId id) const {
  std::shared_lock lock(mutex_);
  const Window& window = windows_[id];
  if (window.chunks.empty()) return std::numeric_limits<int64_t>::min();
  return window.chunks.back().max_time();
}

bool SampleHistory::MatchesAll(const Labels& labels, std::span<const LabelMatcher> matchers) const {
  for (const LabelMatcher& matcher : matchers) {
    if (!matcher.Matches(labels.Get(matcher.name()))) return false;
  }
  return true;
}

void SampleHistory::VisitWindow(const Window& window, int64_t min_ms, int64_t max_ms,
                                const SeriesVisitor& visit) const {
  // Each query thread decodes into its own buffer, reused across series (a
  // visitor never selects again from inside, so one buffer per thread).
  thread_local std::vector<Point> points;
  points.clear();
  for (const XorChunk& chunk : window.chunks) chunk.Decode(min_ms, max_ms, &points);
  if (points.empty()) return;
  visit(window.labels, std::span<const Point>(points));
}

void SampleHistory::Select(std::span<const LabelMatcher> matchers, int64_t min_ms, int64_t max_ms,
                           const SeriesVisitor& visit) const {
  std::shared_lock lock(mutex_);
  for (const LabelMatcher& matcher : matchers) {
    if (matcher.name() == kMetricNameLabel && matcher.type() == LabelMatcher::Type::kEqual) {
      auto it = by_name_.find(matcher.value());
      if (it == by_name_.end()) return;
      for (SeriesId id : it->second) {
        const Window& window = windows_[id];
        if (MatchesAll(window.labels, matchers)) VisitWindow(window, min_ms, max_ms, visit);
      }
      return;
    }
  }
  for (const Window& window : windows_) {
    if (MatchesAll(window.labels, matchers)) VisitWindow(window, min_ms, max_ms, visit);
  }
}

size_t SampleHistory::series_count() const {
  std::shared_lock lock(mutex_);
  return windows_.size();
}

size_t SampleHistory::sample_count() const {
  std::shared_lock lock(mutex_);
  return live_samples_;
}

void SampleHistory::SetMaxBytes(uint64_t max_bytes) {
  std::unique_lock lock(mutex_);
  max_bytes_ = max_bytes;
}

uint64_t SampleHistory::bytes() const {
  std::shared_lock lock(mutex_);
  return bytes_;
}

uint64_t SampleHistory::dropped_samples() const {
  std::shared_lock lock(mutex_);
  return dropped_;
}

size_t SampleHistory::DropOldest() {
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const Window& window : windows_) {
    if (window.chunks.size() >= 2) oldest = std::min(oldest, window.chunks[0].min_time());
  }
  if (oldest == std::numeric_limits<int64_t>::max()) return 0;
  size_t dropped = 0;
  for (Window& window : windows_) {
    if (window.chunks.size() >= 2 && window.chunks[0].min_time() == oldest) {
      dropped += window.chunks[0].count();
      DropFirstChunk(window);
    }
  }
  return dropped;
}

size_t SampleHistory::EnforceBudget() {
  std::unique_lock lock(mutex_);
  size_t total = 0;
  while (bytes_ > max_bytes_) {
    size_t dropped = DropOldest();
    if (dropped == 0) break;  // every series is down to its newest chunk
    total += dropped;
  }
  dropped_ += total;
  return total;
}

}  // namespace txmon
