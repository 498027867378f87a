// Lets failed expectations on a DecodeError name the reason
// ("unknown_table") rather than print a byte.
#pragma once

#include <ostream>

#include "agent/decode/decoder.h"

namespace txmon {

inline void PrintTo(DecodeError error, std::ostream* out) { *out << DecodeErrorReason(error); }

}  // namespace txmon
