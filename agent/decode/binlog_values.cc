#include "agent/decode/binlog_values.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace txmon::binlog {
namespace {

// Bytes of a packed DECIMAL group of 0..9 leftover digits.
constexpr uint8_t kDigitBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
constexpr int kDigitsPerGroup = 9;

size_t DecimalSize(int precision, int scale) {
  const int integral = precision - scale;
  return (integral / kDigitsPerGroup) * 4 + kDigitBytes[integral % kDigitsPerGroup] +
         (scale / kDigitsPerGroup) * 4 + kDigitBytes[scale % kDigitsPerGroup];
}

// Bytes of the fraction of a DATETIME2/TIMESTAMP2/TIME2 with `fsp` digits.
uint8_t FractionBytes(uint8_t fsp) { return static_cast<uint8_t>((fsp + 1) / 2); }

bool SetTemporal2(uint8_t int_bytes, ByteReader* metadata, ValueKind kind, Column* column) {
  uint8_t fsp = 0;
  if (!metadata->U8(&fsp)) return false;
  if (fsp > 6) fsp = 6;  // MySQL never writes more; a corrupt value must not grow the size
  column->kind = kind;
  column->scale = fsp;
  column->size = static_cast<uint8_t>(int_bytes + FractionBytes(fsp));
  return true;
}

void SetFixed(ValueKind kind, uint8_t size, Column* column) {
  column->kind = kind;
  column->size = size;
}

// CHAR, ENUM and SET all arrive as MYSQL_TYPE_STRING: the first metadata
// byte is the real type and the second the length, except that a CHAR longer
// than 255 bytes keeps two more length bits in the first byte (MySQL bug
// #37426), flipped so that the real type reads 0xFE again.
bool ReadStringMetadata(ByteReader* metadata, Column* column) {
  uint8_t real_type = 0, length_low = 0;
  if (!metadata->U8(&real_type) || !metadata->U8(&length_low)) return false;
  uint32_t length = length_low;
  if ((real_type & 0x30) != 0x30) {
    length |= ((real_type & 0x30) ^ 0x30) << 4;
    real_type |= 0x30;
  }
  if (real_type == kTypeEnum) {
    SetFixed(ValueKind::kEnum, static_cast<uint8_t>(length), column);
    return length == 1 || length == 2;
  }
  if (real_type == kTypeSet) {
    SetFixed(ValueKind::kSet, static_cast<uint8_t>(length), column);
    return length >= 1 && length <= 8;
  }
  column->kind = ValueKind::kString;
  column->prefix = length > 255 ? 2 : 1;
  column->fixed_length = static_cast<uint16_t>(length);
  return true;
}

bool ReadBlobMetadata(ByteReader* metadata, Column* column) {
  uint8_t prefix = 0;
  if (!metadata->U8(&prefix) || prefix < 1 || prefix > 4) return false;
  column->kind = ValueKind::kString;
  column->prefix = prefix;
  return true;
}

bool ReadVarcharMetadata(ByteReader* metadata, Column* column) {
  uint64_t max_length = 0;
  if (!metadata->UInt(2, &max_length)) return false;
  column->kind = ValueKind::kString;
  column->prefix = max_length > 255 ? 2 : 1;
  return true;
}

bool ReadDecimalMetadata(ByteReader* metadata, Column* column) {
  if (!metadata->U8(&column->precision) || !metadata->U8(&column->scale)) return false;
  if (column->precision == 0 || column->precision > 65 || column->scale > 30 ||
      column->scale > column->precision) {
    return false;
  }
  SetFixed(ValueKind::kDecimal, static_cast<uint8_t>(DecimalSize(column->precision, column->scale)),
           column);
  return true;
}

bool ReadBitMetadata(ByteReader* metadata, Column* column) {
  uint8_t bits = 0, bytes = 0;
  if (!metadata->U8(&bits) || !metadata->U8(&bytes)) return false;
  const int size = bytes + (bits > 0 ? 1 : 0);
  if (size < 1 || size > 8) return false;
  SetFixed(ValueKind::kBit, static_cast<uint8_t>(size), column);
  return true;
}

char* PutDigits(char* out, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

// At least `min_width` digits.
char* PutNumber(char* out, uint64_t value, int min_width) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n < min_width) digits[n++] = '0';
  while (n > 0) *out++ = digits[--n];
  return out;
}

