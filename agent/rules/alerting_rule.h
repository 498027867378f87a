// AlertingRule: one `alert:` rule and the state of its alerts, with
// Prometheus's state machine (rules/alerting.go) in one method, Update:
//
//   inactive ──expr returns the series──> pending ──held for `for`──> firing
//   pending ──series gone──> dropped        firing ──series gone──> inactive
//                                           (after keep_firing_for; kept
//                                           15m as "resolved" for delivery)
//
// A `for: 0` alert fires in the evaluation that first sees it. Alerts that
// need sending (firing: first time, then every resend delay; resolved: once
// more) are returned by AlertsToSend, which also marks them sent.
//
// Threading: Eval/Update/AlertsToSend from the group's thread; the read-only
// accessors (ActiveAlerts, state, health, ...) from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/base/status.h"
#include "agent/notify/alertmanager_alert.h"
#include "agent/promql/promql_engine.h"
#include "agent/rules/rule_file.h"

namespace txmon {

enum class AlertState { kInactive, kPending, kFiring };
std::string_view AlertStateName(AlertState state);  // "inactive", "pending", "firing"

enum class RuleHealth { kUnknown, kOk, kError };
std::string_view RuleHealthName(RuleHealth health);  // "unknown", "ok", "err"

struct Alert {
  Labels labels;  // sample labels without __name__, rule labels, alertname
  Labels annotations;
  AlertState state = AlertState::kInactive;
  double value = 0;
  int64_t active_at_ms = 0;
  int64_t fired_at_ms = 0;
  int64_t resolved_at_ms = 0;  // 0: not resolved
  static constexpr int64_t kNeverSent = -1;
  int64_t last_sent_at_ms = kNeverSent;
  int64_t valid_until_ms = 0;
  int64_t keep_firing_since_ms = 0;  // 0: the expression still returns it
};

// What a rule's last evaluation left behind, for /api/v1/rules.
struct RuleEvaluation {
  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;
  int64_t last_evaluation_ms = 0;
  double duration_seconds = 0;
};

struct AlertContext {
  const Labels* external_labels = nullptr;
  std::string external_url;
};

class AlertingRule {
 public:
  static constexpr int64_t kResolvedRetentionMs = 15 * 60 * 1000;

  explicit AlertingRule(const RuleSpec& spec) : spec_(spec) {}

  // Runs the expression at `time_ms` and applies the result (Update). On a
  // query error the alerts keep their state, as in Prometheus.
  Status Eval(int64_t time_ms, const PromqlEngine& engine, const SeriesStorage& storage,
              const AlertContext& context, int64_t limit);

  // The state machine: `result` is what the expression returned at `time_ms`.
  Status Update(const Vector& result, int64_t time_ms, const AlertContext& context,
                int64_t limit = 0);

  // The alerts due for (re)sending at `time_ms`, marked sent. Firing alerts
  // get ends_at = now + 4 × max(resend delay, interval); resolved ones their
  // resolution time.
  std::vector<AlertmanagerAlert> AlertsToSend(int64_t time_ms, int64_t resend_delay_ms,
                                              int64_t interval_ms, const std::string& external_url,
                                              const Labels& external_labels);

  // Continues `previous`'s alerts (same name and labels, from before a
  // rule reload): states, activeAt, firedAt, last sent time. Called before
  // this rule's first Eval, with neither rule being evaluated.
  void TakeStateFrom(const AlertingRule& previous);

  // Every alert it keeps, resolved ones still due for delivery included,
  // for a checkpoint. Any thread.
  std::vector<Alert> SavedAlerts() const;
  // Puts back alerts from SavedAlerts (a restart), replacing any with the
  // same labels. Before this rule's first Eval.
  void RestoreAlerts(const std::vector<Alert>& alerts);

  // Pending and firing alerts (not resolved ones), for the API and ALERTS.
  std::vector<Alert> ActiveAlerts() const;
  AlertState state() const;  // the highest state of its alerts
  RuleEvaluation evaluation() const;
  void RecordEvaluation(const RuleEvaluation& evaluation);
  const RuleSpec& spec() const { return spec_; }

 private:
  Labels AlertLabels(const Sample& sample, const AlertContext& context) const;
  Labels Annotations(const Sample& sample, const AlertContext& context) const;

  const RuleSpec& spec_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Alert> active_;  // by the alert's label key
  RuleEvaluation evaluation_;
};

// The URL of a rule's expression in the Prometheus UI, as generatorURL:
// EXTERNAL/graph?g0.expr=EXPR&g0.tab=1.
std::string GeneratorUrl(const std::string& external_url, const std::string& expr);

}  // namespace txmon
