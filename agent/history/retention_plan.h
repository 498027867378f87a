// RetentionPlan: which series the sample history keeps, and for how long,
// derived from the selectors of the loaded rules. A series is kept only if
// some selector can match it; its retention is the longest window those
// selectors read: range + offset for a range selector, offset + lookback
// for an instant selector with an offset, and just the newest sample for a
// plain instant selector (rules always evaluate at "now").
//
// `@ start()` and `@ end()` read at the evaluation time in a rule (a rule
// is an instant query at "now"), so they need what the plain selector
// needs. `@ <time>` reads at a fixed time: once "now" has passed it, keeping
// its window would mean keeping that series' samples from then on without
// end, which a window sliding with the newest sample cannot do (and the byte
// cap would drop them first). Such rules are refused (CheckRuleExpr), with
// the reason, rather than evaluated over samples already gone.
//
// With a floor (history.retention), every series is kept for at least the
// floor, whether a rule selects it or not: the PromQL API reads them all.
//
// Immutable after construction: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/promql/labels.h"
#include "agent/promql/promql_ast.h"

namespace txmon {

class RetentionPlan {
 public:
  RetentionPlan() = default;
  // Every selector of every expression, with the engine's lookback.
  RetentionPlan(const std::vector<const Expr*>& exprs, int64_t lookback_ms, int64_t floor_ms = 0);

  // Refuses an expression the plan cannot keep the samples of: a selector
  // or subquery with `@ <time>` (the error names it and says why).
  static Status CheckRuleExpr(const Expr& expr);

  // How long to keep the series with `labels`: the floor, or longer where a
  // selector needs it; nullopt if there is no floor and no selector can
  // match it.
  std::optional<int64_t> RetentionFor(const Labels& labels) const;
  // False if there is no floor and no selector can match any series named
  // `metric_name`: the whole metric can be skipped.
  bool MayMatchName(std::string_view metric_name) const;

  // The longest retention of all selectors (what sizes the history).
  int64_t max_retention_ms() const { return max_retention_ms_; }
  size_t selector_count() const { return needs_.size(); }

 private:
  struct Need {
    std::vector<LabelMatcher> matchers;
    int64_t retention_ms;
  };
  std::vector<Need> needs_;
  int64_t max_retention_ms_ = 0;
  int64_t floor_ms_ = 0;
};

}  // namespace txmon
