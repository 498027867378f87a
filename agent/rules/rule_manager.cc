#include "agent/rules/rule_manager.h"

#include "agent/base/metric_families.h"
#include "agent/base/wall_clock.h"
#include "agent/promql/promql_parser.h"

#include <chrono>

#include "agent/base/log.h"

namespace txmon {

namespace {

void AddValue(prometheus::MetricFamily* family, const std::string& group, double value) {
  AddMetricValue(
      *family, group.empty() ? MetricLabelPairs{} : MetricLabelPairs{{"rule_group", group}}, value);
}

}  // namespace

Status RuleManager::Query(std::string_view expr, int64_t time_ms, QueryResult* out) const {
  ExprPtr parsed;
  if (Status s = ParseExpr(expr, &parsed); !s.ok()) return s;
  return engine_.Eval(*parsed, time_ms, history_, out);
}

Status RuleManager::Create(RuleManagerOptions options, const MetricStore* store,
                           std::unique_ptr<RuleManager>* out) {
  std::vector<RuleGroupSpec> groups;
  if (Status s = LoadRuleFiles(options.rule_files, &groups); !s.ok()) return s;
  return Create(std::move(options), std::move(groups), store, out);
}

Status RuleManager::Create(RuleManagerOptions options, std::vector<RuleGroupSpec> groups,
                           const MetricStore* store, std::unique_ptr<RuleManager>* out) {
  if (options.evaluation_interval_ms <= 0) {
    return Status::Error("evaluation_interval must be positive");
  }
  std::unique_ptr<RuleManager> manager(new RuleManager());
  manager->options_ = std::move(options);
  manager->store_ = store;
  manager->engine_ = PromqlEngine(EngineOptions{manager->options_.lookback_ms});
  manager->history_.SetMaxBytes(manager->options_.history_max_bytes);
  manager->generation_ = manager->BuildGeneration(std::move(groups));
  *out = std::move(manager);
  return Status::Ok();
}

std::shared_ptr<RuleManager::Generation> RuleManager::BuildGeneration(
    std::vector<RuleGroupSpec> groups) {
  const RuleManagerOptions& o = options_;
  auto generation = std::make_shared<Generation>();
  std::vector<const Expr*> exprs;
  for (const RuleGroupSpec& group : groups) {
    for (const RuleSpec& rule : group.rules) exprs.push_back(rule.expr.get());
  }
  generation->plan = RetentionPlan(exprs, o.lookback_ms, o.history_retention_ms);
  if (store_ != nullptr) {
    generation->sampler = std::make_unique<StoreSampler>(*store_, generation->plan, &history_);
  }
  RuleGroupContext& context = generation->context;
  context.engine = &engine_;
  context.history = &history_;
  context.plan = &generation->plan;
  context.sampler = generation->sampler.get();
  context.external_labels = o.external_labels;
  context.external_url = o.external_url;
  context.resend_delay_ms = o.resend_delay_ms;
  context.notify = o.notify;
  size_t rules = 0;
  for (RuleGroupSpec& group : groups) {
    int64_t interval = group.interval_ms > 0 ? group.interval_ms : o.evaluation_interval_ms;
    rules += group.rules.size();
    generation->groups.push_back(std::make_unique<RuleGroup>(std::move(group), interval, &context));
  }
  Log(LogLevel::kInfo, "rules", "rules loaded",
      {{"groups", std::to_string(generation->groups.size())},
       {"rules", std::to_string(rules)},
       {"history_retention", FormatDuration(generation->plan.max_retention_ms())}});
  return generation;
}

std::shared_ptr<const RuleManager::GroupList> RuleManager::GroupSnapshot() const {
  std::lock_guard lock(generation_mutex_);
  return std::shared_ptr<const GroupList>(generation_, &generation_->groups);
}

namespace {

// The alerting rule in `groups` that `rule` continues: same group file and
// name, same alert name and labels.
const AlertingRule* FindPredecessor(const RuleManager::GroupList& groups, const RuleGroup& group,
                                    const AlertingRule& rule) {
  auto same_labels = [](const RuleSpec& a, const RuleSpec& b) {
    if (a.labels.size() != b.labels.size()) return false;
    for (size_t i = 0; i < a.labels.size(); ++i) {
      if (a.labels[i].name != b.labels[i].name || a.labels[i].text != b.labels[i].text) {
        return false;
      }
    }
    return true;
  };
  for (const auto& old_group : groups) {
    if (old_group->file() != group.file() || old_group->name() != group.name()) continue;
    for (const RuleGroup::Rule& old_rule : old_group->rules()) {
      if (old_rule.alerting && old_rule.alerting->spec().name == rule.spec().name &&
          same_labels(old_rule.alerting->spec(), rule.spec())) {
        return old_rule.alerting.get();
      }
    }
  }
  return nullptr;
}

// Whether `saved` can be an alert of the rule `spec`: same alert name, and
// the rule's fixed labels (those without a template) on it. Two rules of a
// group may share a name and differ in labels.
bool CarriesRuleLabels(const RuleSpec& spec, const RuleManager::RuleAlert& saved) {
  if (saved.rule != spec.name) return false;
  for (const TemplatedPair& label : spec.labels) {
    if (label.text.find("{{") != std::string::npos) continue;
    if (saved.alert.labels.Get(label.name) != label.text) return false;
  }
  return true;
}

}  // namespace

std::vector<RuleManager::RuleAlert> RuleManager::SaveAlerts() const {
  std::vector<RuleAlert> out;
  std::shared_ptr<const GroupList> groups = GroupSnapshot();
  for (const auto& group : *groups) {
    for (const RuleGroup::Rule& rule : group->rules()) {
      if (!rule.alerting) continue;
      for (Alert& alert : rule.alerting->SavedAlerts()) {
        out.push_back({group->file(), group->name(), rule.alerting->spec().name, std::move(alert)});
      }
    }
  }
  return out;
}

size_t RuleManager::RestoreAlerts(const std::vector<RuleAlert>& alerts) {
  size_t restored = 0;
  for (const auto& group : generation_->groups) {
    for (const RuleGroup::Rule& rule : group->rules()) {
      if (!rule.alerting) continue;
      std::vector<Alert> mine;
      for (const RuleAlert& saved : alerts) {
        if (saved.group_file == group->file() && saved.group_name == group->name() &&
            CarriesRuleLabels(rule.alerting->spec(), saved)) {
          mine.push_back(saved.alert);
        }
      }
      rule.alerting->RestoreAlerts(mine);
      restored += mine.size();
    }
  }
  return restored;
}

void RuleManager::Reload(std::vector<RuleGroupSpec> groups, int64_t evaluation_interval_ms) {
  if (evaluation_interval_ms > 0) options_.evaluation_interval_ms = evaluation_interval_ms;
  std::shared_ptr<Generation> next = BuildGeneration(std::move(groups));
  bool running, was_stopping;
  {
    std::lock_guard lock(stop_mutex_);
    running = !threads_.empty();
    was_stopping = stopping_;
    stopping_ = true;
  }
  JoinThreads();
  size_t carried = 0;
  for (const auto& group : next->groups) {
    for (const RuleGroup::Rule& rule : group->rules()) {
      if (!rule.alerting) continue;
      if (const AlertingRule* old = FindPredecessor(generation_->groups, *group, *rule.alerting)) {
        rule.alerting->TakeStateFrom(*old);
        ++carried;
      }
    }
  }
  {
    std::lock_guard lock(generation_mutex_);
    generation_ = std::move(next);
  }
  Log(LogLevel::kInfo, "rules", "rules reloaded", {{"alert_rules_kept", std::to_string(carried)}});
  std::lock_guard lock(stop_mutex_);
  stopping_ = was_stopping;
  if (running) StartThreads();
}

RuleManager::~RuleManager() { Stop(); }

void RuleManager::Start() {
  std::lock_guard lock(stop_mutex_);
  if (!threads_.empty() || stopping_) return;
  StartThreads();
}

// Caller holds stop_mutex_.
void RuleManager::StartThreads() {
  for (const auto& group : generation_->groups) {
    threads_.emplace_back([this, g = group.get()] { RunGroup(g); });
  }
  if (options_.history_retention_ms > 0 && generation_->sampler) {
    threads_.emplace_back([this, s = generation_->sampler.get()] { RunSampler(s); });
  }
}

void RuleManager::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  JoinThreads();
}

