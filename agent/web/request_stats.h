// RequestStats: the web server's own metrics. txmon_http_requests_total
// {handler,code}, txmon_http_request_duration_seconds{handler} and
// txmon_http_connections_evicted_total, counted from CivetWeb's worker
// threads and built for /metrics the way every part builds its self-metrics
// (base/metric_families.h).
//
// Threading: every method may be called from any thread. A request takes one
// short lock (HTTP requests are far rarer than rows; nothing here is on the
// pipeline's path).
#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace txmon {

class RequestStats {
 public:
  void Record(const std::string& handler, int status, double seconds);
  void CountEvicted(uint64_t connections) { evicted_.fetch_add(connections); }
  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  struct Durations {
    std::vector<uint64_t> buckets;  // per bucket, +Inf last
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (handler, code)
  std::map<std::string, Durations> durations_;                // by handler
  std::atomic<uint64_t> evicted_{0};
};

}  // namespace txmon
