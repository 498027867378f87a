// RuleManager: loads the rule files, sizes the sample history from their
// selectors, and runs each group on its own thread at its interval (the
// group's `interval:`, else the global evaluation interval; 1s by default,
// 250ms works). Rule evaluation only enqueues alerts through `notify`.
//
// Ticks are aligned on the wall clock (multiples of the interval) and the
// tick time is the evaluation timestamp, so groups evaluate together and
// share one sample of the store. A group that falls behind skips the missed
// ticks (counted, as in Prometheus) rather than running back-to-back.
//
// Reload replaces the rules while running (a config reload): the group
// threads stop, the new groups take over the alert state of unchanged
// rules, the threads start again. The sample history is kept.
//
// Threading: Start/Stop/Reload from one owner thread at a time;
// GroupSnapshot(), history(), Query() and CollectMetrics() from any thread while
// running; groups() and retention_plan() from any thread when no Reload can
// run concurrently (tests). EvaluateAll is for tests and benchmarks, and
// must not run while the group threads do.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/metric_family.h>

#include "agent/base/status.h"
#include "agent/history/retention_plan.h"
#include "agent/history/sample_history.h"
#include "agent/history/store_sampler.h"
#include "agent/promql/promql_engine.h"
#include "agent/rules/rule_file.h"
#include "agent/rules/rule_group.h"
#include "agent/store/metric_store.h"

namespace txmon {

struct RuleManagerOptions {
  std::vector<std::string> rule_files;  // glob patterns
  int64_t evaluation_interval_ms = 1000;
  // Like Prometheus's --rules.alert.resend-delay: how often a firing alert
  // is sent again.
  int64_t resend_delay_ms = 60'000;
  int64_t lookback_ms = 5 * 60 * 1000;
  // Base of each alert's generatorURL (e.g. "http://txmon-host:9464").
  std::string external_url;
  Labels external_labels;  // added to every alert sent
  AlertSink notify;        // receives alerts due for sending; may be empty
  // history: with a retention, every store series is sampled into the
  // history at each resolution tick (on a thread of its own) and kept for
  // at least the retention, rules or not; 0 keeps only what rules select.
  int64_t history_retention_ms = 0;
  int64_t history_resolution_ms = 1000;
  uint64_t history_max_bytes = UINT64_MAX;
};

class RuleManager {
 public:
  // Loads options.rule_files; the store is sampled (not owned) at each
  // evaluation. Nothing runs until Start.
  static Status Create(RuleManagerOptions options, const MetricStore* store,
                       std::unique_ptr<RuleManager>* out);
  // The same from groups already parsed (tests, benchmarks). `store` may
  // be null: rules then read only what is appended to history().
  static Status Create(RuleManagerOptions options, std::vector<RuleGroupSpec> groups,
                       const MetricStore* store, std::unique_ptr<RuleManager>* out);

  ~RuleManager();
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  void Start();
  // Stops the group threads, waiting for running evaluations. Idempotent.
  void Stop();

  // Every group once at `time_ms`, in load order, on the calling thread.
  void EvaluateAll(int64_t time_ms);

  // Replaces the groups with `groups` (already loaded and checked). An
  // alerting rule with the same group (file and name), alert name and
  // labels as before keeps its alerts' state: pending alerts keep their
  // activeAt, firing ones stay firing without being sent again early.
  void Reload(std::vector<RuleGroupSpec> groups, int64_t evaluation_interval_ms);

  // An alert with the rule that keeps it, for checkpoints.
  struct RuleAlert {
    std::string group_file, group_name, rule;
    Alert alert;
  };
  // Every alert of every alerting rule. Any thread.
  std::vector<RuleAlert> SaveAlerts() const;
  // Gives saved alerts back to the alerting rule of the same group (file
  // and name) and alert name whose fixed labels they carry; others are
  // dropped. Before Start. Returns how many were restored.
  size_t RestoreAlerts(const std::vector<RuleAlert>& alerts);

  using GroupList = std::vector<std::unique_ptr<RuleGroup>>;
  const GroupList& groups() const { return generation_->groups; }
  // The current groups, kept alive for the caller across a Reload.
  std::shared_ptr<const GroupList> GroupSnapshot() const;
  SampleHistory& history() { return history_; }
  const SampleHistory& history() const { return history_; }
  const PromqlEngine& engine() const { return engine_; }
  const RetentionPlan& retention_plan() const { return generation_->plan; }

  // Evaluates a PromQL expression at `time_ms` over the sample history, as
  // Prometheus's /api/v1/query does. The history holds every store series
  // for history_retention_ms, and the series the loaded rules select for
  // the windows they use. Any thread.
  Status Query(std::string_view expr, int64_t time_ms, QueryResult* out) const;

  // txmon_rule_* self-metrics (Prometheus's prometheus_rule_* names).
  std::vector<prometheus::MetricFamily> CollectMetrics() const;

 private:
  // What one set of rule files makes: the history they need, the sampler
  // that feeds it, and the groups; replaced as a whole by Reload.
  struct Generation {
    RetentionPlan plan;
    std::unique_ptr<StoreSampler> sampler;
    RuleGroupContext context;
    GroupList groups;
  };

  RuleManager() = default;
  std::shared_ptr<Generation> BuildGeneration(std::vector<RuleGroupSpec> groups);
  void RunGroup(RuleGroup* group);
  // Samples the store into the history every resolution tick (aligned on
  // the wall clock like the groups, so a group at the same tick shares the
  // sample) and keeps the history within its byte cap.
  void RunSampler(StoreSampler* sampler);
  void StartThreads();
  void JoinThreads();

  RuleManagerOptions options_;
  const MetricStore* store_ = nullptr;
  PromqlEngine engine_;
  SampleHistory history_;
  mutable std::mutex generation_mutex_;  // guards the pointer, for GroupSnapshot
  std::shared_ptr<Generation> generation_;

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace txmon
