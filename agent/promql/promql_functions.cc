#include "agent/promql/promql_functions.h"

#include <algorithm>
#include <cmath>

#include "agent/promql/promql_ast.h"

namespace txmon {

std::optional<double> Extrapolate(double result, std::span<const Point> points, int64_t range_start,
                                  int64_t range_end, int64_t range_ms, bool is_counter,
                                  bool is_rate) {
  if (points.size() < 2) return std::nullopt;
  const Point& first = points.front();
  const Point& last = points.back();
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

// The difference extrapolatedRate starts from: last - first, plus each
// value before a counter reset (in window order, as Prometheus adds them).
double RawDelta(std::span<const Point> points, bool is_counter) {
  double result = points.back().value - points.front().value;
  if (is_counter) {
    double previous = 0;
    for (const Point& p : points) {
      if (p.value < previous) result += previous;  // a reset: the counter restarted
      previous = p.value;
    }
  }
  return result;
}

// Prometheus's extrapolatedRate (promql/functions.go, 2.x).
std::optional<double> ExtrapolatedRate(std::span<const Point> points, int64_t range_start,
                                       int64_t range_end, int64_t range_ms, bool is_counter,
                                       bool is_rate) {
  if (points.size() < 2) return std::nullopt;
  return Extrapolate(RawDelta(points, is_counter), points, range_start, range_end, range_ms,
                     is_counter, is_rate);
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

// Go's kahanSumInc (Neumaier's variant), as Prometheus sums regressions.
void KahanAdd(double inc, double* sum, double* c) {
  double t = *sum + inc;
  if (std::isinf(t)) {
    *c = 0;
  } else if (std::fabs(*sum) >= std::fabs(inc)) {
    *c += (*sum - t) + inc;
  } else {
    *c += (inc - t) + *sum;
  }
  *sum = t;
}

// Prometheus 2.42's avg_over_time: an incremental mean summed with Kahan
// compensation (a real Prometheus gives these bits; the plain incremental
// mean differs in the last place).
double AvgOverTime(std::span<const Point> points) {
  double mean = 0, count = 0, c = 0;
  for (const Point& p : points) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(p.value) && (mean > 0) == (p.value > 0)) continue;
      if (!std::isinf(p.value) && !std::isnan(p.value)) continue;
    }
    KahanAdd(p.value / count - mean / count, &mean, &c);
  }
  return std::isinf(mean) ? mean : mean + c;
}

struct Regression {
  double slope, intercept;
};

// Prometheus' linearRegression: least squares with x in seconds from
// `intercept_ms`; a constant series has slope 0 (NaN if infinite).
Regression LinearRegression(std::span<const Point> points, int64_t intercept_ms) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
  const double init_y = points[0].value;
  bool const_y = true;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    if (const_y && i > 0 && p.value != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(p.timestamp_ms - intercept_ms) / 1e3;
    KahanAdd(x, &sum_x, &c_x);
    KahanAdd(p.value, &sum_y, &c_y);
    KahanAdd(x * p.value, &sum_xy, &c_xy);
    KahanAdd(x * x, &sum_x2, &c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {NAN, NAN};
    return {0, init_y};
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  double slope = cov_xy / var_x;
  return {slope, sum_y / n - slope * sum_x / n};
}

// Prometheus' quantile(): linear interpolation between the closest ranks.
double Quantile(double q, std::vector<double> values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    return std::isnan(a) ? !std::isnan(b) : a < b;  // NaN first, as Go's sort of the heap
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

// -------------------------------------------------------------- the table

std::optional<double> Deriv(std::span<const Point> points, int64_t, int64_t, int64_t, double) {
  if (points.size() < 2) return std::nullopt;
  return LinearRegression(points, points[0].timestamp_ms).slope;
}
std::optional<double> PredictLinear(std::span<const Point> points, int64_t, int64_t end, int64_t,
                                    double horizon_seconds) {
  if (points.size() < 2) return std::nullopt;
  // The intercept at the evaluation time (the range's end).
  Regression r = LinearRegression(points, end);
  return r.slope * horizon_seconds + r.intercept;
}
// Welford's running variance with Kahan-compensated sums, as Prometheus
// 2.42's stdvar_over_time / stddev_over_time.
double VarianceOverTime(std::span<const Point> points) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const Point& p : points) {
    count++;
    const double delta = p.value - (mean + c_mean);
    KahanAdd(delta / count, &mean, &c_mean);
    KahanAdd(delta * (p.value - (mean + c_mean)), &aux, &c_aux);
  }
  return (aux + c_aux) / count;
}
std::optional<double> StddevOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                     double) {
  return std::sqrt(VarianceOverTime(points));
}
std::optional<double> StdvarOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                     double) {
  return VarianceOverTime(points);
}
std::optional<double> QuantileOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                       double q) {
  std::vector<double> values;
  values.reserve(points.size());
  for (const Point& p : points) values.push_back(p.value);
  return Quantile(q, std::move(values));
}
std::optional<double> Changes(std::span<const Point> points, int64_t, int64_t, int64_t, double) {
  double changes = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    double previous = points[i - 1].value, current = points[i].value;
    if (current != previous && !(std::isnan(current) && std::isnan(previous))) changes++;
  }
  return changes;
}
std::optional<double> Resets(std::span<const Point> points, int64_t, int64_t, int64_t, double) {
  double resets = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    if (points[i].value < points[i - 1].value) resets++;
  }
  return resets;
}

