// CanalDecoder: decodes Alibaba Canal flat messages (`canal.mq.flatMessage=
// true`, one JSON object per Kafka record) into RowChanges.
//
// Contract:
// - INSERT and DTS `INIT` give after = data[i]; DELETE gives before = data[i];
//   UPDATE gives after = data[i] and before = data[i] overlaid with old[i],
//   the keys of old[i] (even with a null value) setting `changed_slots`.
//   Every other `type` (DDL, QUERY, GTID, heartbeats, ...) yields no rows and
//   no error; the type is returned in `message_type`.
// - Only the columns named in the schema are extracted; the rest, and the
//   fields a decoder has no use for (`sql`, `mysqlType`, ...), are skipped
//   without being unescaped, so their contents are checked for structure and
//   UTF-8 only. Field and column names are matched as spelled in the JSON
//   (Canal never escapes them).
// - The fields may come in any order. A bad message is reported in the
//   result (DecodeError plus a short detail); Decode never throws.
// - The schema is copied at construction: later changes to it are not seen.
// - Results point into buffers the decoder owns and reuses: they are valid
//   until the next Decode call. Once the buffers have grown to the largest
//   message seen, decoding allocates nothing.
//
// Threading: one decoder per pipeline thread; not thread-safe.
#pragma once

#include <memory>

#include "agent/decode/decoder.h"

namespace txmon {

class CanalDecoder : public Decoder {
 public:
  explicit CanalDecoder(const DecodeSchema& schema);
  ~CanalDecoder() override;
  CanalDecoder(const CanalDecoder&) = delete;
  CanalDecoder& operator=(const CanalDecoder&) = delete;

  DecodeResult Decode(const SourceMessage& message) override;
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table) override;
  std::string RowKey(const SourceMessage& message, size_t row) override;

 private:
  // The JSON parser and the buffers reused across messages; defined in the
  // .cc file so that users of this header do not compile simdjson.
  struct Workspace;

  const DecodeSchema schema_;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace txmon
