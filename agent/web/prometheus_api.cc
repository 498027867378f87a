#include "agent/web/prometheus_api.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "agent/base/build_info.h"
#include "agent/base/duration.h"
#include "agent/base/float_text.h"
#include "agent/base/json_text.h"
#include "agent/base/json_writer.h"
#include "agent/base/rfc3339.h"
#include "agent/base/wall_clock.h"
#include "agent/promql/float_format.h"
#include "agent/promql/promql_parser.h"

namespace txmon {

namespace {

// Go's time.Time as the Prometheus API writes it; the zero time for "never".
std::string ApiTime(int64_t ms) {
  if (ms == 0) return "0001-01-01T00:00:00Z";
  return FormatRfc3339(ms, Rfc3339Millis::kTrimmed);
}

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

}  // namespace

namespace {

// ------------------------------------------------------------ envelope

HttpResponse ApiError(int status, std::string_view type, std::string_view message) {
  JsonWriter json;
  json.BeginObject()
      .Field("status", "error")
      .Field("errorType", type)
      .Field("error", message)
      .EndObject();
  return Json(status, json.Take());
}
HttpResponse BadDataError(std::string_view message) { return ApiError(400, "bad_data", message); }
HttpResponse ExecutionError(std::string_view message) {
  return ApiError(422, "execution", message);
}
HttpResponse TimeoutError() {
  return ApiError(503, "timeout", "query timed out in expression evaluation");
}

// {"status":"success","data":...} around what `data` writes.
template <typename WriteData>
HttpResponse Success(WriteData write_data, const std::vector<std::string>& warnings = {}) {
  JsonWriter json;
  json.BeginObject().Field("status", "success").Key("data");
  write_data(json);
  if (!warnings.empty()) {
    json.Key("warnings").BeginArray();
    for (const std::string& warning : warnings) json.String(warning);
    json.EndArray();
  }
  json.EndObject();
  return Json(200, json.Take());
}

void WriteLabels(JsonWriter& json, const Labels& labels) {
  json.BeginObject();
  for (const Label& label : labels) json.Field(label.name, label.value);
  json.EndObject();
}

// [seconds, "value"]: the time as a number with millisecond precision, the
// value as the exact shortest text ("NaN", "+Inf" included).
void WritePoint(JsonWriter& json, int64_t time_ms, double value) {
  json.BeginArray()
      .Number(static_cast<double>(time_ms) / 1000)
      .String(FormatFloatExact(value))
      .EndArray();
}

}  // namespace

// ------------------------------------------------------------ rules, alerts

namespace {

void WritePairs(JsonWriter& json, const std::vector<TemplatedPair>& pairs) {
  std::vector<Label> labels;
  for (const TemplatedPair& pair : pairs) labels.push_back(Label{pair.name, pair.text});
  WriteLabels(json, Labels(std::move(labels)));
}

void WriteAlert(JsonWriter& json, const Alert& alert) {
  json.BeginObject().Key("labels");
  WriteLabels(json, alert.labels);
  json.Key("annotations");
  WriteLabels(json, alert.annotations);
  json.Field("state", AlertStateName(alert.state))
      .Field("activeAt", ApiTime(alert.active_at_ms))
      .Field("value", FormatFloatExponent(alert.value))
      .EndObject();
}

void WriteEvaluation(JsonWriter& json, const RuleEvaluation& evaluation) {
  json.Field("health", RuleHealthName(evaluation.health));
  if (!evaluation.last_error.empty()) json.Field("lastError", evaluation.last_error);
  json.Key("evaluationTime")
      .GoFloat(evaluation.duration_seconds)
      .Field("lastEvaluation", ApiTime(evaluation.last_evaluation_ms));
}

void WriteAlertingRule(JsonWriter& json, const AlertingRule& rule) {
  const RuleSpec& spec = rule.spec();
  json.BeginObject()
      .Field("state", AlertStateName(rule.state()))
      .Field("name", spec.name)
      .Field("query", spec.expr->String())
      .Key("duration")
      .GoFloat(static_cast<double>(spec.for_ms) / 1000)
      .Key("keepFiringFor")
      .GoFloat(static_cast<double>(spec.keep_firing_for_ms) / 1000)
      .Key("labels");
  WritePairs(json, spec.labels);
  json.Key("annotations");
  WritePairs(json, spec.annotations);
  json.Key("alerts").BeginArray();
  for (const Alert& alert : rule.ActiveAlerts()) WriteAlert(json, alert);
  json.EndArray();
  WriteEvaluation(json, rule.evaluation());
  json.Field("type", "alerting").EndObject();
}

void WriteRecordingRule(JsonWriter& json, const RecordingRule& rule) {
  const RuleSpec& spec = rule.spec();
  json.BeginObject().Field("name", spec.name).Field("query", spec.expr->String());
  if (!spec.labels.empty()) {
    json.Key("labels");
    WritePairs(json, spec.labels);
  }
  WriteEvaluation(json, rule.evaluation());
  json.Field("type", "recording").EndObject();
}

struct RuleFilter {
  bool alerts = true;
  bool records = true;
  bool filtered = false;  // a type was asked for: groups left empty are left out
  bool Wants(const RuleGroup::Rule& rule) const {
    return (rule.alerting && alerts) || (rule.recording && records);
  }
};

void WriteRuleGroup(JsonWriter& json, const RuleGroup& group, const RuleFilter& filter) {
  json.BeginObject().Field("name", group.name()).Field("file", group.file()).Key("rules");
  json.BeginArray();
  for (const RuleGroup::Rule& rule : group.rules()) {
    if (!filter.Wants(rule)) continue;
    if (rule.alerting) WriteAlertingRule(json, *rule.alerting);
    if (rule.recording) WriteRecordingRule(json, *rule.recording);
  }
  json.EndArray()
      .Key("interval")
      .GoFloat(static_cast<double>(group.interval_ms()) / 1000)
      .Key("limit")
      .Int(group.spec().limit)
      .Key("evaluationTime")
      .GoFloat(group.last_duration_seconds())
      .Field("lastEvaluation", ApiTime(group.last_evaluation_ms()))
      .EndObject();
}

}  // namespace

HttpResponse ServeRulesApi(const RuleManager& rules, const HttpRequest& request) {
  std::optional<std::string> type = request.QueryParameter("type");
  RuleFilter filter;
  if (type && !type->empty()) {
    filter = RuleFilter{*type == "alert", *type == "record", true};
    if (!filter.alerts && !filter.records) {
      return BadDataError("invalid query parameter type=\"" + *type + "\"");
    }
  }
  std::shared_ptr<const RuleManager::GroupList> snapshot = rules.GroupSnapshot();
  return Success([&](JsonWriter& json) {
    json.BeginObject().Key("groups").BeginArray();
    for (const auto& group : *snapshot) {
      const auto& list = group->rules();
      const bool any = std::any_of(list.begin(), list.end(),
                                   [&](const RuleGroup::Rule& rule) { return filter.Wants(rule); });
      if (filter.filtered && !any) continue;  // as Prometheus: no empty groups
      WriteRuleGroup(json, *group, filter);
    }
    json.EndArray().EndObject();
  });
}

HttpResponse ServeAlertsApi(const RuleManager& rules, const HttpRequest&) {
  std::shared_ptr<const RuleManager::GroupList> snapshot = rules.GroupSnapshot();
  return Success([&](JsonWriter& json) {
    json.BeginObject().Key("alerts").BeginArray();
    for (const auto& group : *snapshot) {
      for (const RuleGroup::Rule& rule : group->rules()) {
        if (!rule.alerting) continue;
        for (const Alert& alert : rule.alerting->ActiveAlerts()) WriteAlert(json, alert);
      }
    }
    json.EndArray().EndObject();
  });
}

namespace {

// ------------------------------------------------------------ parameters

// The parameters as Prometheus' r.FormValue sees them: a POST's form body,
// then the URL's query string.
HttpRequest FormOf(const HttpRequest& request) {
  HttpRequest form;
  form.query = request.query;
  if (request.method == "POST" && !request.body.empty()) {
    form.query = request.body + (request.query.empty() ? "" : "&" + request.query);
  }
  return form;
}

struct ParamError {
  std::string message;
};

// Prometheus' MinTime and MaxTime (web/api/v1), in seconds: the range a
// time.Time holds as Unix milliseconds. Outside it (and NaN, infinities)
// the cast to an integer would be undefined.
constexpr double kMinTimeSeconds = -9223309901257974.0;
constexpr double kMaxTimeSeconds = 9223309901257973.0;

// Seconds (a float) or RFC 3339, as Prometheus' parseTime; ms since epoch.
int64_t ParseTimeParam(const HttpRequest& form, const char* name, int64_t fallback) {
  std::optional<std::string> text = form.QueryParameter(name);
  if (!text || text->empty()) return fallback;
  if (std::optional<double> seconds = ParseFloat(*text)) {
    if (std::isfinite(*seconds) && *seconds >= kMinTimeSeconds && *seconds <= kMaxTimeSeconds) {
      return std::llround(*seconds * 1000);
    }
  } else if (std::optional<int64_t> ms = ParseRfc3339(*text)) {
    return *ms;
  }
  throw ParamError{"invalid parameter \"" + std::string(name) + "\": cannot parse \"" + *text +
                   "\" to a valid timestamp"};
}

// Seconds (a float) or a Prometheus duration ("5m", "1h30m"), in ms.
std::optional<int64_t> ParseDurationParam(const HttpRequest& form, const char* name) {
  std::optional<std::string> text = form.QueryParameter(name);
  if (!text || text->empty()) return std::nullopt;
  if (std::optional<double> seconds = ParseFloat(*text)) {
    if (std::isfinite(*seconds) && std::fabs(*seconds) < 9.2e15) {
      return std::llround(*seconds * 1000);
    }
  } else if (std::optional<std::chrono::milliseconds> ms = ParseDuration(*text)) {
    return ms->count();
  }
  throw ParamError{"invalid parameter \"" + std::string(name) + "\": cannot parse \"" + *text +
                   "\" to a valid duration"};
}

// `limit`: 0 or absent means no limit.
size_t ParseLimitParam(const HttpRequest& form) {
  std::optional<std::string> text = form.QueryParameter("limit");
  if (!text || text->empty()) return SIZE_MAX;
  std::optional<double> limit = ParseFloat(*text);
  if (!limit || *limit < 0 || *limit != std::floor(*limit)) {
    throw ParamError{"invalid parameter \"limit\": cannot parse \"" + *text +
                     "\" to a valid limit"};
  }
  return *limit == 0 ? SIZE_MAX : static_cast<size_t>(*limit);
}

ExprPtr ParseQueryParam(const HttpRequest& form) {
  std::optional<std::string> query = form.QueryParameter("query");
  if (!query || query->empty()) throw ParamError{"missing query parameter \"query\""};
  ExprPtr expr;
  if (Status s = ParseExpr(*query, &expr); !s.ok()) {
    throw ParamError{"invalid parameter \"query\": " + s.message()};
  }
  return expr;
}

// match[]: series selectors, as Prometheus' parser.ParseMetricSelector.
std::vector<std::vector<LabelMatcher>> ParseMatchParams(const HttpRequest& form) {
  std::vector<std::vector<LabelMatcher>> out;
  for (const std::string& text : form.QueryParameters("match[]")) {
    ExprPtr expr;
    Status s = ParseExpr(text, &expr);
    const auto* selector = s.ok() ? std::get_if<VectorSelector>(&expr->node) : nullptr;
    if (selector == nullptr || selector->offset_ms != 0 || selector->at.set()) {
      throw ParamError{"invalid parameter \"match[]\": " +
                       (s.ok() ? "\"" + text + "\" is not a series selector" : s.message())};
    }
    out.push_back(selector->matchers);
  }
  return out;
}

// ------------------------------------------------------------ evaluation

// The history as one query sees it: it stops handing out samples once the
// query has touched its share or passed its deadline, so one query cannot
// keep the history (and its writers) busy. A range query's samples are
// counted once, as its RangeSnapshot loads them. One query: not
// thread-safe.
class QueryBudget : public SeriesStorage {
 public:
  enum class Outcome { kOk, kTimeout, kTooManySamples };

