#include "agent/promql/promql_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <re2/re2.h>

#include "agent/base/bucket_quantile.h"
#include "agent/promql/float_format.h"
#include "agent/promql/promql_functions.h"

namespace txmon {

namespace {

// Runtime errors are thrown inside this file only and become a Status at
// the engine's entry points, as Prometheus's evaluator panics and recovers:
// every evaluation step stays a plain function of its inputs.
struct EvalError {
  std::string message;
};

using Value = std::variant<double, Vector, Matrix, std::string>;

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
  Evaluator(const SeriesStorage& storage, int64_t time_ms, const QueryBounds& bounds,
            const EngineOptions& options)
      : storage_(storage), time_ms_(time_ms), bounds_(bounds), options_(options) {}

  Value Eval(const Expr& expr) {
    return std::visit([&](const auto& node) { return EvalNode(node); }, expr.node);
  }

 private:
  double EvalScalar(const Expr& expr) { return std::get<double>(Eval(expr)); }
  Vector EvalVector(const Expr& expr) { return std::get<Vector>(Eval(expr)); }

  Value EvalNode(const NumberLiteral& n) { return n.value; }
  Value EvalNode(const StringLiteral& s) { return s.value; }
  Value EvalNode(const Paren& p) { return Eval(*p.expr); }

  // The time a selector or subquery reads at: its @ time or the evaluation
  // time, less its offset.
  int64_t Reference(const AtModifier& at, int64_t offset_ms) const {
    switch (at.kind) {
      case AtModifier::Kind::kNone:
        return time_ms_ - offset_ms;
      case AtModifier::Kind::kTimestamp:
        return at.timestamp_ms - offset_ms;
      case AtModifier::Kind::kStart:
        return bounds_.start_ms - offset_ms;
      case AtModifier::Kind::kEnd:
        return bounds_.end_ms - offset_ms;
    }
    return time_ms_ - offset_ms;
  }
  int64_t Reference(const VectorSelector& s) const { return Reference(s.at, s.offset_ms); }

  Value EvalNode(const VectorSelector& selector) {
    Vector out;
    int64_t ref = Reference(selector);
    storage_.Select(selector.matchers, ref - options_.lookback_ms, ref,
                    [&](const Labels& labels, std::span<const Point> points) {
                      double value = points.back().value;
                      if (!IsStaleNaN(value)) out.push_back(Sample{labels, value});
                    });
    return out;
  }

  Value EvalNode(const MatrixSelector& matrix) {
    Matrix out;
    int64_t ref = Reference(matrix.selector);
    std::vector<Point> scratch;
    storage_.Select(matrix.selector.matchers, ref - matrix.range_ms, ref,
                    [&](const Labels& labels, std::span<const Point> points) {
                      std::span<const Point> live = WithoutStale(points, &scratch);
                      if (live.empty()) return;
                      out.push_back(SeriesPoints{labels, {live.begin(), live.end()}});
                    });
    return out;
  }

  Value EvalNode(const Subquery& subquery) { return EvalSubquery(subquery); }

