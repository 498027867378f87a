#include "agent/decode/decoder.h"

namespace txmon {

std::string_view DecodeErrorReason(DecodeError error) {
  switch (error) {
    case DecodeError::kNone:
      return "none";
    case DecodeError::kInvalidJson:
      return "invalid_json";
    case DecodeError::kMissingField:
      return "missing_field";
    case DecodeError::kWrongType:
      return "wrong_type";
    case DecodeError::kUnknownTable:
      return "unknown_table";
    case DecodeError::kTooLarge:
      return "too_large";
    case DecodeError::kBadValue:
      return "bad_value";
    case DecodeError::kMalformedEvent:
      return "malformed_event";
    case DecodeError::kUnsupportedEvent:
      return "unsupported_event";
  }
  return "none";
}

}  // namespace txmon
