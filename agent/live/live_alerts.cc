#include "agent/live/live_alerts.h"

#include <algorithm>

namespace txmon {

namespace {

LiveAlert ToLiveAlert(const Alert& alert) {
  LiveAlert live;
  live.name = std::string(alert.labels.Get("alertname"));
  live.state = std::string(AlertStateName(alert.state));
  live.severity = std::string(alert.labels.Get("severity"));
  live.summary = std::string(alert.annotations.Get("summary"));
  live.active_at_ms = alert.active_at_ms;
  return live;
}

std::vector<LiveAlert> ActiveAlerts(const RuleManager& rules) {
  std::vector<LiveAlert> alerts;
  // A snapshot: a reload may replace the groups while the board reads them.
  const std::shared_ptr<const RuleManager::GroupList> groups = rules.GroupSnapshot();
  for (const auto& group : *groups) {
    for (const RuleGroup::Rule& rule : group->rules()) {
      if (!rule.alerting) continue;
      for (const Alert& alert : rule.alerting->ActiveAlerts()) alerts.push_back(ToLiveAlert(alert));
    }
  }
  // Firing before pending, then the oldest first.
  std::stable_sort(alerts.begin(), alerts.end(), [](const LiveAlert& a, const LiveAlert& b) {
    if (a.state != b.state) return a.state == "firing";
    return a.active_at_ms < b.active_at_ms;
  });
  return alerts;
}

}  // namespace

LiveAlertSource LiveAlertsFrom(const RuleManager* rules) {
  return [rules] { return ActiveAlerts(*rules); };
}

}  // namespace txmon
