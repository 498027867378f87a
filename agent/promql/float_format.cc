#include "agent/promql/float_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace txmon {

namespace {

// The shortest decimal digits of |value| and its decimal exponent:
// value = 0.DIGITS × 10^point.
struct Digits {
  std::string digits;
  int point = 0;
};

Digits ShortestDigits(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, std::fabs(value),
                                    std::chars_format::scientific);
  (void)error;
  std::string text(buffer, end);  // "d.ddde+XX"
  size_t e = text.find('e');
  Digits out;
  for (size_t i = 0; i < e; ++i) {
    if (text[i] != '.') out.digits += text[i];
  }
  out.point = std::atoi(text.c_str() + e + 1) + 1;
  while (out.digits.size() > 1 && out.digits.back() == '0') out.digits.pop_back();
  return out;
}

std::string Exponent(int exponent) {
  std::string out = exponent < 0 ? "e-" : "e+";
  int magnitude = std::abs(exponent);
  if (magnitude < 10) out += '0';
  return out + std::to_string(magnitude);
}

std::string ExponentForm(const Digits& d) {
  std::string out(1, d.digits[0]);
  if (d.digits.size() > 1) out += "." + d.digits.substr(1);
  return out + Exponent(d.point - 1);
}

std::string FixedForm(const Digits& d) {
  if (d.point <= 0) return "0." + std::string(-d.point, '0') + d.digits;
  if (static_cast<size_t>(d.point) >= d.digits.size()) {
    return d.digits + std::string(d.point - d.digits.size(), '0');
  }
  return d.digits.substr(0, d.point) + "." + d.digits.substr(d.point);
}

std::optional<std::string> NonFinite(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return std::nullopt;
}

}  // namespace

std::string FormatFloatShortest(double value) {
  if (auto text = NonFinite(value)) return *text;
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  Digits d = ShortestDigits(value);
  int exponent = d.point - 1;
  // Go: with the shortest precision, %e is used from exponent 6 on.
  std::string body = (exponent < -4 || exponent >= 6) ? ExponentForm(d) : FixedForm(d);
  return value < 0 ? "-" + body : body;
}

std::string FormatFloatExponent(double value) {
  if (auto text = NonFinite(value)) return *text;
  if (value == 0) return std::signbit(value) ? "-0e+00" : "0e+00";
  std::string body = ExponentForm(ShortestDigits(value));
  return value < 0 ? "-" + body : body;
}

std::optional<double> ParseFloat(std::string_view text) {
  std::string_view body = text;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  auto equals_folded = [&](std::string_view word) {
    if (body.size() != word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(body[i])) != word[i]) return false;
    }
    return true;
  };
  if (equals_folded("inf") || equals_folded("infinity")) {
    return negative ? -INFINITY : INFINITY;
  }
  if (equals_folded("nan")) return NAN;
  if (body.empty()) return std::nullopt;
  double value = 0;
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    auto [end, error] =
        std::from_chars(body.data() + 2, body.data() + body.size(), value, std::chars_format::hex);
    if (error != std::errc() || end != body.data() + body.size()) return std::nullopt;
  } else {
    if (body[0] == '+' || body[0] == '-') return std::nullopt;
    auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value);
    if (error == std::errc::result_out_of_range) {
      value = HUGE_VAL;  // Go returns ±Inf (with an error); Prometheus keeps the value
    } else if (error != std::errc() || end != body.data() + body.size()) {
      return std::nullopt;
    }
  }
  return negative ? -value : value;
}

}  // namespace txmon
