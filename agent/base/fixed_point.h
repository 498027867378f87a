// Fixed-point numbers: every value the store accumulates is an int64 count of
// micro-units (1e-6). Money amounts such as "999.10" are therefore summed
// exactly (no float drift) as long as they have at most 6 decimal places;
// the range is +-9.2e12 units, enough for a shop's lifetime GMV in yuan.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace txmon {

inline constexpr int64_t kMicrosPerUnit = 1'000'000;

// Parses a decimal string ("12", "-3.50", "999.0", "1e3" is refused) into
// micro-units. Digits beyond the sixth decimal are rounded half away from
// zero. Returns nullopt for anything that is not a plain decimal number or
// that does not fit.
std::optional<int64_t> ParseDecimalMicros(std::string_view text);

// Converts micro-units to the double Prometheus exposes.
inline double MicrosToDouble(int64_t micros) {
  return static_cast<double>(micros) / static_cast<double>(kMicrosPerUnit);
}

}  // namespace txmon