// Caller has set stopping_.
void RuleManager::JoinThreads() {
  stop_signal_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

// Ticks are aligned to multiples of the interval on the wall clock, and the
// tick time is the evaluation timestamp: groups with the same interval (or
// multiples of it) evaluate at the same instant and share one store sample.
void RuleManager::RunGroup(RuleGroup* group) {
  const int64_t interval = group->interval_ms();
  int64_t next = (WallClockMs() / interval + 1) * interval;
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    auto wake = std::chrono::system_clock::time_point(std::chrono::milliseconds(next));
    if (stop_signal_.wait_until(lock, wake, [this] { return stopping_; })) break;
    lock.unlock();
    group->Evaluate(next);
    lock.lock();
    next += interval;
    int64_t now = WallClockMs();
    if (now >= next) {
      // Behind schedule: skip the ticks that already passed.
      int64_t missed = (now - next) / interval + 1;
      group->CountMissedIterations(static_cast<uint64_t>(missed));
      next += missed * interval;
    }
  }
}

void RuleManager::RunSampler(StoreSampler* sampler) {
  const int64_t interval = std::max<int64_t>(options_.history_resolution_ms, 1);
  int64_t next = (WallClockMs() / interval + 1) * interval;
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    auto wake = std::chrono::system_clock::time_point(std::chrono::milliseconds(next));
    if (stop_signal_.wait_until(lock, wake, [this] { return stopping_; })) break;
    lock.unlock();
    sampler->Sample(next);
    history_.EnforceBudget();
    lock.lock();
    // Behind schedule: the missed ticks are gaps in the history, not a burst.
    next = std::max(next + interval, (WallClockMs() / interval + 1) * interval);
  }
}

