// What txmon was built from; the build passes the values in (CMake defines
// TXMON_VERSION and TXMON_REVISION for the main stage).
#pragma once

#include <string_view>

namespace txmon {

#ifndef TXMON_VERSION
#define TXMON_VERSION "dev"
#endif
#ifndef TXMON_REVISION
#define TXMON_REVISION "unknown"
#endif

inline constexpr std::string_view kVersion = TXMON_VERSION;
inline constexpr std::string_view kRevision = TXMON_REVISION;

}  // namespace txmon
