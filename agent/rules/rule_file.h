// Rule files in the Prometheus format, read and checked: the same files run
// unchanged on Prometheus, Thanos or Mimir (`promtool check rules` accepts
// them), and here.
//
//   groups:
//     - name: shop
//       interval: 1s            # optional; the global evaluation interval otherwise
//       rules:
//         - record: shop:orders_created:rate1m
//           expr: sum(rate(shop_orders_created_total[1m]))
//         - alert: OrderRateCollapsed
//           expr: shop:orders_created:rate1m < 0.5
//           for: 30s
//           keep_firing_for: 1m
//           labels: {severity: page}
//           annotations: {summary: "Orders at {{ $value | humanize }}/s"}
//
// Loading checks everything a load can: fields, names, durations, the
// expression (parsed; the subset is enforced), templates (compiled). Errors
// name the file, the line, the group and rule, and the reason:
//   rules/shop.yml:14:15: group "shop", rule 2 (alert "X"): expr: 1:1: function "label_replace" is
//   not supported
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/promql/labels.h"
#include "agent/promql/promql_ast.h"
#include "agent/rules/alert_template.h"

namespace txmon {

struct TemplatedPair {
  std::string name;
  std::string text;        // as written
  AlertTemplate compiled;  // alerts only
};

struct RuleSpec {
  enum class Kind { kAlerting, kRecording };
  Kind kind = Kind::kAlerting;
  std::string name;  // the alert name or the recorded metric name
  std::string expr_text;
  std::shared_ptr<const Expr> expr;
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::vector<TemplatedPair> labels;       // in file order
  std::vector<TemplatedPair> annotations;  // in file order; alerts only
  int line = 0;
};

struct RuleGroupSpec {
  std::string file;
  std::string name;
  int64_t interval_ms = 0;  // 0: the global evaluation interval
  int64_t limit = 0;        // 0: no limit on alerts/series per rule
  std::vector<RuleSpec> rules;
};

// Reads every file matching the glob patterns (sorted, duplicates once),
// in pattern order. A pattern that matches nothing is not an error, as in
// Prometheus, but it is most likely a mistake that silently drops alerts:
// such patterns are put in `unmatched` if given, else logged as warnings.
Status LoadRuleFiles(const std::vector<std::string>& patterns, std::vector<RuleGroupSpec>* out,
                     std::vector<std::string>* unmatched = nullptr);

// Parses one file's text; `file` names it in errors and in the groups.
Status ParseRuleFile(const std::string& yaml, const std::string& file,
                     std::vector<RuleGroupSpec>* out);

}  // namespace txmon
