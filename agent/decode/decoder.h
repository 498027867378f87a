// Decoder: turns one source message into zero or more RowChanges. A decoder
// never knows about Kafka or metrics; it sees bytes and a position.
//
// Threading: one decoder per pipeline thread; not thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/row_change.h"
#include "agent/source/source_message.h"

namespace txmon {

// Why a message was rejected; the label of txmon_decode_errors_total.
enum class DecodeError : uint8_t {
  kNone = 0,
  kInvalidJson,       // not JSON, truncated, bad UTF-8
  kMissingField,      // a required field is absent
  kWrongType,         // a field has the wrong JSON type
  kUnknownTable,      // a row change for a table that no mapping declares
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
  // Row changes; empty for DDL and other non-row messages.
  std::span<const RowChange> rows;
  DecodeError error = DecodeError::kNone;
  // For errors: what was wrong, e.g. "field \"data\" is not an array".
  std::string_view detail;
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
  ColumnSlots columns;
  size_t max_message_bytes = 1 << 20;

  // True if `database`.`table` is one of `tables`.
  bool HasTable(std::string_view database, std::string_view table) const {
    for (const Table& t : tables) {
      if (t.table == table && (t.database.empty() || t.database == database)) return true;
    }
    return false;
  }
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes `message`. The result's views stay valid until the next call.
  virtual DecodeResult Decode(const SourceMessage& message) = 0;
};

}  // namespace txmon
