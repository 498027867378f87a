#include "agent/decode/canal_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/json_keys.h"
#include "agent/decode/json_walk.h"

namespace txmon {
namespace {

using namespace json_walk;  // NOLINT(google-build-using-namespace): the shared JSON pieces

std::optional<RowOp> RowOpOfType(std::string_view type) {
  // Alibaba Cloud DTS sends snapshot rows as INIT.
  if (type == "INSERT" || type == "INIT") return RowOp::kInsert;
  if (type == "UPDATE") return RowOp::kUpdate;
  if (type == "DELETE") return RowOp::kDelete;
  return std::nullopt;
}

std::string_view StripBackticks(std::string_view name) {
  // Old Canal versions keep the quoting of the statement: "`test`".
  if (name.size() >= 2 && name.front() == '`' && name.back() == '`') {
    return name.substr(1, name.size() - 2);
  }
  return name;
}

// The top-level fields the decoder reads, by RawKeyMatcher id; the others
// (id, ts, isDdl, sql, mysqlType, sqlType, pkNames, gtid, ...) are skipped.
enum MessageField : int { kData, kOld, kType, kTable, kDatabase, kEs };
constexpr std::string_view kMessageFieldNames[] = {"data",  "old",      "type",
                                                   "table", "database", "es"};

// Names the `data` or `old` field in details.
struct ImageField {
  std::string_view not_array;
  std::string_view row_not_object;
};
constexpr ImageField kDataField{"field \"data\" is not an array",
                                "a row in \"data\" is not an object"};
constexpr ImageField kOldField{"field \"old\" is not an array",
                               "a row in \"old\" is not an object"};

// The message-level fields, as read by the walk over the top-level object.
struct MessageFields {
  bool has_type = false;
  std::string_view type;
  std::optional<RowOp> op;  // set for the row types
  bool has_database = false;
  std::string_view database;
  bool has_table = false;
  std::string_view table;
  int64_t commit_time_ms = 0;
};

Problem ReadCommitTime(ondemand::value& value, int64_t* commit_time_ms) {
  JsonType type;
  if (auto code = value.type().get(type)) return InvalidJson(code);
  if (type == JsonType::null) return CheckNull(value);
  if (type != JsonType::number) return {DecodeError::kWrongType, "field \"es\" is not a number"};
  if (auto code = value.get_int64().get(*commit_time_ms)) {
    if (code == simdjson::INCORRECT_TYPE || code == simdjson::NUMBER_OUT_OF_RANGE) {
      return {DecodeError::kBadValue, "field \"es\" is not a 64-bit integer"};
    }
    return InvalidJson(code);
  }
  return kNoProblem;
}

// Reads one flat message into the decoder's buffers, then turns it into
// RowChanges. Owns everything that is reused from one message to the next.
class FlatMessageReader {
 public:
  explicit FlatMessageReader(const DecodeSchema& schema)
      : schema_(schema),
        width_(schema.columns.size()),
        field_matcher_(kMessageFieldNames),
        column_matcher_(ColumnNames(schema.columns)),
        parser_(schema.max_message_bytes) {}

  DecodeResult Decode(const SourceMessage& message) {
    MessageFields fields;
    Problem problem = ReadMessage(message.payload, &fields);
    if (!problem) problem = BuildRows(fields, message.position);
    DecodeResult result;
    result.message_type = fields.type;
    result.format = "canal";
    if (problem) {
      result.error = problem.error;
      result.detail = problem.detail;
      result.database = fields.database;
      result.table = fields.table;
      return result;
    }
    result.rows = rows_;
    return result;
  }

 private:
  Problem ReadMessage(std::string_view payload, MessageFields* fields) {
    data_.Reset();
    old_.Reset();
    rows_.clear();
    ondemand::document document;
    ondemand::object message;
    if (Problem problem = OpenObject(parser_, payload, &document, &message)) return problem;
    if (Problem problem = ReadFields(message, fields)) return problem;
    return PaddedParser::CheckFullyRead(document);
  }

  // Walks the top-level object once, in whatever order its fields come.
  Problem ReadFields(ondemand::object& message, MessageFields* fields) {
    for (auto field_result : message) {
      if (auto code = field_result.error()) return InvalidJson(code);
      ondemand::field& field = FieldOf(field_result);
      const int id = field_matcher_.Find(field);
      if (id < 0) continue;  // a field no decode needs: simdjson skips it
      if (Problem problem = ReadField(static_cast<MessageField>(id), field.value(), fields)) {
        return problem;
      }
    }
    return kNoProblem;
  }

  Problem ReadField(MessageField id, ondemand::value& value, MessageFields* fields) {
    switch (id) {
      case kData:
        return IsKnownUnwantedTable(*fields) ? kNoProblem : ReadImages(value, kDataField, &data_);
      case kOld:
        return IsKnownUnwantedTable(*fields) ? kNoProblem : ReadImages(value, kOldField, &old_);
      case kType: {
        Problem problem =
            ReadStringField(value, /*null_allowed=*/false, "field \"type\" is not a string",
                            &fields->has_type, &fields->type);
        fields->op = RowOpOfType(fields->type);
        return problem;
      }
      case kTable:
        return ReadStringField(value, /*null_allowed=*/true, "field \"table\" is not a string",
                               &fields->has_table, &fields->table);
      case kDatabase: {
        Problem problem =
            ReadStringField(value, /*null_allowed=*/true, "field \"database\" is not a string",
                            &fields->has_database, &fields->database);
        fields->database = StripBackticks(fields->database);
        return problem;
      }
      case kEs:
        return ReadCommitTime(value, &fields->commit_time_ms);
    }
    return kNoProblem;
  }

