// The shipped txmon.yml, compiled into the binary so that `txmon demo` runs
// on a fresh machine with no file beside it.
#pragma once

#include <string_view>

namespace txmon {
extern const std::string_view kEmbeddedConfig;
}  // namespace txmon
