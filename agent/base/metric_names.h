// The names the Prometheus exposition format allows, in one place: the
// config refuses what the store would refuse (and what Prometheus or
// promtool would reject in a scrape), with the reason a user can act on.
// Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace txmon {

// "" if `name` may name a metric, else why not: [a-zA-Z_:][a-zA-Z0-9_:]*,
// and no "__" prefix (reserved for Prometheus' internal names).
std::string MetricNameProblem(std::string_view name);

// "" if `name` may name a label of a metric, else why not:
// [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, and neither "le" (the bucket label
// of histograms) nor "quantile" (the label of summaries), which the format
// reserves and a scrape of a histogram carrying its own "le" fails on.
std::string LabelNameProblem(std::string_view name);

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

// The series names a histogram `name` writes besides its own: name_bucket,
// name_sum and name_count. Another metric of one of these names makes the
// exposition ambiguous (promtool check metrics rejects it).
inline constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace txmon
