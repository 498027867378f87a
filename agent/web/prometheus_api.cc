#include "agent/web/prometheus_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "agent/base/float_text.h"
#include "agent/base/json_text.h"
#include "agent/base/rfc3339.h"
#include "agent/base/wall_clock.h"
#include "agent/promql/float_format.h"

namespace txmon {

namespace {

// Go's time.Time as the Prometheus API writes it; the zero time for "never".
std::string ApiTime(int64_t ms) {
  if (ms == 0) return "0001-01-01T00:00:00Z";
  return FormatRfc3339(ms, Rfc3339Millis::kTrimmed);
}

// Go's encoding/json for float64: plain decimals, an exponent only for
// very small or large magnitudes (finite values only reach here).
std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "0";
  char buffer[64];
  double magnitude = std::fabs(value);
  auto format = (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21))
                    ? std::chars_format::scientific
                    : std::chars_format::fixed;
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, format);
  (void)error;
  return std::string(buffer, end);
}

std::string JsonLabels(const Labels& labels) {
  std::string out = "{";
  for (const Label& label : labels) {
    if (out.size() > 1) out += ",";
    out += JsonString(label.name) + ":" + JsonString(label.value);
  }
  return out + "}";
}

std::string JsonPairs(const std::vector<TemplatedPair>& pairs) {
  std::vector<Label> labels;
  for (const TemplatedPair& pair : pairs) labels.push_back(Label{pair.name, pair.text});
  return JsonLabels(Labels(std::move(labels)));
}

std::string JsonAlert(const Alert& alert) {
  return "{\"labels\":" + JsonLabels(alert.labels) +
         ",\"annotations\":" + JsonLabels(alert.annotations) +
         ",\"state\":" + JsonString(AlertStateName(alert.state)) +
         ",\"activeAt\":" + JsonString(ApiTime(alert.active_at_ms)) +
         ",\"value\":" + JsonString(FormatFloatExponent(alert.value)) + "}";
}

std::string JsonEvaluation(const RuleEvaluation& evaluation) {
  std::string out = ",\"health\":" + JsonString(RuleHealthName(evaluation.health));
  if (!evaluation.last_error.empty()) out += ",\"lastError\":" + JsonString(evaluation.last_error);
  return out + ",\"evaluationTime\":" + JsonNumber(evaluation.duration_seconds) +
         ",\"lastEvaluation\":" + JsonString(ApiTime(evaluation.last_evaluation_ms));
}

std::string JsonAlertingRule(const AlertingRule& rule) {
  const RuleSpec& spec = rule.spec();
  std::string alerts;
  for (const Alert& alert : rule.ActiveAlerts()) {
    alerts += (alerts.empty() ? "" : ",") + JsonAlert(alert);
  }
  return "{\"state\":" + JsonString(AlertStateName(rule.state())) +
         ",\"name\":" + JsonString(spec.name) + ",\"query\":" + JsonString(spec.expr->String()) +
         ",\"duration\":" + JsonNumber(static_cast<double>(spec.for_ms) / 1000) +
         ",\"keepFiringFor\":" + JsonNumber(static_cast<double>(spec.keep_firing_for_ms) / 1000) +
         ",\"labels\":" + JsonPairs(spec.labels) +
         ",\"annotations\":" + JsonPairs(spec.annotations) + ",\"alerts\":[" + alerts + "]" +
         JsonEvaluation(rule.evaluation()) + ",\"type\":\"alerting\"}";
}

std::string JsonRecordingRule(const RecordingRule& rule) {
  const RuleSpec& spec = rule.spec();
  std::string out =
      "{\"name\":" + JsonString(spec.name) + ",\"query\":" + JsonString(spec.expr->String());
  if (!spec.labels.empty()) out += ",\"labels\":" + JsonPairs(spec.labels);
  return out + JsonEvaluation(rule.evaluation()) + ",\"type\":\"recording\"}";
}

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

HttpResponse BadData(const std::string& message) {
  return Json(400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":" +
                       JsonString(message) + "}");
}

}  // namespace

HttpResponse ServeRulesApi(const RuleManager& rules, const HttpRequest& request) {
  std::optional<std::string> type = request.QueryParameter("type");
  bool want_alerts = !type || type->empty() || *type == "alert";
  bool want_records = !type || type->empty() || *type == "record";
  if (type && !type->empty() && !want_alerts && !want_records) {
    return BadData("invalid query parameter type=\"" + *type + "\"");
  }
  std::string groups;
  std::shared_ptr<const RuleManager::GroupList> snapshot = rules.GroupSnapshot();
  for (const auto& group : *snapshot) {
    std::string list;
    for (const RuleGroup::Rule& rule : group->rules()) {
      std::string json;
      if (rule.alerting && want_alerts) json = JsonAlertingRule(*rule.alerting);
      if (rule.recording && want_records) json = JsonRecordingRule(*rule.recording);
      if (!json.empty()) list += (list.empty() ? "" : ",") + json;
    }
    if (type && !type->empty() && list.empty()) continue;  // as Prometheus: no empty groups
    groups += std::string(groups.empty() ? "" : ",") + "{\"name\":" + JsonString(group->name()) +
              ",\"file\":" + JsonString(group->file()) + ",\"rules\":[" + list + "]" +
              ",\"interval\":" + JsonNumber(static_cast<double>(group->interval_ms()) / 1000) +
              ",\"limit\":" + std::to_string(group->spec().limit) +
              ",\"evaluationTime\":" + JsonNumber(group->last_duration_seconds()) +
              ",\"lastEvaluation\":" + JsonString(ApiTime(group->last_evaluation_ms())) + "}";
  }
  return Json(200, "{\"status\":\"success\",\"data\":{\"groups\":[" + groups + "]}}");
}

