#include "agent/history/retention_plan.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <type_traits>
#include <variant>

namespace txmon {

namespace {

// The first `@ <time>` in `expr` (a selector's or a subquery's), as text;
// empty when there is none.
std::string FixedAtTime(const Expr& expr) {
  return std::visit(
      [&](const auto& node) -> std::string {
        using T = std::decay_t<decltype(node)>;
        const auto fixed = AtModifier::Kind::kTimestamp;
        if constexpr (std::is_same_v<T, VectorSelector>) {
          return node.at.kind == fixed ? "selector " + Expr{node}.String() : "";
        } else if constexpr (std::is_same_v<T, MatrixSelector>) {
          return node.selector.at.kind == fixed ? "range selector " + Expr{node}.String() : "";
        } else if constexpr (std::is_same_v<T, Subquery>) {
          std::string inner = FixedAtTime(*node.expr);
          if (!inner.empty() || node.at.kind != fixed) return inner;
          char at[48];
          std::snprintf(at, sizeof at, "%.3f", static_cast<double>(node.at.timestamp_ms) / 1000);
          return "subquery [" + FormatDuration(node.range_ms) + ":" + FormatDuration(node.step_ms) +
                 "] @ " + at;
        } else if constexpr (std::is_same_v<T, Call>) {
          for (const ExprPtr& arg : node.args) {
            if (std::string found = FixedAtTime(*arg); !found.empty()) return found;
          }
          return "";
        } else if constexpr (std::is_same_v<T, Aggregate>) {
          if (node.param) {
            if (std::string found = FixedAtTime(*node.param); !found.empty()) return found;
          }
          return FixedAtTime(*node.expr);
        } else if constexpr (std::is_same_v<T, Binary>) {
          std::string found = FixedAtTime(*node.lhs);
          return found.empty() ? FixedAtTime(*node.rhs) : found;
        } else if constexpr (std::is_same_v<T, Unary> || std::is_same_v<T, Paren>) {
          return FixedAtTime(*node.expr);
        } else {
          return "";
        }
      },
      expr.node);
}

}  // namespace

Status RetentionPlan::CheckRuleExpr(const Expr& expr) {
  const std::string fixed = FixedAtTime(expr);
  if (fixed.empty()) return Status::Ok();
  return Status::Error(
      "unsupported in a rule: " + fixed +
      " reads samples at a fixed time, which the agent's history (a window that slides with "
      "the newest sample) does not keep; use offset, @ start() or @ end() (the evaluation time), "
      "or evaluate this rule on Prometheus");
}

RetentionPlan::RetentionPlan(const std::vector<const Expr*>& exprs, int64_t lookback_ms,
                             int64_t floor_ms)
    : max_retention_ms_(std::max<int64_t>(floor_ms, 0)), floor_ms_(std::max<int64_t>(floor_ms, 0)) {
  for (const Expr* expr : exprs) {
    VisitSelectors(*expr, [&](const VectorSelector& selector, int64_t range_ms) {
      int64_t offset = std::max<int64_t>(selector.offset_ms, 0);
      int64_t retention =
          range_ms > 0 ? range_ms + offset : (offset > 0 ? offset + lookback_ms : 0);
      needs_.push_back(Need{selector.matchers, retention});
      max_retention_ms_ = std::max(max_retention_ms_, retention);
    });
  }
}

std::optional<int64_t> RetentionPlan::RetentionFor(const Labels& labels) const {
  std::optional<int64_t> retention;
  if (floor_ms_ > 0) retention = floor_ms_;
  for (const Need& need : needs_) {
    bool all = std::all_of(need.matchers.begin(), need.matchers.end(),
                           [&](const LabelMatcher& m) { return m.Matches(labels.Get(m.name())); });
    if (all) retention = std::max(retention.value_or(0), need.retention_ms);
  }
  return retention;
}

bool RetentionPlan::MayMatchName(std::string_view metric_name) const {
  if (floor_ms_ > 0) return true;
  for (const Need& need : needs_) {
    bool all = std::all_of(need.matchers.begin(), need.matchers.end(), [&](const LabelMatcher& m) {
      return m.name() != kMetricNameLabel || m.Matches(metric_name);
    });
    if (all) return true;
  }
  return false;
}

}  // namespace txmon