  // Canal writes `data` first, but a producer that sends type, database and
  // table before it lets rows of unmapped tables be skipped unread.
  bool IsKnownUnwantedTable(const MessageFields& fields) const {
    return fields.op.has_value() && fields.has_database && fields.has_table &&
           !schema_.HasTable(fields.database, fields.table);
  }

  // Reads `data` or `old`: null, or an array of row objects.
  Problem ReadImages(ondemand::value& value, const ImageField& field, ImageTable* table) {
    table->Reset();
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    if (type != JsonType::array) return {DecodeError::kWrongType, field.not_array};
    ondemand::array rows;
    if (auto code = value.get_array().get(rows)) return JsonProblem(code, field.not_array);
    table->found = true;
    for (auto row_result : rows) {
      ondemand::object row;
      if (auto code = row_result.get_object().get(row)) {
        return JsonProblem(code, field.row_not_object);
      }
      if (Problem problem = ReadImage(row, table)) return problem;
    }
    return kNoProblem;
  }

  // Reads one row object into slot order. Keys that no mapping needs are
  // looked up but their values are never unescaped.
  Problem ReadImage(ondemand::object& row, ImageTable* table) {
    ColumnValue* const values = table->AppendRow(width_);
    uint64_t present = 0;
    for (auto field_result : row) {
      if (auto code = field_result.error()) return InvalidJson(code);
      ondemand::field& field = FieldOf(field_result);
      const int slot = column_matcher_.Find(field);
      if (slot < 0) continue;
      if (Problem problem = ReadColumnValue(field.value(), &values[slot])) return problem;
      present |= uint64_t{1} << slot;
    }
    table->present[table->rows - 1] = present;
    return kNoProblem;
  }

  // Checks what can only be checked once every field has been seen, then
  // emits one RowChange per row of `data`.
  Problem BuildRows(const MessageFields& fields, const SourcePosition& position) {
    if (!fields.has_type) return {DecodeError::kMissingField, "field \"type\" is missing"};
    if (!fields.op) return kNoProblem;  // DDL, QUERY, GTID, ...: no rows
    if (!fields.has_table) return {DecodeError::kMissingField, "field \"table\" is missing"};
    if (!schema_.HasTable(fields.database, fields.table)) {
      return {DecodeError::kUnknownTable, "no mapping declares this table"};
    }
    if (!data_.found) return {DecodeError::kMissingField, "field \"data\" is missing or null"};
    const bool has_old = *fields.op == RowOp::kUpdate && old_.found;
    if (has_old && old_.rows != data_.rows) {
      return {DecodeError::kBadValue, "fields \"old\" and \"data\" differ in length"};
    }
    for (size_t i = 0; i < data_.rows; ++i) {
      RowChange& row = rows_.emplace_back();
      row.database = fields.database;
      row.table = fields.table;
      row.op = *fields.op;
      row.commit_time_ms = fields.commit_time_ms;
      row.position = position;
      SetImages(i, has_old, &row);
    }
    return kNoProblem;
  }

  void SetImages(size_t i, bool has_old, RowChange* row) {
    const std::span<const ColumnValue> data_image = data_.Row(i, width_);
    switch (row->op) {
      case RowOp::kInsert:
        row->after = data_image;
        return;
      case RowOp::kDelete:
        row->before = data_image;
        return;
      case RowOp::kUpdate:
        row->after = data_image;
        // Without `old` nothing is known to have changed: before = after.
        row->before = has_old ? OverlayOld(i) : data_image;
        row->changed_slots = has_old ? old_.present[i] : 0;
        return;
    }
  }

  // Turns old[i] into the full before image in place: the changed columns
  // keep their old values, every other slot takes the value from data[i].
  std::span<const ColumnValue> OverlayOld(size_t i) {
    const std::span<const ColumnValue> after = data_.Row(i, width_);
    const std::span<ColumnValue> before = old_.Row(i, width_);
    const uint64_t changed = old_.present[i];
    for (size_t slot = 0; slot < width_; ++slot) {
      if (((changed >> slot) & 1) == 0) before[slot] = after[slot];
    }
    return before;
  }

  const DecodeSchema& schema_;
  const size_t width_;
  const RawKeyMatcher field_matcher_;
  const RawKeyMatcher column_matcher_;
  PaddedParser parser_;  // the payload copy simdjson reads, and its buffers
  ImageTable data_;
  ImageTable old_;
  std::vector<RowChange> rows_;
};

}  // namespace

struct CanalDecoder::Workspace : FlatMessageReader {
  using FlatMessageReader::FlatMessageReader;
};

CanalDecoder::CanalDecoder(const DecodeSchema& schema)
    : schema_(schema), workspace_(std::make_unique<Workspace>(schema_)) {}

CanalDecoder::~CanalDecoder() = default;

DecodeResult CanalDecoder::Decode(const SourceMessage& message) {
  return workspace_->Decode(message);
}

std::vector<std::string> CanalDecoder::TableColumns(const SourceMessage& message,
                                                    std::string_view database,
                                                    std::string_view table) {
  // One table per message.
  static_cast<void>(database);
  static_cast<void>(table);
  return JsonObjectKeys(message.payload, {{"mysqlType"}, {"data"}});
}

std::string CanalDecoder::RowKey(const SourceMessage& message, size_t row) {
  return JsonRowKey(message.payload, "pkNames", "data", row);
}

}  // namespace txmon
