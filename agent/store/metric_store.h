// MetricStore: every metric txmon keeps — the business metrics the mappings
// declare and txmon's own self-metrics — as counters, gauges and histograms.
//
// Values are fixed-point micro-units (agent/base/fixed_point.h), so money
// sums are exact. A Series is a handle: the map stage resolves label values
// to a Series once and then updates it with one atomic add, no lookup.
//
// Threading:
//  - Series updates (Add/Set/Observe) are atomic: any thread.
//  - Metric::Resolve and MetricStore::Add* and Restore: the pipeline thread
//    only (one writer); they take the metric's mutex only when a new series
//    is created.
//  - Collect, Snapshot and VisitSeries: any thread, concurrently with updates.
//    A series' buckets and sum may be one observation apart mid-update.
//
// The store never knows about HTTP: Collect returns prometheus-cpp's model,
// which the web stage serializes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/metric_family.h>

#include "agent/base/status.h"

namespace txmon {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };
std::string_view MetricTypeName(MetricType type);

struct MetricSpec {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  // Per label: how many distinct values are kept before further values fold
  // into "other". Empty or 0: unlimited.
  std::vector<uint32_t> label_value_limits;
  // Histograms: upper bounds in micro-units, ascending (+Inf implied).
  std::vector<int64_t> bucket_bounds;
  // How many series the metric may hold, the overflow series (every label
  // "other") included; further label-value combinations fold into that
  // series. 0: unlimited.
  uint32_t max_series = 0;
};

inline constexpr std::string_view kFoldedLabelValue = "other";

// One time series: a label-value combination of a metric.
class Series {
 public:
  Series(std::vector<std::string> label_values, size_t bucket_count);

  void Add(int64_t micros) { value_.fetch_add(micros, std::memory_order_relaxed); }
  void Set(int64_t micros) { value_.store(micros, std::memory_order_relaxed); }
  // Histograms only: `bucket` is the index from Metric::BucketFor.
  void Observe(size_t bucket, int64_t micros) {
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    value_.fetch_add(micros, std::memory_order_relaxed);
  }

  // Restore only: overwrites one bucket's count.
  void LoadBucketCount(size_t i, uint64_t count) {
    buckets_[i].store(count, std::memory_order_relaxed);
  }

  int64_t value() const { return value_.load(std::memory_order_relaxed); }
  // Histograms: the sum of observations is value(); per-bucket counts are
  // not cumulative; the last bucket is +Inf.
  uint64_t bucket_count(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  size_t bucket_size() const { return bucket_size_; }
  uint64_t observation_count() const;
  const std::vector<std::string>& label_values() const { return label_values_; }

 private:
  friend class Metric;
  const std::vector<std::string> label_values_;
  std::atomic<int64_t> value_{0};
  const size_t bucket_size_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
};

// A metric family: one name, help, type and label names; many series.
class Metric {
 public:
  static constexpr size_t kMaxLabels = 8;

  explicit Metric(MetricSpec spec);

  // As first declared; the limits in it may since have been changed by
  // SetLimits (a config reload).
  const MetricSpec& spec() const { return spec_; }

  // Replaces the per-label value limits and max_series for values and
  // series created from now on; existing ones stay. Pipeline thread only.
  void SetLimits(std::vector<uint32_t> label_value_limits, uint32_t max_series);

  // The series for these label values (one per label name, in order),
  // created on first use. Values past a label's limit fold into "other";
  // combinations past the metric's max_series fold into the overflow series
  // (every label "other") without remembering the values, so a flood of
  // distinct values costs no memory. Pipeline thread only. Allocates only
  // when a value or series is new.
  Series* Resolve(std::span<const std::string_view> label_values);
  // Convenience for fixed label values at start-up.
  Series* Resolve(std::initializer_list<std::string_view> label_values);

  // Index of the histogram bucket `micros` falls into.
  size_t BucketFor(int64_t micros) const;

  // How many label values were folded into "other" so far.
  uint64_t folded_values() const { return folded_values_.load(std::memory_order_relaxed); }
  // How many resolutions landed in the overflow series because the metric
  // had reached its max_series.
  uint64_t folded_series() const { return folded_series_.load(std::memory_order_relaxed); }
  // How many series the metric holds. Any thread.
  size_t series_count() const;

  // Calls `visit` for every series, holding the series-list lock.
  void VisitSeries(const std::function<void(const Series&)>& visit) const;

 private:
  struct SeriesKey {
    std::array<uint32_t, kMaxLabels> ids{};
    bool operator==(const SeriesKey&) const = default;
  };
  struct SeriesKeyHash {
    size_t operator()(const SeriesKey& key) const;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  using ValueIds = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

  static constexpr uint32_t kNoValueId = UINT32_MAX;

