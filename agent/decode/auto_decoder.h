// AutoDecoder (`source.format: auto`): recognises the format of each message
// (Canal flat message, Debezium, Maxwell) and hands it to that format's
// decoder, so one agent can read a topic whose producer changed. The format
// it used is in DecodeResult::format (txmon_decoded_messages_total{format}).
//
// Recognition, cheapest first:
// - an empty message or `null` is a Debezium tombstone;
// - the first key: `schema`, `payload`, `before`, `after`, `source`, `op`
//   are Debezium's; `data` (Canal writes it first) is Canal's; `database`
//   followed by `table` is Maxwell's (Canal writes `database` then `es`);
// - otherwise every top-level key is looked at: `es`, `isDdl`, `pkNames`,
//   `mysqlType`, `sqlType` are Canal's; `payload`, `op`, `source`, `before`, `after`,
//   `status`, `ddl`, `tableChanges` Debezium's; `xid`, `xoffset`, `commit`,
//   `encrypted` Maxwell's; else an upper-case `type` is Canal's and a
//   lower-case one Maxwell's.
// A message none of these fit is kMissingField ("format not recognised").
// Results are the delegate's (valid until the next Decode); no allocation
// in steady state.
//
// Threading: one decoder per pipeline thread; not thread-safe.
#pragma once

#include <memory>

#include "agent/decode/decoder.h"

namespace txmon {

enum class WireFormat : uint8_t { kUnknown, kCanal, kDebezium, kMaxwell };

// The format of one message, as AutoDecoder recognises it.
WireFormat SniffWireFormat(std::string_view payload);

class AutoDecoder : public Decoder {
 public:
  explicit AutoDecoder(const DecodeSchema& schema);
  ~AutoDecoder() override;

  DecodeResult Decode(const SourceMessage& message) override;
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table) override;
  std::string RowKey(const SourceMessage& message, size_t row) override;

 private:
  std::unique_ptr<Decoder> canal_;
  std::unique_ptr<Decoder> debezium_;
  std::unique_ptr<Decoder> maxwell_;
  bool maxwell_transaction_open_ = false;  // the last Maxwell result's
};

}  // namespace txmon