  // The inner expression at each multiple of the step in [ref - range, ref]
  // (ref = time - offset), as Prometheus aligns subquery steps.
  Matrix EvalSubquery(const Subquery& subquery) {
    const int64_t ref = Reference(subquery.at, subquery.offset_ms);
    const int64_t step = subquery.step_ms;
    const int64_t from = ref - subquery.range_ms;
    int64_t t = step * (from / step);
    if (t < from) t += step;
    Matrix out;
    std::unordered_map<std::string, size_t> index;
    for (; t <= ref; t += step) {
      Evaluator inner(storage_, t, bounds_, options_);
      Vector vector = std::get<Vector>(inner.Eval(*subquery.expr));
      for (Sample& sample : vector) {
        auto [it, inserted] = index.try_emplace(sample.metric.Key(), out.size());
        if (inserted) out.push_back(SeriesPoints{std::move(sample.metric), {}});
        out[it->second].points.push_back(Point{t, sample.value});
      }
    }
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
  Value RangeOverSubquery(const Call& call, const Subquery& subquery, double argument);
  Value EvalHistogramQuantile(const Call& call);
  Value EvalAbsent(const Call& call);
  Value EvalTimestamp(const Call& call);
  Value EvalSort(const Call& call, bool descending);
  Value EvalLabelReplace(const Call& call);
  Value EvalLabelJoin(const Call& call);
  std::string EvalString(const Expr& expr) { return std::get<std::string>(Eval(expr)); }
  Value EvalNode(const Aggregate& aggregate);
  Value EvalTopk(const Aggregate& aggregate, const Vector& input);
  Value EvalNode(const Binary& binary);
  Vector VectorScalarBinop(const Binary& binary, Vector vector, double scalar, bool swap);
  Vector VectorBinop(const Binary& binary, const Vector& lhs, const Vector& rhs);
  Vector SetBinop(const Binary& binary, const Vector& lhs, const Vector& rhs);

  const SeriesStorage& storage_;
  const int64_t time_ms_;
  const QueryBounds bounds_;
  const EngineOptions& options_;
};

Value Evaluator::EvalNode(const Call& call) {
  const FunctionDef& function = *call.function;
  if (function.range) return EvalRangeFunction(call);
  if (function.elementwise) {
    Vector vector = EvalVector(*call.args[0]);
    const double argument =
        call.args.size() > 1 ? EvalScalar(*call.args[1]) : function.default_argument;
    for (Sample& sample : vector) {
      sample.metric = sample.metric.WithoutMetricName();
      sample.value = function.elementwise(sample.value, argument);
    }
    CheckUniqueLabelsets(vector);
    return vector;
  }
  switch (function.special) {
    case SpecialFunction::kHistogramQuantile:
      return EvalHistogramQuantile(call);
    case SpecialFunction::kAbsent:
      return EvalAbsent(call);
    case SpecialFunction::kTime:
      return static_cast<double>(time_ms_) / 1000;
    case SpecialFunction::kVector:
      return Vector{Sample{Labels(), EvalScalar(*call.args[0])}};
    case SpecialFunction::kScalar: {
      Vector vector = EvalVector(*call.args[0]);
      return vector.size() == 1 ? vector[0].value : NAN;
    }
    case SpecialFunction::kTimestamp:
      return EvalTimestamp(call);
    case SpecialFunction::kSort:
    case SpecialFunction::kSortDesc:
      return EvalSort(call, function.special == SpecialFunction::kSortDesc);
    case SpecialFunction::kLabelReplace:
      return EvalLabelReplace(call);
    case SpecialFunction::kLabelJoin:
      return EvalLabelJoin(call);
    case SpecialFunction::kNone:
      break;
  }
  throw EvalError{"function \"" + std::string(function.name) + "\" has no implementation"};
}

// Streams each selected series through the function: no copy of the
// window unless it holds staleness markers.
Value Evaluator::EvalRangeFunction(const Call& call) {
  // The matrix is any argument (quantile_over_time's second); the other
  // one, if any, is the scalar the function takes.
  const MatrixSelector* matrix_arg = nullptr;
  const Subquery* subquery_arg = nullptr;
  double argument = 0;
  for (const ExprPtr& arg : call.args) {
    if (const auto* m = std::get_if<MatrixSelector>(&arg->node)) {
      matrix_arg = m;
    } else if (const auto* q = std::get_if<Subquery>(&arg->node)) {
      subquery_arg = q;
    } else {
      argument = EvalScalar(*arg);
    }
  }
  if (subquery_arg != nullptr) return RangeOverSubquery(call, *subquery_arg, argument);
  if (matrix_arg == nullptr) throw EvalError{"range function without a range selector"};
  const MatrixSelector& matrix = *matrix_arg;
  int64_t range_end = Reference(matrix.selector);
  int64_t range_start = range_end - matrix.range_ms;
  const FunctionDef& function = *call.function;
  const bool keeps_name = function.keeps_metric_name;
  Vector out;
  std::vector<Point> scratch;
  storage_.Select(matrix.selector.matchers, range_start, range_end,
                  [&](const Labels& labels, std::span<const Point> points) {
                    std::span<const Point> live = WithoutStale(points, &scratch);
                    if (live.empty()) return;
                    std::optional<double> value =
                        function.range(live, range_start, range_end, matrix.range_ms, argument);
                    if (!value) return;
                    out.push_back(Sample{keeps_name ? labels : labels.WithoutMetricName(), *value});
                  });
  // Series of one metric name stay distinct without it: check only when the
  // selector can match several names.
  if (!SelectsOneName(matrix.selector)) CheckUniqueLabelsets(out);
  return out;
}

// A range function over a subquery's series: the same window semantics as
// over a range selector, the window being the subquery's range.
Value Evaluator::RangeOverSubquery(const Call& call, const Subquery& subquery, double argument) {
  const FunctionDef& function = *call.function;
  const int64_t range_end = Reference(subquery.at, subquery.offset_ms);
  const int64_t range_start = range_end - subquery.range_ms;
  Vector out;
  for (SeriesPoints& series : EvalSubquery(subquery)) {
    std::optional<double> value =
        function.range(series.points, range_start, range_end, subquery.range_ms, argument);
    if (!value) continue;
    out.push_back(Sample{
        function.keeps_metric_name ? std::move(series.metric) : series.metric.WithoutMetricName(),
        *value});
  }
  CheckUniqueLabelsets(out);
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

// timestamp(): each sample's own time for a plain selector (what the
// lookback found), the evaluation time for any other expression.
Value Evaluator::EvalTimestamp(const Call& call) {
  Vector out;
  if (const auto* selector = std::get_if<VectorSelector>(&call.args[0]->node)) {
    int64_t ref = Reference(*selector);
    storage_.Select(selector->matchers, ref - options_.lookback_ms, ref,
                    [&](const Labels& labels, std::span<const Point> points) {
                      const Point& last = points.back();
                      if (IsStaleNaN(last.value)) return;
                      out.push_back(Sample{labels.WithoutMetricName(),
                                           static_cast<double>(last.timestamp_ms) / 1000});
                    });
  } else {
    out = EvalVector(*call.args[0]);
    for (Sample& sample : out) {
      sample.metric = sample.metric.WithoutMetricName();
      sample.value = static_cast<double>(time_ms_) / 1000;
    }
  }
  CheckUniqueLabelsets(out);
  return out;
}

// sort()/sort_desc(): by value, NaN last either way, as Prometheus; ties
// keep their label order so the answer is stable.
Value Evaluator::EvalSort(const Call& call, bool descending) {
  Vector out = EvalVector(*call.args[0]);
  std::stable_sort(out.begin(), out.end(), [descending](const Sample& a, const Sample& b) {
    if (std::isnan(a.value) || std::isnan(b.value))
      return !std::isnan(a.value) && std::isnan(b.value);
    return descending ? a.value > b.value : a.value < b.value;
  });
  return out;
}

namespace {

bool IsLabelName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Go's regexp.Expand: $1, ${1}, $name, ${name} name a group (the longest
// run of letters, digits and '_' after '$'), $$ is '$'; an unknown or
// unmatched group is empty.
std::string ExpandTemplate(const re2::RE2& regex, std::string_view templ,
                           const std::vector<re2::StringPiece>& groups) {
  std::string out;
  for (size_t i = 0; i < templ.size(); ++i) {
    if (templ[i] != '$' || i + 1 == templ.size()) {
      out += templ[i];
      continue;
    }
    if (templ[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string_view name;
    size_t next = i + 1;
    if (templ[next] == '{') {
      size_t close = templ.find('}', next);
      if (close == std::string_view::npos) {
        out += templ[i];
        continue;
      }
      name = templ.substr(next + 1, close - next - 1);
      next = close + 1;
    } else {
      size_t end = next;
      while (end < templ.size() &&
             (std::isalnum(static_cast<unsigned char>(templ[end])) || templ[end] == '_')) {
        ++end;
      }
      name = templ.substr(next, end - next);
      next = end;
    }
    if (name.empty()) {
      out += templ[i];
      continue;
    }
    int index = -1;
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      index = name.size() < 6 ? std::stoi(std::string(name)) : -1;
    } else {
      auto it = regex.NamedCapturingGroups().find(std::string(name));
      if (it != regex.NamedCapturingGroups().end()) index = it->second;
    }
    if (index >= 0 && static_cast<size_t>(index) < groups.size()) {
      out.append(groups[static_cast<size_t>(index)].data(),
                 groups[static_cast<size_t>(index)].size());
    }
    i = next - 1;
  }
  return out;
}

}  // namespace

// label_replace(v, dst, replacement, src, regex), as Prometheus: the regex
// is anchored; no match leaves the sample as it is; an empty result
// removes dst.
Value Evaluator::EvalLabelReplace(const Call& call) {
  Vector out = EvalVector(*call.args[0]);
  const std::string dst = EvalString(*call.args[1]);
  const std::string replacement = EvalString(*call.args[2]);
  const std::string src = EvalString(*call.args[3]);
  const std::string pattern = EvalString(*call.args[4]);
  re2::RE2 regex("^(?:" + pattern + ")$", re2::RE2::Quiet);
  if (!regex.ok()) throw EvalError{"invalid regular expression in label_replace(): " + pattern};
  if (!IsLabelName(dst))
    throw EvalError{"invalid destination label name in label_replace(): " + dst};
  std::vector<re2::StringPiece> groups(static_cast<size_t>(regex.NumberOfCapturingGroups()) + 1);
  for (Sample& sample : out) {
    std::string value(sample.metric.Get(src));
    if (!regex.Match(value, 0, value.size(), re2::RE2::UNANCHORED, groups.data(),
                     static_cast<int>(groups.size()))) {
      continue;
    }
    sample.metric =
        LabelsBuilder(sample.metric).Set(dst, ExpandTemplate(regex, replacement, groups)).Build();
  }
  CheckUniqueLabelsets(out);
  return out;
}

// label_join(v, dst, separator, src...): the src values joined, set as dst
// (an empty result removes it).
Value Evaluator::EvalLabelJoin(const Call& call) {
  Vector out = EvalVector(*call.args[0]);
  const std::string dst = EvalString(*call.args[1]);
  const std::string separator = EvalString(*call.args[2]);
  std::vector<std::string> sources;
  for (size_t i = 3; i < call.args.size(); ++i) {
    sources.push_back(EvalString(*call.args[i]));
    if (!IsLabelName(sources.back())) {
      throw EvalError{"invalid source label name in label_join(): " + sources.back()};
    }
  }
  if (!IsLabelName(dst)) throw EvalError{"invalid destination label name in label_join(): " + dst};
  for (Sample& sample : out) {
    std::string joined;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (i > 0) joined += separator;
      joined += sample.metric.Get(sources[i]);
    }
    sample.metric = LabelsBuilder(sample.metric).Set(dst, joined).Build();
  }
  CheckUniqueLabelsets(out);
  return out;
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

// Labels::Key() of GroupLabels(aggregate, metric), written into `key`
// without building the labels: an aggregation over thousands of series
// (at every step of a range query) allocates only per group.
void GroupKey(const Aggregate& aggregate, const Labels& metric, std::string* key) {
  key->clear();
  for (const Label& label : metric) {
    const bool named = std::find(aggregate.grouping.begin(), aggregate.grouping.end(),
                                 label.name) != aggregate.grouping.end();
    if (aggregate.without ? (named || label.name == kMetricNameLabel) : !named) continue;
    key->append(label.name);
    key->push_back('\xff');
    key->append(label.value);
    key->push_back('\xff');
  }
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
  std::string key;
  for (const Sample& sample : input) {
    GroupKey(aggregate, sample.metric, &key);
    auto it = index.find(key);
    if (it == index.end()) {
      index.emplace(key, groups.size());
      groups.push_back(Group{GroupLabels(aggregate, sample.metric), sample.value, sample.value, 1});
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
  return Eval(expr, time_ms, QueryBounds{time_ms, time_ms}, storage, out);
}

Status PromqlEngine::Eval(const Expr& expr, int64_t time_ms, const QueryBounds& bounds,
                          const SeriesStorage& storage, QueryResult* out) const {
  try {
    Evaluator evaluator(storage, time_ms, bounds, options_);
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