  QueryBudget(const SeriesStorage& inner, uint64_t max_samples, int64_t timeout_ms)
      : inner_(inner),
        max_samples_(max_samples),
        deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)) {}

  void Select(std::span<const LabelMatcher> matchers, int64_t min_ms, int64_t max_ms,
              const SeriesVisitor& visit) const override {
    if (!CheckDeadline()) return;
    inner_.Select(matchers, min_ms, max_ms, [&](const Labels& labels, std::span<const Point> p) {
      if (outcome_ != Outcome::kOk) return;
      touched_ += p.size();
      if (touched_ > max_samples_) {
        outcome_ = Outcome::kTooManySamples;
        return;
      }
      visit(labels, p);
    });
  }

  // False (and the outcome a timeout) once past the deadline.
  bool CheckDeadline() const {
    if (outcome_ == Outcome::kOk && std::chrono::steady_clock::now() > deadline_) {
      outcome_ = Outcome::kTimeout;
    }
    return outcome_ == Outcome::kOk;
  }
  Outcome outcome() const { return outcome_; }

 private:
  const SeriesStorage& inner_;
  const uint64_t max_samples_;
  const std::chrono::steady_clock::time_point deadline_;
  mutable uint64_t touched_ = 0;
  mutable Outcome outcome_ = Outcome::kOk;
};