  // The id of `value` for `label`, folding past the label's limit. A value
  // not seen before gets a new id if `may_add`, else kNoValueId.
  uint32_t ValueId(size_t label, std::string_view value, bool may_add);
  uint32_t AddValue(size_t label, std::string_view value);
  Series* ResolveSlow(std::span<const std::string_view> label_values);
  // True when one more ordinary series would leave no room for the
  // overflow series within max_series.
  bool AtSeriesLimit() const;
  // `given_labels`: how many of the key's ids name values; the rest are
  // empty (a caller that passed fewer values than labels).
  Series* CreateSeries(const SeriesKey& key, size_t given_labels);
  // The overflow series, created on first use. Counts a folded series.
  Series* Overflow();
  Series* FindRecent(uint64_t hash, std::span<const std::string_view> label_values) const;
  void RememberRecent(uint64_t hash, Series* series);

  // The hot path: label values hashed once, straight to their series, with
  // no per-label dictionary lookups. Holds only series whose values were not
  // folded, so its size is bounded by the label limits. Open addressing,
  // kept at most half full.
  struct RecentSlot {
    uint64_t hash = 0;
    Series* series = nullptr;
  };
  std::vector<RecentSlot> recent_;
  size_t recent_used_ = 0;

  const MetricSpec spec_;
  std::vector<uint32_t> label_value_limits_;      // pipeline thread
  uint32_t max_series_ = 0;                       // pipeline thread
  std::vector<ValueIds> value_ids_;               // per label: value -> id (pipeline thread)
  std::vector<std::vector<std::string>> values_;  // per label: id -> value
  std::unordered_map<SeriesKey, Series*, SeriesKeyHash> by_key_;  // pipeline thread
  mutable std::mutex series_mutex_;                               // guards series_ against readers
  std::deque<Series> series_;                                     // stable addresses
  Series* overflow_ = nullptr;  // every label "other" (pipeline thread)
  std::atomic<uint64_t> folded_values_{0};
  std::atomic<uint64_t> folded_series_{0};
};

// A point-in-time copy of the whole store, for checkpoints.
struct SeriesSnapshot {
  std::vector<std::string> label_values;
  int64_t value = 0;                    // counter/gauge value or histogram sum (micros)
  std::vector<uint64_t> bucket_counts;  // histograms: per bucket, not cumulative
};
struct MetricSnapshot {
  std::string name;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<int64_t> bucket_bounds;
  std::vector<SeriesSnapshot> series;
};
struct StoreSnapshot {
  std::vector<MetricSnapshot> metrics;
};

class MetricStore {
 public:
  // Adds a metric; refuses a duplicate name or an invalid spec (names as
  // Prometheus allows, at most kMaxLabels labels, ascending buckets).
  Status Add(MetricSpec spec, Metric** out);
  Metric* Find(std::string_view name) const;
  // For a config reload: the metric of this name if it has the same type,
  // label names and buckets (its series and values carry over; the new
  // limits are the caller's to apply with SetLimits), else Add. A metric of
  // this name that differs is refused.
  Status Declare(MetricSpec spec, Metric** out);
  // Whether Declare would accept `spec`.
  Status CheckDeclare(const MetricSpec& spec) const;

  // Prometheus model of every metric, for /metrics. Any thread.
  std::vector<prometheus::MetricFamily> Collect() const;

  StoreSnapshot Snapshot() const;
  // Loads values from `snapshot` into metrics of the same name, type, labels
  // and buckets. A histogram whose new buckets are a subset of the saved
  // ones keeps its values (the saved buckets merge exactly into the new).
  // Metrics in the snapshot that no longer match otherwise (the config
  // changed) are skipped and their names appended to `skipped`; `notes`
  // gets one line per metric not restored as saved, naming it and what
  // changed. Pipeline thread, before the pipeline starts.
  void Restore(const StoreSnapshot& snapshot, std::vector<std::string>* skipped,
               std::vector<std::string>* notes = nullptr);
  // Adds `snapshot`'s values to the metrics that Restore would load them
  // into: a retired agent's counts, adopted by this one. Counters, gauges
  // and every histogram bucket, count and sum add exactly (integers and
  // micros), as `sum without(instance)` adds the two agents; gauges named
  // txmon_* describe the process that set them and are left out. `skipped`
  // and `notes` as Restore. Pipeline thread.
  void Merge(const StoreSnapshot& snapshot, std::vector<std::string>* skipped,
             std::vector<std::string>* notes = nullptr);

  void VisitMetrics(const std::function<void(const Metric&)>& visit) const;

 private:
  void Load(const StoreSnapshot& snapshot, bool add, std::vector<std::string>* skipped,
            std::vector<std::string>* notes);

  mutable std::mutex metrics_mutex_;
  std::deque<Metric> metrics_;
};

}  // namespace txmon
