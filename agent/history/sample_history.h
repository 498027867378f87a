// SampleHistory: the recent samples of the series that loaded rules can
// select, one sliding window per series, as the PromQL engine reads them
// (SeriesStorage). StoreSampler fills it from the MetricStore; rule groups
// add their recorded series; tests fill it directly.
//
// Each series keeps its samples in XOR chunks of up to 120 samples
// (xor_chunk.h): the chunks that cover its last `retention_ms` plus the
// newest older sample (which an instant selector may still see), so memory
// is bounded by the longest range asked for, to a chunk. Samples must
// arrive in time order per series; an older or same-time sample is ignored.
//
// Memory is also capped: past max_bytes (the chunks' memory), EnforceBudget
// drops the oldest chunks of the whole history first (every series keeping
// its newest chunk), and counts their samples.
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

#include "agent/history/xor_chunk.h"
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

  // The cap EnforceBudget keeps to; unlimited by default.
  void SetMaxBytes(uint64_t max_bytes);
  // Drops the oldest chunks until the history fits max_bytes; returns how
  // many samples it dropped. O(series) per chunk start time dropped, so the
  // sampler calls it once per tick, never per Append.
  size_t EnforceBudget();
  // Memory of the chunks (what max_bytes caps).
  uint64_t bytes() const;
  // Samples dropped by EnforceBudget since creation.
  uint64_t dropped_samples() const;

 private:
  struct Window {
    Labels labels;
    int64_t retention_ms = 0;
    std::vector<XorChunk> chunks;  // oldest first; the last one takes the appends
  };

  void Trim(Window& window);
  void DropFirstChunk(Window& window);
  // Drops the first chunk of every series whose first chunk is the oldest
  // in the history (keeping each series' newest chunk); returns how many
  // samples, 0 when nothing can go.
  size_t DropOldest();
  bool MatchesAll(const Labels& labels, std::span<const LabelMatcher> matchers) const;
  void VisitWindow(const Window& window, int64_t min_ms, int64_t max_ms,
                   const SeriesVisitor& visit) const;

  mutable std::shared_mutex mutex_;
  std::vector<Window> windows_;
  std::unordered_map<std::string, SeriesId> by_key_;
  std::unordered_map<std::string, std::vector<SeriesId>> by_name_;
  size_t live_samples_ = 0;
  uint64_t bytes_ = 0;
  uint64_t max_bytes_ = std::numeric_limits<uint64_t>::max();
  uint64_t dropped_ = 0;
};

}  // namespace txmon
