// RuleGroup: one group of a rule file, evaluated as Prometheus does: the
// rules in file order at one timestamp, a recording rule's output written
// to the sample history before the next rule runs (so later rules see it at
// once), alerts due for sending handed to `notify` (which only enqueues).
// Series that a rule wrote last time and not this time get a staleness
// marker; alerts are also written as ALERTS{alertstate=...} series when a
// rule selects them.
//
// Threading: Evaluate from one thread at a time (the group's runner);
// accessors from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/history/retention_plan.h"
#include "agent/history/sample_history.h"
#include "agent/history/store_sampler.h"
#include "agent/notify/alertmanager_alert.h"
#include "agent/rules/alerting_rule.h"
#include "agent/rules/recording_rule.h"

namespace txmon {

using AlertSink = std::function<void(std::vector<AlertmanagerAlert> alerts)>;

// What all groups share; owned by the RuleManager (or a test).
struct RuleGroupContext {
  const PromqlEngine* engine = nullptr;
  SampleHistory* history = nullptr;
  const RetentionPlan* plan = nullptr;
  StoreSampler* sampler = nullptr;  // null: nothing to sample (tests)
  Labels external_labels;
  std::string external_url;
  int64_t resend_delay_ms = 60'000;
  AlertSink notify;  // may be empty
};

class RuleGroup {
 public:
  // One rule of the group, in file order: exactly one pointer is set.
  struct Rule {
    std::unique_ptr<AlertingRule> alerting;
    std::unique_ptr<RecordingRule> recording;
  };

  RuleGroup(RuleGroupSpec spec, int64_t interval_ms, const RuleGroupContext* context);

  // Samples the store, then evaluates every rule at `time_ms`.
  void Evaluate(int64_t time_ms);
  void CountMissedIterations(uint64_t missed) { missed_iterations_ += missed; }

  const RuleGroupSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  const std::string& file() const { return spec_.file; }
  int64_t interval_ms() const { return interval_ms_; }
  const std::vector<Rule>& rules() const { return rules_; }

  int64_t last_evaluation_ms() const { return last_evaluation_ms_; }
  double last_duration_seconds() const { return last_duration_seconds_; }
  uint64_t evaluations() const { return evaluations_; }
  uint64_t failures() const { return failures_; }
  uint64_t missed_iterations() const { return missed_iterations_; }

 private:
  Status EvaluateRule(size_t index, int64_t time_ms);
  // Writes `samples` as rule `index`'s output at `time_ms`, with staleness
  // markers for the series it wrote last time and not now.
  void WriteSeries(size_t index, const Vector& samples, int64_t time_ms);

  const RuleGroupSpec spec_;
  const int64_t interval_ms_;
  const RuleGroupContext* context_;
  std::vector<Rule> rules_;
  // Per rule: the history series it wrote at its last evaluation.
  std::vector<std::unordered_map<std::string, SampleHistory::SeriesId>> written_;

  std::atomic<int64_t> last_evaluation_ms_{0};
  std::atomic<double> last_duration_seconds_{0};
  std::atomic<uint64_t> evaluations_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> missed_iterations_{0};
};

}  // namespace txmon
