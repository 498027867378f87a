// Number text exactly as Prometheus (Go) writes it, so values in API answers,
// alert annotations and label values read the same as from Prometheus.
// Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace txmon {

// strconv.FormatFloat(v, 'g', -1, 64) and fmt's %v: the shortest text that
// reads back as v, with an exponent below 1e-4 and from 1e6 on ("0.1",
// "100000", "1e+06", "+Inf", "NaN").
std::string FormatFloatShortest(double value);
// strconv.FormatFloat(v, 'e', -1, 64): "1e+00", "1.5e-03" (the API's "value").
std::string FormatFloatExponent(double value);
// Go's strconv.ParseFloat for PromQL numbers and `le` label values: decimal,
// hex ("0x1f"), "Inf", "+Inf", "-Inf", "NaN" (any case). nullopt if invalid.
std::optional<double> ParseFloat(std::string_view text);

}  // namespace txmon