// ".ffffff" cut to `fsp` digits; nothing for fsp 0.
char* PutFraction(char* out, uint64_t micros, uint8_t fsp) {
  if (fsp == 0) return out;
  *out++ = '.';
  char all[6];
  PutDigits(all, micros, 6);
  for (uint8_t i = 0; i < fsp; ++i) *out++ = all[i];
  return out;
}

char* PutDate(char* out, uint64_t year, uint64_t month, uint64_t day) {
  out = PutDigits(out, year, 4);
  *out++ = '-';
  out = PutDigits(out, month, 2);
  *out++ = '-';
  return PutDigits(out, day, 2);
}

char* PutClock(char* out, uint64_t hour, uint64_t minute, uint64_t second, int hour_width) {
  out = PutNumber(out, hour, hour_width);
  *out++ = ':';
  out = PutDigits(out, minute, 2);
  *out++ = ':';
  return PutDigits(out, second, 2);
}

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
void CivilFromDays(int64_t days, int64_t* year, int64_t* month, int64_t* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = yoe + era * 400 + (*month <= 2);
}

// The fraction of a TIMESTAMP2/DATETIME2 in microseconds: fsp 1-2 store
// hundredths, 3-4 ten-thousandths, 5-6 microseconds, big-endian.
uint64_t FractionMicros(const uint8_t* data, uint8_t fsp) {
  switch (FractionBytes(fsp)) {
    case 1:
      return data[0] * uint64_t{10000};
    case 2:
      return ByteReader::BigEndian(data, 2) * 100;
    case 3:
      return ByteReader::BigEndian(data, 3);
    default:
      return 0;
  }
}

// Shortest digits of `value` (> 0) and its decimal point position, as
// dtoa returns them: value = 0.DIGITS × 10^decpt. FLOAT keeps 6 significant
// digits, as MariaDB prints it (FLT_DIG).
size_t DecimalDigits(double value, bool single, char* digits, int* decpt) {
  char buffer[64];
  std::to_chars_result r =
      single
          ? std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific, 5)
          : std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const char* end = r.ptr;
  const char* e = buffer;
  while (e < end && *e != 'e') ++e;
  size_t n = 0;
  for (const char* p = buffer; p < e; ++p) {
    if (*p != '.') digits[n++] = *p;
  }
  while (n > 1 && digits[n - 1] == '0') --n;
  *decpt = std::atoi(e + 1) + 1;
  return n;
}

// TIME2: 3 bytes big-endian, offset by 0x800000, of hour (10 bits), minute
// (6) and second (6), then the fraction. Negative times are stored as the
// two's complement of the whole packed value, fraction included, so the
// fraction borrows from the seconds (MySQL's my_time_packed_from_binary).
char* Time2Text(const Column& column, const uint8_t* data, char* out) {
  int64_t integral = static_cast<int64_t>(ByteReader::BigEndian(data, 3)) - 0x800000;
  int64_t packed = integral * (int64_t{1} << 24);  // (hms << 24) + microseconds
  switch (FractionBytes(column.scale)) {
    case 1: {
      int64_t hundredths = data[3];
      if (integral < 0 && hundredths != 0) ++integral, hundredths -= 0x100;
      packed = integral * (int64_t{1} << 24) + hundredths * 10000;
      break;
    }
    case 2: {
      int64_t units = static_cast<int64_t>(ByteReader::BigEndian(data + 3, 2));
      if (integral < 0 && units != 0) ++integral, units -= 0x10000;
      packed = integral * (int64_t{1} << 24) + units * 100;
      break;
    }
    case 3:
      packed = static_cast<int64_t>(ByteReader::BigEndian(data, 6)) - 0x800000000000;
      break;
    default:
      break;
  }
  if (packed < 0) {
    *out++ = '-';
    packed = -packed;
  }
  const uint64_t hms = static_cast<uint64_t>(packed) >> 24;
  const uint64_t micros = static_cast<uint64_t>(packed) & ((1 << 24) - 1);
  out = PutClock(out, (hms >> 12) & 1023, (hms >> 6) & 63, hms & 63, 2);
  return PutFraction(out, micros, column.scale);
}

