// StoreSampler: copies the current values of the MetricStore's series into
// the SampleHistory at each evaluation, as the series Prometheus would
// scrape from /metrics (a histogram becomes NAME_bucket{le=...}
// (cumulative), NAME_sum and NAME_count). Only series the RetentionPlan
// wants are copied; the decision is made once per store series.
//
// This is the agent's own fresh state: rules see a change within one
// evaluation interval, with no scrape in between.
//
// Threading: Sample may be called from several group threads; calls are
// serialised, and a call at or before the last sampled time does nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "agent/history/retention_plan.h"
#include "agent/history/sample_history.h"
#include "agent/store/metric_store.h"

namespace txmon {

class StoreSampler {
 public:
  StoreSampler(const MetricStore& store, const RetentionPlan& plan, SampleHistory* history)
      : store_(store), plan_(plan), history_(history) {}

  void Sample(int64_t time_ms);

  // How many history series are fed from the store.
  size_t tracked_series() const;

 private:
  // One history series fed from a store series: its value, a bucket's
  // cumulative count (bucket < bucket_size), or the observation count.
  struct Feed {
    SampleHistory::SeriesId id;
    enum class What { kValue, kCumulativeBucket, kCount } what;
    size_t bucket = 0;
  };

  const std::vector<Feed>& FeedsFor(const Metric& metric, const Series& series);
  void AddFeed(const Labels& labels, Feed::What what, size_t bucket, std::vector<Feed>* feeds);
  bool MayMatch(const Metric& metric);

  const MetricStore& store_;
  const RetentionPlan& plan_;
  SampleHistory* history_;
  mutable std::mutex mutex_;
  int64_t last_time_ms_ = std::numeric_limits<int64_t>::min();
  std::unordered_map<const Metric*, bool> may_match_;
  std::unordered_map<const Series*, std::vector<Feed>> feeds_;
  size_t tracked_ = 0;
};

}  // namespace txmon
