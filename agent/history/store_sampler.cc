#include "agent/history/store_sampler.h"

#include "agent/base/fixed_point.h"
#include "agent/promql/float_format.h"

namespace txmon {

namespace {

Labels SeriesLabels(const Metric& metric, const Series& series, std::string_view name) {
  std::vector<Label> labels;
  labels.push_back(Label{std::string(kMetricNameLabel), std::string(name)});
  const MetricSpec& spec = metric.spec();
  for (size_t i = 0; i < spec.label_names.size(); ++i) {
    labels.push_back(Label{spec.label_names[i], series.label_values()[i]});
  }
  return Labels(std::move(labels));
}

}  // namespace

bool StoreSampler::MayMatch(const Metric& metric) {
  auto [it, inserted] = may_match_.try_emplace(&metric, false);
  if (inserted) {
    const std::string& name = metric.spec().name;
    it->second = metric.spec().type == MetricType::kHistogram
                     ? plan_.MayMatchName(name + "_bucket") || plan_.MayMatchName(name + "_sum") ||
                           plan_.MayMatchName(name + "_count")
                     : plan_.MayMatchName(name);
  }
  return it->second;
}

void StoreSampler::AddFeed(const Labels& labels, Feed::What what, size_t bucket,
                           std::vector<Feed>* feeds) {
  std::optional<int64_t> retention = plan_.RetentionFor(labels);
  if (!retention) return;
  feeds->push_back(Feed{history_->Intern(labels, *retention), what, bucket});
  ++tracked_;
}

const std::vector<StoreSampler::Feed>& StoreSampler::FeedsFor(const Metric& metric,
                                                              const Series& series) {
  auto [it, inserted] = feeds_.try_emplace(&series);
  if (!inserted) return it->second;
  const MetricSpec& spec = metric.spec();
  if (spec.type != MetricType::kHistogram) {
    AddFeed(SeriesLabels(metric, series, spec.name), Feed::What::kValue, 0, &it->second);
    return it->second;
  }
  Labels bucket_base = SeriesLabels(metric, series, spec.name + "_bucket");
  for (size_t b = 0; b < series.bucket_size(); ++b) {
    std::string le = b < spec.bucket_bounds.size()
                         ? FormatFloatShortest(MicrosToDouble(spec.bucket_bounds[b]))
                         : "+Inf";
    AddFeed(LabelsBuilder(bucket_base).Set("le", le).Build(), Feed::What::kCumulativeBucket, b,
            &it->second);
  }
  AddFeed(SeriesLabels(metric, series, spec.name + "_sum"), Feed::What::kValue, 0, &it->second);
  AddFeed(SeriesLabels(metric, series, spec.name + "_count"), Feed::What::kCount, 0, &it->second);
  return it->second;
}

void StoreSampler::Sample(int64_t time_ms) {
  std::lock_guard lock(mutex_);
  if (time_ms <= last_time_ms_) return;
  last_time_ms_ = time_ms;
  store_.VisitMetrics([&](const Metric& metric) {
    if (!MayMatch(metric)) return;
    metric.VisitSeries([&](const Series& series) {
      uint64_t cumulative = 0;
      size_t summed_to = 0;  // buckets [0, summed_to) are in `cumulative`
      for (const Feed& feed : FeedsFor(metric, series)) {
        double value = 0;
        switch (feed.what) {
          case Feed::What::kValue:
            value = MicrosToDouble(series.value());
            break;
          case Feed::What::kCumulativeBucket:
            while (summed_to <= feed.bucket) cumulative += series.bucket_count(summed_to++);
            value = static_cast<double>(cumulative);
            break;
          case Feed::What::kCount:
            value = static_cast<double>(series.observation_count());
            break;
        }
        history_->Append(feed.id, time_ms, value);
      }
    });
  });
}

size_t StoreSampler::tracked_series() const {
  std::lock_guard lock(mutex_);
  return tracked_;
}

}  // namespace txmon