// Pre-5.6 TIME: signed 3-byte HHMMSS.
char* TimeText(const uint8_t* data, char* out) {
  int64_t v = static_cast<int64_t>(ByteReader::LittleEndian(data, 3));
  if (v & 0x800000) v -= 0x1000000;
  if (v < 0) {
    *out++ = '-';
    v = -v;
  }
  return PutClock(out, static_cast<uint64_t>(v / 10000), v / 100 % 100, v % 100, 2);
}

}  // namespace

bool IsNumericType(uint8_t type) {
  switch (type) {
    case kTypeTiny:
    case kTypeShort:
    case kTypeInt24:
    case kTypeLong:
    case kTypeLongLong:
    case kTypeNewDecimal:
    case kTypeFloat:
    case kTypeDouble:
      return true;
    default:
      return false;
  }
}

bool IsEnumOrSet(const Column& column) {
  return column.kind == ValueKind::kEnum || column.kind == ValueKind::kSet;
}

bool IsCharacterColumn(const Column& column) {
  switch (column.type) {
    case kTypeString:
      return column.kind == ValueKind::kString;
    case kTypeVarchar:
    case kTypeVarString:
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob:
    case kTypeGeometry:
      return true;
    default:
      return false;
  }
}

bool ReadColumnMetadata(uint8_t type, ByteReader* metadata, Column* column) {
  column->type = type;
  switch (type) {
    case kTypeTiny:
      SetFixed(ValueKind::kInteger, 1, column);
      return true;
    case kTypeShort:
      SetFixed(ValueKind::kInteger, 2, column);
      return true;
    case kTypeInt24:
      SetFixed(ValueKind::kInteger, 3, column);
      return true;
    case kTypeLong:
      SetFixed(ValueKind::kInteger, 4, column);
      return true;
    case kTypeLongLong:
      SetFixed(ValueKind::kInteger, 8, column);
      return true;
    case kTypeFloat:
    case kTypeDouble:
      // One metadata byte: the pack length (4 or 8), implied by the type.
      SetFixed(type == kTypeFloat ? ValueKind::kFloat : ValueKind::kDouble,
               type == kTypeFloat ? 4 : 8, column);
      return metadata->Skip(1);
    case kTypeNull:
      SetFixed(ValueKind::kNull, 0, column);
      return true;
    case kTypeYear:
      SetFixed(ValueKind::kYear, 1, column);
      return true;
    case kTypeDate:
    case kTypeNewDate:
      SetFixed(ValueKind::kDate, 3, column);
      return true;
    case kTypeTime:
      SetFixed(ValueKind::kTime, 3, column);
      return true;
    case kTypeDatetime:
      SetFixed(ValueKind::kDatetime, 8, column);
      return true;
    case kTypeTimestamp:
      SetFixed(ValueKind::kTimestamp, 4, column);
      return true;
    case kTypeTimestamp2:
      return SetTemporal2(4, metadata, ValueKind::kTimestamp2, column);
    case kTypeDatetime2:
      return SetTemporal2(5, metadata, ValueKind::kDatetime2, column);
    case kTypeTime2:
      return SetTemporal2(3, metadata, ValueKind::kTime2, column);
    case kTypeNewDecimal:
      return ReadDecimalMetadata(metadata, column);
    case kTypeVarchar:
    case kTypeVarString:
      return ReadVarcharMetadata(metadata, column);
    case kTypeBit:
      return ReadBitMetadata(metadata, column);
    case kTypeString:
    case kTypeEnum:
    case kTypeSet:
      return ReadStringMetadata(metadata, column);
    case kTypeJson:
      column->is_binary_json = true;
      return ReadBlobMetadata(metadata, column);
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob:
    case kTypeGeometry:
      return ReadBlobMetadata(metadata, column);
    default:
      // Old DECIMAL and types this decoder does not know: their metadata
      // size is unknown too, so the table cannot be read at all.
      column->kind = ValueKind::kUnsupported;
      return false;
  }
}

