#include "agent/base/json_writer.h"

#include <charconv>
#include <cmath>
#include <string>

#include "agent/base/float_text.h"

namespace txmon {
namespace {

// "-1.2345e+20" as a plain decimal with the same digits: "-123450000000000000000".
std::string PlainDecimal(const std::string& scientific) {
  const size_t e = scientific.find('e');
  const bool negative = scientific[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (scientific[i] != '.') digits += scientific[i];
  }
  const int exponent = std::stoi(scientific.substr(e + 1));
  const int count = static_cast<int>(digits.size());
  std::string plain;
  if (exponent >= count - 1) {
    plain = digits + std::string(static_cast<size_t>(exponent - (count - 1)), '0');
  } else if (exponent >= 0) {
    plain = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
            digits.substr(static_cast<size_t>(exponent) + 1);
  } else {
    plain = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  }
  return negative ? "-" + plain : plain;
}

}  // namespace

JsonWriter& JsonWriter::Number(double value) {
  if (!std::isfinite(value)) return Null();
  const std::string text = FormatFloatExact(value);
  writer_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  return *this;
}

JsonWriter& JsonWriter::GoFloat(double value) {
  if (!std::isfinite(value)) value = 0;
  const double magnitude = std::fabs(value);
  // The shortest digits that read back, as d.ddde±x (Go picks the same).
  char shortest[64];
  char* end =
      std::to_chars(shortest, shortest + sizeof shortest, value, std::chars_format::scientific).ptr;
  std::string text(shortest, end);
  if (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21)) {
    // Go writes e-7 where C++ writes e-07.
    const size_t n = text.size();
    if (n >= 4 && text.compare(n - 4, 3, "e-0") == 0) text.erase(n - 2, 1);
  } else {
    text = PlainDecimal(text);
  }
  writer_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  return *this;
}

}  // namespace txmon
