// The wall clock in epoch milliseconds, and whole-unit arithmetic on it: one
// definition for every stage that stamps or buckets time (rule evaluation,
// event lag, the demo shop, the live board, reload timestamps).
// Thread-safety: pure functions; any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace txmon {

// Wall-clock time in milliseconds since the Unix epoch.
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// value / divisor rounded toward negative infinity (divisor > 0), so an
// instant before the epoch falls in the second (or day) that holds it.
inline int64_t FloorDiv(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient;
}

}  // namespace txmon
