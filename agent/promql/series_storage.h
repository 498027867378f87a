// SeriesStorage: where the PromQL engine reads samples from — series with
// labels and samples (timestamp in ms, double value). SampleHistory is the
// agent's implementation; tests implement it (or fill a SampleHistory)
// directly.
//
// Threading: Select may be called from several threads at once; an
// implementation that is also written to must synchronise itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>

#include "agent/promql/labels.h"
#include "agent/promql/promql_ast.h"

namespace txmon {

struct Point {
  int64_t timestamp_ms = 0;
  double value = 0;
};

// Prometheus's staleness marker: a NaN with this exact bit pattern ends a
// series (instant selectors see nothing; ranges skip it). Ordinary NaN
// values stay values.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double StaleNaN() {
  double value;
  std::memcpy(&value, &kStaleNaNBits, sizeof value);
  return value;
}
inline bool IsStaleNaN(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == kStaleNaNBits;
}

using SeriesVisitor = std::function<void(const Labels& labels, std::span<const Point> points)>;

class SeriesStorage {
 public:
  virtual ~SeriesStorage() = default;

  // Calls `visit` once for each series whose labels satisfy every matcher
  // and that has samples with timestamps in [min_ms, max_ms], with those
  // samples in ascending time order. The span is valid during the call only.
  virtual void Select(std::span<const LabelMatcher> matchers, int64_t min_ms, int64_t max_ms,
                      const SeriesVisitor& visit) const = 0;
};

}  // namespace txmon
