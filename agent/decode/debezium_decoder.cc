#include "agent/decode/debezium_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/binlog_bytes.h"
#include "agent/decode/binlog_values.h"
#include "agent/decode/cdc_values.h"
#include "agent/decode/json_keys.h"
#include "agent/decode/json_walk.h"

namespace txmon {
namespace {

using namespace json_walk;  // NOLINT(google-build-using-namespace): the shared JSON pieces

// How a mapped column's JSON value becomes MySQL text.
enum class Conversion : uint8_t {
  kNone,          // the JSON text as it is
  kDecimalBytes,  // Connect Decimal, precise mode
  kDays,          // io.debezium.time.Date, Connect Date
  kMillis,        // io.debezium.time.Timestamp, Connect Timestamp
  kMicros,        // io.debezium.time.MicroTimestamp
  kNanos,         // io.debezium.time.NanoTimestamp
  kZoned,         // io.debezium.time.ZonedTimestamp
  kMilliTime,     // io.debezium.time.Time, Connect Time
  kMicroTime,     // io.debezium.time.MicroTime
  kNanoTime,      // io.debezium.time.NanoTime
};

struct ColumnEncoding {
  Conversion conversion = Conversion::kNone;
  int8_t scale = -1;
};

Conversion ConversionOfSchemaName(std::string_view name) {
  struct Entry {
    std::string_view name;
    Conversion conversion;
  };
  static constexpr Entry kEntries[] = {
      {"org.apache.kafka.connect.data.Decimal", Conversion::kDecimalBytes},
      {"io.debezium.time.Date", Conversion::kDays},
      {"org.apache.kafka.connect.data.Date", Conversion::kDays},
      {"io.debezium.time.Timestamp", Conversion::kMillis},
      {"org.apache.kafka.connect.data.Timestamp", Conversion::kMillis},
      {"io.debezium.time.MicroTimestamp", Conversion::kMicros},
      {"io.debezium.time.NanoTimestamp", Conversion::kNanos},
      {"io.debezium.time.ZonedTimestamp", Conversion::kZoned},
      {"io.debezium.time.Time", Conversion::kMilliTime},
      {"org.apache.kafka.connect.data.Time", Conversion::kMilliTime},
      {"io.debezium.time.MicroTime", Conversion::kMicroTime},
      {"io.debezium.time.NanoTime", Conversion::kNanoTime},
  };
  for (const Entry& entry : kEntries) {
    if (entry.name == name) return entry.conversion;
  }
  return Conversion::kNone;
}

ColumnEncoding EncodingOfHint(ColumnHint hint) {
  if (hint.scale >= 0) return {Conversion::kDecimalBytes, hint.scale};
  switch (hint.epoch) {
    case EpochUnit::kNone:
      return {};
    case EpochUnit::kDays:
      return {Conversion::kDays, -1};
    case EpochUnit::kMillis:
      return {Conversion::kMillis, -1};
    case EpochUnit::kMicros:
      return {Conversion::kMicros, -1};
    case EpochUnit::kNanos:
      return {Conversion::kNanos, -1};
  }
  return {};
}

bool ParseInt64(std::string_view text, int64_t* out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

// The fields read from the event (top level, or inside `payload`), and from
// `source`, by RawKeyMatcher id. Others (ts_ms of the connector, transaction,
// ...) are skipped.
enum EventField : int {
  kSchema,
  kPayload,
  kBefore,
  kAfter,
  kSource,
  kOp,
  kStatus,
  kDdl,
  kTableChanges
};
constexpr std::string_view kEventFieldNames[] = {
    "schema", "payload", "before", "after", "source", "op", "status", "ddl", "tableChanges"};
enum SourceField : int { kDb, kTable, kTsMs, kTsUs, kTsSec, kFile, kPos, kGtid };
constexpr std::string_view kSourceFieldNames[] = {"db",     "table", "ts_ms", "ts_us",
                                                  "ts_sec", "file",  "pos",   "gtid"};

struct EventFields {
  bool payload_field = false;  // the envelope's `payload` key was there
  bool payload_null = false;
  bool has_op = false;
  std::string_view op;
  bool has_status = false;
  std::string_view status;
  bool schema_change = false;
  bool has_database = false;
  std::string_view database;
  bool has_table = false;
  std::string_view table;
  int64_t ts_ms = 0;
  int64_t ts_us = -1;
  int64_t ts_sec = -1;
  // Where the connector read the change: for logs only.
  bool has_file = false;
  std::string_view file;
  int64_t pos = -1;
  bool has_gtid = false;
  std::string_view gtid;

  int64_t CommitTimeMs() const {
    if (ts_us >= 0) return ts_us / 1000;
    if (ts_ms > 0) return ts_ms;
    return ts_sec >= 0 ? ts_sec * 1000 : 0;
  }
};

bool IsTombstoneText(std::string_view payload) {
  while (!payload.empty() && (payload.front() == ' ' || payload.front() == '\n' ||
                              payload.front() == '\r' || payload.front() == '\t')) {
    payload.remove_prefix(1);
  }
  payload = TrimTrailingSpace(payload);
  return payload.empty() || payload == "null";
}

class EventReader {
 public:
  explicit EventReader(const DecodeSchema& schema)
      : schema_(schema),
        width_(schema.columns.size()),
        event_matcher_(kEventFieldNames),
        source_matcher_(kSourceFieldNames),
        column_matcher_(ColumnNames(schema.columns)),
        parser_(schema.max_message_bytes),
        hint_encodings_(width_) {
    for (size_t slot = 0; slot < width_; ++slot) {
      hint_encodings_[slot] = EncodingOfHint(schema.HintOf(slot));
    }
    zone_.Set("");  // the process zone: where the mappings read datetimes
    schema_cache_.reserve(kMaxCachedSchemas);  // entries never move: encodings are pointed to
  }

  DecodeResult Decode(const SourceMessage& message) {
    DecodeResult result;
    result.format = "debezium";
    EventFields fields;
    Problem problem = Read(message.payload, &fields);
    if (!problem) problem = BuildRows(fields, message.position, &result.message_type);
    result.binlog_file = fields.file;
    result.binlog_pos = fields.pos;
    result.gtid = fields.gtid;
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
  // `fields` comes fresh from Decode; the rest is reused.
  void ResetMessage() {
    before_.Reset();
    after_.Reset();
    rows_.clear();
    arena_.Reset();
    active_encodings_ = &hint_encodings_;
    deferred_ = kNoProblem;
  }

  Problem Read(std::string_view payload, EventFields* fields) {
    ResetMessage();
    if (IsTombstoneText(payload)) {
      fields->payload_field = fields->payload_null = true;
      return kNoProblem;
    }
    if (std::optional<Problem> problem = ReadKnownEnvelope(payload, fields)) return *problem;
    ondemand::document document;
    ondemand::object event;
    if (Problem problem = OpenObject(parser_, payload, &document, &event)) return problem;
    if (Problem problem = ReadEvent(event, /*top_level=*/true, fields)) return problem;
    if (Problem problem = PaddedParser::CheckFullyRead(document)) return problem;
    return deferred_;
  }

  // The envelope as JsonConverter writes it, `{"schema":S,"payload":P}`
  // without spaces, whose S is byte for byte a schema already parsed: only
  // P is handed to simdjson, so the ~2 KB schema is neither scanned nor
  // walked again. Nothing (the general path reads the message) when the
  // message is not of that shape, or when P does not read as one JSON value
  // (the general path then says what is wrong).
  std::optional<Problem> ReadKnownEnvelope(std::string_view message, EventFields* fields) {
    static constexpr std::string_view kOpen = "{\"schema\":";
    static constexpr std::string_view kPayloadKey = ",\"payload\":";
    if (!message.starts_with(kOpen)) return std::nullopt;
    const std::string_view rest = message.substr(kOpen.size());
    for (const CachedSchema& cached : schema_cache_) {
      const size_t length = cached.text.size();
      if (length == 0 || rest.size() <= length + kPayloadKey.size() ||
          rest.compare(length, kPayloadKey.size(), kPayloadKey) != 0 ||
          std::memcmp(rest.data(), cached.text.data(), length) != 0) {
        continue;
      }
      std::string_view value = TrimTrailingSpace(rest.substr(length + kPayloadKey.size()));
      if (value.empty() || value.back() != '}') return std::nullopt;
      value = TrimTrailingSpace(value.substr(0, value.size() - 1));
      if (value.empty()) return std::nullopt;
      active_encodings_ = &cached.encodings;
      ondemand::document document;
      ondemand::value payload;
      if (parser_.Open(value, &document) || document.get_value().get(payload) ||
          ReadPayload(payload, fields) || PaddedParser::CheckFullyRead(document)) {
        // Forget what was read: the general path starts over.
        *fields = EventFields();
        ResetMessage();
        return std::nullopt;
      }
      return deferred_;
    }
    return std::nullopt;
  }

  Problem ReadEvent(ondemand::object& event, bool top_level, EventFields* fields) {
    for (auto field_result : event) {
      if (auto code = field_result.error()) return InvalidJson(code);
      ondemand::field& field = FieldOf(field_result);
      const int id = event_matcher_.Find(field);
      if (id < 0) continue;
      if ((id == kSchema || id == kPayload) && !top_level) continue;  // a column named so
      if (Problem problem = ReadField(static_cast<EventField>(id), field.value(), fields)) {
        return problem;
      }
    }
    return kNoProblem;
  }

  Problem ReadField(EventField id, ondemand::value& value, EventFields* fields) {
    switch (id) {
      case kSchema:
        return ReadSchema(value);
      case kPayload:
        return ReadPayload(value, fields);
      case kBefore:
        return ReadImage(value, "field \"before\" is not an object", &before_);
      case kAfter:
        return ReadImage(value, "field \"after\" is not an object", &after_);
      case kSource:
        return ReadSource(value, fields);
      case kOp:
        return ReadStringField(value, /*null_allowed=*/true, "field \"op\" is not a string",
                               &fields->has_op, &fields->op);
      case kStatus:
        return ReadStringField(value, /*null_allowed=*/true, "field \"status\" is not a string",
                               &fields->has_status, &fields->status);
      case kDdl:
      case kTableChanges:
        fields->schema_change = true;
        return SkipValue(value);
    }
    return kNoProblem;
  }

  Problem ReadPayload(ondemand::value& value, EventFields* fields) {
    fields->payload_field = true;
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) {
      fields->payload_null = true;
      return CheckNull(value);
    }
    ondemand::object payload;
    if (auto code = value.get_object().get(payload)) {
      return JsonProblem(code, "field \"payload\" is not an object");
    }
    return ReadEvent(payload, /*top_level=*/false, fields);
  }

  // The envelope's Connect schema: reparsed only when its text changed.
  Problem ReadSchema(ondemand::value& value) {
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    if (type != JsonType::object)
      return {DecodeError::kWrongType, "field \"schema\" is not an object"};
    std::string_view raw;
    if (Problem problem = RawJsonOf(value, JsonType::object, &raw)) return problem;
    active_encodings_ = &CachedEncodingsOf(raw);
    return kNoProblem;
  }

  // The column encodings the schema `raw` gives, parsed at its first sight.
  // A topic carries one schema per table (and table version), interleaved
  // message by message, so the last kMaxCachedSchemas are kept.
  const std::vector<ColumnEncoding>& CachedEncodingsOf(std::string_view raw) {
    for (const CachedSchema& cached : schema_cache_) {
      if (cached.text.size() == raw.size() &&
          std::memcmp(cached.text.data(), raw.data(), raw.size()) == 0) {
        return cached.encodings;
      }
    }
    CachedSchema* entry;
    if (schema_cache_.size() < kMaxCachedSchemas) {
      entry = &schema_cache_.emplace_back();
    } else {
      entry = &schema_cache_[next_eviction_];
      next_eviction_ = (next_eviction_ + 1) % kMaxCachedSchemas;
    }
    entry->encodings = hint_encodings_;
    // Only a schema that parses completely may be recognised by its bytes
    // alone (ReadKnownEnvelope); another keeps no text, so never matches.
    entry->text.clear();
    if (ParseSchema(raw, &entry->encodings)) entry->text.assign(raw);
    return entry->encodings;
  }

  // Off the hot path (once per schema version): the DOM API and its
  // allocations are fine here. False if `raw` is not valid JSON.
  bool ParseSchema(std::string_view raw, std::vector<ColumnEncoding>* encodings) {
    simdjson::dom::element root;
    if (schema_parser_.parse(raw.data(), raw.size()).get(root)) return false;
    simdjson::dom::array images;
    if (root["fields"].get_array().get(images)) return true;
    for (simdjson::dom::element image : images) {
      std::string_view name;
      if (image["field"].get_string().get(name) || (name != "before" && name != "after")) continue;
      simdjson::dom::array columns;
      if (image["fields"].get_array().get(columns)) continue;
      for (simdjson::dom::element column : columns) ReadColumnSchema(column, encodings);
    }
    return true;
  }

  void ReadColumnSchema(simdjson::dom::element column, std::vector<ColumnEncoding>* encodings) {
    std::string_view field, name;
    if (column["field"].get_string().get(field)) return;
    const int slot = schema_.columns.Find(field);
    if (slot < 0) return;
    ColumnEncoding& encoding = (*encodings)[slot];
    // The schema says what the column is; a hint applies only where a
    // Decimal's schema lacks its scale.
    const int8_t hinted_scale = hint_encodings_[slot].scale;
    encoding = {};
    if (column["name"].get_string().get(name)) return;
    encoding.conversion = ConversionOfSchemaName(name);
    if (encoding.conversion != Conversion::kDecimalBytes) return;
    std::string_view scale_text;
    int64_t scale = -1;
    if (!column["parameters"]["scale"].get_string().get(scale_text)) ParseInt64(scale_text, &scale);
    encoding.scale = scale >= 0 && scale <= 65 ? static_cast<int8_t>(scale) : hinted_scale;
  }

  Problem ReadSource(ondemand::value& value, EventFields* fields) {
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    ondemand::object source;
    if (auto code = value.get_object().get(source)) {
      return JsonProblem(code, "field \"source\" is not an object");
    }
    for (auto field_result : source) {
      if (auto code = field_result.error()) return InvalidJson(code);
      ondemand::field& field = FieldOf(field_result);
      const int id = source_matcher_.Find(field);
      if (id < 0) continue;
      if (Problem problem = ReadSourceField(static_cast<SourceField>(id), field.value(), fields)) {
        return problem;
      }
    }
    return kNoProblem;
  }

  Problem ReadSourceField(SourceField id, ondemand::value& value, EventFields* fields) {
    switch (id) {
      case kDb:
        return ReadStringField(value, /*null_allowed=*/true, "field \"source.db\" is not a string",
                               &fields->has_database, &fields->database);
      case kTable:
        return ReadStringField(value, /*null_allowed=*/true,
                               "field \"source.table\" is not a string", &fields->has_table,
                               &fields->table);
      case kTsMs:
        return ReadInt64Field(value, "field \"source.ts_ms\" is not a 64-bit integer",
                              &fields->ts_ms);
      case kTsUs:
        return ReadInt64Field(value, "field \"source.ts_us\" is not a 64-bit integer",
                              &fields->ts_us);
      case kTsSec:
        return ReadInt64Field(value, "field \"source.ts_sec\" is not a 64-bit integer",
                              &fields->ts_sec);
      case kFile:
        return ReadStringField(value, /*null_allowed=*/true,
                               "field \"source.file\" is not a string", &fields->has_file,
                               &fields->file);
      case kPos:
        return ReadInt64Field(value, "field \"source.pos\" is not a 64-bit integer", &fields->pos);
      case kGtid:
        return ReadStringField(value, /*null_allowed=*/true,
                               "field \"source.gtid\" is not a string", &fields->has_gtid,
                               &fields->gtid);
    }
    return kNoProblem;
  }

  // Reads `before` or `after`: null, or one row object.
  Problem ReadImage(ondemand::value& value, std::string_view not_object, ImageTable* table) {
    table->Reset();
    JsonType type;
    if (auto code = value.type().get(type)) return InvalidJson(code);
    if (type == JsonType::null) return CheckNull(value);
    ondemand::object row;
    if (auto code = value.get_object().get(row)) return JsonProblem(code, not_object);
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
      if (Problem problem = Convert((*active_encodings_)[slot], kind, &values[slot])) {
        // The walk can go on: reading `source` on tells where the bad value is.
        if (!deferred_) deferred_ = problem;
        continue;
      }
      present |= uint64_t{1} << slot;
    }
    table->present[0] = present;
    return kNoProblem;
  }

  Problem Convert(ColumnEncoding encoding, JsonType kind, ColumnValue* value) {
    if (encoding.conversion == Conversion::kNone || !value->has_text()) return kNoProblem;
    std::string_view& text = value->text;
    int64_t count = 0;
    const bool is_count = kind == JsonType::number && ParseInt64(text, &count);
    switch (encoding.conversion) {
      case Conversion::kNone:
        return kNoProblem;
      case Conversion::kDecimalBytes:
        // decimal.format=NUMERIC writes a number, string mode a text with a
        // point (base64 has none): both are already decimal text.
        if (kind != JsonType::string || text.find('.') != std::string_view::npos) {
          return kNoProblem;
        }
        if (encoding.scale < 0) {
          return {DecodeError::kBadValue, "a DECIMAL column's scale is unknown: set `scale:`"};
        }
        return Check(cdc::DecimalFromBase64(text, encoding.scale, &arena_, &text),
                     "a DECIMAL value is not base64 of its unscaled bytes");
      case Conversion::kDays:
        return !is_count ? kNoProblem
                         : Check(cdc::CivilFromEpoch(count, cdc::EpochText::kDays, &arena_, &text),
                                 "a DATE is out of range");
      case Conversion::kMillis:
      case Conversion::kMicros:
      case Conversion::kNanos:
        return !is_count
                   ? kNoProblem
                   : Check(cdc::CivilFromEpoch(count, UnitOf(encoding.conversion), &arena_, &text),
                           "a DATETIME is out of range");
      case Conversion::kZoned:
        return kind != JsonType::string ? kNoProblem
                                        : Check(cdc::LocalFromIsoUtc(text, &zone_, &arena_, &text),
                                                "a TIMESTAMP is not an ISO-8601 UTC time");
      case Conversion::kMilliTime:
      case Conversion::kMicroTime:
      case Conversion::kNanoTime:
        return !is_count
                   ? kNoProblem
                   : Check(cdc::TimeFromCount(count, UnitOf(encoding.conversion), &arena_, &text),
                           "a TIME is out of range");
    }
    return kNoProblem;
  }

  static cdc::EpochText UnitOf(Conversion conversion) {
    switch (conversion) {
      case Conversion::kMillis:
      case Conversion::kMilliTime:
        return cdc::EpochText::kMillis;
      case Conversion::kNanos:
      case Conversion::kNanoTime:
        return cdc::EpochText::kNanos;
      default:
        return cdc::EpochText::kMicros;
    }
  }

  static Problem Check(bool ok, std::string_view detail) {
    return ok ? kNoProblem : Problem{DecodeError::kBadValue, detail};
  }

  // Classifies the event once every field has been seen, and emits its row.
  Problem BuildRows(const EventFields& fields, const SourcePosition& position,
                    std::string_view* message_type) {
    if (fields.payload_null && !fields.has_op) {
      *message_type = "tombstone";
      return kNoProblem;
    }
    if (!fields.has_op) {
      if (fields.has_status) {
        *message_type = fields.status;  // BEGIN / END
        return kNoProblem;
      }
      if (fields.schema_change) {
        *message_type = "schema_change";
        return kNoProblem;
      }
      return {DecodeError::kMissingField, "field \"op\" is missing"};
    }
    *message_type = fields.op;
    RowOp op;
    if (fields.op == "c" || fields.op == "r") {
      op = RowOp::kInsert;
    } else if (fields.op == "u") {
      op = RowOp::kUpdate;
    } else if (fields.op == "d") {
      op = RowOp::kDelete;
    } else if (fields.op == "t" || fields.op == "m") {
      return kNoProblem;  // truncate, logical-decoding message: no rows
    } else {
      return {DecodeError::kBadValue, "unknown \"op\" value"};
    }
    return BuildRow(op, fields, position);
  }

  Problem BuildRow(RowOp op, const EventFields& fields, const SourcePosition& position) {
    if (!fields.has_table) return {DecodeError::kMissingField, "field \"source.table\" is missing"};
    if (!schema_.HasTable(fields.database, fields.table)) {
      return {DecodeError::kUnknownTable, "no mapping declares this table"};
    }
    if (op != RowOp::kDelete && !after_.found) {
      return {DecodeError::kMissingField, "field \"after\" is missing or null"};
    }
    if (op == RowOp::kDelete && !before_.found) {
      return {DecodeError::kMissingField, "field \"before\" is missing or null"};
    }
    RowChange& row = rows_.emplace_back();
    row.database = fields.database;
    row.table = fields.table;
    row.op = op;
    row.commit_time_ms = fields.CommitTimeMs();
    row.position = position;
    switch (op) {
      case RowOp::kInsert:
        row.after = after_.Row(0, width_);
        break;
      case RowOp::kDelete:
        row.before = before_.Row(0, width_);
        break;
      case RowOp::kUpdate:
        row.after = after_.Row(0, width_);
        row.before = before_.found ? CompleteBefore(&row.changed_slots) : row.after;
        break;
    }
    return kNoProblem;
  }

  // Fills the slots a partial `before` lacks from `after`, and marks the
  // slots whose values differ as changed.
  std::span<const ColumnValue> CompleteBefore(uint64_t* changed) {
    const std::span<const ColumnValue> after = after_.Row(0, width_);
    const std::span<ColumnValue> before = before_.Row(0, width_);
    const uint64_t present = before_.present[0];
    *changed = 0;
    for (size_t slot = 0; slot < width_; ++slot) {
      if (((present >> slot) & 1) == 0) {
        before[slot] = after[slot];
      } else if (!(before[slot] == after[slot])) {
        *changed |= uint64_t{1} << slot;
      }
    }
    return before;
  }

  const DecodeSchema& schema_;
  const size_t width_;
  const RawKeyMatcher event_matcher_;
  const RawKeyMatcher source_matcher_;
  const RawKeyMatcher column_matcher_;
  PaddedParser parser_;
  ImageTable before_;
  ImageTable after_;
  std::vector<RowChange> rows_;
  Problem deferred_;         // the first value that could not be converted
  binlog::TextArena arena_;  // converted values
  binlog::TimestampZone zone_;
  std::vector<ColumnEncoding> hint_encodings_;
  const std::vector<ColumnEncoding>* active_encodings_ = &hint_encodings_;
  // Envelope schemas seen, as raw JSON, with the encodings they give.
  struct CachedSchema {
    std::string text;  // empty for a schema that did not parse
    std::vector<ColumnEncoding> encodings;
  };
  static constexpr size_t kMaxCachedSchemas = 16;
  std::vector<CachedSchema> schema_cache_;
  size_t next_eviction_ = 0;
  simdjson::dom::parser schema_parser_;
};

}  // namespace

struct DebeziumDecoder::Workspace : EventReader {
  using EventReader::EventReader;
};

DebeziumDecoder::DebeziumDecoder(const DecodeSchema& schema)
    : schema_(schema), workspace_(std::make_unique<Workspace>(schema_)) {}

DebeziumDecoder::~DebeziumDecoder() = default;

DecodeResult DebeziumDecoder::Decode(const SourceMessage& message) {
  return workspace_->Decode(message);
}

std::vector<std::string> DebeziumDecoder::TableColumns(const SourceMessage& message,
                                                       std::string_view database,
                                                       std::string_view table) {
  // One row per message.
  static_cast<void>(database);
  static_cast<void>(table);
  return JsonObjectKeys(message.payload,
                        {{"payload", "after"}, {"payload", "before"}, {"after"}, {"before"}});
}

}  // namespace txmon
