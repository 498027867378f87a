// BinlogDecoder: decodes MySQL/MariaDB binlog events, as a replica receives
// them in the dump stream, into RowChanges equal to what the Canal decoder
// gives for the same change. Pure bytes: it never talks to the server.
//
// Input contract (what the binlog source hands over):
// - Each SourceMessage.payload is ONE event: the 19-byte common header
//   (timestamp u32, type u8, server_id u32, event_size u32, log_pos u32,
//   flags u16, little-endian) and the body, with the 4-byte CRC32 checksum
//   already verified and removed by the source.
// - A FORMAT_DESCRIPTION_EVENT (15) should come first in a stream: its
//   post-header lengths are used from then on (defaults without it: TABLE_MAP
//   8, ROWS v1 8, ROWS v2 10, as MySQL 5.6+ and MariaDB 10.x write them).
// - TABLE_MAP events (19) are kept by table id; WRITE/UPDATE/DELETE_ROWS v1
//   (23/24/25) and v2 (30/31/32) must follow the TABLE_MAP of their table.
//
// Output:
// - Row events give one RowChange per row, message_type "WRITE_ROWS",
//   "UPDATE_ROWS" or "DELETE_ROWS"; every other event gives no rows and its
//   name ("XID", "QUERY", "GTID", "TABLE_MAP", "ROTATE", "HEARTBEAT", ...).
//   Transaction boundaries are the caller's: XID, or QUERY "COMMIT".
// - Rows of a table that no mapping declares: kUnknownTable, as in Canal.
//   Only the schema's slot columns are formatted; the others are skipped.
// - Values are MySQL's text as `SELECT` returns it: integers with their
//   signedness, DECIMAL exact with its scale, FLOAT (6 significant digits)
//   and DOUBLE (shortest round trip) as MariaDB prints them, DATE, DATETIME
//   and TIME with the column's fractional digits, TIMESTAMP in the
//   decoder's zone (options.time_zone), YEAR, strings and blobs as their
//   bytes (latin1 columns converted to UTF-8), ENUM and SET as their names
//   when the TABLE_MAP carries them (binlog_row_metadata=FULL), else the
//   numeric value, BIT as an unsigned number (like `SELECT b+0`). NULL is
//   kNull. Not supported (kUnsupportedEvent when a mapped column has it):
//   MySQL's binary JSON (MariaDB's JSON is text and works), old pre-5.0
//   DECIMAL. FLOAT(M,D)/DOUBLE(M,D) print as plain FLOAT/DOUBLE: the binlog
//   does not carry D.
// - Signedness comes from the SIGNEDNESS metadata; without it integers are
//   read as signed. Column names come from COLUMN_NAME metadata, else from
//   options.column_names, asked once per TABLE_MAP layout of a mapped table.
// - commit_time_ms is the event header's timestamp × 1000 (one-second
//   resolution, as Canal's `es`).
// - UPDATE: `before` is the old image, `after` the new one; bit i of
//   changed_slots is set when slot i is in the new image and is absent from
//   the old image or differs from it. With binlog_row_image=MINIMAL (or
//   NOBLOB) a column missing from the new image did not change: `after` takes
//   its old value; a column missing from both images is kAbsent, and a
//   changed column's old value is kAbsent when the old image lacks it (the
//   server did not send it). With FULL images this is exactly Canal's
//   before/after/old. DELETE with MINIMAL has only the key columns.
// - Malformed input never crashes: every read is bounds-checked, and a bad
//   event is reported as kMalformedEvent with a short static detail.
// - Results point into buffers the decoder owns and reuses (database and
//   table names into its TABLE_MAP cache): valid until the next Decode or
//   ForgetTables call. In steady state decoding allocates nothing.
//
// Threading: one decoder per pipeline thread; not thread-safe. The
// column_names callback is called from Decode, on that thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/decoder.h"

namespace txmon {

// The column names of `database`.`table` in table order (as
// information_schema.COLUMNS lists them by ORDINAL_POSITION), or null when
// unknown. The vector needs to live only until the callback returns.
using BinlogColumnNames = std::function<const std::vector<std::string>*(std::string_view database,
                                                                        std::string_view table)>;

struct BinlogDecoderOptions {
  // Asked when a mapped table's TABLE_MAP has no COLUMN_NAME metadata
  // (binlog_row_metadata=MINIMAL). Empty: such tables' rows are kMissingField.
  BinlogColumnNames column_names;
  // The zone TIMESTAMP columns are rendered in, as a session's time_zone:
  // "" for the process's zone (TZ, which LocalZone::Use sets from
  // global.time_zone, the zone the mappings read datetimes in), "UTC", or a
  // fixed offset "+08:00" / "-05:30".
  std::string time_zone;
};

class BinlogDecoder : public Decoder {
 public:
  // Refuses nothing: a bad `options.time_zone` is reported by
  // ValidTimeZone() and then UTC is used.
  BinlogDecoder(const DecodeSchema& schema, BinlogDecoderOptions options = {});
  ~BinlogDecoder() override;
  BinlogDecoder(const BinlogDecoder&) = delete;
  BinlogDecoder& operator=(const BinlogDecoder&) = delete;

  DecodeResult Decode(const SourceMessage& message) override;
  // The column names of the table's TABLE_MAP (binlog_row_metadata=FULL)
  // or from options.column_names, kept for mapped tables.
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table) override;

  // Drops every cached TABLE_MAP, so the next ones are read afresh and the
  // column names asked again: call it after a DDL on a watched table when
  // names come from the callback. Invalidates the last result.
  void ForgetTables();

  // False if options.time_zone was not understood.
  static bool ValidTimeZone(std::string_view time_zone);

  // The name of a binlog event type ("XID", "WRITE_ROWS", ...), "UNKNOWN"
  // for types this decoder does not know.
  static std::string_view EventTypeName(uint8_t type);

 private:
  struct Workspace;

  const DecodeSchema schema_;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace txmon
