#include "agent/main/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace txmon {

namespace {

constexpr int64_t kOne = 1'000'000;

struct ProcStat {
  int64_t cpu_ticks = 0;
  int64_t virtual_bytes = 0;
  int64_t resident_pages = 0;
};

bool ReadProcStat(ProcStat* out) {
  FILE* file = fopen("/proc/self/stat", "r");
  if (!file) return false;
  char buffer[1024];
  size_t n = fread(buffer, 1, sizeof buffer - 1, file);
  fclose(file);
  buffer[n] = '\0';
  // Fields after the command name (which may hold spaces) start after ')'.
  const char* rest = strrchr(buffer, ')');
  if (!rest) return false;
  unsigned long utime, stime, vsize;
  long rss;
  // Fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itreal starttime vsize rss
  int read = sscanf(rest + 2,
                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
                    "%*u %lu %ld",
                    &utime, &stime, &vsize, &rss);
  if (read != 4) return false;
  out->cpu_ticks = static_cast<int64_t>(utime + stime);
  out->virtual_bytes = static_cast<int64_t>(vsize);
  out->resident_pages = rss;
  return true;
}

int64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return 0;
  int64_t count = 0;
  while (readdir(dir)) ++count;
  closedir(dir);
  return count - 3;  // ".", ".." and the descriptor of this listing
}

}  // namespace

int64_t ResidentMemoryBytes() {
  ProcStat stat;
  if (!ReadProcStat(&stat)) return 0;
  return stat.resident_pages * sysconf(_SC_PAGESIZE);
}

Status ProcessMetrics::Register(MetricStore& store) {
  struct Def {
    const char* name;
    const char* help;
    MetricType type;
    Series** series;
  };
  const Def defs[] = {
      {"process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::kGauge,
       &resident_bytes_},
      {"process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::kGauge,
       &virtual_bytes_},
      {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
       MetricType::kCounter, &cpu_seconds_},
      {"process_open_fds", "Number of open file descriptors.", MetricType::kGauge, &open_fds_},
      {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
       MetricType::kGauge, &start_time_},
  };
  for (const Def& def : defs) {
    Metric* metric;
    if (Status s = store.Add({def.name, def.help, def.type, {}, {}, {}}, &metric); !s.ok())
      return s;
    *def.series = metric->Resolve({});
  }
  auto now = std::chrono::system_clock::now().time_since_epoch();
  start_time_->Set(std::chrono::duration_cast<std::chrono::seconds>(now).count() * kOne);
  Refresh();
  return Status::Ok();
}

void ProcessMetrics::Refresh() {
  ProcStat stat;
  if (ReadProcStat(&stat)) {
    static const long ticks_per_second = sysconf(_SC_CLK_TCK);
    resident_bytes_->Set(stat.resident_pages * sysconf(_SC_PAGESIZE) * kOne);
    virtual_bytes_->Set(stat.virtual_bytes * kOne);
    cpu_seconds_->Set(stat.cpu_ticks * kOne / ticks_per_second);
  }
  open_fds_->Set(CountOpenFds() * kOne);
}

}  // namespace txmon