// A range query's view of the history: each selector's series decoded once
// for the whole query, every step then reading its window from memory by
// binary search. Without it each step would decode the same chunks again
// (a minute at 1 s: 61 times). One query: not thread-safe.
class RangeSnapshot : public SeriesStorage {
 public:
  // Selects within [min_ms, max_ms] are served from the snapshot; others
  // (none, when the bounds come from SelectedSpan) go to `inner`.
  RangeSnapshot(const SeriesStorage& inner, int64_t min_ms, int64_t max_ms)
      : inner_(inner), min_ms_(min_ms), max_ms_(max_ms) {}

  void Select(std::span<const LabelMatcher> matchers, int64_t min_ms, int64_t max_ms,
              const SeriesVisitor& visit) const override {
    if (min_ms < min_ms_ || max_ms > max_ms_) return inner_.Select(matchers, min_ms, max_ms, visit);
    auto before = [](const Point& p, int64_t t) { return p.timestamp_ms < t; };
    auto after = [](int64_t t, const Point& p) { return t < p.timestamp_ms; };
    for (const SeriesPoints& series : Load(matchers)) {
      auto from = std::lower_bound(series.points.begin(), series.points.end(), min_ms, before);
      auto to = std::upper_bound(from, series.points.end(), max_ms, after);
      if (from != to) visit(series.metric, std::span<const Point>(&*from, to - from));
    }
  }

