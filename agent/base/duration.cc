#include "agent/base/duration.h"

#include <cstdint>

namespace txmon {

namespace {

struct Unit {
  std::string_view name;
  int64_t millis;
};
// Largest first: a combined duration must use them in this order.
constexpr Unit kUnits[] = {
    {"y", 31'536'000'000}, {"w", 604'800'000}, {"d", 86'400'000}, {"h", 3'600'000},
    {"m", 60'000},         {"s", 1000},        {"ms", 1}};
constexpr int kUnitCount = 7;

// Index of the unit at the start of `text`, or -1. "ms" wins over "m".
int UnitAt(std::string_view text) {
  if (text.starts_with("ms")) return kUnitCount - 1;
  for (int u = 0; u < kUnitCount - 1; ++u) {
    if (text.starts_with(kUnits[u].name)) return u;
  }
  return -1;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  int previous_unit = -1;
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (number > INT64_MAX / 10) return std::nullopt;
      number = number * 10 + (text[i] - '0');
    }
    const int unit = UnitAt(text.substr(i));
    if (digits == 0 || unit <= previous_unit) return std::nullopt;
    i += kUnits[unit].name.size();
    previous_unit = unit;
    if (number > (INT64_MAX - total) / kUnits[unit].millis) return std::nullopt;
    total += number * kUnits[unit].millis;
  }
  return std::chrono::milliseconds(total);
}

}  // namespace txmon