std::optional<double> Rate(std::span<const Point> points, int64_t start, int64_t end, int64_t range,
                           double) {
  return ExtrapolatedRate(points, start, end, range, true, true);
}
std::optional<double> Increase(std::span<const Point> points, int64_t start, int64_t end,
                               int64_t range, double) {
  return ExtrapolatedRate(points, start, end, range, true, false);
}
std::optional<double> Delta(std::span<const Point> points, int64_t start, int64_t end,
                            int64_t range, double) {
  return ExtrapolatedRate(points, start, end, range, false, false);
}
std::optional<double> Irate(std::span<const Point> points, int64_t, int64_t, int64_t, double) {
  return InstantRate(points);
}
std::optional<double> AvgOverTimeOf(std::span<const Point> points, int64_t, int64_t, int64_t,
                                    double) {
  return AvgOverTime(points);
}
std::optional<double> SumOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                  double) {
  double sum = 0, c = 0;  // Kahan-compensated, as Prometheus 2.42
  for (const Point& p : points) KahanAdd(p.value, &sum, &c);
  return std::isinf(sum) ? sum : sum + c;
}
std::optional<double> MaxOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                  double) {
  double max = points[0].value;
  for (const Point& p : points) {
    if (p.value > max || std::isnan(max)) max = p.value;
  }
  return max;
}
std::optional<double> MinOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                  double) {
  double min = points[0].value;
  for (const Point& p : points) {
    if (p.value < min || std::isnan(min)) min = p.value;
  }
  return min;
}
std::optional<double> CountOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                    double) {
  return static_cast<double>(points.size());
}
std::optional<double> LastOverTime(std::span<const Point> points, int64_t, int64_t, int64_t,
                                   double) {
  return points.back().value;
}

// Go's math.Floor(x*inverse+0.5)/inverse, as Prometheus' funcRound: halves
// round up, and the inverse keeps 0.1-style steps exact.
double Round(double value, double to_nearest) {
  double inverse = 1.0 / to_nearest;
  return std::floor(value * inverse + 0.5) / inverse;
}
double Sgn(double value, double) {
  if (value > 0) return 1;
  if (value < 0) return -1;
  return value;  // 0 and NaN stay
}

double ClampMin(double value, double bound) { return GoMax(bound, value); }
double ClampMax(double value, double bound) { return GoMin(bound, value); }
double Abs(double value, double) { return std::fabs(value); }

constexpr ValueType kScalar = ValueType::kScalar;
constexpr ValueType kVector = ValueType::kVector;
constexpr ValueType kMatrix = ValueType::kMatrix;
constexpr ValueType kString = ValueType::kString;

using RangeFn = std::optional<double> (*)(std::span<const Point>, int64_t, int64_t, int64_t,
                                          double);

FunctionDef Range(std::string_view name, RangeFn range, RangeKernel kernel = RangeKernel::kGeneric,
                  bool keeps_metric_name = false) {
  FunctionDef def{name, {kMatrix}, kVector, range, keeps_metric_name};
  def.kernel = kernel;
  return def;
}

