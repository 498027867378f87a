// RecordingRule: one `record:` rule. Its result is renamed to the record
// name and given the rule's labels; the group then writes it to the sample
// history so later rules (in this group and others) can select it.
//
// Threading: Eval from the group's thread; evaluation() from any thread.
#pragma once

#include <cstdint>
#include <mutex>

#include "agent/base/status.h"
#include "agent/promql/promql_engine.h"
#include "agent/rules/alerting_rule.h"
#include "agent/rules/rule_file.h"

namespace txmon {

class RecordingRule {
 public:
  explicit RecordingRule(const RuleSpec& spec) : spec_(spec) {}

  // The recorded samples at `time_ms`. Fails on a duplicate label set after
  // renaming, or when `limit` > 0 series would be recorded.
  Status Eval(int64_t time_ms, const PromqlEngine& engine, const SeriesStorage& storage,
              int64_t limit, Vector* out) const;

  RuleEvaluation evaluation() const;
  void RecordEvaluation(const RuleEvaluation& evaluation);
  const RuleSpec& spec() const { return spec_; }

 private:
  const RuleSpec& spec_;
  mutable std::mutex mutex_;
  RuleEvaluation evaluation_;
};

}  // namespace txmon
