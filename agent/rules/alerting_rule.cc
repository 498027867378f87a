#include "agent/rules/alerting_rule.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

namespace txmon {

namespace {

std::string ExpandOrError(const AlertTemplate& compiled, const TemplateData& data) {
  std::string out;
  Status s = compiled.Expand(data, &out);
  // Prometheus writes the failure into the label or annotation itself.
  if (!s.ok()) return "<error expanding template: " + s.message() + ">";
  return out;
}

// Go's url.QueryEscape.
std::string QueryEscape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Pairs(const Labels& labels) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Label& label : labels) out.emplace_back(label.name, label.value);
  return out;
}

}  // namespace

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "inactive";
}

std::string_view RuleHealthName(RuleHealth health) {
  switch (health) {
    case RuleHealth::kUnknown:
      return "unknown";
    case RuleHealth::kOk:
      return "ok";
    case RuleHealth::kError:
      return "err";
  }
  return "unknown";
}

std::string GeneratorUrl(const std::string& external_url, const std::string& expr) {
  std::string base = external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/graph?g0.expr=" + QueryEscape(expr) + "&g0.tab=1";
}

Labels AlertingRule::AlertLabels(const Sample& sample, const AlertContext& context) const {
  TemplateData data{&sample.metric, sample.value, context.external_labels, context.external_url};
  LabelsBuilder builder(sample.metric);
  builder.Del(kMetricNameLabel);
  for (const TemplatedPair& label : spec_.labels) {
    builder.Set(label.name, ExpandOrError(label.compiled, data));
  }
  builder.Set("alertname", spec_.name);
  return builder.Build();
}

Labels AlertingRule::Annotations(const Sample& sample, const AlertContext& context) const {
  TemplateData data{&sample.metric, sample.value, context.external_labels, context.external_url};
  std::vector<Label> annotations;
  for (const TemplatedPair& annotation : spec_.annotations) {
    annotations.push_back(Label{annotation.name, ExpandOrError(annotation.compiled, data)});
  }
  return Labels(std::move(annotations));
}

Status AlertingRule::Eval(int64_t time_ms, const PromqlEngine& engine, const SeriesStorage& storage,
                          const AlertContext& context, int64_t limit) {
  Vector result;
  if (Status s = engine.EvalVector(*spec_.expr, time_ms, storage, &result); !s.ok()) return s;
  return Update(result, time_ms, context, limit);
}

Status AlertingRule::Update(const Vector& result, int64_t time_ms, const AlertContext& context,
                            int64_t limit) {
  // Build this evaluation's alerts first: a duplicate label set fails the
  // whole evaluation without touching the state.
  std::unordered_map<std::string, Alert> current;
  for (const Sample& sample : result) {
    Alert alert;
    alert.labels = AlertLabels(sample, context);
    alert.annotations = Annotations(sample, context);
    alert.state = AlertState::kPending;
    alert.value = sample.value;
    alert.active_at_ms = time_ms;
    if (!current.emplace(alert.labels.Key(), std::move(alert)).second) {
      return Status::Error(
          "vector contains metrics with the same labelset after applying alert labels");
    }
  }

  std::lock_guard lock(mutex_);
  for (auto& [key, alert] : current) {
    auto it = active_.find(key);
    if (it != active_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = alert.value;
      it->second.annotations = std::move(alert.annotations);
      continue;
    }
    active_[key] = std::move(alert);  // new, or back after it resolved
  }

  int64_t active_or_pending = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    Alert& alert = it->second;
    if (!current.count(it->first)) {
      // The expression no longer returns it: keep firing for a while if
      // asked, else resolve (a pending one is simply forgotten).
      bool keep_firing = false;
      if (alert.state == AlertState::kFiring && spec_.keep_firing_for_ms > 0) {
        if (alert.keep_firing_since_ms == 0) alert.keep_firing_since_ms = time_ms;
        keep_firing = time_ms - alert.keep_firing_since_ms < spec_.keep_firing_for_ms;
      }
      bool expired =
          alert.resolved_at_ms != 0 && time_ms - alert.resolved_at_ms > kResolvedRetentionMs;
      if (alert.state == AlertState::kPending || expired) {
        it = active_.erase(it);
        continue;
      }
      if (alert.state != AlertState::kInactive && !keep_firing) {
        alert.state = AlertState::kInactive;
        alert.resolved_at_ms = time_ms;
      }
      if (!keep_firing) {
        ++it;
        continue;
      }
    } else {
      alert.keep_firing_since_ms = 0;
    }
    ++active_or_pending;
    if (alert.state == AlertState::kPending && time_ms - alert.active_at_ms >= spec_.for_ms) {
      alert.state = AlertState::kFiring;
      alert.fired_at_ms = time_ms;
    }
    ++it;
  }
  if (limit > 0 && active_or_pending > limit) {
    active_.clear();
    return Status::Error("exceeded limit of " + std::to_string(limit) + " with " +
                         std::to_string(active_or_pending) + " alerts");
  }
  return Status::Ok();
}

