#include "agent/web/request_stats.h"

#include <algorithm>

#include "agent/base/metric_families.h"

namespace txmon {
namespace {

// 0.5 ms to 10 s: most answers here take well under a millisecond, a large
// query_range may take seconds.
const std::vector<double> kDurationBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};

}  // namespace

void RequestStats::Record(const std::string& handler, int status, double seconds) {
  // Prometheus' le is "less than or equal": the first bound >= seconds.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(kDurationBounds.begin(), kDurationBounds.end(), seconds) -
      kDurationBounds.begin());
  std::lock_guard lock(mutex_);
  ++requests_[{handler, status}];
  Durations& durations = durations_[handler];
  if (durations.buckets.empty()) durations.buckets.assign(kDurationBounds.size() + 1, 0);
  ++durations.buckets[bucket];
  durations.sum += seconds;
}

std::vector<prometheus::MetricFamily> RequestStats::Collect() const {
  using prometheus::MetricType;
  auto requests =
      NewMetricFamily("txmon_http_requests_total",
                      "HTTP requests served, by handler and status code.", MetricType::Counter);
  auto durations =
      NewMetricFamily("txmon_http_request_duration_seconds",
                      "Time to serve an HTTP request, by handler.", MetricType::Histogram);
  auto evicted = NewMetricFamily(
      "txmon_http_connections_evicted_total",
      "Connections shut down because their client address held more than the per-address "
      "limit open.",
      MetricType::Counter);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : requests_) {
      AddMetricValue(requests, {{"handler", key.first}, {"code", std::to_string(key.second)}},
                     static_cast<double>(count));
    }
    for (const auto& [handler, handler_durations] : durations_) {
      AddMetricHistogram(durations, {{"handler", handler}}, kDurationBounds,
                         handler_durations.buckets, handler_durations.sum);
    }
  }
  AddMetricValue(evicted, {}, static_cast<double>(evicted_.load()));
  return {requests, durations, evicted};
}

}  // namespace txmon
