// The one table of PromQL functions: each entry gives a function's name,
// argument types, result type and implementation. The parser looks names
// up here and checks the arguments, the printer prints the name, and the
// engine calls the implementation, so a function over a range (rate, the
// *_over_time family) or over each sample (abs, clamp_min) is one entry.
// The few that need the engine itself (histogram_quantile, absent, time,
// vector, scalar, timestamp, sort, label_replace, ...) name a
// SpecialFunction the engine evaluates.
//
// Pure data and pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "agent/promql/promql_ast.h"
#include "agent/promql/series_storage.h"

namespace txmon {

enum class SpecialFunction {
  kNone,
  kHistogramQuantile,
  kAbsent,
  kTime,
  kVector,
  kScalar,
  kTimestamp,
  kSort,
  kSortDesc,
  kLabelReplace,
  kLabelJoin,
};

// How the engine evaluates a range function over every step of a range
// query at once (promql_engine.cc), each giving the bits `range` gives per
// window: kGeneric calls `range` on each step's window; the others slide
// over the series (a counter's resets listed once, a monotonic queue for
// max/min, exact running sums where every partial sum is exact, prefix
// counts).
enum class RangeKernel {
  kGeneric,
  kRate,
  kIncrease,
  kDelta,
  kMaxOverTime,
  kMinOverTime,
  kSumOverTime,
  kChanges,
  kResets,
};

struct FunctionDef {
  std::string_view name;
  std::vector<ValueType> args;
  ValueType result;
  // Over the points of one series in [range_start, range_end] (staleness
  // markers removed, never empty), with the call's scalar argument if it
  // has one (predict_linear's horizon, quantile_over_time's q), else 0;
  // nullopt: no sample for that series. The matrix may be any argument.
  std::optional<double> (*range)(std::span<const Point> points, int64_t range_start,
                                 int64_t range_end, int64_t range_ms, double argument) = nullptr;
  // The range result keeps the series' metric name (last_over_time).
  bool keeps_metric_name = false;
  // Per sample of the first (vector) argument, with the second (scalar)
  // argument if there is one, else 0.
  double (*elementwise)(double value, double argument) = nullptr;
  SpecialFunction special = SpecialFunction::kNone;
  // As Prometheus' Variadic: 0, exactly `args`; n > 0, the last n may be
  // left out; -1, the last one repeats any number of times (label_join).
  int variadic = 0;
  // The elementwise argument when an optional one is left out (round's 1).
  double default_argument = 0;
  RangeKernel kernel = RangeKernel::kGeneric;
};

// The second half of Prometheus' extrapolatedRate: `result` is the
// window's last - first value plus, for a counter, each value before a
// reset (added in window order); nullopt for fewer than 2 points.
std::optional<double> Extrapolate(double result, std::span<const Point> points, int64_t range_start,
                                  int64_t range_end, int64_t range_ms, bool is_counter,
                                  bool is_rate);

// Every supported function, in the order `--help`-style lists give them.
const std::vector<FunctionDef>& PromqlFunctions();
// The entry named `name`, or null.
const FunctionDef* FindFunction(std::string_view name);
// Prometheus functions outside the supported set: refused as unsupported
// rather than unknown, so a rule author knows the expression is valid there.
bool IsUnsupportedPrometheusFunction(std::string_view name);

}  // namespace txmon