HttpResponse ServeAlertsApi(const RuleManager& rules, const HttpRequest&) {
  std::string alerts;
  std::shared_ptr<const RuleManager::GroupList> snapshot = rules.GroupSnapshot();
  for (const auto& group : *snapshot) {
    for (const RuleGroup::Rule& rule : group->rules()) {
      if (!rule.alerting) continue;
      for (const Alert& alert : rule.alerting->ActiveAlerts()) {
        alerts += (alerts.empty() ? "" : ",") + JsonAlert(alert);
      }
    }
  }
  return Json(200, "{\"status\":\"success\",\"data\":{\"alerts\":[" + alerts + "]}}");
}

namespace {

// Prometheus' MinTime and MaxTime (web/api/v1), in seconds: the range a
// time.Time holds as Unix milliseconds.
constexpr double kMinTimeSeconds = -9223309901257974.0;
constexpr double kMaxTimeSeconds = 9223309901257973.0;

// Unix seconds (a decimal, as Prometheus takes them) to milliseconds. NaN,
// infinities and times outside Prometheus' range are refused: casting them
// to an integer is undefined behaviour.
std::optional<int64_t> ParseTimeMs(const std::string& text) {
  std::optional<double> seconds = ParseFloat(text);
  if (!seconds || !std::isfinite(*seconds) || *seconds < kMinTimeSeconds ||
      *seconds > kMaxTimeSeconds) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(*seconds * 1000));
}

// [seconds, "value"] as Prometheus writes a sample.
std::string JsonSampleValue(int64_t time_ms, double value) {
  char seconds[32];
  snprintf(seconds, sizeof seconds, "%.3f", time_ms / 1000.0);
  return std::string("[") + seconds + "," + JsonString(FormatFloatExact(value)) + "]";
}

}  // namespace

HttpResponse ServeQueryApi(const RuleManager& rules, const HttpRequest& request) {
  std::optional<std::string> query = request.QueryParameter("query");
  if (!query && request.method == "POST") {
    HttpRequest form = request;
    form.query = request.body;  // application/x-www-form-urlencoded
    query = form.QueryParameter("query");
  }
  if (!query || query->empty()) return BadData("missing query parameter \"query\"");
  int64_t time_ms = WallClockMs();
  if (std::optional<std::string> time = request.QueryParameter("time")) {
    std::optional<int64_t> parsed = ParseTimeMs(*time);
    if (!parsed) {
      return BadData("invalid parameter \"time\": cannot parse \"" + *time +
                     "\" to a valid timestamp");
    }
    time_ms = *parsed;
  }
  QueryResult result;
  if (Status s = rules.Query(*query, time_ms, &result); !s.ok()) return BadData(s.message());
  std::string data;
  switch (result.type) {
    case ValueType::kScalar:
      data = R"({"resultType":"scalar","result":)" + JsonSampleValue(time_ms, result.scalar) + "}";
      break;
    case ValueType::kVector: {
      data = R"({"resultType":"vector","result":[)";
      for (size_t i = 0; i < result.vector.size(); ++i) {
        const Sample& sample = result.vector[i];
        data += (i ? "," : "") + std::string(R"({"metric":)") + JsonLabels(sample.metric) +
                R"(,"value":)" + JsonSampleValue(time_ms, sample.value) + "}";
      }
      data += "]}";
      break;
    }
    default:
      return BadData("only instant vector and scalar results are served");
  }
  return Json(200, R"({"status":"success","data":)" + data + "}");
}

namespace {

// The API answers only the methods Prometheus routes for each endpoint; any
// other (PUT, DELETE, PATCH, OPTIONS, ...) is 405 with the Allow list.
HttpHandler WithMethods(std::initializer_list<std::string_view> methods,
                        std::function<HttpResponse(const HttpRequest&)> serve) {
  std::string allowed;
  for (std::string_view method : methods) {
    allowed += (allowed.empty() ? "" : ", ") + std::string(method);
  }
  std::vector<std::string> list(methods.begin(), methods.end());
  return [allowed, list, serve = std::move(serve)](const HttpRequest& request) {
    if (std::find(list.begin(), list.end(), request.method) == list.end()) {
      return HttpResponse::MethodNotAllowed(allowed);
    }
    return serve(request);
  };
}

}  // namespace

HttpHandler QueryApiHandler(const RuleManager* rules) {
  return WithMethods({"GET", "HEAD", "POST"}, [rules](const HttpRequest& request) {
    return ServeQueryApi(*rules, request);
  });
}

HttpHandler RulesApiHandler(const RuleManager* rules) {
  return WithMethods({"GET", "HEAD"}, [rules](const HttpRequest& request) {
    return ServeRulesApi(*rules, request);
  });
}

HttpHandler AlertsApiHandler(const RuleManager* rules) {
  return WithMethods({"GET", "HEAD"}, [rules](const HttpRequest& request) {
    return ServeAlertsApi(*rules, request);
  });
}

}  // namespace txmon
