// Civil (wall-clock) datetimes as MySQL writes them ("2024-11-11 00:00:01" or
// with a fraction) converted to instants, in one configured time zone.
//
// The zone is the process's: LocalZone::Use() sets TZ once at start-up (the
// config's time_zone). Conversions cache the UTC offset per local hour, so
// the hot path makes no system call and no allocation.
// Thread-safety: a LocalZone instance is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/base/status.h"

namespace txmon {

// Parses "YYYY-MM-DD HH:MM:SS[.f{1,6}]" (also accepts 'T' as the separator
// and a bare "YYYY-MM-DD") into microseconds since the epoch as if the wall
// clock were UTC. Returns nullopt for anything else, including MySQL's zero
// date "0000-00-00 00:00:00".
std::optional<int64_t> ParseCivilMicros(std::string_view text);

class LocalZone {
 public:
  // Makes `name` (an IANA zone such as "Asia/Shanghai", or "UTC") the
  // process's zone. Refuses names that have no zoneinfo file.
  static Status Use(const std::string& name);
  // Whether Use would accept `name`, without changing anything.
  static Status Check(const std::string& name);

  // Wall-clock text in the process zone to microseconds since the epoch.
  std::optional<int64_t> ToEpochMicros(std::string_view text);

 private:
  int64_t OffsetSecondsForLocalHour(int64_t local_hour);

  struct CacheEntry {
    int64_t local_hour = INT64_MIN;
    int64_t offset_seconds = 0;
  };
  std::array<CacheEntry, 256> cache_{};
};

}  // namespace txmon
