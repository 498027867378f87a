// The Prometheus HTTP API's rule endpoints, answered from a RuleManager in
// the same JSON shapes as Prometheus 2.42, so Grafana and scripts written
// for Prometheus read them unchanged:
//   GET /api/v1/rules[?type=alert|record]  groups, rules, health, alerts
//   GET /api/v1/alerts                      pending and firing alerts
// Register them on the agent's WebServer:
//   web->Handle("/api/v1/rules", RulesApiHandler(rules));
//   web->Handle("/api/v1/alerts", AlertsApiHandler(rules));
//
// Threading: the handlers are thread-safe (they read the rules' snapshots);
// the RuleManager must outlive the WebServer's use of them.
#pragma once

#include "agent/promql/promql_parser.h"
#include "agent/rules/rule_manager.h"
#include "agent/store/metric_store.h"
#include "agent/web/web_server.h"

namespace txmon {

HttpResponse ServeRulesApi(const RuleManager& rules, const HttpRequest& request);
HttpResponse ServeAlertsApi(const RuleManager& rules, const HttpRequest& request);

HttpHandler RulesApiHandler(const RuleManager* rules);
HttpHandler AlertsApiHandler(const RuleManager* rules);

// ------------------------------------------------------------ the query API
//
// What Grafana's Prometheus datasource calls, answered over the sample
// history (every store series for history.retention, longer where a rule
// reads further back), in the shapes and with the errors of Prometheus'
// docs/querying/api.md. Every route takes GET and POST
// (application/x-www-form-urlencoded, parameters in the body):
//   /api/v1/query          query, time, timeout
//   /api/v1/query_range    query, start, end, step, timeout
//   /api/v1/series         match[] (required), start, end, limit
//   /api/v1/labels         match[], start, end, limit
//   /api/v1/label/NAME/values   the same
//   /api/v1/metadata       metric, limit (type and help from the mappings)
//   /api/v1/status/buildinfo    version and revision (no "features" field:
//                          Grafana would take the server for Mimir)
//   /api/v1/query_exemplars     always an empty success
// Errors: {"status":"error","errorType":T,"error":MESSAGE} with bad_data
// 400, execution 422, timeout 503, internal 500.

// The largest request body a query route reads: a form holding an
// expression of kMaxExprBytes, percent-encoded (up to 3 bytes a byte), and
// its other parameters. Bigger bodies are refused with 413 before a handler
// runs, so 16 clients posting 1 MB queries cost nothing.
inline constexpr size_t kMaxQueryBodyBytes = 3 * kMaxExprBytes + 4096;

struct QueryApiLimits {
  // Per query, as Prometheus' --query.timeout; a smaller `timeout`
  // parameter wins.
  int64_t timeout_ms = 120'000;
  // Samples one query may read from the history, as --query.max-samples
  // (which counts samples loaded at once: here, all it touches, so one
  // query cannot keep the history busy).
  uint64_t max_samples = 50'000'000;
  // Steps of a range query, as Prometheus' fixed 11,000.
  int64_t max_points_per_series = 11'000;
};

struct PrometheusApi {
  const RuleManager* rules = nullptr;  // the engine and the history; required
  const MetricStore* store = nullptr;  // for /metadata; null: no metadata
  QueryApiLimits limits;
};

HttpResponse ServeQueryApi(const PrometheusApi& api, const HttpRequest& request);
HttpResponse ServeQueryRangeApi(const PrometheusApi& api, const HttpRequest& request);
HttpResponse ServeSeriesApi(const PrometheusApi& api, const HttpRequest& request);
HttpResponse ServeLabelsApi(const PrometheusApi& api, const HttpRequest& request);
// request.path is /api/v1/label/NAME/values.
HttpResponse ServeLabelValuesApi(const PrometheusApi& api, const HttpRequest& request);
HttpResponse ServeMetadataApi(const PrometheusApi& api, const HttpRequest& request);
HttpResponse ServeBuildInfoApi(const HttpRequest& request);
HttpResponse ServeExemplarsApi(const HttpRequest& request);

// Registers every route above and /api/v1/rules, /api/v1/alerts on `web`,
// each on a large stack (PromQL is parsed and evaluated recursively).
// `api`'s pointers must outlive the server's use of them.
void RegisterPrometheusApi(WebServer* web, const PrometheusApi& api);

}  // namespace txmon
