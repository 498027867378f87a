#include "agent/store/metric_store.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>

#include "agent/base/fixed_point.h"
#include "agent/base/float_text.h"
#include "agent/base/metric_names.h"

namespace txmon {

namespace {

// Why `a` and `b` cannot be exposed side by side: a histogram's _bucket,
// _sum or _count series would carry the other metric's name.
std::string SeriesNameClash(const MetricSpec& a, const MetricSpec& b) {
  for (const auto& [histogram, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    if (histogram->type != MetricType::kHistogram) continue;
    for (std::string_view suffix : kHistogramSuffixes) {
      if (other->name == histogram->name + std::string(suffix)) {
        return "metric \"" + other->name + "\" has the name of a series of histogram \"" +
               histogram->name + "\"";
      }
    }
  }
  return "";
}

std::string ListText(const std::vector<std::string>& items) {
  std::string text = "[";
  for (const std::string& item : items) text += (text.size() > 1 ? ", " : "") + item;
  return text + "]";
}

std::string BucketsText(const std::vector<int64_t>& bounds) {
  std::vector<std::string> items;
  for (int64_t micros : bounds) {
    std::ostringstream out;
    out << MicrosToDouble(micros);
    items.push_back(out.str());
  }
  return ListText(items);
}

// What changed between two specs of one metric, as a user reads it
// ("labels [a, b] -> [a, c]"), or "" if type, labels and buckets are the same.
std::string SpecChange(const MetricSpec& old, const MetricSpec& now) {
  std::string changed;
  auto add = [&](const std::string& what) { changed += (changed.empty() ? "" : ", ") + what; };
  if (old.type != now.type) {
    add("type " + std::string(MetricTypeName(old.type)) + " -> " +
        std::string(MetricTypeName(now.type)));
  }
  if (old.label_names != now.label_names) {
    add("labels " + ListText(old.label_names) + " -> " + ListText(now.label_names));
  }
  if (old.bucket_bounds != now.bucket_bounds) {
    add("buckets " + BucketsText(old.bucket_bounds) + " -> " + BucketsText(now.bucket_bounds));
  }
  return changed;
}

prometheus::MetricType ToPrometheusType(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return prometheus::MetricType::Counter;
    case MetricType::kGauge:
      return prometheus::MetricType::Gauge;
    case MetricType::kHistogram:
      return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

prometheus::ClientMetric ToClientMetric(const MetricSpec& spec, const Series& series) {
  prometheus::ClientMetric out;
  for (size_t i = 0; i < spec.label_names.size(); ++i) {
    out.label.push_back({spec.label_names[i], series.label_values()[i]});
  }
  switch (spec.type) {
    case MetricType::kCounter:
      out.counter.value = MicrosToDouble(series.value());
      break;
    case MetricType::kGauge:
      out.gauge.value = MicrosToDouble(series.value());
      break;
    case MetricType::kHistogram: {
      uint64_t cumulative = 0;
      for (size_t b = 0; b < series.bucket_size(); ++b) {
        cumulative += series.bucket_count(b);
        double bound = b < spec.bucket_bounds.size() ? MicrosToDouble(spec.bucket_bounds[b])
                                                     : std::numeric_limits<double>::infinity();
        out.histogram.bucket.push_back({cumulative, bound});
      }
      out.histogram.sample_count = cumulative;
      out.histogram.sample_sum = MicrosToDouble(series.value());
      break;
    }
  }
  return out;
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "counter";
}

Series::Series(std::vector<std::string> label_values, size_t bucket_count)
    : label_values_(std::move(label_values)),
      bucket_size_(bucket_count),
      buckets_(bucket_count ? std::make_unique<std::atomic<uint64_t>[]>(bucket_count) : nullptr) {}

uint64_t Series::observation_count() const {
  uint64_t total = 0;
  for (size_t b = 0; b < bucket_size_; ++b) total += bucket_count(b);
  return total;
}

Metric::Metric(MetricSpec spec)
    : spec_(std::move(spec)),
      label_value_limits_(spec_.label_value_limits),
      max_series_(spec_.max_series),
      value_ids_(spec_.label_names.size()),
      values_(spec_.label_names.size()) {}

void Metric::SetLimits(std::vector<uint32_t> label_value_limits, uint32_t max_series) {
  label_value_limits_ = std::move(label_value_limits);
  max_series_ = max_series;
}

size_t Metric::SeriesKeyHash::operator()(const SeriesKey& key) const {
  uint64_t hash = 1469598103934665603ULL;
  for (uint32_t id : key.ids) hash = (hash ^ id) * 1099511628211ULL;
  return static_cast<size_t>(hash);
}

uint32_t Metric::ValueId(size_t label, std::string_view value, bool may_add) {
  ValueIds& ids = value_ids_[label];
  if (auto it = ids.find(value); it != ids.end()) return it->second;
  uint32_t limit = label < label_value_limits_.size() ? label_value_limits_[label] : 0;
  std::string_view kept = value;
  if (limit != 0 && ids.size() >= limit) {
    folded_values_.fetch_add(1, std::memory_order_relaxed);
    kept = kFoldedLabelValue;
    if (auto it = ids.find(kept); it != ids.end()) return it->second;
  }
  return may_add ? AddValue(label, kept) : kNoValueId;
}

uint32_t Metric::AddValue(size_t label, std::string_view value) {
  ValueIds& ids = value_ids_[label];
  if (auto it = ids.find(value); it != ids.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(values_[label].size());
  values_[label].emplace_back(value);
  ids.emplace(std::string(value), id);
  return id;
}

namespace {

// Hashes label values 8 bytes at a time. Not cryptographic: collisions are
// resolved by comparing the values.
uint64_t HashLabelValues(std::span<const std::string_view> values) {
  constexpr uint64_t kMultiplier = 0x9E3779B97F4A7C15ULL;
  uint64_t hash = 0x243F6A8885A308D3ULL;
  for (std::string_view value : values) {
    hash = (hash ^ value.size()) * kMultiplier;
    size_t i = 0;
    for (; i + 8 <= value.size(); i += 8) {
      uint64_t word;
      memcpy(&word, value.data() + i, 8);
      hash = (hash ^ word) * kMultiplier;
      hash ^= hash >> 29;
    }
    uint64_t tail = 0;
    memcpy(&tail, value.data() + i, value.size() - i);
    hash = (hash ^ tail) * kMultiplier;
    hash ^= hash >> 32;
  }
  return hash;
}

bool SameValues(const std::vector<std::string>& stored, std::span<const std::string_view> values) {
  if (stored.size() < values.size()) return false;
  for (size_t i = 0; i < values.size(); ++i) {
    if (stored[i] != values[i]) return false;
  }
  return true;
}

}  // namespace

Series* Metric::FindRecent(uint64_t hash, std::span<const std::string_view> label_values) const {
  if (recent_.empty()) return nullptr;
  const size_t mask = recent_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const RecentSlot& slot = recent_[i];
    if (!slot.series) return nullptr;
    if (slot.hash == hash && SameValues(slot.series->label_values(), label_values)) {
      return slot.series;
    }
  }
}

void Metric::RememberRecent(uint64_t hash, Series* series) {
  if ((recent_used_ + 1) * 2 > recent_.size()) {
    std::vector<RecentSlot> old = std::move(recent_);
    recent_.assign(std::max<size_t>(16, old.size() * 2), RecentSlot{});
    recent_used_ = 0;
    for (const RecentSlot& slot : old) {
      if (slot.series) RememberRecent(slot.hash, slot.series);
    }
  }
  const size_t mask = recent_.size() - 1;
  size_t i = hash & mask;
  while (recent_[i].series) i = (i + 1) & mask;
  recent_[i] = {hash, series};
  ++recent_used_;
}

Series* Metric::Resolve(std::span<const std::string_view> label_values) {
  const uint64_t hash = HashLabelValues(label_values);
  if (Series* series = FindRecent(hash, label_values)) return series;
  Series* series = ResolveSlow(label_values);
  // Folded values resolve to another value's series: they keep the slow path,
  // so a flood of distinct values cannot grow this table.
  if (SameValues(series->label_values(), label_values) &&
      label_values.size() == spec_.label_names.size()) {
    RememberRecent(hash, series);
  }
  return series;
}

Series* Metric::ResolveSlow(std::span<const std::string_view> label_values) {
  // At the limit, values are looked up but never added: only combinations
  // of known values can still name an existing series.
  const bool may_add = !AtSeriesLimit();
  SeriesKey key;
  const size_t labels = std::min(label_values.size(), spec_.label_names.size());
  for (size_t i = 0; i < labels; ++i) {
    key.ids[i] = ValueId(i, label_values[i], may_add);
    if (key.ids[i] == kNoValueId) return Overflow();
  }
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  return may_add ? CreateSeries(key, labels) : Overflow();
}

bool Metric::AtSeriesLimit() const {
  if (max_series_ == 0 || spec_.label_names.empty()) return false;
  return by_key_.size() + (overflow_ ? 0 : 1) >= max_series_;
}

Series* Metric::CreateSeries(const SeriesKey& key, size_t given_labels) {
  std::vector<std::string> values;
  values.reserve(spec_.label_names.size());
  bool all_folded = true;
  for (size_t i = 0; i < spec_.label_names.size(); ++i) {
    values.push_back(i < given_labels ? values_[i][key.ids[i]] : std::string());
    all_folded = all_folded && values.back() == kFoldedLabelValue;
  }
  size_t buckets = spec_.type == MetricType::kHistogram ? spec_.bucket_bounds.size() + 1 : 0;
  Series* series;
  {
    std::lock_guard lock(series_mutex_);
    series = &series_.emplace_back(std::move(values), buckets);
  }
  by_key_.emplace(key, series);
  if (all_folded && !spec_.label_names.empty()) overflow_ = series;
  return series;
}

Series* Metric::Overflow() {
  folded_series_.fetch_add(1, std::memory_order_relaxed);
  if (overflow_) return overflow_;
  SeriesKey key;
  for (size_t i = 0; i < spec_.label_names.size(); ++i) key.ids[i] = AddValue(i, kFoldedLabelValue);
  if (auto it = by_key_.find(key); it != by_key_.end()) return overflow_ = it->second;
  return CreateSeries(key, spec_.label_names.size());
}

size_t Metric::series_count() const {
  std::lock_guard lock(series_mutex_);
  return series_.size();
}

Series* Metric::Resolve(std::initializer_list<std::string_view> label_values) {
  return Resolve(std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

size_t Metric::BucketFor(int64_t micros) const {
  // Buckets are few (10-20): a linear scan is cheaper than a binary search.
  const std::vector<int64_t>& bounds = spec_.bucket_bounds;
  size_t i = 0;
  while (i < bounds.size() && micros > bounds[i]) ++i;
  return i;
}

void Metric::VisitSeries(const std::function<void(const Series&)>& visit) const {
  std::lock_guard lock(series_mutex_);
  for (const Series& series : series_) visit(series);
}

Status MetricStore::Add(MetricSpec spec, Metric** out) {
  if (std::string problem = MetricNameProblem(spec.name); !problem.empty()) {
    return Status::Error("invalid metric name \"" + spec.name + "\": " + problem);
  }
  if (spec.label_names.size() > Metric::kMaxLabels) {
    return Status::Error("metric \"" + spec.name + "\" has more than 8 labels");
  }
  for (const std::string& label : spec.label_names) {
    if (std::string problem = LabelNameProblem(label); !problem.empty()) {
      return Status::Error("metric \"" + spec.name + "\": invalid label name \"" + label +
                           "\": " + problem);
    }
  }
  if (!std::is_sorted(spec.bucket_bounds.begin(), spec.bucket_bounds.end()) ||
      std::adjacent_find(spec.bucket_bounds.begin(), spec.bucket_bounds.end()) !=
          spec.bucket_bounds.end()) {
    return Status::Error("metric \"" + spec.name + "\": buckets must be strictly ascending");
  }
  if (spec.type == MetricType::kHistogram && spec.bucket_bounds.empty()) {
    return Status::Error("histogram \"" + spec.name + "\" needs at least one bucket");
  }
  std::lock_guard lock(metrics_mutex_);
  for (const Metric& metric : metrics_) {
    if (metric.spec().name == spec.name) {
      return Status::Error("metric \"" + spec.name + "\" is defined twice");
    }
    if (std::string clash = SeriesNameClash(metric.spec(), spec); !clash.empty()) {
      return Status::Error(clash);
    }
  }
  Metric& metric = metrics_.emplace_back(std::move(spec));
  if (out) *out = &metric;
  return Status::Ok();
}

Status MetricStore::CheckDeclare(const MetricSpec& spec) const {
  const Metric* existing = Find(spec.name);
  if (!existing) return Status::Ok();
  const MetricSpec& old = existing->spec();
  std::string changed = SpecChange(old, spec);
  if (!changed.empty()) {
    return Status::Error("metric \"" + spec.name + "\" changed its " + changed +
                         ": restart txmon to apply that");
  }
  return Status::Ok();
}

Status MetricStore::Declare(MetricSpec spec, Metric** out) {
  if (Status s = CheckDeclare(spec); !s.ok()) return s;
  if (Metric* existing = Find(spec.name)) {
    if (out) *out = existing;
    return Status::Ok();
  }
  return Add(std::move(spec), out);
}

Metric* MetricStore::Find(std::string_view name) const {
  std::lock_guard lock(metrics_mutex_);
  for (const Metric& metric : metrics_) {
    if (metric.spec().name == name) return const_cast<Metric*>(&metric);
  }
  return nullptr;
}

void MetricStore::VisitMetrics(const std::function<void(const Metric&)>& visit) const {
  std::lock_guard lock(metrics_mutex_);
  for (const Metric& metric : metrics_) visit(metric);
}

std::vector<prometheus::MetricFamily> MetricStore::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  VisitMetrics([&](const Metric& metric) {
    const MetricSpec& spec = metric.spec();
    prometheus::MetricFamily family{spec.name, spec.help, ToPrometheusType(spec.type), {}};
    metric.VisitSeries(
        [&](const Series& series) { family.metric.push_back(ToClientMetric(spec, series)); });
    if (!family.metric.empty()) families.push_back(std::move(family));
  });
  return families;
}

StoreSnapshot MetricStore::Snapshot() const {
  StoreSnapshot snapshot;
  VisitMetrics([&](const Metric& metric) {
    const MetricSpec& spec = metric.spec();
    MetricSnapshot& out = snapshot.metrics.emplace_back();
    out.name = spec.name;
    out.type = spec.type;
    out.label_names = spec.label_names;
    out.bucket_bounds = spec.bucket_bounds;
    metric.VisitSeries([&](const Series& series) {
      SeriesSnapshot& s = out.series.emplace_back();
      s.label_values = series.label_values();
      s.value = series.value();
      for (size_t b = 0; b < series.bucket_size(); ++b)
        s.bucket_counts.push_back(series.bucket_count(b));
    });
  });
  return snapshot;
}

namespace {

// Loads a saved series' value and bucket counts into `series`, replacing
// them or adding to them.
void LoadSeries(Series& series, const SeriesSnapshot& saved, bool add) {
  if (add) {
    series.Add(saved.value);
  } else {
    series.Set(saved.value);
  }
  for (size_t b = 0; b < saved.bucket_counts.size() && b < series.bucket_size(); ++b) {
    const uint64_t base = add ? series.bucket_count(b) : 0;
    series.LoadBucketCount(b, base + saved.bucket_counts[b]);
  }
}

// Saved series that now fold (a lower max_values or max_series) add to the
// series they fold into, after the series saved under that series' own
// labels is loaded, so a counter keeps its total whatever the saved order.
// With `add`, every saved series adds to the one it resolves to (a merge).
void RestoreMetric(Metric& metric, const MetricSnapshot& saved, bool add) {
  std::vector<std::pair<Series*, const SeriesSnapshot*>> folded;
  for (const SeriesSnapshot& s : saved.series) {
    std::vector<std::string_view> values(s.label_values.begin(), s.label_values.end());
    Series* series = metric.Resolve(values);
    if (add) {
      LoadSeries(*series, s, /*add=*/true);
    } else if (series->label_values() == s.label_values) {
      LoadSeries(*series, s, /*add=*/false);
    } else {
      folded.emplace_back(series, &s);
    }
  }
  for (const auto& [series, s] : folded) LoadSeries(*series, *s, /*add=*/true);
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ",") + name;
  return out;
}

std::string JoinBounds(const std::vector<int64_t>& bounds) {
  std::string out;
  for (int64_t bound : bounds)
    out += (out.empty() ? "" : ",") + FormatFloatExact(MicrosToDouble(bound));
  return out;
}

// `saved` with its buckets merged into `bounds`, when every new bound is a
// saved one: each saved bucket then lies wholly inside one new bucket, so
// the counts (and the sum) stay exact. Null when a new bound splits a saved
// bucket: where its observations fall is not known.
std::optional<MetricSnapshot> MergeBuckets(const MetricSnapshot& saved,
                                           const std::vector<int64_t>& bounds) {
  for (int64_t bound : bounds) {
    if (!std::binary_search(saved.bucket_bounds.begin(), saved.bucket_bounds.end(), bound)) {
      return std::nullopt;
    }
  }
  MetricSnapshot merged = saved;
  merged.bucket_bounds = bounds;
  for (SeriesSnapshot& series : merged.series) {
    std::vector<uint64_t> counts(bounds.size() + 1, 0);
    for (size_t i = 0; i < series.bucket_counts.size(); ++i) {
      const size_t target = i < saved.bucket_bounds.size()
                                ? static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(),
                                                                       saved.bucket_bounds[i]) -
                                                      bounds.begin())
                                : bounds.size();
      counts[target] += series.bucket_counts[i];
    }
    series.bucket_counts = std::move(counts);
  }
  return merged;
}

}  // namespace

void MetricStore::Restore(const StoreSnapshot& snapshot, std::vector<std::string>* skipped,
                          std::vector<std::string>* notes) {
  Load(snapshot, /*add=*/false, skipped, notes);
}

void MetricStore::Merge(const StoreSnapshot& snapshot, std::vector<std::string>* skipped,
                        std::vector<std::string>* notes) {
  Load(snapshot, /*add=*/true, skipped, notes);
}

void MetricStore::Load(const StoreSnapshot& snapshot, bool add, std::vector<std::string>* skipped,
                       std::vector<std::string>* notes) {
  for (const MetricSnapshot& saved : snapshot.metrics) {
    if (add && saved.type == MetricType::kGauge && saved.name.starts_with("txmon_")) continue;
    Metric* metric = Find(saved.name);
    std::string change;
    if (!metric) {
      change = "no longer configured";
    } else if (metric->spec().type != saved.type) {
      change = "its type changed";
    } else if (metric->spec().label_names != saved.label_names) {
      change = "its labels changed [" + JoinNames(saved.label_names) + "] -> [" +
               JoinNames(metric->spec().label_names) + "]";
    } else if (metric->spec().bucket_bounds != saved.bucket_bounds) {
      std::optional<MetricSnapshot> merged = MergeBuckets(saved, metric->spec().bucket_bounds);
      const std::string buckets = "its buckets changed [" + JoinBounds(saved.bucket_bounds) +
                                  "] -> [" + JoinBounds(metric->spec().bucket_bounds) + "]";
      if (merged) {
        RestoreMetric(*metric, *merged, add);
        if (notes) notes->push_back(saved.name + ": " + buckets + ": the saved buckets merged");
        continue;
      }
      change = buckets + " and the saved ones do not merge into them";
    }
    if (!change.empty()) {
      if (skipped) skipped->push_back(saved.name);
      if (notes) {
        notes->push_back(saved.name + ": " + change + (add ? ": not added" : ": starts from zero"));
      }
      continue;
    }
    RestoreMetric(*metric, saved, add);
  }
}

}  // namespace txmon
