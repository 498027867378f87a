#include "agent/decode/cdc_values.h"

#include <array>
#include <cstring>
#include <optional>

#include "agent/base/civil_time.h"

namespace txmon::cdc {
namespace {

// MySQL DECIMAL holds at most 65 digits: 28 bytes of two's complement.
// Anything longer is not a MySQL value.
constexpr size_t kMaxDecimalBytes = 32;
// MySQL's scale is at most 30, but Connect schemas in the wild declare up
// to the precision limit (Flink CDC's fixtures: 65); still exact.
constexpr int kMaxScale = 65;

int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // standard and URL-safe alphabets
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes padded or unpadded base64 into `bytes`; false if not base64 or
// longer than `bytes`.
bool DecodeBase64(std::string_view text, std::array<uint8_t, kMaxDecimalBytes>* bytes,
                  size_t* size) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  uint32_t bits = 0;
  int bit_count = 0;
  *size = 0;
  for (char c : text) {
    const int digit = Base64Digit(c);
    if (digit < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(digit);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      if (*size == bytes->size()) return false;
      (*bytes)[(*size)++] = static_cast<uint8_t>(bits >> bit_count);
    }
  }
  return true;
}

// The magnitude of a big-endian two's complement integer, in place.
void Negate(uint8_t* bytes, size_t size) {
  bool carry = true;
  for (size_t i = size; i-- > 0;) {
    bytes[i] = static_cast<uint8_t>(~bytes[i] + (carry ? 1 : 0));
    carry = carry && bytes[i] == 0;
  }
}

// Decimal digits of a big-endian unsigned integer, most significant first,
// written backwards from `end`; returns the first digit.
char* UnsignedDigits(const uint8_t* bytes, size_t size, char* end) {
  // Base 10^9 limbs, least significant first: 32 bytes need at most 9.
  std::array<uint32_t, 10> limbs{};
  size_t used = 0;
  for (size_t i = 0; i < size; ++i) {
    uint64_t carry = bytes[i];
    for (size_t l = 0; l < used; ++l) {
      const uint64_t v = uint64_t{limbs[l]} * 256 + carry;
      limbs[l] = static_cast<uint32_t>(v % 1'000'000'000);
      carry = v / 1'000'000'000;
    }
    if (carry != 0) limbs[used++] = static_cast<uint32_t>(carry);
  }
  char* p = end;
  for (size_t l = 0; l < used; ++l) {
    uint32_t limb = limbs[l];
    const bool last = l + 1 == used;
    for (int d = 0; d < 9 && (!last || limb != 0); ++d) {
      *--p = static_cast<char>('0' + limb % 10);
      limb /= 10;
    }
  }
  if (p == end) *--p = '0';
  return p;
}

std::string_view Store(binlog::TextArena* arena, const char* text, size_t size) {
  char* out = arena->Allocate(size);
  std::memcpy(out, text, size);
  return {out, size};
}

void CivilFromDays(int64_t days, int64_t* year, int64_t* month, int64_t* day) {
  // Howard Hinnant's days_from_civil, inverted.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

char* Digits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

// "YYYY-MM-DD[ HH:MM:SS[.f]]" for `micros` since the epoch read as UTC;
// `fraction_digits` is 0, 3 or 6.
bool FormatCivil(int64_t micros, bool with_time, int fraction_digits, binlog::TextArena* arena,
                 std::string_view* out) {
  int64_t seconds = micros / 1'000'000;
  int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  int64_t year, month, day;
  CivilFromDays(days, &year, &month, &day);
  if (year < 0 || year > 9999) return false;
  char text[32];
  char* p = Digits(text, year, 4);
  *p++ = '-';
  p = Digits(p, month, 2);
  *p++ = '-';
  p = Digits(p, day, 2);
  if (with_time) {
    *p++ = ' ';
    p = Digits(p, second_of_day / 3600, 2);
    *p++ = ':';
    p = Digits(p, second_of_day / 60 % 60, 2);
    *p++ = ':';
    p = Digits(p, second_of_day % 60, 2);
    if (fraction_digits == 3) {
      *p++ = '.';
      p = Digits(p, fraction / 1000, 3);
    } else if (fraction_digits == 6) {
      *p++ = '.';
      p = Digits(p, fraction, 6);
    }
  }
  *out = Store(arena, text, static_cast<size_t>(p - text));
  return true;
}

// Count of `unit` to µs; false on overflow (a value no MySQL column holds).
bool ToMicros(int64_t count, EpochText unit, int64_t* micros, int* fraction_digits) {
  constexpr int64_t kLimit = INT64_MAX / 86'400'000'000LL;
  switch (unit) {
    case EpochText::kDays:
      if (count > kLimit || count < -kLimit) return false;
      *micros = count * 86'400'000'000LL;
      *fraction_digits = 0;
      return true;
    case EpochText::kMillis:
      if (count > INT64_MAX / 1000 || count < INT64_MIN / 1000) return false;
      *micros = count * 1000;
      *fraction_digits = count % 1000 != 0 ? 3 : 0;
      return true;
    case EpochText::kMicros:
      *micros = count;
      *fraction_digits = count % 1'000'000 != 0 ? 6 : 0;
      return true;
    case EpochText::kNanos:
      *micros = count / 1000;
      *fraction_digits = *micros % 1'000'000 != 0 ? 6 : 0;
      return true;
  }
  return false;
}

}  // namespace

bool DecimalFromBase64(std::string_view base64, int scale, binlog::TextArena* arena,
                       std::string_view* out) {
  std::array<uint8_t, kMaxDecimalBytes> bytes{};
  size_t size = 0;
  if (scale < 0 || scale > kMaxScale || !DecodeBase64(base64, &bytes, &size) || size == 0) {
    return false;
  }
  const bool negative = (bytes[0] & 0x80) != 0;
  if (negative) Negate(bytes.data(), size);
  // Room for 78 digits, the point, leading zeros up to the scale and a sign.
  char text[128];
  char* const end = text + sizeof(text);
  char* digits = UnsignedDigits(bytes.data(), size, end);
  while (end - digits <= scale) *--digits = '0';  // "0.05", not ".05"
  char* p = text;
  if (negative) *p++ = '-';
  const size_t integer_digits = static_cast<size_t>(end - digits) - static_cast<size_t>(scale);
  std::memcpy(p, digits, integer_digits);
  p += integer_digits;
  if (scale > 0) {
    *p++ = '.';
    std::memmove(p, digits + integer_digits, static_cast<size_t>(scale));
    p += scale;
  }
  *out = Store(arena, text, static_cast<size_t>(p - text));
  return true;
}

bool CivilFromEpoch(int64_t count, EpochText unit, binlog::TextArena* arena,
                    std::string_view* out) {
  int64_t micros = 0;
  int fraction_digits = 0;
  if (!ToMicros(count, unit, &micros, &fraction_digits)) return false;
  return FormatCivil(micros, unit != EpochText::kDays, fraction_digits, arena, out);
}

bool LocalFromIsoUtc(std::string_view iso, binlog::TimestampZone* zone, binlog::TextArena* arena,
                     std::string_view* out) {
  if (iso.empty() || iso.back() != 'Z') return false;
  iso.remove_suffix(1);
  // ParseCivilMicros reads at most 6 fraction digits: MySQL keeps no more,
  // and a 7th-9th digit from a nanosecond clock is dropped.
  int fraction_digits = 0;
  if (iso.size() > 20 && iso[19] == '.') {
    if (iso.size() > 26) iso = iso.substr(0, 26);
    fraction_digits = 6;
  }
  std::optional<int64_t> utc_micros = ParseCivilMicros(iso);
  if (!utc_micros) return false;
  const int64_t utc_seconds = *utc_micros / 1'000'000 - (*utc_micros % 1'000'000 < 0 ? 1 : 0);
  const int64_t local = *utc_micros + zone->OffsetSeconds(utc_seconds) * 1'000'000;
  return FormatCivil(local, /*with_time=*/true, fraction_digits, arena, out);
}

bool TimeFromCount(int64_t count, EpochText unit, binlog::TextArena* arena, std::string_view* out) {
  if (unit == EpochText::kDays) return false;
  int64_t micros = 0;
  int fraction_digits = 0;
  if (!ToMicros(count, unit, &micros, &fraction_digits)) return false;
  const bool negative = micros < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(micros) : micros;
  const uint64_t hours = magnitude / 3'600'000'000ULL;
  if (hours > 838) return false;  // MySQL TIME's range
  char text[24];
  char* p = text;
  if (negative) *p++ = '-';
  p = Digits(p, static_cast<int64_t>(hours), hours >= 100 ? 3 : 2);
  *p++ = ':';
  p = Digits(p, static_cast<int64_t>(magnitude / 60'000'000 % 60), 2);
  *p++ = ':';
  p = Digits(p, static_cast<int64_t>(magnitude / 1'000'000 % 60), 2);
  if (magnitude % 1'000'000 != 0) {
    *p++ = '.';
    p = Digits(p, static_cast<int64_t>(magnitude % 1'000'000), 6);
  }
  *out = Store(arena, text, static_cast<size_t>(p - text));
  return true;
}

}  // namespace txmon::cdc
