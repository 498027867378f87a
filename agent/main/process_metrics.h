// The standard process_* metrics of Prometheus client libraries (memory,
// CPU, file descriptors, start time), read from /proc when refreshed.
// Series are fixed at registration, so Refresh may run on any thread (the
// web server calls it before each scrape).
#pragma once

#include "agent/base/status.h"
#include "agent/store/metric_store.h"

namespace txmon {

class ProcessMetrics {
 public:
  Status Register(MetricStore& store);
  void Refresh();

 private:
  Series* resident_bytes_ = nullptr;
  Series* virtual_bytes_ = nullptr;
  Series* cpu_seconds_ = nullptr;
  Series* open_fds_ = nullptr;
  Series* start_time_ = nullptr;
};

// Resident set size of this process in bytes (0 if /proc is unreadable).
int64_t ResidentMemoryBytes();

}  // namespace txmon