 private:
  const std::vector<SeriesPoints>& Load(std::span<const LabelMatcher> matchers) const {
    std::string key;
    for (const LabelMatcher& matcher : matchers) key += matcher.ToString() + '\xff';
    auto [it, inserted] = cache_.try_emplace(std::move(key));
    if (inserted) {
      std::vector<SeriesPoints>& out = it->second;
      inner_.Select(matchers, min_ms_, max_ms_,
                    [&](const Labels& labels, std::span<const Point> p) {
                      out.push_back(SeriesPoints{labels, {p.begin(), p.end()}});
                    });
    }
    return it->second;
  }

  const SeriesStorage& inner_;
  const int64_t min_ms_, max_ms_;
  mutable std::unordered_map<std::string, std::vector<SeriesPoints>> cache_;
};

// How far before and after the evaluation time `expr`'s selectors read:
// range (or lookback) plus offset.
std::pair<int64_t, int64_t> SelectedSpan(const Expr& expr, int64_t lookback_ms) {
  int64_t before = 0, after = 0;
  VisitSelectors(expr, [&](const VectorSelector& selector, int64_t range_ms) {
    int64_t window = range_ms > 0 ? range_ms : lookback_ms;
    before = std::max(before, window + std::max<int64_t>(selector.offset_ms, 0));
    after = std::max(after, -std::min<int64_t>(selector.offset_ms, 0));
  });
  return {before, after};
}

int64_t TimeoutFor(const PrometheusApi& api, const HttpRequest& form) {
  std::optional<int64_t> asked = ParseDurationParam(form, "timeout");
  if (asked && *asked > 0) return std::min(*asked, api.limits.timeout_ms);
  return api.limits.timeout_ms;
}

// An evaluation's failure as Prometheus reports it; nullopt when it is fine.
std::optional<HttpResponse> EvalFailure(const QueryBudget& budget, const Status& status) {
  switch (budget.outcome()) {
    case QueryBudget::Outcome::kTimeout:
      return TimeoutError();
    case QueryBudget::Outcome::kTooManySamples:
      return ExecutionError(
          "query processing would load too many samples into memory in query execution");
    case QueryBudget::Outcome::kOk:
      break;
  }
  if (!status.ok()) return ExecutionError(status.message());
  return std::nullopt;
}

