#include "agent/base/fixed_point.h"

#include <limits>

namespace txmon {

namespace {
constexpr int kFractionDigits = 6;
constexpr int64_t kMaxWhole = std::numeric_limits<int64_t>::max() / kMicrosPerUnit - 1;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::optional<int64_t> ParseDecimalMicros(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  int64_t whole = 0;
  size_t whole_digits = 0;
  for (; i < text.size() && IsDigit(text[i]); ++i, ++whole_digits) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > kMaxWhole) return std::nullopt;
  }
  int64_t fraction = 0;
  int fraction_digits = 0;
  bool round_up = false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      if (fraction_digits < kFractionDigits) {
        fraction = fraction * 10 + (text[i] - '0');
        ++fraction_digits;
      } else if (fraction_digits == kFractionDigits) {
        round_up = text[i] >= '5';
        ++fraction_digits;  // later digits cannot change a half-away rounding decision
      }
    }
    if (fraction_digits == 0 && whole_digits == 0) return std::nullopt;
  }
  if (whole_digits == 0 && fraction_digits == 0) return std::nullopt;
  if (i != text.size()) return std::nullopt;
  for (int d = fraction_digits; d < kFractionDigits; ++d) fraction *= 10;
  int64_t micros = whole * kMicrosPerUnit + fraction + (round_up ? 1 : 0);
  return negative ? -micros : micros;
}

}  // namespace txmon