std::vector<AlertmanagerAlert> AlertingRule::AlertsToSend(int64_t time_ms, int64_t resend_delay_ms,
                                                          int64_t interval_ms,
                                                          const std::string& external_url,
                                                          const Labels& external_labels) {
  std::vector<AlertmanagerAlert> out;
  std::lock_guard lock(mutex_);
  for (auto& [key, alert] : active_) {
    if (alert.state == AlertState::kPending) continue;
    bool never_sent = alert.last_sent_at_ms == Alert::kNeverSent;
    bool resolved_since_sent =
        alert.resolved_at_ms != 0 && (never_sent || alert.resolved_at_ms > alert.last_sent_at_ms);
    bool resend_due = never_sent || alert.last_sent_at_ms + resend_delay_ms < time_ms;
    if (!resolved_since_sent && !resend_due) continue;
    alert.last_sent_at_ms = time_ms;
    alert.valid_until_ms = time_ms + 4 * std::max(resend_delay_ms, interval_ms);

    AlertmanagerAlert sent;
    LabelsBuilder labels(alert.labels);
    for (const Label& label : external_labels) {
      if (!alert.labels.Has(label.name)) labels.Set(label.name, label.value);
    }
    sent.labels = Pairs(labels.Build());
    sent.annotations = Pairs(alert.annotations);
    sent.starts_at_ms = alert.fired_at_ms;
    sent.ends_at_ms = alert.resolved_at_ms != 0 ? alert.resolved_at_ms : alert.valid_until_ms;
    sent.generator_url = GeneratorUrl(external_url, spec_.expr->String());
    out.push_back(std::move(sent));
  }
  return out;
}

void AlertingRule::TakeStateFrom(const AlertingRule& previous) {
  std::scoped_lock lock(mutex_, previous.mutex_);
  active_ = previous.active_;
}

std::vector<Alert> AlertingRule::SavedAlerts() const {
  std::lock_guard lock(mutex_);
  std::vector<Alert> out;
  for (const auto& [key, alert] : active_) out.push_back(alert);
  return out;
}

void AlertingRule::RestoreAlerts(const std::vector<Alert>& alerts) {
  std::lock_guard lock(mutex_);
  for (const Alert& alert : alerts) active_[alert.labels.Key()] = alert;
}

std::vector<Alert> AlertingRule::ActiveAlerts() const {
  std::lock_guard lock(mutex_);
  std::vector<Alert> out;
  for (const auto& [key, alert] : active_) {
    if (alert.state != AlertState::kInactive) out.push_back(alert);
  }
  std::sort(out.begin(), out.end(),
            [](const Alert& a, const Alert& b) { return a.labels < b.labels; });
  return out;
}

AlertState AlertingRule::state() const {
  std::lock_guard lock(mutex_);
  AlertState max = AlertState::kInactive;
  for (const auto& [key, alert] : active_) max = std::max(max, alert.state);
  return max;
}

RuleEvaluation AlertingRule::evaluation() const {
  std::lock_guard lock(mutex_);
  return evaluation_;
}

void AlertingRule::RecordEvaluation(const RuleEvaluation& evaluation) {
  std::lock_guard lock(mutex_);
  evaluation_ = evaluation;
}

}  // namespace txmon
