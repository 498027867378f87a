#include "agent/base/metric_families.h"

#include <algorithm>
#include <limits>

namespace txmon {
namespace {

// Labels sorted by name, as prometheus-cpp's own families print them.
prometheus::ClientMetric WithLabels(const MetricLabelPairs& labels) {
  prometheus::ClientMetric metric;
  for (const auto& [name, value] : labels) metric.label.push_back({name, value});
  std::sort(metric.label.begin(), metric.label.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return metric;
}

}  // namespace

prometheus::MetricFamily NewMetricFamily(std::string name, std::string help,
                                         prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddMetricValue(prometheus::MetricFamily& family, const MetricLabelPairs& labels,
                    double value) {
  prometheus::ClientMetric metric = WithLabels(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

void AddMetricSummary(prometheus::MetricFamily& family, const MetricLabelPairs& labels,
                      uint64_t count, double sum) {
  prometheus::ClientMetric metric = WithLabels(labels);
  metric.summary.sample_count = count;
  metric.summary.sample_sum = sum;
  family.metric.push_back(std::move(metric));
}

void AddMetricHistogram(prometheus::MetricFamily& family, const MetricLabelPairs& labels,
                        const std::vector<double>& upper_bounds,
                        const std::vector<uint64_t>& counts, double sum) {
  prometheus::ClientMetric metric = WithLabels(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const double bound =
        i < upper_bounds.size() ? upper_bounds[i] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({cumulative, bound});
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum;
  family.metric.push_back(std::move(metric));
}

}  // namespace txmon