bool ValueSize(const Column& column, const ByteReader& reader, size_t* size) {
  if (column.kind == ValueKind::kUnsupported) return false;
  if (column.kind != ValueKind::kString) {
    *size = column.size;
    return column.size <= reader.remaining();
  }
  if (column.prefix > reader.remaining()) return false;
  const uint64_t length = ByteReader::LittleEndian(reader.position(), column.prefix);
  if (length > reader.remaining() - column.prefix) return false;
  *size = column.prefix + length;
  return true;
}

bool TimestampZone::Set(std::string_view spec) {
  fixed_ = !spec.empty();
  fixed_offset_ = 0;
  if (spec.empty() || spec == "UTC") return true;
  if (spec.size() != 6 || (spec[0] != '+' && spec[0] != '-') || spec[3] != ':') return false;
  int hours = 0, minutes = 0;
  for (int i : {1, 2, 4, 5}) {
    if (spec[i] < '0' || spec[i] > '9') return false;
  }
  hours = (spec[1] - '0') * 10 + (spec[2] - '0');
  minutes = (spec[4] - '0') * 10 + (spec[5] - '0');
  if (hours > 14 || minutes > 59) return false;
  fixed_offset_ = (hours * 3600 + minutes * 60) * (spec[0] == '-' ? -1 : 1);
  return true;
}

int64_t TimestampZone::OffsetSeconds(int64_t utc_seconds) {
  if (fixed_) return fixed_offset_;
  const int64_t quarter = utc_seconds >= 0 ? utc_seconds / 900 : (utc_seconds - 899) / 900;
  CacheEntry& entry = cache_[static_cast<uint64_t>(quarter) % cache_.size()];
  if (entry.quarter != quarter) {
    const time_t at = static_cast<time_t>(quarter * 900);
    struct tm parts;
    localtime_r(&at, &parts);
    entry = {quarter, parts.tm_gmtoff};
  }
  return entry.offset;
}

std::string_view ValueFormatter::Copy(std::string_view bytes) {
  if (bytes.empty()) return std::string_view("", 0);
  char* out = arena_->Allocate(bytes.size());
  std::memcpy(out, bytes.data(), bytes.size());
  return {out, bytes.size()};
}

std::string_view ValueFormatter::PaddedCopy(std::string_view bytes, size_t length) {
  char* out = arena_->Allocate(length);
  std::memcpy(out, bytes.data(), bytes.size());
  std::memset(out + bytes.size(), 0, length - bytes.size());
  return {out, length};
}

