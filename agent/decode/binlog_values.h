// One column of a binlog TABLE_MAP event, and the conversion of its row
// values to MySQL's text, as `SELECT` returns it through the mysql client.
// Internal to agent/decode/ (binlog_decoder.cc is the user).
//
// The formats are MySQL's on-disk row formats: little-endian integers,
// packed DECIMAL, big-endian DATETIME2/TIMESTAMP2/TIME2 with their fraction,
// length-prefixed strings. Sizes are read from the TABLE_MAP metadata, and
// every read is bounds-checked by the caller through ValueSize().
// Threading: ValueFormatter is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/binlog_bytes.h"

namespace txmon::binlog {

// MySQL column type codes as the binlog writes them (enum_field_types).
enum ColumnType : uint8_t {
  kTypeDecimal = 0,
  kTypeTiny = 1,
  kTypeShort = 2,
  kTypeLong = 3,
  kTypeFloat = 4,
  kTypeDouble = 5,
  kTypeNull = 6,
  kTypeTimestamp = 7,
  kTypeLongLong = 8,
  kTypeInt24 = 9,
  kTypeDate = 10,
  kTypeTime = 11,
  kTypeDatetime = 12,
  kTypeYear = 13,
  kTypeNewDate = 14,
  kTypeVarchar = 15,
  kTypeBit = 16,
  kTypeTimestamp2 = 17,
  kTypeDatetime2 = 18,
  kTypeTime2 = 19,
  kTypeJson = 245,
  kTypeNewDecimal = 246,
  kTypeEnum = 247,
  kTypeSet = 248,
  kTypeTinyBlob = 249,
  kTypeMediumBlob = 250,
  kTypeLongBlob = 251,
  kTypeBlob = 252,
  kTypeVarString = 253,
  kTypeString = 254,
  kTypeGeometry = 255,
};

// How a column's value is laid out, derived once from its type and metadata.
enum class ValueKind : uint8_t {
  kInteger,      // `size` bytes, little-endian
  kFloat,        // 4 bytes IEEE
  kDouble,       // 8 bytes IEEE
  kDecimal,      // packed, `size` bytes from precision and scale
  kYear,         // 1 byte, years since 1900 (0 = 0000)
  kDate,         // 3 bytes: day 5 bits, month 4 bits, year
  kTime,         // 3 bytes: signed HHMMSS (pre-5.6 TIME)
  kTime2,        // 3 bytes + fraction, big-endian
  kDatetime,     // 8 bytes: YYYYMMDDhhmmss (pre-5.6 DATETIME)
  kDatetime2,    // 5 bytes + fraction, big-endian
  kTimestamp,    // 4 bytes epoch seconds (pre-5.6 TIMESTAMP)
  kTimestamp2,   // 4 bytes big-endian epoch seconds + fraction
  kString,       // `prefix` (1, 2, 3 or 4) length bytes, then the bytes
  kEnum,         // `size` (1 or 2) bytes index, 1-based
  kSet,          // `size` (1..8) bytes bitmask
  kBit,          // `size` bytes, big-endian
  kNull,         // no bytes
  kUnsupported,  // old DECIMAL or an unknown type: the size cannot be known
};

struct Column {
  uint8_t type = 0;  // as written in the TABLE_MAP (a CHAR's ENUM/SET hide in metadata)
  ValueKind kind = ValueKind::kUnsupported;
  uint8_t size = 0;       // fixed size in bytes (kInteger, kDecimal, kEnum, kSet, kBit, temporal)
  uint8_t prefix = 0;     // kString: bytes of the length prefix
  uint8_t precision = 0;  // kDecimal
  uint8_t scale = 0;      // kDecimal: digits after the point; temporal: fractional digits
  bool is_unsigned = false;
  bool latin1 = false;  // bytes in latin1 (cp1252), converted to UTF-8
  // BINARY(n): the server strips trailing zero bytes, SELECT shows them:
  // padded back to `pad_to` bytes (known only with charset metadata).
  uint16_t fixed_length = 0;  // kTypeString: the declared length in bytes
  uint16_t pad_to = 0;
  bool is_binary_json = false;  // MySQL's binary JSON (kString layout)
  int names = -1;               // kEnum/kSet: index of its value names in the table, or -1
  int slot = -1;                // the ColumnSlots slot, or -1 when no mapping needs it
};

// Reads the type and metadata bytes of one column from a TABLE_MAP's
// metadata block. False if the metadata is too short.
bool ReadColumnMetadata(uint8_t type, ByteReader* metadata, Column* column);

// True for the types whose signedness TABLE_MAP's SIGNEDNESS field covers.
bool IsNumericType(uint8_t type);
// True for the columns TABLE_MAP's charset fields cover (ENUM/SET aside).
bool IsCharacterColumn(const Column& column);
bool IsEnumOrSet(const Column& column);

// The size in bytes of the value at the reader's position, or false if it
// does not fit in what remains (or the column's type is unsupported).
bool ValueSize(const Column& column, const ByteReader& reader, size_t* size);

// How TIMESTAMP values (UTC instants) are rendered: in the process's zone
// (TZ, as LocalZone::Use sets it) or a fixed UTC offset.
class TimestampZone {
 public:
  // "" = the process zone; "UTC", "+HH:MM" or "-HH:MM" = a fixed offset.
  // False if `spec` is none of these.
  bool Set(std::string_view spec);
  int64_t OffsetSeconds(int64_t utc_seconds);

 private:
  bool fixed_ = false;
  int64_t fixed_offset_ = 0;
  // The process zone's offset per quarter hour of UTC time: every zone
  // transition in use falls on a quarter hour.
  struct CacheEntry {
    int64_t quarter = INT64_MIN;
    int64_t offset = 0;
  };
  std::array<CacheEntry, 64> cache_{};
};

// Formats values into an arena. Values of string columns are copied, so the
// text never points into the event.
class ValueFormatter {
 public:
  ValueFormatter(TextArena* arena, TimestampZone* zone) : arena_(arena), zone_(zone) {}

  // The text of a value of `size` bytes at `data` (size from ValueSize).
  // `names` are the ENUM/SET value names, or null. False with `detail` set
  // when the value cannot be read (a bad date, an unsupported type).
  bool Format(const Column& column, const uint8_t* data, size_t size,
              const std::vector<std::string>* names, std::string_view* text,
              std::string_view* detail);

 private:
  std::string_view Copy(std::string_view bytes);
  std::string_view PaddedCopy(std::string_view bytes, size_t length);
  std::string_view Latin1ToUtf8(std::string_view bytes);
  std::string_view Integer(const Column& column, const uint8_t* data);
  std::string_view Decimal(const Column& column, const uint8_t* data);
  std::string_view Floating(double value, bool single);
  std::string_view Temporal(const Column& column, const uint8_t* data, std::string_view* detail);
  std::string_view Enum(uint64_t index, const std::vector<std::string>* names);
  std::string_view Set(uint64_t bits, const std::vector<std::string>* names);
  std::string_view Unsigned(uint64_t value);
  char* TimestampText(const Column& column, const uint8_t* data, char* out);

  TextArena* arena_;
  TimestampZone* zone_;
};

}  // namespace txmon::binlog
