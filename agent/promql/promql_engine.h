// PromqlEngine: evaluates a parsed PromQL expression (promql_ast.h) at one
// instant over a SeriesStorage, with Prometheus 2.x semantics: 5m lookback
// for instant selectors (closed interval, stale markers end a series),
// closed range windows, rate/increase/delta extrapolation as Prometheus's
// extrapolatedRate (counter resets included), histogram_quantile's bucket
// interpolation, __name__ dropped by functions and arithmetic.
//
// The engine holds no state between evaluations: one engine may evaluate
// many expressions concurrently (thread-safe), each over a storage that
// supports concurrent Select.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/promql/labels.h"
#include "agent/promql/promql_ast.h"
#include "agent/promql/series_storage.h"

namespace txmon {

// One element of an instant vector.
struct Sample {
  Labels metric;
  double value = 0;
};
using Vector = std::vector<Sample>;

// One series of a range vector (only a bare matrix selector yields one).
struct SeriesPoints {
  Labels metric;
  std::vector<Point> points;
};
using Matrix = std::vector<SeriesPoints>;

struct QueryResult {
  ValueType type = ValueType::kVector;
  double scalar = 0;   // kScalar
  Vector vector;       // kVector
  Matrix matrix;       // kMatrix
  std::string string;  // kString
};

// The range of a range query, which `@ start()` and `@ end()` name; an
// instant query's is its one time.
struct QueryBounds {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct EngineOptions {
  int64_t lookback_ms = 5 * 60 * 1000;  // Prometheus's --query.lookback-delta
};

class PromqlEngine {
 public:
  explicit PromqlEngine(EngineOptions options = {}) : options_(options) {}

  const EngineOptions& options() const { return options_; }

  // Evaluates `expr` at `time_ms`. Errors are Prometheus's runtime errors
  // ("many-to-many matching not allowed ...", "vector cannot contain
  // metrics with the same labelset").
  Status Eval(const Expr& expr, int64_t time_ms, const SeriesStorage& storage,
              QueryResult* out) const;
  // One step of a range query over `bounds`: as above, with `@ start()` and
  // `@ end()` at the range's ends (the one-time form uses `time_ms` for both).
  Status Eval(const Expr& expr, int64_t time_ms, const QueryBounds& bounds,
              const SeriesStorage& storage, QueryResult* out) const;

  // A range query: `expr` at start_ms, start_ms + step_ms, ... <= end_ms,
  // each step's answer the one Eval gives at that time (bit for bit), as one
  // series per label set (a scalar result is the series without labels),
  // sorted by labels. Selectors, range functions over range selectors and
  // sum/avg/min/max/count over those are evaluated for every step at once,
  // each series walked once with its windows sliding forward; the rest is
  // evaluated step by step over their answers. `keep_going` (if set) is
  // asked before each step; false ends the evaluation with an error.
  Status EvalRange(const Expr& expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                   const SeriesStorage& storage, Matrix* out,
                   const std::function<bool()>& keep_going = {}) const;

  // As Eval, for rules: a scalar result becomes a one-element vector
  // without labels; a matrix or string result is an error.
  Status EvalVector(const Expr& expr, int64_t time_ms, const SeriesStorage& storage,
                    Vector* out) const;

 private:
  EngineOptions options_;
};

}  // namespace txmon