// MySQL's latin1 is Windows-1252: 0x80-0x9F are typographic characters.
std::string_view ValueFormatter::Latin1ToUtf8(std::string_view bytes) {
  static constexpr uint16_t kCp1252High[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  const size_t reserved = bytes.size() * 3;
  if (reserved == 0) return std::string_view("", 0);
  char* const begin = arena_->Allocate(reserved);
  char* out = begin;
  for (unsigned char c : bytes) {
    uint32_t code = c >= 0x80 && c < 0xA0 ? kCp1252High[c - 0x80] : c;
    if (code < 0x80) {
      *out++ = static_cast<char>(code);
    } else if (code < 0x800) {
      *out++ = static_cast<char>(0xC0 | (code >> 6));
      *out++ = static_cast<char>(0x80 | (code & 0x3F));
    } else {
      *out++ = static_cast<char>(0xE0 | (code >> 12));
      *out++ = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out++ = static_cast<char>(0x80 | (code & 0x3F));
    }
  }
  const size_t used = static_cast<size_t>(out - begin);
  arena_->Shrink(reserved, used);
  return {begin, used};
}

std::string_view ValueFormatter::Unsigned(uint64_t value) {
  char buffer[24];
  char* end = PutNumber(buffer, value, 1);
  return Copy({buffer, static_cast<size_t>(end - buffer)});
}

std::string_view ValueFormatter::Integer(const Column& column, const uint8_t* data) {
  uint64_t value = ByteReader::LittleEndian(data, column.size);
  if (column.is_unsigned) return Unsigned(value);
  const int bits = 8 * column.size;
  const bool negative = bits < 64 ? (value >> (bits - 1)) & 1 : (value >> 63) & 1;
  if (!negative) return Unsigned(value);
  // Two's complement magnitude within `bits`, without signed overflow.
  const uint64_t mask = bits < 64 ? (uint64_t{1} << bits) - 1 : ~uint64_t{0};
  const uint64_t magnitude = ((~value) & mask) + 1;
  char buffer[24];
  buffer[0] = '-';
  char* end = PutNumber(buffer + 1, magnitude, 1);
  return Copy({buffer, static_cast<size_t>(end - buffer)});
}

// Packed DECIMAL: the integral digits, then the fraction, in groups of nine
// digits per 4 bytes (leftover digits in fewer bytes, the integral leftover
// first, the fractional one last), big-endian. The first bit is the sign (1:
// positive), and a negative value has every byte inverted.
std::string_view ValueFormatter::Decimal(const Column& column, const uint8_t* data) {
  uint8_t bytes[40];
  const size_t size = column.size;
  std::memcpy(bytes, data, size);
  const bool negative = (bytes[0] & 0x80) == 0;
  bytes[0] ^= 0x80;
  if (negative) {
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(~bytes[i]);
  }
  const int integral = column.precision - column.scale;
  char digits[96];
  char* out = digits;
  const uint8_t* p = bytes;
  auto group = [&](int count) {
    const uint8_t n = count == kDigitsPerGroup ? 4 : kDigitBytes[count];
    const uint64_t value = ByteReader::BigEndian(p, n) % 1'000'000'000;
    p += n;
    out = PutDigits(out, value, count);
  };
  if (integral % kDigitsPerGroup) group(integral % kDigitsPerGroup);
  for (int i = 0; i < integral / kDigitsPerGroup; ++i) group(kDigitsPerGroup);
  char* const point = out;
  for (int i = 0; i < column.scale / kDigitsPerGroup; ++i) group(kDigitsPerGroup);
  if (column.scale % kDigitsPerGroup) group(column.scale % kDigitsPerGroup);

  char text[100];
  char* t = text;
  const char* first = digits;
  while (first < point && *first == '0') ++first;
  bool nonzero = first < point;
  for (const char* f = point; f < out && !nonzero; ++f) nonzero = *f != '0';
  if (negative && nonzero) *t++ = '-';
  if (first == point) *t++ = '0';
  for (const char* d = first; d < point; ++d) *t++ = *d;
  if (out > point) {
    *t++ = '.';
    for (const char* d = point; d < out; ++d) *t++ = *d;
  }
  return Copy({text, static_cast<size_t>(t - text)});
}

// As MariaDB prints FLOAT and DOUBLE columns: the shortest digits that read
// back as the same value (6 significant digits for FLOAT), in plain notation
// for 1e-15 <= |x| < 1e15 and as "1.5e-16" / "1e15" outside.
std::string_view ValueFormatter::Floating(double value, bool single) {
  char text[64];
  char* t = text;
  if (std::signbit(value)) {
    *t++ = '-';
    value = -value;
  }
  if (value == 0) {
    *t++ = '0';
    return Copy({text, static_cast<size_t>(t - text)});
  }
  char digits[32];
  int decpt = 0;
  const int n = static_cast<int>(DecimalDigits(value, single, digits, &decpt));
  if (decpt >= -14 && decpt <= 15) {
    if (decpt <= 0) {
      *t++ = '0';
      *t++ = '.';
      for (int i = 0; i < -decpt; ++i) *t++ = '0';
      for (int i = 0; i < n; ++i) *t++ = digits[i];
    } else {
      for (int i = 0; i < decpt; ++i) *t++ = i < n ? digits[i] : '0';
      if (n > decpt) {
        *t++ = '.';
        for (int i = decpt; i < n; ++i) *t++ = digits[i];
      }
    }
  } else {
    *t++ = digits[0];
    if (n > 1) {
      *t++ = '.';
      for (int i = 1; i < n; ++i) *t++ = digits[i];
    }
    *t++ = 'e';
    const int exponent = decpt - 1;
    if (exponent < 0) *t++ = '-';
    t = PutNumber(t, static_cast<uint64_t>(exponent < 0 ? -exponent : exponent), 1);
  }
  return Copy({text, static_cast<size_t>(t - text)});
}

std::string_view ValueFormatter::Temporal(const Column& column, const uint8_t* data,
                                          std::string_view* detail) {
  char text[40];
  char* t = text;
  switch (column.kind) {
    case ValueKind::kYear:
      t = PutDigits(t, data[0] == 0 ? 0 : 1900 + data[0], 4);
      break;
    case ValueKind::kDate: {
      const uint64_t v = ByteReader::LittleEndian(data, 3);
      t = PutDate(t, v >> 9, (v >> 5) & 15, v & 31);
      break;
    }
    case ValueKind::kDatetime2: {
      // 1 sign bit (1: positive), 17 bits year*13+month, 5 day, 5 hour,
      // 6 minute, 6 second.
      const uint64_t packed = ByteReader::BigEndian(data, 5);
      if ((packed >> 39) == 0) {
        *detail = "a negative DATETIME2 value";
        return {};
      }
      const uint64_t v = packed - (uint64_t{1} << 39);
      const uint64_t ymd = v >> 17, hms = v & ((1 << 17) - 1);
      const uint64_t ym = ymd >> 5;
      t = PutDate(t, ym / 13, ym % 13, ymd & 31);
      *t++ = ' ';
      t = PutClock(t, hms >> 12, (hms >> 6) & 63, hms & 63, 2);
      t = PutFraction(t, FractionMicros(data + 5, column.scale), column.scale);
      break;
    }
    case ValueKind::kDatetime: {
      const uint64_t v = ByteReader::LittleEndian(data, 8);
      const uint64_t date = v / 1'000'000, time = v % 1'000'000;
      t = PutDate(t, date / 10000, date / 100 % 100, date % 100);
      *t++ = ' ';
      t = PutClock(t, time / 10000, time / 100 % 100, time % 100, 2);
      break;
    }
    case ValueKind::kTimestamp:
    case ValueKind::kTimestamp2:
      t = TimestampText(column, data, t);
      break;
    case ValueKind::kTime:
      t = TimeText(data, t);
      break;
    case ValueKind::kTime2:
      t = Time2Text(column, data, t);
      break;
    default:
      *detail = "not a temporal column";
      return {};
  }
  return Copy({text, static_cast<size_t>(t - text)});
}

}  // namespace txmon::binlog

