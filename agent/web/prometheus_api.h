// The Prometheus HTTP API's rule endpoints, answered from a RuleManager in
// the same JSON shapes as Prometheus 2.42, so Grafana and scripts written
// for Prometheus read them unchanged:
//   GET /api/v1/rules[?type=alert|record]  groups, rules, health, alerts
//   GET /api/v1/alerts                      pending and firing alerts
// Register them on the agent's WebServer:
//   web->Handle("/api/v1/rules", RulesApiHandler(rules));
//   web->Handle("/api/v1/alerts", AlertsApiHandler(rules));
//   web->Handle("/api/v1/query", QueryApiHandler(rules), kMaxQueryBodyBytes);
//
// Threading: the handlers are thread-safe (they read the rules' snapshots);
// the RuleManager must outlive the WebServer's use of them.
#pragma once

#include <cstddef>

#include "agent/promql/promql_parser.h"
#include "agent/rules/rule_manager.h"
#include "agent/web/web_server.h"

namespace txmon {

HttpResponse ServeRulesApi(const RuleManager& rules, const HttpRequest& request);
HttpResponse ServeAlertsApi(const RuleManager& rules, const HttpRequest& request);

// GET/POST /api/v1/query?query=EXPR[&time=UNIX_SECONDS]: instant queries
// over the rules' sample history, answered in Prometheus's JSON shape. A
// time that is not a finite number within Prometheus' range is bad_data.
// The handlers answer 405 (with Allow) to methods Prometheus does not
// route: query takes GET and POST, rules and alerts GET (HEAD as GET).
HttpResponse ServeQueryApi(const RuleManager& rules, const HttpRequest& request);

// The largest body a query request needs: a form carrying the longest
// expression the parser takes, every byte percent-encoded, and room for the
// other parameters. Register /api/v1/query with it; a larger body is
// refused (413) before it is read, so it cannot cost memory.
inline constexpr size_t kMaxQueryBodyBytes = 3 * kMaxExprBytes + 4096;

HttpHandler RulesApiHandler(const RuleManager* rules);
HttpHandler QueryApiHandler(const RuleManager* rules);
HttpHandler AlertsApiHandler(const RuleManager* rules);

}  // namespace txmon
