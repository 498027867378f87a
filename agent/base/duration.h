// Durations in Prometheus's notation: "250ms", "1s", "5m", "1h30m", "2d".
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace txmon {

// Units ms, s, m, h, d, w, y (365 d), largest first when combined. Returns
// nullopt for anything else, including an empty string.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace txmon