namespace txmon::binlog {

// TIMESTAMP: seconds since the epoch (big-endian for TIMESTAMP2, then the
// fraction), rendered as wall-clock text in the decoder's zone. 0 is MySQL's
// zero timestamp.
char* ValueFormatter::TimestampText(const Column& column, const uint8_t* data, char* out) {
  const bool v2 = column.kind == ValueKind::kTimestamp2;
  const int64_t seconds =
      static_cast<int64_t>(v2 ? ByteReader::BigEndian(data, 4) : ByteReader::LittleEndian(data, 4));
  const uint64_t micros = v2 ? FractionMicros(data + 4, column.scale) : 0;
  if (seconds == 0 && micros == 0) {
    out = PutDate(out, 0, 0, 0);
    *out++ = ' ';
    out = PutClock(out, 0, 0, 0, 2);
    return PutFraction(out, 0, column.scale);
  }
  const int64_t local = seconds + zone_->OffsetSeconds(seconds);
  const int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  const int64_t in_day = local - days * 86400;
  int64_t year = 0, month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  out = PutDate(out, static_cast<uint64_t>(year), month, day);
  *out++ = ' ';
  out = PutClock(out, in_day / 3600, in_day / 60 % 60, in_day % 60, 2);
  return PutFraction(out, micros, column.scale);
}

std::string_view ValueFormatter::Enum(uint64_t index, const std::vector<std::string>* names) {
  if (names == nullptr) return Unsigned(index);
  // Index 0 is the empty string MySQL stores for an invalid value.
  if (index == 0 || index > names->size()) return std::string_view("", 0);
  return (*names)[index - 1];
}

std::string_view ValueFormatter::Set(uint64_t bits, const std::vector<std::string>* names) {
  if (names == nullptr) return Unsigned(bits);
  size_t length = 0;
  for (size_t i = 0; i < names->size() && i < 64; ++i) {
    if ((bits >> i) & 1) length += (*names)[i].size() + 1;
  }
  if (length == 0) return std::string_view("", 0);
  char* const begin = arena_->Allocate(length);
  char* out = begin;
  for (size_t i = 0; i < names->size() && i < 64; ++i) {
    if (((bits >> i) & 1) == 0) continue;
    if (out != begin) *out++ = ',';
    std::memcpy(out, (*names)[i].data(), (*names)[i].size());
    out += (*names)[i].size();
  }
  arena_->Shrink(length, static_cast<size_t>(out - begin));
  return {begin, static_cast<size_t>(out - begin)};
}

bool ValueFormatter::Format(const Column& column, const uint8_t* data, size_t size,
                            const std::vector<std::string>* names, std::string_view* text,
                            std::string_view* detail) {
  switch (column.kind) {
    case ValueKind::kInteger:
      *text = Integer(column, data);
      return true;
    case ValueKind::kFloat: {
      float value;
      std::memcpy(&value, data, 4);
      *text = Floating(value, /*single=*/true);
      return true;
    }
    case ValueKind::kDouble: {
      double value;
      std::memcpy(&value, data, 8);
      *text = Floating(value, /*single=*/false);
      return true;
    }
    case ValueKind::kDecimal:
      *text = Decimal(column, data);
      return true;
    case ValueKind::kString: {
      if (column.is_binary_json) {
        *detail = "MySQL binary JSON columns are not supported";
        return false;
      }
      const std::string_view bytes(reinterpret_cast<const char*>(data) + column.prefix,
                                   size - column.prefix);
      if (column.pad_to > bytes.size()) {
        *text = PaddedCopy(bytes, column.pad_to);
      } else {
        *text = column.latin1 ? Latin1ToUtf8(bytes) : Copy(bytes);
      }
      return true;
    }
    case ValueKind::kEnum:
      *text = Enum(ByteReader::LittleEndian(data, size), names);
      return true;
    case ValueKind::kSet:
      *text = Set(ByteReader::LittleEndian(data, size), names);
      return true;
    case ValueKind::kBit:
      *text = Unsigned(ByteReader::BigEndian(data, size));
      return true;
    case ValueKind::kNull:
    case ValueKind::kUnsupported:
      *detail = "a value of an unsupported column type";
      return false;
    default:
      *text = Temporal(column, data, detail);
      return text->data() != nullptr;
  }
}

}  // namespace txmon::binlog
