#include "agent/rules/rule_group.h"

#include <chrono>

#include "agent/base/log.h"

namespace txmon {

namespace {

// Prometheus's ALERTS series for the pending and firing alerts of a rule.
Vector AlertSeries(const AlertingRule& rule) {
  Vector out;
  for (const Alert& alert : rule.ActiveAlerts()) {
    Labels labels = LabelsBuilder(alert.labels)
                        .Set(kMetricNameLabel, "ALERTS")
                        .Set("alertstate", AlertStateName(alert.state))
                        .Build();
    out.push_back(Sample{std::move(labels), 1});
  }
  return out;
}

}  // namespace

RuleGroup::RuleGroup(RuleGroupSpec spec, int64_t interval_ms, const RuleGroupContext* context)
    : spec_(std::move(spec)), interval_ms_(interval_ms), context_(context) {
  for (const RuleSpec& rule : spec_.rules) {
    Rule entry;
    if (rule.kind == RuleSpec::Kind::kAlerting) {
      entry.alerting = std::make_unique<AlertingRule>(rule);
    } else {
      entry.recording = std::make_unique<RecordingRule>(rule);
    }
    rules_.push_back(std::move(entry));
  }
  written_.resize(rules_.size());
}

void RuleGroup::Evaluate(int64_t time_ms) {
  auto start = std::chrono::steady_clock::now();
  if (context_->sampler != nullptr) context_->sampler->Sample(time_ms);
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto rule_start = std::chrono::steady_clock::now();
    Status status = EvaluateRule(i, time_ms);
    RuleEvaluation evaluation;
    evaluation.health = status.ok() ? RuleHealth::kOk : RuleHealth::kError;
    evaluation.last_error = status.message();
    evaluation.last_evaluation_ms = time_ms;
    evaluation.duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - rule_start).count();
    const Rule& rule = rules_[i];
    if (rule.alerting) rule.alerting->RecordEvaluation(evaluation);
    if (rule.recording) rule.recording->RecordEvaluation(evaluation);
    if (!status.ok()) {
      ++failures_;
      static LogRateLimit limit(5);
      uint64_t suppressed = 0;
      if (limit.Allow(&suppressed)) {
        Log(LogLevel::kWarn, "rules", "rule evaluation failed",
            {{"group", spec_.name},
             {"rule", spec_.rules[i].name},
             {"err", status.message()},
             {"suppressed", std::to_string(suppressed)}});
      }
    }
  }
  ++evaluations_;
  last_evaluation_ms_ = time_ms;
  last_duration_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Status RuleGroup::EvaluateRule(size_t index, int64_t time_ms) {
  const Rule& rule = rules_[index];
  const RuleGroupContext& context = *context_;
  if (rule.recording) {
    Vector recorded;
    Status status =
        rule.recording->Eval(time_ms, *context.engine, *context.history, spec_.limit, &recorded);
    WriteSeries(index, recorded, time_ms);  // on failure: empty, so its series go stale
    return status;
  }
  AlertContext alert_context{&context.external_labels, context.external_url};
  Status status =
      rule.alerting->Eval(time_ms, *context.engine, *context.history, alert_context, spec_.limit);
  WriteSeries(index, AlertSeries(*rule.alerting), time_ms);
  std::vector<AlertmanagerAlert> due =
      rule.alerting->AlertsToSend(time_ms, context.resend_delay_ms, interval_ms_,
                                  context.external_url, context.external_labels);
  if (!due.empty() && context.notify) context.notify(std::move(due));
  return status;
}

void RuleGroup::WriteSeries(size_t index, const Vector& samples, int64_t time_ms) {
  SampleHistory& history = *context_->history;
  std::unordered_map<std::string, SampleHistory::SeriesId> now;
  for (const Sample& sample : samples) {
    // Only series some rule selects are kept: nothing else would read them.
    std::optional<int64_t> retention = context_->plan->RetentionFor(sample.metric);
    if (!retention) continue;
    SampleHistory::SeriesId id = history.Intern(sample.metric, *retention);
    history.Append(id, time_ms, sample.value);
    now.emplace(sample.metric.Key(), id);
  }
  for (const auto& [key, id] : written_[index]) {
    if (!now.count(key)) history.Append(id, time_ms, StaleNaN());
  }
  written_[index] = std::move(now);
}

}  // namespace txmon
