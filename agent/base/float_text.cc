#include "agent/base/float_text.h"

#include <charconv>
#include <cmath>

namespace txmon {

void AppendFloatExact(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  // to_chars with a format and no precision gives the shortest digits that
  // round-trip, in that format.
  const double magnitude = std::fabs(value);
  const auto format = (magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21))
                          ? std::chars_format::fixed
                          : std::chars_format::scientific;
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, format);
  if (error != std::errc()) return;  // cannot happen: 64 bytes hold any double
  out.append(buffer, end);
}

std::string FormatFloatExact(double value) {
  std::string out;
  AppendFloatExact(out, value);
  return out;
}

}  // namespace txmon
