// FormatFloatExact: the shortest text that reads back as the same double,
// written the way people read amounts: fixed notation ("8652242.44", "99.9",
// "100000") for magnitudes from 1e-6 up to 1e21, scientific ("1e-07",
// "1.5e+21") beyond, "NaN", "+Inf", "-Inf" as Prometheus' text format
// writes them. Money is kept exactly (integer micro-units) and converted to
// the nearest double only at the surface: this is the text that brings the
// exact decimal back, where 16 significant digits ("8652242.439999999")
// would not. Pure function: thread-safe.
#pragma once

#include <string>

namespace txmon {

std::string FormatFloatExact(double value);
// Appends the same text to `out`, without a temporary string.
void AppendFloatExact(std::string& out, double value);

}  // namespace txmon