// The resultType names of the API.
std::string_view ValueTypeApiName(ValueType type) {
  switch (type) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
  }
  return "vector";
}

void WriteMatrix(JsonWriter& json, const Matrix& matrix) {
  json.BeginArray();
  for (const SeriesPoints& series : matrix) {
    json.BeginObject().Key("metric");
    WriteLabels(json, series.metric);
    json.Key("values").BeginArray();
    for (const Point& point : series.points) WritePoint(json, point.timestamp_ms, point.value);
    json.EndArray().EndObject();
  }
  json.EndArray();
}

void WriteInstantResult(JsonWriter& json, const QueryResult& result, int64_t time_ms) {
  json.BeginObject().Field("resultType", ValueTypeApiName(result.type)).Key("result");
  switch (result.type) {
    case ValueType::kScalar:
      WritePoint(json, time_ms, result.scalar);
      break;
    case ValueType::kString:
      json.BeginArray().Number(static_cast<double>(time_ms) / 1000).String(result.string);
      json.EndArray();
      break;
    case ValueType::kVector:
      json.BeginArray();
      for (const Sample& sample : result.vector) {
        json.BeginObject().Key("metric");
        WriteLabels(json, sample.metric);
        json.Key("value");
        WritePoint(json, time_ms, sample.value);
        json.EndObject();
      }
      json.EndArray();
      break;
    case ValueType::kMatrix:
      WriteMatrix(json, result.matrix);
      break;
  }
  json.EndObject();
}

// Runs `serve` with the request's form, turning parameter errors into
// bad_data and anything unexpected into internal.
template <typename Serve>
HttpResponse WithForm(const HttpRequest& request, Serve serve) {
  if (request.method != "GET" && request.method != "HEAD" && request.method != "POST") {
    return HttpResponse::MethodNotAllowed("GET, HEAD, POST");
  }
  try {
    return serve(FormOf(request));
  } catch (const ParamError& error) {
    return BadDataError(error.message);
  } catch (const std::exception& error) {
    return ApiError(500, "internal", error.what());
  }
}

// The range query: the expression at start, start + step, ... <= end, one
// series per label set over all steps (a scalar becomes the series {}).
HttpResponse RangeQuery(const PrometheusApi& api, const Expr& expr, int64_t start, int64_t end,
                        int64_t step, QueryBudget& budget) {
  const PromqlEngine& engine = api.rules->engine();
  auto [before, after] = SelectedSpan(expr, engine.options().lookback_ms);
  RangeSnapshot snapshot(budget, start - before, end + after);
  Matrix matrix;
  Status status = engine.EvalRange(expr, start, end, step, snapshot, &matrix,
                                   [&] { return budget.CheckDeadline(); });
  if (std::optional<HttpResponse> failure = EvalFailure(budget, status)) return *failure;
  return Success([&](JsonWriter& json) {
    json.BeginObject().Field("resultType", "matrix").Key("result");
    WriteMatrix(json, matrix);
    json.EndObject();
  });
}

// The distinct label sets of the series matching any of `matchers` (every
// series when there are none) with samples in [start, end], sorted.
std::vector<Labels> MatchingSeries(const SampleHistory& history,
                                   const std::vector<std::vector<LabelMatcher>>& matchers,
                                   int64_t start, int64_t end) {
  std::map<std::string, Labels> found;
  auto collect = [&](const Labels& labels, std::span<const Point>) {
    found.try_emplace(labels.Key(), labels);
  };
  if (matchers.empty()) history.Select({}, start, end, collect);
  for (const auto& selector : matchers) history.Select(selector, start, end, collect);
  std::vector<Labels> out;
  out.reserve(found.size());
  for (auto& [key, labels] : found) out.push_back(std::move(labels));
  std::sort(out.begin(), out.end());
  return out;
}

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max() / 2;

// Writes the sorted strings, at most `limit`, warning when cut.
HttpResponse StringList(const std::set<std::string>& values, size_t limit) {
  std::vector<std::string> warnings;
  if (values.size() > limit) warnings.push_back("results truncated due to limit");
  return Success(
      [&](JsonWriter& json) {
        json.BeginArray();
        size_t written = 0;
        for (const std::string& value : values) {
          if (written++ == limit) break;
          json.String(value);
        }
        json.EndArray();
      },
      warnings);
}

