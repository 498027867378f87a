// Decoder: turns one source message into zero or more RowChanges. A decoder
// never knows about Kafka or metrics; it sees bytes and a position.
//
// Threading: one decoder per pipeline thread; not thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/name_pattern.h"
#include "agent/decode/row_change.h"
#include "agent/source/source_message.h"

namespace txmon {

// Why a message was rejected; the label of txmon_decode_errors_total.
enum class DecodeError : uint8_t {
  kNone = 0,
  kInvalidJson,   // not JSON, truncated, bad UTF-8
  kMissingField,  // a required field is absent
  kWrongType,     // a field has the wrong JSON type
  // A row change for a table that no mapping declares: not an error (a
  // topic carries every table of the shop); the pipeline counts these apart.
  kUnknownTable,
  kTooLarge,          // bigger than the configured message size limit
  kBadValue,          // a value that cannot be read (e.g. rows/old mismatch)
  kMalformedEvent,    // binary input (a binlog event) truncated or inconsistent
  kUnsupportedEvent,  // a well-formed input this decoder cannot read (e.g. compressed rows)
};
inline constexpr int kDecodeErrorCount = 9;
std::string_view DecodeErrorReason(DecodeError error);  // "invalid_json", ...

struct DecodeResult {
  // The message's type as the format names it ("INSERT", "ALTER", ...);
  // a view into the decoder's buffers, empty if unreadable.
  std::string_view message_type;
  // Row changes; empty for DDL and other non-row messages. Rows of an open
  // transaction that this message ends come with it even when the message
  // itself is an error (e.g. the commit row of a table no mapping declares).
  std::span<const RowChange> rows;
  DecodeError error = DecodeError::kNone;
  // For errors: what was wrong, e.g. "field \"data\" is not an array".
  std::string_view detail;
  // The wire format the message was read as ("canal", "debezium",
  // "maxwell", "binlog"): the label of txmon_decoded_messages_total. Static
  // text; set on success, and on errors once the format is known.
  std::string_view format;
  // True while the decoder holds rows of a transaction that has not
  // committed yet (Maxwell's `xid` without `commit`): this message's rows,
  // if any, are among them and come out in the result of the message that
  // ends the transaction. Until then the message must not count as applied
  // (no checkpoint or acknowledgement past it).
  bool transaction_open = false;
  // Where the CDC tool read the change in the MySQL binlog, as far as the
  // message says and was read before any error (Debezium `source.file`,
  // `pos`, `gtid`; Maxwell `position`, `gtid`): logged with a skipped
  // message so that it can be found upstream. Views like the rest.
  std::string_view binlog_file;
  int64_t binlog_pos = -1;  // -1: not known
  std::string_view gtid;
  // The database and table of a kUnknownTable message (views like
  // message_type), so the pipeline can say which table it ignores.
  std::string_view database, table;
};

// How a column's value is encoded when the message itself does not say:
// Debezium without its schema envelope writes DECIMAL (precise mode) as
// base64 bytes and DATETIME/DATE as numbers, and only the mapping knows.
enum class EpochUnit : uint8_t { kNone, kDays, kMillis, kMicros, kNanos };
struct ColumnHint {
  int8_t scale = -1;  // DECIMAL scale; -1: not declared
  EpochUnit epoch = EpochUnit::kNone;
  bool operator==(const ColumnHint&) const = default;
};

// What the mappings need from the stream: which tables matter (a row change
// for any other table is reported as kUnknownTable) and which columns to
// extract (all others are skipped without being unescaped).
struct DecodeSchema {
  struct Table {
    std::string database;  // empty: any database
    std::string table;
  };
  std::vector<Table> tables;
  // Tables given as patterns (name_pattern.h): database and table matched.
  struct PatternTable {
    NamePattern database, table;
  };
  std::vector<PatternTable> pattern_tables;
  ColumnSlots columns;
  // By slot (may be shorter than `columns`: the rest have no hint). Used
  // only where the message carries no schema of its own.
  std::vector<ColumnHint> hints;
  size_t max_message_bytes = 1 << 20;

  ColumnHint HintOf(size_t slot) const { return slot < hints.size() ? hints[slot] : ColumnHint{}; }

  // True if `database`.`table` is one of `tables`. Patterns are matched
  // once per table in a run of messages of one table.
  bool HasTable(std::string_view database, std::string_view table) const {
    for (const Table& t : tables) {
      if (t.table == table && (t.database.empty() || t.database == database)) return true;
    }
    return !pattern_tables.empty() && HasPatternTable(database, table);
  }

  // HasTable's pattern half, with the last table's verdict kept.
  bool HasPatternTable(std::string_view database, std::string_view table) const;
  mutable std::string last_database_, last_table_;
  mutable bool last_known_ = false, last_result_ = false;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes `message`. The result's views stay valid until the next call.
  virtual DecodeResult Decode(const SourceMessage& message) = 0;
  // Every column `database`.`table` has, in table order, as far as the
  // format tells: `message` is the one whose Decode gave a row of that
  // table (Canal's mysqlType, Debezium's row, the binlog's TABLE_MAP or
  // information_schema). Empty if it does not tell, or if the message is of
  // another table (a Maxwell transaction's earlier rows). Asked once per
  // table, never per row: it may parse the message again.
  virtual std::vector<std::string> TableColumns(const SourceMessage& message,
                                                std::string_view database, std::string_view table) {
    static_cast<void>(message);
    static_cast<void>(database);
    static_cast<void>(table);
    return {};
  }
  // The primary key of row `row` (an index into the message's rows) as
  // "column=value,...", where the format carries it; "" otherwise. For
  // messages to the user, like TableColumns.
  virtual std::string RowKey(const SourceMessage& message, size_t row) {
    static_cast<void>(message);
    static_cast<void>(row);
    return "";
  }
};

}  // namespace txmon