FunctionDef RangeWith(std::string_view name, std::vector<ValueType> args, RangeFn range) {
  return FunctionDef{name, std::move(args), kVector, range};
}

FunctionDef Elementwise(std::string_view name, std::vector<ValueType> args,
                        double (*elementwise)(double, double)) {
  return FunctionDef{name, std::move(args), kVector, nullptr, false, elementwise};
}

FunctionDef Special(std::string_view name, std::vector<ValueType> args, ValueType result,
                    SpecialFunction special, int variadic = 0) {
  return FunctionDef{name, std::move(args), result, nullptr, false, nullptr, special, variadic};
}

}  // namespace

const std::vector<FunctionDef>& PromqlFunctions() {
  static const std::vector<FunctionDef> functions = {
      Range("rate", &Rate, RangeKernel::kRate),
      Range("irate", &Irate),
      Range("increase", &Increase, RangeKernel::kIncrease),
      Range("delta", &Delta, RangeKernel::kDelta),
      Range("avg_over_time", &AvgOverTimeOf),
      Range("max_over_time", &MaxOverTime, RangeKernel::kMaxOverTime),
      Range("min_over_time", &MinOverTime, RangeKernel::kMinOverTime),
      Range("sum_over_time", &SumOverTime, RangeKernel::kSumOverTime),
      Range("count_over_time", &CountOverTime),
      Range("last_over_time", &LastOverTime, RangeKernel::kGeneric, /*keeps_metric_name=*/true),
      Range("stddev_over_time", &StddevOverTime),
      Range("stdvar_over_time", &StdvarOverTime),
      RangeWith("quantile_over_time", {kScalar, kMatrix}, &QuantileOverTime),
      Range("deriv", &Deriv),
      RangeWith("predict_linear", {kMatrix, kScalar}, &PredictLinear),
      Range("changes", &Changes, RangeKernel::kChanges),
      Range("resets", &Resets, RangeKernel::kResets),
      Special("histogram_quantile", {kScalar, kVector}, kVector,
              SpecialFunction::kHistogramQuantile),
      Special("absent", {kVector}, kVector, SpecialFunction::kAbsent),
      Special("time", {}, kScalar, SpecialFunction::kTime),
      Special("vector", {kScalar}, kVector, SpecialFunction::kVector),
      Special("scalar", {kVector}, kScalar, SpecialFunction::kScalar),
      Special("timestamp", {kVector}, kVector, SpecialFunction::kTimestamp),
      Special("sort", {kVector}, kVector, SpecialFunction::kSort),
      Special("sort_desc", {kVector}, kVector, SpecialFunction::kSortDesc),
      Special("label_replace", {kVector, kString, kString, kString, kString}, kVector,
              SpecialFunction::kLabelReplace),
      Special("label_join", {kVector, kString, kString, kString}, kVector,
              SpecialFunction::kLabelJoin, /*variadic=*/-1),
      Elementwise("clamp_min", {kVector, kScalar}, &ClampMin),
      Elementwise("clamp_max", {kVector, kScalar}, &ClampMax),
      Elementwise("abs", {kVector}, &Abs),
      FunctionDef{"round",
                  {kVector, kScalar},
                  kVector,
                  nullptr,
                  false,
                  &Round,
                  SpecialFunction::kNone,
                  /*variadic=*/1,
                  /*default_argument=*/1},
      Elementwise("sgn", {kVector}, &Sgn),
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
                                                        "clamp",
                                                        "cos",
                                                        "cosh",
                                                        "day_of_month",
                                                        "day_of_week",
                                                        "day_of_year",
                                                        "days_in_month",
                                                        "deg",
                                                        "exp",
                                                        "floor",
                                                        "histogram_count",
                                                        "histogram_fraction",
                                                        "histogram_sum",
                                                        "holt_winters",
                                                        "hour",
                                                        "idelta",
                                                        "ln",
                                                        "log10",
                                                        "log2",
                                                        "minute",
                                                        "month",
                                                        "pi",
                                                        "present_over_time",
                                                        "rad",
                                                        "sin",
                                                        "sinh",
                                                        "sqrt",
                                                        "tan",
                                                        "tanh",
                                                        "year"};
  return std::find(kOthers.begin(), kOthers.end(), name) != kOthers.end();
}

}  // namespace txmon
