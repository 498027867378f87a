// MaxwellDecoder: decodes Maxwell's daemon JSON (one row per Kafka record)
// into the RowChanges the Canal decoder gives for the same change.
//
// Contract:
// - `type` insert gives after = `data`; delete gives before = `data`;
//   update gives after = `data` and before = `data` overlaid with `old`,
//   whose keys (even with a null value) set `changed_slots`, exactly as
//   Canal's `old` (Maxwell omits `old` when nothing changed).
// - bootstrap-insert gives an insert with RowChange::bootstrap set: the
//   mappings count it only when they ask to (`bootstrap_inserts: true`).
//   bootstrap-start/-complete, DDL (table-*, database-*) and any other type
//   give no rows and no error; message_type is the type.
// - Encrypted payloads (`encrypt=data` or `all`: an `encrypted` field) are
//   kUnsupportedEvent: txmon has no key and cannot read them.
// - database/table from `database`/`table`; commit_time_ms = `ts` × 1000
//   (Maxwell writes row events' `ts` in seconds).
// - Transactions: rows of one `xid` are held (copied, the result says
//   transaction_open) until the row with `commit: true` — Maxwell marks the
//   last row of each transaction so — and that message's result carries
//   them all, as one Canal message or one binlog transaction does. A row
//   without `xid` (bootstrap) or with another xid releases a transaction
//   whose commit never came, with it; more than 10,000 held rows are
//   released in parts. `position`/`gtid` go to the result for logs.
// - Values are typed JSON, kept as their exact text: numbers from the raw
//   JSON (DECIMAL keeps its scale, `730.00`; BIGINT UNSIGNED its digits),
//   never through a double; strings as they are (DATETIME/TIMESTAMP are
//   already MySQL text); booleans "1"/"0"; a JSON column or SET array as
//   its raw JSON text.
// - Only the schema's columns are extracted, and the `data` of a table no
//   mapping declares is skipped unread (Maxwell writes database, table and
//   type first). Rows of such tables are kUnknownTable, as in Canal.
// - A bad message is reported in the result; Decode never throws. Results
//   are valid until the next Decode; in steady state nothing is allocated.
//
// Threading: one decoder per pipeline thread; not thread-safe.
#pragma once

#include <memory>

#include "agent/decode/decoder.h"

namespace txmon {

class MaxwellDecoder : public Decoder {
 public:
  explicit MaxwellDecoder(const DecodeSchema& schema);
  ~MaxwellDecoder() override;
  MaxwellDecoder(const MaxwellDecoder&) = delete;
  MaxwellDecoder& operator=(const MaxwellDecoder&) = delete;

  DecodeResult Decode(const SourceMessage& message) override;
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table) override;

 private:
  struct Workspace;  // simdjson and the reused buffers, in the .cc file

  const DecodeSchema schema_;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace txmon