bool IsLabelName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

HttpResponse ServeQueryApi(const PrometheusApi& api, const HttpRequest& request) {
  return WithForm(request, [&](const HttpRequest& form) {
    ExprPtr expr = ParseQueryParam(form);
    int64_t time_ms = ParseTimeParam(form, "time", WallClockMs());
    QueryBudget budget(api.rules->history(), api.limits.max_samples, TimeoutFor(api, form));
    QueryResult result;
    Status status = api.rules->engine().Eval(*expr, time_ms, budget, &result);
    if (std::optional<HttpResponse> failure = EvalFailure(budget, status)) return *failure;
    return Success([&](JsonWriter& json) { WriteInstantResult(json, result, time_ms); });
  });
}

HttpResponse ServeQueryRangeApi(const PrometheusApi& api, const HttpRequest& request) {
  return WithForm(request, [&](const HttpRequest& form) {
    if (!form.QueryParameter("start")) throw ParamError{"missing parameter \"start\""};
    if (!form.QueryParameter("end")) throw ParamError{"missing parameter \"end\""};
    int64_t start = ParseTimeParam(form, "start", 0);
    int64_t end = ParseTimeParam(form, "end", 0);
    if (end < start) throw ParamError{"end timestamp must not be before start time"};
    std::optional<int64_t> step = ParseDurationParam(form, "step");
    if (!step) throw ParamError{"missing parameter \"step\""};
    if (*step <= 0) {
      throw ParamError{
          "zero or negative query resolution step widths are not accepted. Try a positive "
          "integer"};
    }
    if ((end - start) / *step > api.limits.max_points_per_series) {
      throw ParamError{
          "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
          "query resolution (?step=XX)"};
    }
    ExprPtr expr = ParseQueryParam(form);
    if (expr->type() != ValueType::kScalar && expr->type() != ValueType::kVector) {
      throw ParamError{"invalid expression type \"" + std::string(ValueTypeName(expr->type())) +
                       "\" for range query, must be Scalar or instant Vector"};
    }
    QueryBudget budget(api.rules->history(), api.limits.max_samples, TimeoutFor(api, form));
    return RangeQuery(api, *expr, start, end, *step, budget);
  });
}

HttpResponse ServeSeriesApi(const PrometheusApi& api, const HttpRequest& request) {
  return WithForm(request, [&](const HttpRequest& form) {
    std::vector<std::vector<LabelMatcher>> matchers = ParseMatchParams(form);
    if (matchers.empty()) throw ParamError{"no match[] parameter provided"};
    int64_t start = ParseTimeParam(form, "start", kMinTime);
    int64_t end = ParseTimeParam(form, "end", kMaxTime);
    size_t limit = ParseLimitParam(form);
    std::vector<Labels> series = MatchingSeries(api.rules->history(), matchers, start, end);
    std::vector<std::string> warnings;
    if (series.size() > limit) {
      series.resize(limit);
      warnings.push_back("results truncated due to limit");
    }
    return Success(
        [&](JsonWriter& json) {
          json.BeginArray();
          for (const Labels& labels : series) WriteLabels(json, labels);
          json.EndArray();
        },
        warnings);
  });
}

HttpResponse ServeLabelsApi(const PrometheusApi& api, const HttpRequest& request) {
  return WithForm(request, [&](const HttpRequest& form) {
    std::vector<std::vector<LabelMatcher>> matchers = ParseMatchParams(form);
    int64_t start = ParseTimeParam(form, "start", kMinTime);
    int64_t end = ParseTimeParam(form, "end", kMaxTime);
    size_t limit = ParseLimitParam(form);
    std::set<std::string> names;
    for (const Labels& labels : MatchingSeries(api.rules->history(), matchers, start, end)) {
      for (const Label& label : labels) names.insert(label.name);
    }
    return StringList(names, limit);
  });
}

