#include "agent/promql/promql_functions.h"

#include <algorithm>
#include <cmath>

#include "agent/promql/promql_ast.h"

namespace txmon {

namespace {

// Go's math.Max/math.Min: NaN wins (std::fmax would ignore it).
double GoMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::max(a, b);
}
double GoMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::min(a, b);
}

// ------------------------------------------------------------ range functions

// Prometheus's extrapolatedRate (promql/functions.go, 2.x).
std::optional<double> ExtrapolatedRate(std::span<const Point> points, int64_t range_start,
                                       int64_t range_end, int64_t range_ms, bool is_counter,
                                       bool is_rate) {
  if (points.size() < 2) return std::nullopt;
  const Point& first = points.front();
  const Point& last = points.back();
  double result = last.value - first.value;
  if (is_counter) {
    double previous = 0;
    for (const Point& p : points) {
      if (p.value < previous) result += previous;  // a reset: the counter restarted
      previous = p.value;
    }
  }
  double duration_to_start = static_cast<double>(first.timestamp_ms - range_start) / 1000;
  double duration_to_end = static_cast<double>(range_end - last.timestamp_ms) / 1000;
  double sampled_interval = static_cast<double>(last.timestamp_ms - first.timestamp_ms) / 1000;
  double average_between = sampled_interval / static_cast<double>(points.size() - 1);
  if (is_counter && result > 0 && first.value >= 0) {
    // A counter is never negative: do not extrapolate below zero.
    double duration_to_zero = sampled_interval * (first.value / result);
    if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
  }
  double threshold = average_between * 1.1;
  double extrapolate_to = sampled_interval;
  extrapolate_to += duration_to_start < threshold ? duration_to_start : average_between / 2;
  extrapolate_to += duration_to_end < threshold ? duration_to_end : average_between / 2;
  // One factor, applied once: the order of operations Prometheus uses, so
  // results agree to the last bit.
  double factor = extrapolate_to / sampled_interval;
  if (is_rate) factor /= static_cast<double>(range_ms) / 1000;
  return result * factor;
}

std::optional<double> InstantRate(std::span<const Point> points) {
  if (points.size() < 2) return std::nullopt;
  const Point& last = points[points.size() - 1];
  const Point& previous = points[points.size() - 2];
  double result = last.value < previous.value ? last.value : last.value - previous.value;
  int64_t interval = last.timestamp_ms - previous.timestamp_ms;
  if (interval == 0) return std::nullopt;
  return result / (static_cast<double>(interval) / 1000);
}

double AvgOverTime(std::span<const Point> points) {
  double mean = 0, count = 0;
  for (const Point& p : points) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(p.value) && (mean > 0) == (p.value > 0)) continue;
      if (!std::isinf(p.value) && !std::isnan(p.value)) continue;
    }
    mean += p.value / count - mean / count;
  }
  return mean;
}

// -------------------------------------------------------------- the table

std::optional<double> Rate(std::span<const Point> points, int64_t start, int64_t end,
                           int64_t range) {
  return ExtrapolatedRate(points, start, end, range, true, true);
}
std::optional<double> Increase(std::span<const Point> points, int64_t start, int64_t end,
                               int64_t range) {
  return ExtrapolatedRate(points, start, end, range, true, false);
}
std::optional<double> Delta(std::span<const Point> points, int64_t start, int64_t end,
                            int64_t range) {
  return ExtrapolatedRate(points, start, end, range, false, false);
}
std::optional<double> Irate(std::span<const Point> points, int64_t, int64_t, int64_t) {
  return InstantRate(points);
}
std::optional<double> AvgOverTimeOf(std::span<const Point> points, int64_t, int64_t, int64_t) {
  return AvgOverTime(points);
}
std::optional<double> SumOverTime(std::span<const Point> points, int64_t, int64_t, int64_t) {
  double sum = 0;
  for (const Point& p : points) sum += p.value;
  return sum;
}
std::optional<double> MaxOverTime(std::span<const Point> points, int64_t, int64_t, int64_t) {
  double max = points[0].value;
  for (const Point& p : points) {
    if (p.value > max || std::isnan(max)) max = p.value;
  }
  return max;
}
std::optional<double> MinOverTime(std::span<const Point> points, int64_t, int64_t, int64_t) {
  double min = points[0].value;
  for (const Point& p : points) {
    if (p.value < min || std::isnan(min)) min = p.value;
  }
  return min;
}
std::optional<double> CountOverTime(std::span<const Point> points, int64_t, int64_t, int64_t) {
  return static_cast<double>(points.size());
}
std::optional<double> LastOverTime(std::span<const Point> points, int64_t, int64_t, int64_t) {
  return points.back().value;
}

