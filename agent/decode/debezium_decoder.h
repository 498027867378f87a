// DebeziumDecoder: decodes the Debezium MySQL connector's change events as
// Kafka Connect's JsonConverter writes them, with the schema envelope
// (`{"schema":…,"payload":…}`, schemas.enable=true) or without it, into the
// RowChanges the Canal decoder gives for the same change.
//
// Contract:
// - `op` c (insert) and r (snapshot read, counted as an insert: a snapshot
//   replays the table's rows as if they were written now) give after =
//   `after`; u gives before = `before`, after = `after`, and changed_slots
//   the slots whose values differ (Debezium sends full images; a slot
//   missing from a partial `before` takes the after value and is unchanged);
//   d gives before = `before`. message_type is the op letter.
// - No rows and no error, with message_type naming what was skipped: t
//   (truncate); "schema_change" (payload with `ddl`/`tableChanges`);
//   "BEGIN"/"END" (transaction metadata, by `status`); "tombstone" (an
//   empty message, `null`, or `{"schema":null,"payload":null}`, which follow
//   every delete). Debezium sends one row per message, so per-message
//   counters count rows plus these markers, where Canal counts batches.
// - database/table from `source.db`/`source.table`; commit_time_ms from
//   `source.ts_us` / 1000 when present (Debezium 2.x), else `source.ts_ms`
//   (legacy `ts_sec` × 1000); 0 (unknown) for snapshot rows of old versions.
//   Rows of a table that no mapping declares: kUnknownTable, as in Canal.
//   `source.file`/`pos`/`gtid` go to the result (for the log line of a
//   skipped message); a value that cannot be converted does not stop the
//   walk, so they are known for it too.
// - Values become MySQL text as Canal writes it. With the envelope, each
//   mapped column's Connect schema picks the conversion: Decimal bytes
//   (precise mode: base64 two's complement, scale from `parameters`) to
//   exact decimal text; io.debezium.time.Date (days), Timestamp (ms),
//   MicroTimestamp (µs), NanoTimestamp and Kafka Connect Date/Timestamp to
//   "YYYY-MM-DD[ HH:MM:SS[.f]]" read as a wall clock (DATETIME is never
//   shifted); ZonedTimestamp (TIMESTAMP, ISO UTC) to the wall clock of the
//   process zone, which is how Canal renders TIMESTAMP; MicroTime/Time to
//   "HH:MM:SS[.f]". Without the envelope the same conversions come from the
//   schema's hints (the mapping's `scale:` and `epoch:`). Numbers keep their
//   exact JSON text (decimal.handling.mode string and double need nothing),
//   booleans become "1"/"0", structs (GEOMETRY) their raw JSON.
// - The envelope's schema is parsed once per distinct text: the last 16
//   schemas (a topic carries one per table and table version, interleaved)
//   are kept with the encodings they give. A message that begins, as
//   JsonConverter writes it, `{"schema":` + a kept schema's exact bytes +
//   `,"payload":` is read from its payload on: the schema is compared, not
//   parsed or walked. Any other message is read whole.
// - A bad message is reported in the result; Decode never throws. Results
//   are valid until the next Decode; in steady state nothing is allocated.
//
// Threading: one decoder per pipeline thread; not thread-safe.
#pragma once

#include <memory>

#include "agent/decode/decoder.h"

namespace txmon {

class DebeziumDecoder : public Decoder {
 public:
  explicit DebeziumDecoder(const DecodeSchema& schema);
  ~DebeziumDecoder() override;
  DebeziumDecoder(const DebeziumDecoder&) = delete;
  DebeziumDecoder& operator=(const DebeziumDecoder&) = delete;

  DecodeResult Decode(const SourceMessage& message) override;
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table) override;

 private:
  struct Workspace;  // simdjson and the reused buffers, in the .cc file

  const DecodeSchema schema_;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace txmon
