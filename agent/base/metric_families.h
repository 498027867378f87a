// The one way a part builds its self-metrics (txmon_rule_*,
// txmon_notifications_*, txmon_http_*) for /metrics: it keeps its own
// counts in whatever form suits its threads, and turns them into
// prometheus::MetricFamily values (prometheus-cpp's data model, which
// web/metrics_text.h prints) when scraped, with these builders. The
// metrics of the shop (and the pipeline's own) live in the MetricStore
// instead, whose single writer is the pipeline thread.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace txmon {

using MetricLabelPairs = std::vector<std::pair<std::string, std::string>>;

// An empty family; add its series with the functions below.
prometheus::MetricFamily NewMetricFamily(std::string name, std::string help,
                                         prometheus::MetricType type);

// A counter's or gauge's value (as the family's type says).
void AddMetricValue(prometheus::MetricFamily& family, const MetricLabelPairs& labels, double value);

// A summary without quantiles: count and sum.
void AddMetricSummary(prometheus::MetricFamily& family, const MetricLabelPairs& labels,
                      uint64_t count, double sum);

// A histogram from per-bucket (not cumulative) counts: `counts` has one
// entry per bound in `upper_bounds` (ascending, finite) and one more, +Inf.
void AddMetricHistogram(prometheus::MetricFamily& family, const MetricLabelPairs& labels,
                        const std::vector<double>& upper_bounds,
                        const std::vector<uint64_t>& counts, double sum);

}  // namespace txmon
