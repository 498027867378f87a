// One RFC 3339 formatter for every UTC timestamp txmon writes: logs and
// Alertmanager's startsAt/endsAt carry fixed milliseconds
// ("2026-12-01T20:28:01.000Z"), the Prometheus HTTP API trims trailing
// zeros as Go's time.Time marshals ("2026-12-01T20:28:01Z",
// "2026-12-01T20:28:01.5Z"). Pure function: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace txmon {

enum class Rfc3339Millis {
  kFixed,    // always ".mmm"
  kTrimmed,  // as Go: trailing zeros dropped, no fraction when whole
};

// `ms` since the epoch (negative: before 1970), in UTC with a "Z".
std::string FormatRfc3339(int64_t ms, Rfc3339Millis millis);

// Reads "2026-12-01T20:28:01Z", "2026-12-01T20:28:01.123456789+08:00" (a
// fraction of any length, truncated to ms; "Z" or a numeric offset) into ms
// since the epoch, as Go's time.Parse(time.RFC3339Nano) accepts them.
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace txmon
