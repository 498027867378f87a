#include "agent/base/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace txmon {

std::string FormatRfc3339(int64_t ms, Rfc3339Millis millis_format) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {  // floor, so that -1 ms is 23:59:59.999 the day before
    millis += 1000;
    --seconds;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  int length =
      std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900,
                    utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  std::string out(buffer, static_cast<size_t>(length));
  if (millis_format == Rfc3339Millis::kFixed || millis != 0) {
    std::snprintf(buffer, sizeof buffer, ".%03d", millis);
    std::string fraction = buffer;
    if (millis_format == Rfc3339Millis::kTrimmed) {
      while (fraction.back() == '0') fraction.pop_back();
    }
    out += fraction;
  }
  return out + "Z";
}

}  // namespace txmon
