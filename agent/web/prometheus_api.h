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

#include "agent/rules/rule_manager.h"
#include "agent/web/web_server.h"

namespace txmon {

HttpResponse ServeRulesApi(const RuleManager& rules, const HttpRequest& request);
HttpResponse ServeAlertsApi(const RuleManager& rules, const HttpRequest& request);

// GET/POST /api/v1/query?query=EXPR[&time=UNIX_SECONDS]: instant queries
// over the rules' sample history, answered in Prometheus's JSON shape.
HttpResponse ServeQueryApi(const RuleManager& rules, const HttpRequest& request);

HttpHandler RulesApiHandler(const RuleManager* rules);
HttpHandler QueryApiHandler(const RuleManager* rules);
HttpHandler AlertsApiHandler(const RuleManager* rules);

// Go's RFC3339Nano in UTC ("2024-05-01T12:00:00.25Z"); 0 gives Go's zero
// time, "0001-01-01T00:00:00Z", as Prometheus shows for "never".
std::string FormatRfc3339(int64_t ms);

}  // namespace txmon