void RuleManager::EvaluateAll(int64_t time_ms) {
  for (const auto& group : generation_->groups) group->Evaluate(time_ms);
}

std::vector<prometheus::MetricFamily> RuleManager::CollectMetrics() const {
  using prometheus::MetricType;
  auto evaluations =
      NewMetricFamily("txmon_rule_evaluations_total",
                      "Rule group evaluations, by group (file;name).", MetricType::Counter);
  auto failures = NewMetricFamily("txmon_rule_evaluation_failures_total",
                                  "Rule evaluations that failed, by group.", MetricType::Counter);
  auto missed = NewMetricFamily("txmon_rule_group_iterations_missed_total",
                                "Group evaluations skipped because the previous one ran too long.",
                                MetricType::Counter);
  auto duration = NewMetricFamily("txmon_rule_group_last_duration_seconds",
                                  "Duration of the group's last evaluation.", MetricType::Gauge);
  auto last = NewMetricFamily("txmon_rule_group_last_evaluation_timestamp_seconds",
                              "Time of the group's last evaluation.", MetricType::Gauge);
  auto interval = NewMetricFamily("txmon_rule_group_interval_seconds",
                                  "The group's evaluation interval.", MetricType::Gauge);
  auto rules = NewMetricFamily("txmon_rule_group_rules", "Rules in the group.", MetricType::Gauge);
  std::shared_ptr<const GroupList> groups = GroupSnapshot();
  for (const auto& group : *groups) {
    std::string key = group->file() + ";" + group->name();
    AddValue(&evaluations, key, static_cast<double>(group->evaluations()));
    AddValue(&failures, key, static_cast<double>(group->failures()));
    AddValue(&missed, key, static_cast<double>(group->missed_iterations()));
    AddValue(&duration, key, group->last_duration_seconds());
    AddValue(&last, key, static_cast<double>(group->last_evaluation_ms()) / 1000);
    AddValue(&interval, key, static_cast<double>(group->interval_ms()) / 1000);
    AddValue(&rules, key, static_cast<double>(group->rules().size()));
  }
  auto history_series = NewMetricFamily(
      "txmon_rule_history_series", "Series kept in the rules' sample history.", MetricType::Gauge);
  AddValue(&history_series, "", static_cast<double>(history_.series_count()));
  auto history_samples =
      NewMetricFamily("txmon_rule_history_samples", "Samples kept in the rules' sample history.",
                      MetricType::Gauge);
  AddValue(&history_samples, "", static_cast<double>(history_.sample_count()));
  auto history_bytes =
      NewMetricFamily("txmon_history_bytes",
                      "Bytes of the samples kept in the history (what history.max_bytes "
                      "caps).",
                      MetricType::Gauge);
  AddValue(&history_bytes, "", static_cast<double>(history_.bytes()));
  auto history_dropped = NewMetricFamily("txmon_history_samples_dropped_total",
                                         "Oldest samples dropped to keep the history within "
                                         "history.max_bytes.",
                                         MetricType::Counter);
  AddValue(&history_dropped, "", static_cast<double>(history_.dropped_samples()));
  return {evaluations, failures,       missed,          duration,      last,           interval,
          rules,       history_series, history_samples, history_bytes, history_dropped};
}

}  // namespace txmon
