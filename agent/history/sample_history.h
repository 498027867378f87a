// SampleHistory: the recent samples of the series that loaded rules can
// select, one sliding window per series, as the PromQL engine reads them
// (SeriesStorage). StoreSampler fills it from the MetricStore; rule groups
// add their recorded series; tests fill it directly.
//
// Each series keeps the samples of its last `retention_ms` plus the newest
// older one (which an instant selector may still see), so memory is bounded
// by the longest range the rules ask for. Samples must arrive in time order
// per series; an older or same-time sample is ignored.
//
// Threading: all methods may be called from any thread; writers take an
// exclusive lock per call, Select a shared one for its duration.
#pragma once

#include <cstdint>
#include <limits>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/promql/series_storage.h"

namespace txmon {

class SampleHistory : public SeriesStorage {
 public:
  using SeriesId = uint32_t;
  static constexpr int64_t kKeepAll = std::numeric_limits<int64_t>::max();

  // The id of the series with `labels`, created empty on first use. A
  // series' retention is the largest asked for.
  SeriesId Intern(const Labels& labels, int64_t retention_ms = kKeepAll);
  void Append(SeriesId id, int64_t timestamp_ms, double value);
  void Append(const Labels& labels, int64_t timestamp_ms, double value) {
    Append(Intern(labels), timestamp_ms, value);
  }
  // The newest sample's time; INT64_MIN when the series has none.
  int64_t LastTimestamp(SeriesId id) const;

  void Select(std::span<const LabelMatcher> matchers, int64_t min_ms, int64_t max_ms,
              const SeriesVisitor& visit) const override;

  size_t series_count() const;
  size_t sample_count() const;

 private:
  struct Window {
    Labels labels;
    int64_t retention_ms = 0;
    std::vector<Point> points;  // points[begin..] are live
    size_t begin = 0;
  };

  void Trim(Window& window);
  bool MatchesAll(const Labels& labels, std::span<const LabelMatcher> matchers) const;
  void VisitWindow(const Window& window, int64_t min_ms, int64_t max_ms,
                   const SeriesVisitor& visit) const;

  mutable std::shared_mutex mutex_;
  std::vector<Window> windows_;
  std::unordered_map<std::string, SeriesId> by_key_;
  std::unordered_map<std::string, std::vector<SeriesId>> by_name_;
};

}  // namespace txmon
