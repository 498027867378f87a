#include "agent/promql/promql_engine.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
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

// One series of an expression evaluated over every step of a range query.
struct StepSeries {
  Labels metric;
  std::vector<double> values;    // one per step
  std::vector<uint8_t> present;  // one per step: 0 where the series has no sample
};

// An expression evaluated over every step at once (StepPlanner below):
// its series in the order the step-by-step evaluation would list them.
struct StepValues {
  std::vector<StepSeries> series;
  // An aggregation lists its groups, at each step, in the order of their
  // first member present in its input: that input and each input series'
  // group (null for any other expression).
  const StepValues* input = nullptr;
  std::vector<uint32_t> group_of;
};

using PrecomputedSteps = std::unordered_map<const Expr*, const StepValues*>;

// The instant vector `values` holds at step `step`.
Vector SliceAt(const StepValues& values, size_t step) {
  Vector out;
  if (values.input == nullptr) {
    for (const StepSeries& series : values.series) {
      if (series.present[step]) out.push_back(Sample{series.metric, series.values[step]});
    }
    return out;
  }
  if (values.series.size() == 1) {  // one group: present where any member is
    if (values.series[0].present[step]) {
      out.push_back(Sample{values.series[0].metric, values.series[0].values[step]});
    }
    return out;
  }
  std::vector<uint8_t> listed(values.series.size());
  const std::vector<StepSeries>& input = values.input->series;
  for (size_t i = 0; i < input.size(); ++i) {
    if (!input[i].present[step]) continue;
    const uint32_t group = values.group_of[i];
    if (listed[group]) continue;
    listed[group] = 1;
    out.push_back(Sample{values.series[group].metric, values.series[group].values[step]});
  }
  return out;
}

class Evaluator {
 public:
  Evaluator(const SeriesStorage& storage, int64_t time_ms, const QueryBounds& bounds,
            const EngineOptions& options)
      : storage_(storage), time_ms_(time_ms), bounds_(bounds), options_(options) {}

  // Nodes in `precomputed` are read at step `step` rather than evaluated
  // (a range query's step evaluation; subqueries never see them).
  void UsePrecomputed(const PrecomputedSteps* precomputed, size_t step) {
    precomputed_ = precomputed;
    step_ = step;
  }

