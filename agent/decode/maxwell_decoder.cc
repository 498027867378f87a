#include "agent/decode/maxwell_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/decode/json_keys.h"
#include "agent/decode/json_walk.h"
#include "agent/decode/transaction_rows.h"

namespace txmon {
namespace {

using namespace json_walk;  // NOLINT(google-build-using-namespace): the shared JSON pieces

struct RowType {
  RowOp op;
  bool bootstrap;
};

std::optional<RowType> RowTypeOf(std::string_view type) {
  if (type == "insert") return RowType{RowOp::kInsert, false};
  if (type == "update") return RowType{RowOp::kUpdate, false};
  if (type == "delete") return RowType{RowOp::kDelete, false};
  if (type == "bootstrap-insert") return RowType{RowOp::kInsert, true};
  return std::nullopt;
}

// The fields the decoder reads, by RawKeyMatcher id; the others (xoffset,
// primary_key, server_id, ...) are skipped.
enum MessageField : int {
  kData,
  kOld,
  kType,
  kTable,
  kDatabase,
  kTs,
  kEncrypted,
  kXid,
  kCommit,
  kPosition,
  kGtid
};
constexpr std::string_view kMessageFieldNames[] = {"data",     "old",      "type",      "table",
                                                   "database", "ts",       "encrypted", "xid",
                                                   "commit",   "position", "gtid"};

// A transaction longer than this is handed on in parts of this many rows:
// the memory a never-committed transaction can hold stays bounded.
constexpr size_t kMaxHeldRows = 10'000;

struct MessageFields {
  bool has_type = false;
  std::string_view type;
  std::optional<RowType> row_type;
  bool has_database = false;
  std::string_view database;
  bool has_table = false;
  std::string_view table;
  int64_t ts = 0;
  bool encrypted = false;
  bool has_xid = false;
  uint64_t xid = 0;
  bool commit = false;
  bool has_position = false;
  std::string_view position;  // "mysql-bin.000003:2213"
  bool has_gtid = false;
  std::string_view gtid;
};

// Splits Maxwell's "file:offset" binlog position into the result's fields.
void SetBinlogPosition(const MessageFields& fields, DecodeResult* result) {
  if (fields.has_gtid) result->gtid = fields.gtid;
  if (!fields.has_position) return;
  const size_t colon = fields.position.rfind(':');
  result->binlog_file = fields.position.substr(0, colon);
  if (colon == std::string_view::npos) return;
  const std::string_view offset = fields.position.substr(colon + 1);
  int64_t pos = -1;
  const auto [end, error] = std::from_chars(offset.data(), offset.data() + offset.size(), pos);
  if (error == std::errc() && end == offset.data() + offset.size()) result->binlog_pos = pos;
}

class MessageReader {
 public:
  explicit MessageReader(const DecodeSchema& schema)
      : schema_(schema),
        width_(schema.columns.size()),
        field_matcher_(kMessageFieldNames),
        column_matcher_(ColumnNames(schema.columns)),
        parser_(schema.max_message_bytes) {}

  DecodeResult Decode(const SourceMessage& message) {
    DecodeResult result;
    result.format = "maxwell";
    ClearReleased();
    MessageFields fields;
    Problem problem = Read(message.payload, &fields);
    if (!problem) problem = BuildRow(fields, message.position);
    result.message_type = fields.encrypted && !fields.has_type ? "encrypted" : fields.type;
    SetBinlogPosition(fields, &result);
    if (problem) {
      result.error = problem.error;
      result.detail = problem.detail;
      result.database = fields.database;
      result.table = fields.table;
    }
    // An error result may still carry the rows its message released.
    result.rows = GroupByTransaction(fields, problem || rows_.empty() ? nullptr : &rows_.front());
    result.transaction_open = TransactionOpen();
    return result;
  }

 private:
  Problem Read(std::string_view payload, MessageFields* fields) {
    data_.Reset();
    old_.Reset();
    rows_.clear();
    ondemand::document document;
    ondemand::object message;
    if (Problem problem = OpenObject(parser_, payload, &document, &message)) return problem;
    for (auto field_result : message) {
      if (auto code = field_result.error()) return InvalidJson(code);
      ondemand::field& field = FieldOf(field_result);
      const int id = field_matcher_.Find(field);
      if (id < 0) continue;
      if (Problem problem = ReadField(static_cast<MessageField>(id), field.value(), fields)) {
        return problem;
      }
    }
    return PaddedParser::CheckFullyRead(document);
  }

