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
    windows_.push_back(Window{labels, retention_ms, {}, 0});
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
  if (window.points.size() > window.begin && window.points.back().timestamp_ms >= timestamp_ms) {
    return;
  }
  window.points.push_back(Point{timestamp_ms, value});
  ++live_samples_;
  Trim(window);
}

void SampleHistory::Trim(Window& window) {
  if (window.retention_ms == kKeepAll) return;
  int64_t cutoff = window.points.back().timestamp_ms - window.retention_ms;
  // Keep the newest sample at or before the cutoff: the lookback of an
  // instant selector still reaches it.
  while (window.begin + 1 < window.points.size() &&
         window.points[window.begin + 1].timestamp_ms <= cutoff) {
    ++window.begin;
    --live_samples_;
  }
  Compact(window);
}

void SampleHistory::Compact(Window& window) {
  // Compact when the dead prefix outweighs the live part: amortised O(1).
  if (window.begin >= 32 && window.begin * 2 >= window.points.size()) {
    window.points.erase(window.points.begin(), window.points.begin() + window.begin);
    window.begin = 0;
  }
}

int64_t SampleHistory::LastTimestamp(SeriesId id) const {
  std::shared_lock lock(mutex_);
  const Window& window = windows_[id];
  if (window.points.size() <= window.begin) return std::numeric_limits<int64_t>::min();
  return window.points.back().timestamp_ms;
}

bool SampleHistory::MatchesAll(const Labels& labels, std::span<const LabelMatcher> matchers) const {
  for (const LabelMatcher& matcher : matchers) {
    if (!matcher.Matches(labels.Get(matcher.name()))) return false;
  }
  return true;
}

void SampleHistory::VisitWindow(const Window& window, int64_t min_ms, int64_t max_ms,
                                const SeriesVisitor& visit) const {
  auto first = window.points.begin() + static_cast<ptrdiff_t>(window.begin);
  auto last = window.points.end();
  if (first == last) return;
  // Rules read at "now" over windows close to the retention, so the common
  // case needs no search at either end.
  auto from = first->timestamp_ms >= min_ms
                  ? first
                  : std::lower_bound(first, last, min_ms,
                                     [](const Point& p, int64_t t) { return p.timestamp_ms < t; });
  auto to = (last - 1)->timestamp_ms <= max_ms
                ? last
                : std::upper_bound(from, last, max_ms,
                                   [](int64_t t, const Point& p) { return t < p.timestamp_ms; });
  if (from == to) return;
  visit(window.labels, std::span<const Point>(&*from, static_cast<size_t>(to - from)));
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
  return live_samples_ * sizeof(Point);
}

uint64_t SampleHistory::dropped_samples() const {
  std::shared_lock lock(mutex_);
  return dropped_;
}

size_t SampleHistory::DropOldest() {
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const Window& window : windows_) {
    if (window.points.size() - window.begin >= 2) {
      oldest = std::min(oldest, window.points[window.begin].timestamp_ms);
    }
  }
  if (oldest == std::numeric_limits<int64_t>::max()) return 0;
  size_t dropped = 0;
  for (Window& window : windows_) {
    if (window.points.size() - window.begin >= 2 &&
        window.points[window.begin].timestamp_ms == oldest) {
      ++window.begin;
      ++dropped;
      Compact(window);
    }
  }
  return dropped;
}

size_t SampleHistory::EnforceBudget() {
  std::unique_lock lock(mutex_);
  size_t total = 0;
  while (live_samples_ * sizeof(Point) > max_bytes_) {
    size_t dropped = DropOldest();
    if (dropped == 0) break;  // every series is down to its newest sample
    live_samples_ -= dropped;
    total += dropped;
  }
  dropped_ += total;
  return total;
}

}  // namespace txmon
