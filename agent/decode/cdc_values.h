// Conversions from Debezium's and Maxwell's value encodings to the MySQL
// text the Canal decoder gives for the same value, so that mappings (exact
// decimals, `seconds_between`, the time zone) behave alike whichever tool
// produced the change. Internal to agent/decode/.
//
// Every function writes into a TextArena and returns a view into it, or
// false for a value that cannot be read; none allocates once the arena has
// grown. Threading: the arena and zone belong to one decoder, one thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "agent/decode/binlog_bytes.h"
#include "agent/decode/binlog_values.h"

namespace txmon::cdc {

// Kafka Connect `Decimal` in precise mode: base64 of the big-endian two's
// complement unscaled integer, divided by 10^scale. "AZA=" with scale 2 is
// "4.00"; the scale's digits are always written, as MySQL does.
bool DecimalFromBase64(std::string_view base64, int scale, binlog::TextArena* arena,
                       std::string_view* out);

// A count of `unit` since the epoch, read as a wall clock (Debezium's
// Timestamp/MicroTimestamp/NanoTimestamp for DATETIME, or days for Date):
// "YYYY-MM-DD" for days, else "YYYY-MM-DD HH:MM:SS" plus ".fff" or
// ".ffffff" when the value has a fraction. False if out of MySQL's range.
enum class EpochText : uint8_t { kDays, kMillis, kMicros, kNanos };
bool CivilFromEpoch(int64_t count, EpochText unit, binlog::TextArena* arena, std::string_view* out);

// An ISO-8601 instant in UTC ("2020-07-17T18:00:22Z", with up to 9
// fraction digits; Debezium's ZonedTimestamp for TIMESTAMP) as the wall
// clock of `zone`, which is how Canal writes TIMESTAMP columns.
bool LocalFromIsoUtc(std::string_view iso, binlog::TimestampZone* zone, binlog::TextArena* arena,
                     std::string_view* out);

// A time of day or duration in `unit` (Debezium's MicroTime, Time): MySQL
// TIME text "[-]HH:MM:SS[.ffffff]".
bool TimeFromCount(int64_t count, EpochText unit, binlog::TextArena* arena, std::string_view* out);

}  // namespace txmon::cdc
