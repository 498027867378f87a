#include "agent/base/json_writer.h"

#include <cmath>

#include "agent/base/float_text.h"

namespace txmon {

JsonWriter& JsonWriter::Number(double value) {
  if (!std::isfinite(value)) return Null();
  const std::string text = FormatFloatExact(value);
  writer_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  return *this;
}

}  // namespace txmon