  Problem ReadField(MessageField id, ondemand::value& value, MessageFields* fields) {
    switch (id) {
      case kData:
        return IsKnownUnwantedTable(*fields)
                   ? SkipValue(value)
                   : ReadImage(value, "field \"data\" is not an object", &data_);
      case kOld:
        return IsKnownUnwantedTable(*fields)
                   ? SkipValue(value)
                   : ReadImage(value, "field \"old\" is not an object", &old_);
      case kType: {
        Problem problem =
            ReadStringField(value, /*null_allowed=*/false, "field \"type\" is not a string",
                            &fields->has_type, &fields->type);
        fields->row_type = RowTypeOf(fields->type);
        return problem;
      }
      case kTable:
        return ReadStringField(value, /*null_allowed=*/true, "field \"table\" is not a string",
                               &fields->has_table, &fields->table);
      case kDatabase:
        return ReadStringField(value, /*null_allowed=*/true, "field \"database\" is not a string",
                               &fields->has_database, &fields->database);
      case kTs:
        return ReadInt64Field(value, "field \"ts\" is not a 64-bit integer", &fields->ts);
      case kEncrypted:
        fields->encrypted = true;
        return SkipValue(value);
      case kXid:
        return ReadXid(value, fields);
      case kCommit:
        return ReadCommit(value, fields);
      case kPosition:
        return ReadStringField(value, /*null_allowed=*/true, "field \"position\" is not a string",
                               &fields->has_position, &fields->position);
      case kGtid:
        return ReadStringField(value, /*null_allowed=*/true, "field \"gtid\" is not a string",
                               &fields->has_gtid, &fields->gtid);
    }
    return kNoProblem;
  }

  static Problem ReadXid(ondemand::value& value, MessageFields* fields) {
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    if (type != JsonType::number) return {DecodeError::kWrongType, "field \"xid\" is not a number"};
    if (auto code = value.get_uint64().get(fields->xid)) {
      return JsonProblem(code, "field \"xid\" is not an unsigned 64-bit integer");
    }
    fields->has_xid = true;
    return kNoProblem;
  }

  static Problem ReadCommit(ondemand::value& value, MessageFields* fields) {
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    if (auto code = value.get_bool().get(fields->commit)) {
      return JsonProblem(code, "field \"commit\" is not a boolean");
    }
    return kNoProblem;
  }

  bool IsKnownUnwantedTable(const MessageFields& fields) const {
    return fields.row_type.has_value() && fields.has_database && fields.has_table &&
           !schema_.HasTable(fields.database, fields.table);
  }

  // Reads `data` or `old`: null, or one object. For DDL events `old` and
  // `def` hold table definitions: only the columns named like mapped ones
  // are read, and DDL gives no rows.
  Problem ReadImage(ondemand::value& value, std::string_view not_object, ImageTable* table) {
    table->Reset();
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    ondemand::object row;
    if (auto code = value.get_object().get(row)) {
      return JsonProblem(code, not_object);
    }
    table->found = true;
    ColumnValue* const values = table->AppendRow(width_);
    uint64_t present = 0;
    for (auto field_result : row) {
      if (auto code = field_result.error()) return InvalidJson(code);
      ondemand::field& field = FieldOf(field_result);
      const int slot = column_matcher_.Find(field);
      if (slot < 0) continue;
      JsonType kind;
      if (Problem problem = ReadTypedColumnValue(field.value(), &values[slot], &kind)) {
        return problem;
      }
      present |= uint64_t{1} << slot;
    }
    table->present[0] = present;
    return kNoProblem;
  }

  Problem BuildRow(const MessageFields& fields, const SourcePosition& position) {
    if (fields.encrypted) {
      return {DecodeError::kUnsupportedEvent,
              "an encrypted Maxwell payload (encrypt=data or all): txmon cannot decrypt it"};
    }
    if (!fields.has_type) return {DecodeError::kMissingField, "field \"type\" is missing"};
    if (!fields.row_type) return kNoProblem;  // DDL, bootstrap-start/-complete, ...
    if (!fields.has_table) return {DecodeError::kMissingField, "field \"table\" is missing"};
    if (!schema_.HasTable(fields.database, fields.table)) {
      return {DecodeError::kUnknownTable, "no mapping declares this table"};
    }
    if (!data_.found) return {DecodeError::kMissingField, "field \"data\" is missing or null"};
    RowChange& row = rows_.emplace_back();
    row.database = fields.database;
    row.table = fields.table;
    row.op = fields.row_type->op;
    row.bootstrap = fields.row_type->bootstrap;
    // Row events' ts is in seconds; a producer writing ms (as Maxwell does
    // for DDL only) would give a date beyond year 33658: read it as ms.
    constexpr int64_t kMaxSeconds = 1'000'000'000'000;
    row.commit_time_ms = fields.ts >= kMaxSeconds ? fields.ts : fields.ts * 1000;
    row.position = position;
    const std::span<const ColumnValue> data = data_.Row(0, width_);
    switch (row.op) {
      case RowOp::kInsert:
        row.after = data;
        break;
      case RowOp::kDelete:
        row.before = data;
        break;
      case RowOp::kUpdate:
        row.after = data;
        row.before = old_.found ? OverlayOld() : data;
        row.changed_slots = old_.found ? old_.present[0] : 0;
        break;
    }
    return kNoProblem;
  }