double ClampMin(double value, double bound) { return GoMax(bound, value); }
double ClampMax(double value, double bound) { return GoMin(bound, value); }
double Abs(double value, double) { return std::fabs(value); }

constexpr ValueType kScalar = ValueType::kScalar;
constexpr ValueType kVector = ValueType::kVector;
constexpr ValueType kMatrix = ValueType::kMatrix;

FunctionDef Range(std::string_view name,
                  std::optional<double> (*range)(std::span<const Point>, int64_t, int64_t, int64_t),
                  bool keeps_metric_name = false) {
  return FunctionDef{name, {kMatrix}, kVector, range, keeps_metric_name};
}

FunctionDef Elementwise(std::string_view name, std::vector<ValueType> args,
                        double (*elementwise)(double, double)) {
  return FunctionDef{name, std::move(args), kVector, nullptr, false, elementwise};
}

FunctionDef Special(std::string_view name, std::vector<ValueType> args, ValueType result,
                    SpecialFunction special) {
  return FunctionDef{name, std::move(args), result, nullptr, false, nullptr, special};
}

}  // namespace

const std::vector<FunctionDef>& PromqlFunctions() {
  static const std::vector<FunctionDef> functions = {
      Range("rate", &Rate),
      Range("irate", &Irate),
      Range("increase", &Increase),
      Range("delta", &Delta),
      Range("avg_over_time", &AvgOverTimeOf),
      Range("max_over_time", &MaxOverTime),
      Range("min_over_time", &MinOverTime),
      Range("sum_over_time", &SumOverTime),
      Range("count_over_time", &CountOverTime),
      Range("last_over_time", &LastOverTime, /*keeps_metric_name=*/true),
      Special("histogram_quantile", {kScalar, kVector}, kVector,
              SpecialFunction::kHistogramQuantile),
      Special("absent", {kVector}, kVector, SpecialFunction::kAbsent),
      Special("time", {}, kScalar, SpecialFunction::kTime),
      Special("vector", {kScalar}, kVector, SpecialFunction::kVector),
      Special("scalar", {kVector}, kScalar, SpecialFunction::kScalar),
      Elementwise("clamp_min", {kVector, kScalar}, &ClampMin),
      Elementwise("clamp_max", {kVector, kScalar}, &ClampMax),
      Elementwise("abs", {kVector}, &Abs),
  };
  return functions;
}

const FunctionDef* FindFunction(std::string_view name) {
  for (const FunctionDef& function : PromqlFunctions()) {
    if (function.name == name) return &function;
  }
  return nullptr;
}

bool IsUnsupportedPrometheusFunction(std::string_view name) {
  static const std::vector<std::string_view> kOthers = {"absent_over_time",
                                                        "acos",
                                                        "acosh",
                                                        "asin",
                                                        "asinh",
                                                        "atan",
                                                        "atanh",
                                                        "ceil",
                                                        "changes",
                                                        "clamp",
                                                        "cos",
                                                        "cosh",
                                                        "day_of_month",
                                                        "day_of_week",
                                                        "day_of_year",
                                                        "days_in_month",
                                                        "deg",
                                                        "deriv",
                                                        "exp",
                                                        "floor",
                                                        "histogram_count",
                                                        "histogram_fraction",
                                                        "histogram_sum",
                                                        "holt_winters",
                                                        "hour",
                                                        "idelta",
                                                        "label_join",
                                                        "label_replace",
                                                        "ln",
                                                        "log10",
                                                        "log2",
                                                        "minute",
                                                        "month",
                                                        "pi",
                                                        "predict_linear",
                                                        "present_over_time",
                                                        "quantile_over_time",
                                                        "rad",
                                                        "resets",
                                                        "round",
                                                        "sgn",
                                                        "sin",
                                                        "sinh",
                                                        "sort",
                                                        "sort_desc",
                                                        "sqrt",
                                                        "stddev_over_time",
                                                        "stdvar_over_time",
                                                        "tan",
                                                        "tanh",
                                                        "timestamp",
                                                        "year"};
  return std::find(kOthers.begin(), kOthers.end(), name) != kOthers.end();
}

}  // namespace txmon