HttpResponse ServeLabelValuesApi(const PrometheusApi& api, const HttpRequest& request) {
  return WithForm(request, [&](const HttpRequest& form) {
    constexpr std::string_view kPrefix = "/api/v1/label/";
    constexpr std::string_view kSuffix = "/values";
    std::string_view path = request.path;
    if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix) ||
        path.size() < kPrefix.size() + kSuffix.size()) {
      return ApiError(404, "not_found", "unknown API endpoint");
    }
    std::string name(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
    if (!IsLabelName(name)) throw ParamError{"invalid label name: \"" + name + "\""};
    std::vector<std::vector<LabelMatcher>> matchers = ParseMatchParams(form);
    int64_t start = ParseTimeParam(form, "start", kMinTime);
    int64_t end = ParseTimeParam(form, "end", kMaxTime);
    size_t limit = ParseLimitParam(form);
    std::set<std::string> values;
    for (const Labels& labels : MatchingSeries(api.rules->history(), matchers, start, end)) {
      std::string_view value = labels.Get(name);
      if (!value.empty()) values.emplace(value);
    }
    return StringList(values, limit);
  });
}

HttpResponse ServeMetadataApi(const PrometheusApi& api, const HttpRequest& request) {
  return WithForm(request, [&](const HttpRequest& form) {
    std::optional<std::string> only = form.QueryParameter("metric");
    size_t limit = ParseLimitParam(form);
    std::map<std::string, const MetricSpec*> specs;
    if (api.store != nullptr) {
      api.store->VisitMetrics([&](const Metric& metric) {
        if (!only || only->empty() || *only == metric.spec().name) {
          specs.emplace(metric.spec().name, &metric.spec());
        }
      });
    }
    return Success([&](JsonWriter& json) {
      json.BeginObject();
      size_t written = 0;
      for (const auto& [name, spec] : specs) {
        if (written++ == limit) break;
        json.Key(name).BeginArray().BeginObject();
        json.Field("type", MetricTypeName(spec->type)).Field("help", spec->help).Field("unit", "");
        json.EndObject().EndArray();
      }
      json.EndObject();
    });
  });
}

HttpResponse ServeBuildInfoApi(const HttpRequest&) {
  return Success([](JsonWriter& json) {
    json.BeginObject()
        .Field("version", kVersion)
        .Field("revision", kRevision)
        .Field("branch", "")
        .Field("buildUser", "")
        .Field("buildDate", "")
        .Field("goVersion", "")
        .EndObject();
  });
}

HttpResponse ServeExemplarsApi(const HttpRequest& request) {
  return WithForm(request, [](const HttpRequest&) {
    return Success([](JsonWriter& json) { json.BeginArray().EndArray(); });
  });
}

// Prometheus routes only GET for the rules and alerts (HEAD as GET without
// a body); anything else is 405 with the Allow list.
bool ReadOnlyMethod(const HttpRequest& request) {
  return request.method == "GET" || request.method == "HEAD";
}

HttpHandler RulesApiHandler(const RuleManager* rules) {
  return [rules](const HttpRequest& request) {
    if (!ReadOnlyMethod(request)) return HttpResponse::MethodNotAllowed("GET, HEAD");
    return ServeRulesApi(*rules, request);
  };
}

HttpHandler AlertsApiHandler(const RuleManager* rules) {
  return [rules](const HttpRequest& request) {
    if (!ReadOnlyMethod(request)) return HttpResponse::MethodNotAllowed("GET, HEAD");
    return ServeAlertsApi(*rules, request);
  };
}

void RegisterPrometheusApi(WebServer* web, const PrometheusApi& api) {
  using Serve = HttpResponse (*)(const PrometheusApi&, const HttpRequest&);
  auto route = [&](const char* pattern, Serve serve) {
    web->Handle(pattern, OnLargeStack([api, serve](const HttpRequest& request) {
                  return serve(api, request);
                }),
                kMaxQueryBodyBytes);
  };
  route("/api/v1/query", &ServeQueryApi);
  route("/api/v1/query_range", &ServeQueryRangeApi);
  route("/api/v1/series", &ServeSeriesApi);
  route("/api/v1/labels", &ServeLabelsApi);
  route("/api/v1/label/", &ServeLabelValuesApi);
  route("/api/v1/metadata", &ServeMetadataApi);
  web->Handle("/api/v1/status/buildinfo", ServeBuildInfoApi);
  web->Handle("/api/v1/query_exemplars", ServeExemplarsApi);
  web->Handle("/api/v1/rules", OnLargeStack(RulesApiHandler(api.rules)));
  web->Handle("/api/v1/alerts", OnLargeStack(AlertsApiHandler(api.rules)));
}

}  // namespace txmon