  // Holds the rows of a transaction until the message that carries
  // `commit` (Maxwell writes it only on the last row of each xid), then
  // hands them all on. `row` is null for a message that gives no row (DDL,
  // a table no mapping declares, an error): its xid and commit still count,
  // since a transaction often ends on a row of a table nobody maps. A row
  // without xid (bootstrap) or a message of another xid ends a held
  // transaction whose commit never came: what was held goes on, so nothing
  // is lost, only applied in two parts.
  std::span<const RowChange> GroupByTransaction(const MessageFields& fields, const RowChange* row) {
    if (row == nullptr && !fields.has_xid) return {};
    const bool ends = fields.commit || !fields.has_xid;
    if (held_.empty()) {
      if (row == nullptr) return {};
      if (ends) return rows_;  // a one-row transaction: no copy
      held_xid_ = fields.xid;
      held_.Add(*row);
      return {};
    }
    if (fields.has_xid && fields.xid != held_xid_) {
      // The held transaction never committed: it goes on now.
      if (row != nullptr && ends) {
        held_.Add(*row);
      } else if (row != nullptr) {
        next_.Add(*row);  // opens the next transaction
        held_xid_ = fields.xid;
      }
      return Release();
    }
    if (row != nullptr) held_.Add(*row);
    if (ends || held_.size() >= kMaxHeldRows) return Release();
    return {};
  }

  // Hands the held rows on; they are cleared at the next Decode.
  std::span<const RowChange> Release() {
    released_ = true;
    return held_.Rows();
  }

  // At the start of each Decode: drops what the previous one handed on.
  void ClearReleased() {
    if (!released_) return;
    released_ = false;
    held_.Clear();
    if (!next_.empty()) std::swap(held_, next_);  // rare: a commit was missing
  }

  bool TransactionOpen() const { return !next_.empty() || (!held_.empty() && !released_); }

  // The before image: the columns named in `old` keep their old values, the
  // others take the value from `data`.
  std::span<const ColumnValue> OverlayOld() {
    const std::span<const ColumnValue> after = data_.Row(0, width_);
    const std::span<ColumnValue> before = old_.Row(0, width_);
    const uint64_t changed = old_.present[0];
    for (size_t slot = 0; slot < width_; ++slot) {
      if (((changed >> slot) & 1) == 0) before[slot] = after[slot];
    }
    return before;
  }

  const DecodeSchema& schema_;
  const size_t width_;
  const RawKeyMatcher field_matcher_;
  const RawKeyMatcher column_matcher_;
  PaddedParser parser_;
  ImageTable data_;
  ImageTable old_;
  std::vector<RowChange> rows_;
  // The open transaction's rows so far; once released_, the rows the last
  // Decode handed on (valid until the next one). next_: the first row of a
  // transaction that began while a commit-less one was being released.
  TransactionRows held_;
  uint64_t held_xid_ = 0;
  bool released_ = false;
  TransactionRows next_;
};

}  // namespace

struct MaxwellDecoder::Workspace : MessageReader {
  using MessageReader::MessageReader;
};

MaxwellDecoder::MaxwellDecoder(const DecodeSchema& schema)
    : schema_(schema), workspace_(std::make_unique<Workspace>(schema_)) {}

MaxwellDecoder::~MaxwellDecoder() = default;

DecodeResult MaxwellDecoder::Decode(const SourceMessage& message) {
  return workspace_->Decode(message);
}

std::vector<std::string> MaxwellDecoder::TableColumns(const SourceMessage& message,
                                                      std::string_view database,
                                                      std::string_view table) {
  // The message that commits a transaction also releases the earlier rows,
  // maybe of other tables: its `data` tells only of its own table.
  if (JsonStringAt(message.payload, {"database"}) != database ||
      JsonStringAt(message.payload, {"table"}) != table) {
    return {};
  }
  return JsonObjectKeys(message.payload, {{"data"}});
}

}  // namespace txmon
