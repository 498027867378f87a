#include "agent/main/alert_checkpoint.h"

namespace txmon {

namespace {

AlertCheckpoint::LabelList ToList(const Labels& labels) {
  AlertCheckpoint::LabelList out;
  for (const Label& label : labels) out.emplace_back(label.name, label.value);
  return out;
}

Labels FromList(const AlertCheckpoint::LabelList& list) {
  std::vector<Label> labels;
  for (const auto& [name, value] : list) labels.push_back({name, value});
  return Labels(std::move(labels));
}

}  // namespace

AlertCheckpoint ToAlertCheckpoint(const RuleManager::RuleAlert& saved) {
  const Alert& a = saved.alert;
  AlertCheckpoint out;
  out.group_file = saved.group_file;
  out.group_name = saved.group_name;
  out.rule = saved.rule;
  out.labels = ToList(a.labels);
  out.annotations = ToList(a.annotations);
  out.state = static_cast<uint8_t>(a.state);
  out.value = a.value;
  out.active_at_ms = a.active_at_ms;
  out.fired_at_ms = a.fired_at_ms;
  out.resolved_at_ms = a.resolved_at_ms;
  out.last_sent_at_ms = a.last_sent_at_ms;
  out.valid_until_ms = a.valid_until_ms;
  out.keep_firing_since_ms = a.keep_firing_since_ms;
  return out;
}

RuleManager::RuleAlert FromAlertCheckpoint(const AlertCheckpoint& saved) {
  RuleManager::RuleAlert out{saved.group_file, saved.group_name, saved.rule, Alert()};
  Alert& a = out.alert;
  a.labels = FromList(saved.labels);
  a.annotations = FromList(saved.annotations);
  a.state = static_cast<AlertState>(saved.state);
  a.value = saved.value;
  a.active_at_ms = saved.active_at_ms;
  a.fired_at_ms = saved.fired_at_ms;
  a.resolved_at_ms = saved.resolved_at_ms;
  a.last_sent_at_ms = saved.last_sent_at_ms;
  a.valid_until_ms = saved.valid_until_ms;
  a.keep_firing_since_ms = saved.keep_firing_since_ms;
  return out;
}

std::vector<AlertCheckpoint> SaveAlertState(const RuleManager& rules) {
  std::vector<AlertCheckpoint> out;
  for (const RuleManager::RuleAlert& alert : rules.SaveAlerts()) {
    out.push_back(ToAlertCheckpoint(alert));
  }
  return out;
}

size_t RestoreAlertState(const std::vector<AlertCheckpoint>& saved, RuleManager& rules) {
  std::vector<RuleManager::RuleAlert> alerts;
  for (const AlertCheckpoint& alert : saved) alerts.push_back(FromAlertCheckpoint(alert));
  return rules.RestoreAlerts(alerts);
}

}  // namespace txmon