  Value Eval(const Expr& expr) {
    if (precomputed_ != nullptr) {
      auto it = precomputed_->find(&expr);
      if (it != precomputed_->end()) return SliceAt(*it->second, step_);
    }
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
  const PrecomputedSteps* precomputed_ = nullptr;
  size_t step_ = 0;
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

// ------------------------------------------------------------ range queries

// The steps of a range query: start, start + step, ... <= end.
struct StepGrid {
  int64_t start_ms = 0;
  int64_t step_ms = 1;
  size_t count = 0;
  int64_t At(size_t i) const { return start_ms + static_cast<int64_t>(i) * step_ms; }
};

// The time a selector reads at when evaluated at `time_ms`, as
// Evaluator::Reference: never decreasing as `time_ms` grows.
int64_t ReferenceAt(const AtModifier& at, int64_t offset_ms, int64_t time_ms,
                    const QueryBounds& bounds) {
  switch (at.kind) {
    case AtModifier::Kind::kNone:
      return time_ms - offset_ms;
    case AtModifier::Kind::kTimestamp:
      return at.timestamp_ms - offset_ms;
    case AtModifier::Kind::kStart:
      return bounds.start_ms - offset_ms;
    case AtModifier::Kind::kEnd:
      return bounds.end_ms - offset_ms;
  }
  return time_ms - offset_ms;
}

// Evaluates, over every step of a range query at once, the parts of an
// expression whose answer at a step is a plain function of each series'
// samples: vector selectors, range functions over range selectors (each
// series walked once, its windows sliding forward), and sum, avg, min, max
// and count over those. Each gives, at each step, the very bits (and the
// order) the step-by-step evaluation gives; everything else stays step by
// step, reading these parts' answers at its step (PrecomputedSteps).
class StepPlanner {
 public:
  // At most this many series × steps are held at once (9 bytes each,
  // about 290 MiB); past it, what is left is evaluated step by step.
  static constexpr size_t kMaxCells = size_t{1} << 25;

  StepPlanner(const SeriesStorage& storage, const StepGrid& grid, const QueryBounds& bounds,
              const EngineOptions& options, const std::function<bool()>& keep_going)
      : storage_(storage),
        grid_(grid),
        bounds_(bounds),
        options_(options),
        keep_going_(keep_going) {}

  // Plans `expr` and what is under it; returns `expr`'s own values when it
  // is evaluated over all steps, else null.
  const StepValues* Plan(const Expr& expr) {
    if (stopped_) return nullptr;
    const StepValues* values =
        std::visit([&](const auto& node) { return PlanNode(node); }, expr.node);
    if (values != nullptr) precomputed_.emplace(&expr, values);
    return values;
  }

  const PrecomputedSteps& precomputed() const { return precomputed_; }
  // keep_going said no while planning.
  bool interrupted() const { return interrupted_; }

 private:
  const StepValues* PlanNode(const NumberLiteral&) { return nullptr; }
  const StepValues* PlanNode(const StringLiteral&) { return nullptr; }
  const StepValues* PlanNode(const MatrixSelector&) { return nullptr; }
  // A subquery's inner expression runs at its own steps.
  const StepValues* PlanNode(const Subquery&) { return nullptr; }
  const StepValues* PlanNode(const Paren& paren) { return Plan(*paren.expr); }
  const StepValues* PlanNode(const Unary& unary) {
    Plan(*unary.expr);
    return nullptr;
  }
  const StepValues* PlanNode(const Binary& binary) {
    Plan(*binary.lhs);
    Plan(*binary.rhs);
    return nullptr;
  }

  int64_t Reference(const VectorSelector& selector, size_t step) const {
    return ReferenceAt(selector.at, selector.offset_ms, grid_.At(step), bounds_);
  }

  StepValues* NewValues() {
    owned_.push_back(std::make_unique<StepValues>());
    return owned_.back().get();
  }

  // Room for one more series of the node being planned: false (and no
  // more planning) past kMaxCells or once keep_going says no.
  bool Admit() {
    if (stopped_) return false;
    if (cells_ + grid_.count > kMaxCells) {
      stopped_ = true;
      return false;
    }
    cells_ += grid_.count;
    if ((++admitted_ & 255) == 0 && keep_going_ && !keep_going_()) {
      stopped_ = interrupted_ = true;
      return false;
    }
    return true;
  }

  // The node just planned, or null (and it is dropped) if planning stopped.
  const StepValues* Finished(const StepValues* values) {
    if (!stopped_) return values;
    owned_.pop_back();
    return nullptr;
  }

  StepSeries NewSeries(Labels metric) const {
    return StepSeries{std::move(metric), std::vector<double>(grid_.count),
                      std::vector<uint8_t>(grid_.count)};
  }

  // The newest sample within the lookback of each step's time.
  const StepValues* PlanNode(const VectorSelector& selector) {
    StepValues* out = NewValues();
    const int64_t first = Reference(selector, 0), last = Reference(selector, grid_.count - 1);
    storage_.Select(selector.matchers, first - options_.lookback_ms, last,
                    [&](const Labels& labels, std::span<const Point> points) {
                      if (!Admit()) return;
                      StepSeries series = NewSeries(labels);
                      bool any = false;
                      size_t end = 0;  // points before it are at or before the step's time
                      for (size_t s = 0; s < grid_.count; ++s) {
                        const int64_t ref = Reference(selector, s);
                        while (end < points.size() && points[end].timestamp_ms <= ref) ++end;
                        if (end == 0) continue;
                        const Point& newest = points[end - 1];
                        if (newest.timestamp_ms < ref - options_.lookback_ms) continue;
                        if (IsStaleNaN(newest.value)) continue;
                        series.values[s] = newest.value;
                        series.present[s] = 1;
                        any = true;
                      }
                      if (any) out->series.push_back(std::move(series));
                    });
    return Finished(out);
  }

  const StepValues* PlanNode(const Call& call) {
    const FunctionDef& function = *call.function;
    const MatrixSelector* matrix = nullptr;
    double argument = 0;
    bool plannable = function.range != nullptr;
    for (const ExprPtr& arg : call.args) {
      if (const auto* m = std::get_if<MatrixSelector>(&arg->node)) {
        matrix = m;
      } else if (const auto* number = std::get_if<NumberLiteral>(&arg->node)) {
        argument = number->value;
      } else {
        plannable = false;
        Plan(*arg);
      }
    }
    if (!plannable || matrix == nullptr) return nullptr;
    return PlanRange(function, *matrix, argument);
  }

  const StepValues* PlanRange(const FunctionDef& function, const MatrixSelector& matrix,
                              double argument);
  void Slide(const FunctionDef& function, const MatrixSelector& matrix, double argument,
             std::span<const Point> points, StepSeries* series) const;

  const StepValues* PlanNode(const Aggregate& aggregate) {
    if (aggregate.param) Plan(*aggregate.param);
    const StepValues* input = Plan(*aggregate.expr);
    // Nested aggregations list their groups in an order of their own at
    // each step: those stay step by step.
    if (input == nullptr || input->input != nullptr) return nullptr;
    if (aggregate.op == AggregateOp::kTopk || aggregate.op == AggregateOp::kBottomk) {
      return nullptr;
    }
    return PlanAggregate(aggregate, *input);
  }
  const StepValues* PlanAggregate(const Aggregate& aggregate, const StepValues& input);

  const SeriesStorage& storage_;
  const StepGrid grid_;
  const QueryBounds bounds_;
  const EngineOptions& options_;
  const std::function<bool()>& keep_going_;
  std::vector<std::unique_ptr<StepValues>> owned_;
  PrecomputedSteps precomputed_;
  size_t cells_ = 0, admitted_ = 0;
  bool stopped_ = false, interrupted_ = false;
};

const StepValues* StepPlanner::PlanRange(const FunctionDef& function, const MatrixSelector& matrix,
                                         double argument) {
  StepValues* out = NewValues();
  const VectorSelector& selector = matrix.selector;
  const int64_t first = Reference(selector, 0), last = Reference(selector, grid_.count - 1);
  const bool keeps_name = function.keeps_metric_name;
  std::vector<Point> scratch;
  storage_.Select(
      selector.matchers, first - matrix.range_ms, last,
      [&](const Labels& labels, std::span<const Point> points) {
        std::span<const Point> live = WithoutStale(points, &scratch);
        if (live.empty() || !Admit()) return;
        StepSeries series = NewSeries(keeps_name ? labels : labels.WithoutMetricName());
        Slide(function, matrix, argument, live, &series);
        if (std::find(series.present.begin(), series.present.end(), 1) == series.present.end()) {
          return;
        }
        out->series.push_back(std::move(series));
      });
  if (Finished(out) == nullptr) return nullptr;
  // Series that differ only in their name would be an error at the steps
  // where both have a value: those steps go step by step, which reports it.
  if (!keeps_name && !SelectsOneName(selector) && out->series.size() > 1) {
    std::unordered_set<std::string_view> seen;
    for (const StepSeries& series : out->series) {
      if (!seen.insert(series.metric.Key()).second) return nullptr;
    }
  }
  return out;
}

// One series' value at every step: the window of step s is the points in
// [ref - range, ref], ref growing with s, so both ends only move forward.
void StepPlanner::Slide(const FunctionDef& function, const MatrixSelector& matrix, double argument,
                        std::span<const Point> points, StepSeries* series) const {
  const int64_t range_ms = matrix.range_ms;
  const size_t n = points.size();
  const RangeKernel kernel = function.kernel;
  const bool is_counter = kernel == RangeKernel::kRate || kernel == RangeKernel::kIncrease;

  // kRate/kIncrease: the points after a reset. kChanges/kResets: prefix
  // counts (exact as doubles). kSumOverTime: prefix sums, used only when
  // every value is an integer and their magnitudes sum below 2^53, so every
  // partial sum (Prometheus' Kahan sum included, its compensation staying
  // 0) is exact and any order of adding gives the same bits.
  std::vector<uint32_t> resets;
  std::vector<double> prefix;
  bool exact_sums = false;
  if (is_counter) {
    for (size_t i = 1; i < n; ++i) {
      if (points[i].value < points[i - 1].value) resets.push_back(static_cast<uint32_t>(i));
    }
  } else if (kernel == RangeKernel::kChanges || kernel == RangeKernel::kResets) {
    prefix.assign(n, 0);
    for (size_t i = 1; i < n; ++i) {
      const double previous = points[i - 1].value, current = points[i].value;
      const bool counted =
          kernel == RangeKernel::kResets
              ? current < previous
              : current != previous && !(std::isnan(current) && std::isnan(previous));
      prefix[i] = prefix[i - 1] + (counted ? 1 : 0);
    }
  } else if (kernel == RangeKernel::kSumOverTime) {
    double magnitude = 0;
    exact_sums = true;
    for (const Point& p : points) {
      if (!std::isfinite(p.value) || p.value != std::trunc(p.value)) {
        exact_sums = false;
        break;
      }
      magnitude += std::fabs(p.value);
    }
    exact_sums = exact_sums && magnitude < 9007199254740992.0;
    if (exact_sums) {
      prefix.assign(n + 1, 0);
      for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + points[i].value;
    }
  }

  std::vector<uint32_t> queue;  // kMax/kMinOverTime: candidates, from `head` on
  size_t head = 0, pushed = 0;
  size_t next_reset = 0;
  size_t lo = 0, hi = 0;
  for (size_t s = 0; s < grid_.count; ++s) {
    const int64_t range_end = Reference(matrix.selector, s);
    const int64_t range_start = range_end - range_ms;
    while (lo < n && points[lo].timestamp_ms < range_start) ++lo;
    if (hi < lo) hi = lo;
    while (hi < n && points[hi].timestamp_ms <= range_end) ++hi;
    if (lo == hi) continue;
    const std::span<const Point> window = points.subspan(lo, hi - lo);
    std::optional<double> value;
    switch (kernel) {
      case RangeKernel::kRate:
      case RangeKernel::kIncrease:
      case RangeKernel::kDelta: {
        if (window.size() < 2) break;
        double result = window.back().value - window.front().value;
        if (is_counter) {
          // As RawDelta: the first point against 0, then each reset.
          if (window.front().value < 0) result += 0;
          while (next_reset < resets.size() && resets[next_reset] <= lo) ++next_reset;
          for (size_t r = next_reset; r < resets.size() && resets[r] < hi; ++r) {
            result += points[resets[r] - 1].value;
          }
        }
        // A window that did not move: Extrapolate multiplies by a positive
        // finite factor, so the answer is `result` itself (0 or -0).
        value = result == 0 ? std::optional<double>(result)
                            : Extrapolate(result, window, range_start, range_end, range_ms,
                                          is_counter, kernel == RangeKernel::kRate);
        break;
      }
      case RangeKernel::kMaxOverTime:
      case RangeKernel::kMinOverTime: {
        // NaN is taken only when the window holds nothing else, and among
        // equal values (0 and -0) the earliest wins, as the linear scan.
        const bool is_max = kernel == RangeKernel::kMaxOverTime;
        for (; pushed < hi; ++pushed) {
          const double v = points[pushed].value;
          if (std::isnan(v)) continue;
          while (queue.size() > head &&
                 (is_max ? points[queue.back()].value < v : points[queue.back()].value > v)) {
            queue.pop_back();
          }
          queue.push_back(static_cast<uint32_t>(pushed));
        }
        while (head < queue.size() && queue[head] < lo) ++head;
        value = head < queue.size() ? points[queue[head]].value : NAN;
        break;
      }
      case RangeKernel::kSumOverTime:
        value = exact_sums ? prefix[hi] - prefix[lo]
                           : function.range(window, range_start, range_end, range_ms, argument);
        break;
      case RangeKernel::kChanges:
      case RangeKernel::kResets:
        value = prefix[hi - 1] - prefix[lo];
        break;
      case RangeKernel::kGeneric:
        value = function.range(window, range_start, range_end, range_ms, argument);
        break;
    }
    if (!value) continue;
    series->values[s] = *value;
    series->present[s] = 1;
  }
}

// As Evaluator::EvalNode(const Aggregate&) at each step: each group's
// members added in input order, starting from the first present one.
const StepValues* StepPlanner::PlanAggregate(const Aggregate& aggregate, const StepValues& input) {
  StepValues* out = NewValues();
  out->input = &input;
  out->group_of.reserve(input.series.size());
  std::unordered_map<std::string, uint32_t> index;
  std::string key;
  for (const StepSeries& series : input.series) {
    GroupKey(aggregate, series.metric, &key);
    auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(out->series.size()));
    if (inserted) {
      if (!Admit()) return Finished(out);
      out->series.push_back(NewSeries(GroupLabels(aggregate, series.metric)));
    }
    out->group_of.push_back(it->second);
  }
  const size_t steps = grid_.count;
  std::vector<double> means, counts;
  if (aggregate.op == AggregateOp::kAvg || aggregate.op == AggregateOp::kCount) {
    means.assign(out->series.size() * steps, 0);
    counts.assign(out->series.size() * steps, 0);
  }
  for (size_t i = 0; i < input.series.size(); ++i) {
    const StepSeries& member = input.series[i];
    const uint32_t g = out->group_of[i];
    StepSeries& group = out->series[g];
    double* mean = means.empty() ? nullptr : &means[g * steps];
    double* count = counts.empty() ? nullptr : &counts[g * steps];
    for (size_t s = 0; s < steps; ++s) {
      if (!member.present[s]) continue;
      const double v = member.values[s];
      if (!group.present[s]) {
        group.present[s] = 1;
        group.values[s] = v;
        if (mean != nullptr) {
          mean[s] = v;
          count[s] = 1;
        }
        continue;
      }
      switch (aggregate.op) {
        case AggregateOp::kSum:
          group.values[s] += v;
          break;
        case AggregateOp::kAvg:
          count[s]++;
          if (std::isinf(mean[s])) {
            if (std::isinf(v) && (mean[s] > 0) == (v > 0)) break;
            if (!std::isinf(v) && !std::isnan(v)) break;
          }
          mean[s] += v / count[s] - mean[s] / count[s];
          break;
        case AggregateOp::kMax:
          if (group.values[s] < v || std::isnan(group.values[s])) group.values[s] = v;
          break;
        case AggregateOp::kMin:
          if (group.values[s] > v || std::isnan(group.values[s])) group.values[s] = v;
          break;
        case AggregateOp::kCount:
          count[s]++;
          break;
        default:
          break;
      }
    }
  }
  if (aggregate.op == AggregateOp::kAvg || aggregate.op == AggregateOp::kCount) {
    for (size_t g = 0; g < out->series.size(); ++g) {
      const double* source =
          aggregate.op == AggregateOp::kAvg ? &means[g * steps] : &counts[g * steps];
      std::copy(source, source + steps, out->series[g].values.begin());
    }
  }
  return out;
}

// The range query's answer, one series per label set over all steps: the
// planned parts read at each step, the rest evaluated there.
Status EvalRangeSteps(const Expr& expr, const StepGrid& grid, const QueryBounds& bounds,
                      const SeriesStorage& storage, const EngineOptions& options,
                      const std::function<bool()>& keep_going, Matrix* out) {
  StepPlanner planner(storage, grid, bounds, options, keep_going);
  const StepValues* whole = planner.Plan(expr);
  if (planner.interrupted()) return Status::Error("query interrupted");
  if (whole != nullptr) {
    for (const StepSeries& series : whole->series) {
      SeriesPoints points{series.metric, {}};
      for (size_t s = 0; s < grid.count; ++s) {
        if (series.present[s]) points.points.push_back(Point{grid.At(s), series.values[s]});
      }
      if (!points.points.empty()) out->push_back(std::move(points));
    }
    return Status::Ok();
  }
  // Keyed by views of the keys of the labels in `out` (they share their
  // representation, which never moves): no key is copied per step.
  std::unordered_map<std::string_view, size_t> index;
  auto series_for = [&](const Labels& labels) -> std::vector<Point>& {
    auto it = index.find(labels.Key());
    if (it == index.end()) {
      out->push_back(SeriesPoints{labels, {}});
      it = index.emplace(out->back().metric.Key(), out->size() - 1).first;
    }
    return (*out)[it->second].points;
  };
  for (size_t s = 0; s < grid.count; ++s) {
    if (keep_going && !keep_going()) return Status::Error("query interrupted");
    const int64_t t = grid.At(s);
    Evaluator evaluator(storage, t, bounds, options);
    evaluator.UsePrecomputed(&planner.precomputed(), s);
    Value value = evaluator.Eval(expr);
    if (const double* scalar = std::get_if<double>(&value)) {
      series_for(Labels()).push_back(Point{t, *scalar});
    } else {
      for (const Sample& sample : std::get<Vector>(value)) {
        series_for(sample.metric).push_back(Point{t, sample.value});
      }
    }
  }
  return Status::Ok();
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

Status PromqlEngine::EvalRange(const Expr& expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                               const SeriesStorage& storage, Matrix* out,
                               const std::function<bool()>& keep_going) const {
  out->clear();
  if (step_ms <= 0 || end_ms < start_ms) return Status::Error("invalid range query steps");
  const StepGrid grid{start_ms, step_ms, static_cast<size_t>((end_ms - start_ms) / step_ms) + 1};
  try {
    Status status = EvalRangeSteps(expr, grid, QueryBounds{start_ms, end_ms}, storage, options_,
                                   keep_going, out);
    if (!status.ok()) return status;
  } catch (const EvalError& error) {
    return Status::Error(error.message);
  }
  std::sort(out->begin(), out->end(),
            [](const SeriesPoints& a, const SeriesPoints& b) { return a.metric < b.metric; });
  return Status::Ok();
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
