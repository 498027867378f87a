// The Prometheus text exposition format (version 0.0.4) of metric families,
// as /metrics serves it. Ours rather than prometheus-cpp's TextSerializer,
// which writes 16 significant digits: an exact money total such as
// 8652242.44 came out as 8652242.439999999. Values here are the shortest
// text that reads back as the same double (base/float_text.h), as Go's
// client writes them.
//
// Pure function: thread-safe.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace txmon {

// "# HELP", "# TYPE" and one line per sample; histograms as _bucket (with a
// final le="+Inf"), _sum and _count.
std::string SerializeMetricsText(const std::vector<prometheus::MetricFamily>& families);

}  // namespace txmon
