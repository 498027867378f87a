// Writing JSON strings: one escaping routine for every JSON txmon writes
// (logs, Canal messages of the demo, HTTP APIs).
#pragma once

#include <string>
#include <string_view>

namespace txmon {

// Appends `text` as a quoted JSON string. Bytes >= 0x80 pass through (the
// input is UTF-8); control characters are escaped.
void AppendJsonString(std::string& out, std::string_view text);

// The same, as a new string.
std::string JsonString(std::string_view text);

}  // namespace txmon
