#include "agent/history/retention_plan.h"

#include <algorithm>

namespace txmon {

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
