#include "agent/promql/promql_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "agent/base/bucket_quantile.h"
#include "agent/promql/float_format.h"

namespace txmon {

namespace {

// Runtime errors are thrown inside this file only and become a Status at
// the engine's entry points, as Prometheus's evaluator panics and recovers:
// every evaluation step stays a plain function of its inputs.
struct EvalError {
  std::string message;
};

using Value = std::variant<double, Vector, Matrix, std::string>;

// Go's math.Max/math.Min: NaN wins (std::fmax would ignore it).
double GoMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::max(a, b);
}
double GoMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::min(a, b);
}

void CheckUniqueLabelsets(const Vector& vector) {
  if (vector.size() < 2) return;
  std::unordered_set<std::string> seen;
  seen.reserve(vector.size());
  for (const Sample& sample : vector) {
    if (!seen.insert(sample.metric.Key()).second) {
      throw EvalError{"vector cannot contain metrics with the same labelset"};
    }
  }
}

bool SelectsOneName(const VectorSelector& selector) {
  return std::any_of(selector.matchers.begin(), selector.matchers.end(), [](const LabelMatcher& m) {
    return m.name() == kMetricNameLabel && m.type() == LabelMatcher::Type::kEqual;
  });
}

// The points without staleness markers; `storage` keeps the copy alive.
std::span<const Point> WithoutStale(std::span<const Point> points, std::vector<Point>* storage) {
  bool any_stale =
      std::any_of(points.begin(), points.end(), [](const Point& p) { return IsStaleNaN(p.value); });
  if (!any_stale) return points;
  storage->clear();
  for (const Point& p : points) {
    if (!IsStaleNaN(p.value)) storage->push_back(p);
  }
  return *storage;
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

std::optional<double> RangeFunction(Function function, std::span<const Point> points,
                                    int64_t range_start, int64_t range_end, int64_t range_ms) {
  switch (function) {
    case Function::kRate:
      return ExtrapolatedRate(points, range_start, range_end, range_ms, true, true);
    case Function::kIncrease:
      return ExtrapolatedRate(points, range_start, range_end, range_ms, true, false);
    case Function::kDelta:
      return ExtrapolatedRate(points, range_start, range_end, range_ms, false, false);
    case Function::kIrate:
      return InstantRate(points);
    case Function::kAvgOverTime:
      return AvgOverTime(points);
    case Function::kSumOverTime: {
      double sum = 0;
      for (const Point& p : points) sum += p.value;
      return sum;
    }
    case Function::kMaxOverTime: {
      double max = points[0].value;
      for (const Point& p : points) {
        if (p.value > max || std::isnan(max)) max = p.value;
      }
      return max;
    }
    case Function::kMinOverTime: {
      double min = points[0].value;
      for (const Point& p : points) {
        if (p.value < min || std::isnan(min)) min = p.value;
      }
      return min;
    }
    case Function::kCountOverTime:
      return static_cast<double>(points.size());
    case Function::kLastOverTime:
      return points.back().value;
    default:
      return std::nullopt;
  }
}

// ------------------------------------------------------------ histogram_quantile

// BucketQuantile: agent/base/bucket_quantile.h.

// ------------------------------------------------------------ binary helpers

// Go's float semantics for PromQL's operators; comparisons return
// (lhs, keep).
std::pair<double, bool> ElementBinop(BinaryOp op, double lhs, double rhs) {
  switch (op) {
    case BinaryOp::kAdd:
      return {lhs + rhs, true};
    case BinaryOp::kSub:
      return {lhs - rhs, true};
    case BinaryOp::kMul:
      return {lhs * rhs, true};
    case BinaryOp::kDiv:
      return {lhs / rhs, true};
    case BinaryOp::kMod:
      return {std::fmod(lhs, rhs), true};
    case BinaryOp::kPow:
      return {std::pow(lhs, rhs), true};
    case BinaryOp::kEql:
      return {lhs, lhs == rhs};
    case BinaryOp::kNeq:
      return {lhs, lhs != rhs};
    case BinaryOp::kGtr:
      return {lhs, lhs > rhs};
    case BinaryOp::kLss:
      return {lhs, lhs < rhs};
    case BinaryOp::kGte:
      return {lhs, lhs >= rhs};
    case BinaryOp::kLte:
      return {lhs, lhs <= rhs};
    default:
      throw EvalError{"operator not allowed here"};
  }
}

double ScalarBinop(BinaryOp op, double lhs, double rhs) {
  auto [value, keep] = ElementBinop(op, lhs, rhs);
  if (IsComparison(op)) return keep ? 1 : 0;
  return value;
}

bool DropsMetricName(BinaryOp op) { return !IsComparison(op) && !IsSetOperator(op); }

// The matching signature of `labels`: the on(...) labels, or all but the
// ignoring(...) labels and the metric name.
std::string Signature(const Labels& labels, const VectorMatching& matching) {
  std::string key;
  const auto& names = matching.matching_labels;
  for (const Label& label : labels) {
    bool listed = std::find(names.begin(), names.end(), label.name) != names.end();
    bool include = matching.on ? listed : (!listed && label.name != kMetricNameLabel);
    if (!include) continue;
    key += label.name;
    key += '\xff';
    key += label.value;
    key += '\xff';
  }
  return key;
}

Labels ResultMetric(const Labels& lhs, const Labels& rhs, BinaryOp op,
                    const VectorMatching& matching) {
  LabelsBuilder builder(lhs);
  if (DropsMetricName(op)) builder.Del(kMetricNameLabel);
  if (matching.cardinality == VectorMatching::Cardinality::kOneToOne) {
    if (matching.on) {
      builder.Keep(matching.matching_labels);
    } else {
      for (const std::string& name : matching.matching_labels) builder.Del(name);
    }
  }
  for (const std::string& name : matching.include) builder.Set(name, rhs.Get(name));
  return builder.Build();
}

// ------------------------------------------------------------ evaluator

class Evaluator {
 public:
  Evaluator(const SeriesStorage& storage, int64_t time_ms, const EngineOptions& options)
      : storage_(storage), time_ms_(time_ms), options_(options) {}

  Value Eval(const Expr& expr) {
    return std::visit([&](const auto& node) { return EvalNode(node); }, expr.node);
  }

 private:
  double EvalScalar(const Expr& expr) { return std::get<double>(Eval(expr)); }
  Vector EvalVector(const Expr& expr) { return std::get<Vector>(Eval(expr)); }

  Value EvalNode(const NumberLiteral& n) { return n.value; }
  Value EvalNode(const StringLiteral& s) { return s.value; }
  Value EvalNode(const Paren& p) { return Eval(*p.expr); }

  Value EvalNode(const VectorSelector& selector) {
    Vector out;
    int64_t ref = time_ms_ - selector.offset_ms;
    storage_.Select(selector.matchers, ref - options_.lookback_ms, ref,
                    [&](const Labels& labels, std::span<const Point> points) {
                      double value = points.back().value;
                      if (!IsStaleNaN(value)) out.push_back(Sample{labels, value});
                    });
    return out;
  }

  Value EvalNode(const MatrixSelector& matrix) {
    Matrix out;
    int64_t ref = time_ms_ - matrix.selector.offset_ms;
    std::vector<Point> scratch;
    storage_.Select(matrix.selector.matchers, ref - matrix.range_ms, ref,
                    [&](const Labels& labels, std::span<const Point> points) {
                      std::span<const Point> live = WithoutStale(points, &scratch);
                      if (live.empty()) return;
                      out.push_back(SeriesPoints{labels, {live.begin(), live.end()}});
                    });
    return out;
  }

  Value EvalNode(const Unary& unary) {
    Value value = Eval(*unary.expr);
    if (double* scalar = std::get_if<double>(&value)) return -*scalar;
    Vector vector = std::get<Vector>(std::move(value));
    for (Sample& sample : vector) {
      sample.metric = sample.metric.WithoutMetricName();
      sample.value = -sample.value;
    }
    CheckUniqueLabelsets(vector);
    return vector;
  }

  Value EvalNode(const Call& call);
  Value EvalRangeFunction(const Call& call);
  Value EvalHistogramQuantile(const Call& call);
  Value EvalAbsent(const Call& call);
  Value EvalNode(const Aggregate& aggregate);
  Value EvalTopk(const Aggregate& aggregate, const Vector& input);
  Value EvalNode(const Binary& binary);
  Vector VectorScalarBinop(const Binary& binary, Vector vector, double scalar, bool swap);
  Vector VectorBinop(const Binary& binary, const Vector& lhs, const Vector& rhs);
  Vector SetBinop(const Binary& binary, const Vector& lhs, const Vector& rhs);

  const SeriesStorage& storage_;
  const int64_t time_ms_;
  const EngineOptions& options_;
};

Value Evaluator::EvalNode(const Call& call) {
  switch (call.function) {
    case Function::kHistogramQuantile:
      return EvalHistogramQuantile(call);
    case Function::kAbsent:
      return EvalAbsent(call);
    case Function::kTime:
      return static_cast<double>(time_ms_) / 1000;
    case Function::kVector:
      return Vector{Sample{Labels(), EvalScalar(*call.args[0])}};
    case Function::kScalar: {
      Vector vector = EvalVector(*call.args[0]);
      return vector.size() == 1 ? vector[0].value : NAN;
    }
    case Function::kClampMin:
    case Function::kClampMax:
    case Function::kAbs: {
      Vector vector = EvalVector(*call.args[0]);
      double bound = call.args.size() > 1 ? EvalScalar(*call.args[1]) : 0;
      for (Sample& sample : vector) {
        sample.metric = sample.metric.WithoutMetricName();
        if (call.function == Function::kClampMin) sample.value = GoMax(bound, sample.value);
        if (call.function == Function::kClampMax) sample.value = GoMin(bound, sample.value);
        if (call.function == Function::kAbs) sample.value = std::fabs(sample.value);
      }
      CheckUniqueLabelsets(vector);
      return vector;
    }
    default:
      return EvalRangeFunction(call);
  }
}

// Streams each selected series through the function: no copy of the
// window unless it holds staleness markers.
Value Evaluator::EvalRangeFunction(const Call& call) {
  const auto& matrix = std::get<MatrixSelector>(call.args[0]->node);
  int64_t range_end = time_ms_ - matrix.selector.offset_ms;
  int64_t range_start = range_end - matrix.range_ms;
  bool keeps_name = call.function == Function::kLastOverTime;
  Vector out;
  std::vector<Point> scratch;
  storage_.Select(matrix.selector.matchers, range_start, range_end,
                  [&](const Labels& labels, std::span<const Point> points) {
                    std::span<const Point> live = WithoutStale(points, &scratch);
                    if (live.empty()) return;
                    std::optional<double> value =
                        RangeFunction(call.function, live, range_start, range_end, matrix.range_ms);
                    if (!value) return;
                    out.push_back(Sample{keeps_name ? labels : labels.WithoutMetricName(), *value});
                  });
  // Series of one metric name stay distinct without it: check only when the
  // selector can match several names.
  if (!SelectsOneName(matrix.selector)) CheckUniqueLabelsets(out);
  return out;
}

Value Evaluator::EvalHistogramQuantile(const Call& call) {
  double q = EvalScalar(*call.args[0]);
  Vector input = EvalVector(*call.args[1]);
  struct Group {
    Labels metric;
    std::vector<HistogramBucket> buckets;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  for (const Sample& sample : input) {
    std::optional<double> upper_bound = ParseFloat(sample.metric.Get("le"));
    if (!upper_bound) continue;  // not a bucket: Prometheus skips it
    Labels metric = LabelsBuilder(sample.metric).Del("le").Del(kMetricNameLabel).Build();
    auto [it, inserted] = index.try_emplace(metric.Key(), groups.size());
    if (inserted) groups.push_back(Group{std::move(metric), {}});
    groups[it->second].buckets.push_back(HistogramBucket{*upper_bound, sample.value});
  }
  Vector out;
  for (Group& group : groups) {
    out.push_back(Sample{std::move(group.metric), BucketQuantile(q, std::move(group.buckets))});
  }
  return out;
}

// absent(): the labels of the selector's equality matchers (a label matched
// twice is left out), as Prometheus's createLabelsForAbsentFunction.
Value Evaluator::EvalAbsent(const Call& call) {
  if (!EvalVector(*call.args[0]).empty()) return Vector{};
  LabelsBuilder builder{Labels()};
  if (const auto* selector = std::get_if<VectorSelector>(&call.args[0]->node)) {
    std::vector<std::string> ambiguous;
    std::vector<std::string> set;
    for (const LabelMatcher& matcher : selector->matchers) {
      if (matcher.name() == kMetricNameLabel) continue;
      bool already = std::find(set.begin(), set.end(), matcher.name()) != set.end();
      if (matcher.type() == LabelMatcher::Type::kEqual && !already) {
        builder.Set(matcher.name(), matcher.value());
        set.push_back(matcher.name());
      } else {
        ambiguous.push_back(matcher.name());
      }
    }
    for (const std::string& name : ambiguous) builder.Del(name);
  }
  return Vector{Sample{builder.Build(), 1}};
}

// The labels of the group a sample falls into under `by` or `without`.
Labels GroupLabels(const Aggregate& aggregate, const Labels& metric) {
  LabelsBuilder builder(metric);
  if (aggregate.without) {
    for (const std::string& name : aggregate.grouping) builder.Del(name);
    builder.Del(kMetricNameLabel);
  } else {
    builder.Keep(aggregate.grouping);
  }
  return builder.Build();
}

Value Evaluator::EvalNode(const Aggregate& aggregate) {
  Vector input = EvalVector(*aggregate.expr);
  if (aggregate.op == AggregateOp::kTopk || aggregate.op == AggregateOp::kBottomk) {
    return EvalTopk(aggregate, input);
  }
  struct Group {
    Labels metric;
    double value = 0;
    double mean = 0;
    double count = 0;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  for (const Sample& sample : input) {
    Labels metric = GroupLabels(aggregate, sample.metric);
    auto [it, inserted] = index.try_emplace(metric.Key(), groups.size());
    if (inserted) {
      groups.push_back(Group{std::move(metric), sample.value, sample.value, 1});
      continue;
    }
    Group& group = groups[it->second];
    double v = sample.value;
    switch (aggregate.op) {
      case AggregateOp::kSum:
        group.value += v;
        break;
      case AggregateOp::kAvg:
        group.count++;
        if (std::isinf(group.mean)) {
          if (std::isinf(v) && (group.mean > 0) == (v > 0)) break;
          if (!std::isinf(v) && !std::isnan(v)) break;
        }
        group.mean += v / group.count - group.mean / group.count;
        break;
      case AggregateOp::kMax:
        if (group.value < v || std::isnan(group.value)) group.value = v;
        break;
      case AggregateOp::kMin:
        if (group.value > v || std::isnan(group.value)) group.value = v;
        break;
      case AggregateOp::kCount:
        group.count++;
        break;
      default:
        break;
    }
  }
  Vector out;
  out.reserve(groups.size());
  for (Group& group : groups) {
    double value = aggregate.op == AggregateOp::kAvg     ? group.mean
                   : aggregate.op == AggregateOp::kCount ? group.count
                                                         : group.value;
    out.push_back(Sample{std::move(group.metric), value});
  }
  return out;
}

// topk/bottomk keep whole samples (with their names), best first.
Value Evaluator::EvalTopk(const Aggregate& aggregate, const Vector& input) {
  double k_value = EvalScalar(*aggregate.param);
  if (std::isnan(k_value) || k_value >= 9.2e18 || k_value <= -9.2e18) {
    throw EvalError{"Scalar value " + FormatFloatShortest(k_value) + " overflows int64"};
  }
  int64_t k = static_cast<int64_t>(k_value);
  if (k < 1) return Vector{};
  bool top = aggregate.op == AggregateOp::kTopk;
  // "a ranks before b": NaN ranks last either way, as in Prometheus.
  auto before = [top](const Sample& a, const Sample& b) {
    if (std::isnan(a.value)) return false;
    if (std::isnan(b.value)) return true;
    return top ? a.value > b.value : a.value < b.value;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<Vector> groups;
  for (const Sample& sample : input) {
    auto [it, inserted] =
        index.try_emplace(GroupLabels(aggregate, sample.metric).Key(), groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(sample);
  }
  Vector out;
  for (Vector& group : groups) {
    std::stable_sort(group.begin(), group.end(), before);
    if (static_cast<int64_t>(group.size()) > k) group.resize(static_cast<size_t>(k));
    for (Sample& sample : group) out.push_back(std::move(sample));
  }
  return out;
}

Value Evaluator::EvalNode(const Binary& binary) {
  Value lhs = Eval(*binary.lhs);
  Value rhs = Eval(*binary.rhs);
  double* lhs_scalar = std::get_if<double>(&lhs);
  double* rhs_scalar = std::get_if<double>(&rhs);
  if (lhs_scalar && rhs_scalar) return ScalarBinop(binary.op, *lhs_scalar, *rhs_scalar);
  Vector out;
  if (rhs_scalar) {
    out = VectorScalarBinop(binary, std::get<Vector>(std::move(lhs)), *rhs_scalar, false);
  } else if (lhs_scalar) {
    out = VectorScalarBinop(binary, std::get<Vector>(std::move(rhs)), *lhs_scalar, true);
  } else if (IsSetOperator(binary.op)) {
    out = SetBinop(binary, std::get<Vector>(lhs), std::get<Vector>(rhs));
  } else {
    out = VectorBinop(binary, std::get<Vector>(lhs), std::get<Vector>(rhs));
  }
  CheckUniqueLabelsets(out);
  return out;
}

Vector Evaluator::VectorScalarBinop(const Binary& binary, Vector vector, double scalar, bool swap) {
  Vector out;
  out.reserve(vector.size());
  for (Sample& sample : vector) {
    double lv = sample.value, rv = scalar;
    if (swap) std::swap(lv, rv);
    auto [value, keep] = ElementBinop(binary.op, lv, rv);
    // A comparison keeps the vector's value even when the scalar is on the left.
    if (IsComparison(binary.op) && swap) value = rv;
    if (binary.return_bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    sample.value = value;
    if (DropsMetricName(binary.op) || binary.return_bool) {
      sample.metric = sample.metric.WithoutMetricName();
    }
    out.push_back(std::move(sample));
  }
  return out;
}

Vector Evaluator::VectorBinop(const Binary& binary, const Vector& lhs_in, const Vector& rhs_in) {
  const VectorMatching& matching = binary.matching;
  bool one_to_many = matching.cardinality == VectorMatching::Cardinality::kOneToMany;
  // One-to-many is many-to-one with the sides swapped.
  const Vector& lhs = one_to_many ? rhs_in : lhs_in;
  const Vector& rhs = one_to_many ? lhs_in : rhs_in;

  std::unordered_map<std::string, const Sample*> right;
  for (const Sample& sample : rhs) {
    auto [it, inserted] = right.try_emplace(Signature(sample.metric, matching), &sample);
    if (!inserted) {
      throw EvalError{"found duplicate series for the match group on the " +
                      std::string(one_to_many ? "left" : "right") +
                      " hand-side of the operation: [" + sample.metric.ToString() + ", " +
                      it->second->metric.ToString() +
                      "];many-to-many matching not allowed: matching labels must be unique on "
                      "one side"};
    }
  }
  std::unordered_map<std::string, std::unordered_set<std::string>> matched;
  Vector out;
  for (const Sample& left : lhs) {
    std::string signature = Signature(left.metric, matching);
    auto found = right.find(signature);
    if (found == right.end()) continue;
    const Sample& match = *found->second;
    double vl = left.value, vr = match.value;
    if (one_to_many) std::swap(vl, vr);
    auto [value, keep] = ElementBinop(binary.op, vl, vr);
    if (binary.return_bool) {
      value = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    Labels metric = ResultMetric(left.metric, match.metric, binary.op, matching);
    if (binary.return_bool) metric = metric.WithoutMetricName();
    auto [seen, first] = matched.try_emplace(signature);
    if (matching.cardinality == VectorMatching::Cardinality::kOneToOne) {
      if (!first) {
        throw EvalError{
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)"};
      }
    } else if (!seen->second.insert(metric.Key()).second) {
      throw EvalError{"multiple matches for labels: grouping labels must ensure unique matches"};
    }
    out.push_back(Sample{std::move(metric), value});
  }
  return out;
}

Vector Evaluator::SetBinop(const Binary& binary, const Vector& lhs, const Vector& rhs) {
  const VectorMatching& matching = binary.matching;
  Vector out;
  switch (binary.op) {
    case BinaryOp::kAnd: {
      if (lhs.empty() || rhs.empty()) return out;
      std::unordered_set<std::string> right;
      for (const Sample& s : rhs) right.insert(Signature(s.metric, matching));
      for (const Sample& s : lhs) {
        if (right.count(Signature(s.metric, matching))) out.push_back(s);
      }
      return out;
    }
    case BinaryOp::kOr: {
      std::unordered_set<std::string> left;
      for (const Sample& s : lhs) {
        left.insert(Signature(s.metric, matching));
        out.push_back(s);
      }
      for (const Sample& s : rhs) {
        if (!left.count(Signature(s.metric, matching))) out.push_back(s);
      }
      return out;
    }
    default: {  // unless
      std::unordered_set<std::string> right;
      for (const Sample& s : rhs) right.insert(Signature(s.metric, matching));
      for (const Sample& s : lhs) {
        if (!right.count(Signature(s.metric, matching))) out.push_back(s);
      }
      return out;
    }
  }
}

}  // namespace

Status PromqlEngine::Eval(const Expr& expr, int64_t time_ms, const SeriesStorage& storage,
                          QueryResult* out) const {
  try {
    Evaluator evaluator(storage, time_ms, options_);
    Value value = evaluator.Eval(expr);
    *out = QueryResult();
    if (double* scalar = std::get_if<double>(&value)) {
      out->type = ValueType::kScalar;
      out->scalar = *scalar;
    } else if (Vector* vector = std::get_if<Vector>(&value)) {
      out->type = ValueType::kVector;
      out->vector = std::move(*vector);
    } else if (Matrix* matrix = std::get_if<Matrix>(&value)) {
      out->type = ValueType::kMatrix;
      out->matrix = std::move(*matrix);
    } else {
      out->type = ValueType::kString;
      out->string = std::get<std::string>(std::move(value));
    }
    return Status::Ok();
  } catch (const EvalError& error) {
    return Status::Error(error.message);
  }
}

Status PromqlEngine::EvalVector(const Expr& expr, int64_t time_ms, const SeriesStorage& storage,
                                Vector* out) const {
  QueryResult result;
  if (Status s = Eval(expr, time_ms, storage, &result); !s.ok()) return s;
  switch (result.type) {
    case ValueType::kVector:
      *out = std::move(result.vector);
      return Status::Ok();
    case ValueType::kScalar:
      *out = Vector{Sample{Labels(), result.scalar}};
      return Status::Ok();
    default:
      return Status::Error("rule result is a " + std::string(ValueTypeName(result.type)) +
                           ", not a vector or scalar");
  }
}

}  // namespace txmon
