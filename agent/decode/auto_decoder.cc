#include "agent/decode/auto_decoder.h"

#include <simdjson.h>

#include <string_view>

#include "agent/decode/canal_decoder.h"
#include "agent/decode/debezium_decoder.h"
#include "agent/decode/maxwell_decoder.h"

namespace txmon {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A cursor over the raw text, for reading the first keys without parsing.
class RawCursor {
 public:
  explicit RawCursor(std::string_view text) : text_(text) {}

  bool Consume(char c) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  // Reads a string without escapes (keys of these formats never have any).
  bool String(std::string_view* out) {
    if (!Consume('"')) return false;
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') return false;
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    *out = text_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  std::string_view text_;
  size_t pos_ = 0;
};

WireFormat FormatOfFirstKeys(std::string_view payload) {
  RawCursor cursor(payload);
  std::string_view key, value;
  if (!cursor.Consume('{') || !cursor.String(&key)) return WireFormat::kUnknown;
  for (std::string_view name : {"schema", "payload", "before", "after", "source", "op"}) {
    if (key == name) return WireFormat::kDebezium;
  }
  if (key == "data") return WireFormat::kCanal;
  if (key != "database") return WireFormat::kUnknown;
  std::string_view second;
  if (!cursor.Consume(':') || !cursor.String(&value) || !cursor.Consume(',') ||
      !cursor.String(&second)) {
    return WireFormat::kUnknown;
  }
  if (second == "table") return WireFormat::kMaxwell;
  if (second == "es") return WireFormat::kCanal;
  return WireFormat::kUnknown;
}

// Looks at every top-level key (values are skipped, not read).
WireFormat FormatOfAllKeys(std::string_view payload) {
  // Sniffing is off the common path (only for producers that reorder
  // fields), so a parser per thread, grown once, is fine.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  padded.assign(payload);
  padded.resize(payload.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document document;
  simdjson::ondemand::object object;
  if (parser.iterate(padded.data(), payload.size(), padded.size()).get(document) ||
      document.get_object().get(object)) {
    return WireFormat::kUnknown;
  }
  WireFormat by_type = WireFormat::kUnknown;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return WireFormat::kUnknown;
    for (std::string_view name : {"es", "isDdl", "pkNames", "mysqlType", "sqlType"}) {
      if (key == name) return WireFormat::kCanal;
    }
    for (std::string_view name :
         {"payload", "op", "source", "before", "after", "status", "ddl", "tableChanges"}) {
      if (key == name) return WireFormat::kDebezium;
    }
    for (std::string_view name : {"xid", "xoffset", "commit", "encrypted"}) {
      if (key == name) return WireFormat::kMaxwell;
    }
    std::string_view type;
    if (key == "type" && !field.value().get_string().get(type) && !type.empty()) {
      by_type = type[0] >= 'A' && type[0] <= 'Z' ? WireFormat::kCanal : WireFormat::kMaxwell;
    }
  }
  return by_type;
}

bool IsTombstone(std::string_view payload) {
  while (!payload.empty() && IsSpace(payload.front())) payload.remove_prefix(1);
  while (!payload.empty() && IsSpace(payload.back())) payload.remove_suffix(1);
  return payload.empty() || payload == "null";
}

}  // namespace

WireFormat SniffWireFormat(std::string_view payload) {
  if (IsTombstone(payload)) return WireFormat::kDebezium;
  const WireFormat format = FormatOfFirstKeys(payload);
  return format != WireFormat::kUnknown ? format : FormatOfAllKeys(payload);
}

AutoDecoder::AutoDecoder(const DecodeSchema& schema)
    : canal_(std::make_unique<CanalDecoder>(schema)),
      debezium_(std::make_unique<DebeziumDecoder>(schema)),
      maxwell_(std::make_unique<MaxwellDecoder>(schema)) {}

AutoDecoder::~AutoDecoder() = default;

DecodeResult AutoDecoder::Decode(const SourceMessage& message) {
  switch (SniffWireFormat(message.payload)) {
    // A Maxwell transaction held open stays so across other formats' messages.
    case WireFormat::kCanal: {
      DecodeResult result = canal_->Decode(message);
      result.transaction_open = maxwell_transaction_open_;
      return result;
    }
    case WireFormat::kDebezium: {
      DecodeResult result = debezium_->Decode(message);
      result.transaction_open = maxwell_transaction_open_;
      return result;
    }
    case WireFormat::kMaxwell: {
      DecodeResult result = maxwell_->Decode(message);
      maxwell_transaction_open_ = result.transaction_open;
      return result;
    }
    case WireFormat::kUnknown:
      break;
  }
  DecodeResult result;
  // Not JSON at all, or JSON that names none of the formats' fields: the
  // Canal decoder tells which (and the reason it gives for garbage).
  result = canal_->Decode(message);
  if (result.error == DecodeError::kNone || result.error == DecodeError::kMissingField) {
    result = {};
    result.error = DecodeError::kMissingField;
    result.detail = "format not recognised (neither Canal, Debezium nor Maxwell)";
  }
  result.format = {};
  result.transaction_open = maxwell_transaction_open_;
  return result;
}

std::vector<std::string> AutoDecoder::TableColumns(const SourceMessage& message,
                                                   std::string_view database,
                                                   std::string_view table) {
  switch (SniffWireFormat(message.payload)) {
    case WireFormat::kCanal:
      return canal_->TableColumns(message, database, table);
    case WireFormat::kDebezium:
      return debezium_->TableColumns(message, database, table);
    case WireFormat::kMaxwell:
      return maxwell_->TableColumns(message, database, table);
    case WireFormat::kUnknown:
      break;
  }
  return {};
}

std::string AutoDecoder::RowKey(const SourceMessage& message, size_t row) {
  return SniffWireFormat(message.payload) == WireFormat::kCanal ? canal_->RowKey(message, row) : "";
}

}  // namespace txmon
