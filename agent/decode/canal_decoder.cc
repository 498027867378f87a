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

namespace txmon {
namespace {

namespace ondemand = simdjson::ondemand;
using JsonType = ondemand::json_type;

// Sized for a few hundred typical messages' worth of rows; larger messages
// grow the buffers once, doubling.
constexpr size_t kInitialCapacityBytes = 64 * 1024;

// Why a message was rejected. `detail` is always static text, so returning a
// Problem never allocates.
struct Problem {
  DecodeError error = DecodeError::kNone;
  std::string_view detail;
  explicit operator bool() const { return error != DecodeError::kNone; }
};

constexpr Problem kNoProblem{};

Problem InvalidJson(simdjson::error_code code) {
  return {DecodeError::kInvalidJson, simdjson::error_message(code)};
}

// simdjson reports a type mismatch as INCORRECT_TYPE; everything else it
// reports means the text is not valid JSON.
Problem JsonProblem(simdjson::error_code code, std::string_view wrong_type_detail) {
  if (code == simdjson::INCORRECT_TYPE) return {DecodeError::kWrongType, wrong_type_detail};
  return InvalidJson(code);
}

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

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True if `token` is exactly one JSON number (RFC 8259 grammar). simdjson
// does not check tokens that are only peeked at, as numbers are here.
bool IsJsonNumber(std::string_view token) {
  size_t i = 0;
  const size_t n = token.size();
  auto digits = [&] {
    const size_t start = i;
    while (i < n && IsDigit(token[i])) ++i;
    return i > start;
  };
  if (i < n && token[i] == '-') ++i;
  if (i < n && token[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && token[i] == '.' && (++i, !digits())) return false;
  if (i < n && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < n && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

std::string_view TrimTrailingSpace(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

// Finds which of a fixed set of names a JSON key is, reading the key's raw
// text in place: no length scan, no unescaping, no hashing. Names are
// bucketed by their first byte, so a key that is none of them (most columns
// of a row) usually costs one table look-up, and a candidate is compared
// eight bytes at a time. Keys are matched as spelled in the JSON; Canal
// never escapes them.
class RawKeyMatcher {
 public:
  explicit RawKeyMatcher(std::span<const std::string_view> names) {
    for (size_t id = 0; id < names.size(); ++id) {
      if (!names[id].empty()) candidates_.push_back(Candidate(names[id], static_cast<int>(id)));
    }
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [](const Candidate& a, const Candidate& b) { return a.first() < b.first(); });
    size_t next = 0;
    for (size_t byte = 0; byte < 256; ++byte) {
      bucket_begin_[byte] = static_cast<uint32_t>(next);
      while (next < candidates_.size() && candidates_[next].first() == byte) ++next;
    }
    bucket_begin_[256] = static_cast<uint32_t>(next);
  }

  // The id (index in `names`) of the key of `field`, or -1. The key must lie
  // in a buffer with SIMDJSON_PADDING readable bytes after the document.
  int Find(ondemand::field& field) const {
    const char* const key = field.key().raw();  // just past the opening quote
    const uint8_t first = static_cast<uint8_t>(key[0]);
    for (uint32_t i = bucket_begin_[first]; i < bucket_begin_[first + 1]; ++i) {
      if (candidates_[i].Matches(key)) return candidates_[i].id();
    }
    return -1;
  }

 private:
  class Candidate {
   public:
    Candidate(std::string_view name, int id) : id_(id), pattern_(name), length_(name.size() + 1) {
      pattern_ += '"';  // the key must end where the name does
      // Zero-padded so that the word holding the tail always exists.
      pattern_.resize((length_ / 8 + 1) * 8, '\0');
      const size_t tail_bytes = length_ % 8;
      tail_mask_ = tail_bytes == 0 ? 0 : ~uint64_t{0} >> (64 - 8 * tail_bytes);
    }

    uint8_t first() const { return static_cast<uint8_t>(pattern_[0]); }
    int id() const { return id_; }

    // True if the raw key at `key` is the name followed by its closing quote.
    bool Matches(const char* key) const {
      if (length_ > kMaxWordCompareBytes) return MatchesByteByByte(key);
      const size_t full_words = length_ / 8;
      for (size_t word = 0; word < full_words; ++word) {
        if (Word(key + 8 * word) != Word(pattern_.data() + 8 * word)) return false;
      }
      // The last word is read whole: past the key's end lie at least the
      // rest of the document and its padding.
      const size_t tail = 8 * full_words;
      return ((Word(key + tail) ^ Word(pattern_.data() + tail)) & tail_mask_) == 0;
    }

   private:
    // The key's closing quote lies inside the document, so the last byte a
    // word compare reads, at most length_ + 7 bytes past the key's start,
    // lies inside the padding that follows it.
    static constexpr size_t kMaxWordCompareBytes = simdjson::SIMDJSON_PADDING - 8;

    static uint64_t Word(const char* bytes) {
      uint64_t word;
      std::memcpy(&word, bytes, sizeof(word));
      return word;
    }

    // Stops at the first difference, so never reads past the closing quote.
    bool MatchesByteByByte(const char* key) const {
      for (size_t i = 0; i < length_; ++i) {
        if (key[i] != pattern_[i]) return false;
      }
      return true;
    }

    int id_;
    std::string pattern_;  // name + '"', then zeros up to a whole word past it
    size_t length_;        // name.size() + 1
    uint64_t tail_mask_;   // the bytes of the last, partial word to compare
  };

  std::vector<Candidate> candidates_;
  std::array<uint32_t, 257> bucket_begin_{};
};

// The top-level fields the decoder reads, by RawKeyMatcher id; the others
// (id, ts, isDdl, sql, mysqlType, sqlType, pkNames, gtid, ...) are skipped.
enum MessageField : int { kData, kOld, kType, kTable, kDatabase, kEs };
constexpr std::string_view kMessageFieldNames[] = {"data",  "old",      "type",
                                                   "table", "database", "es"};

std::vector<std::string_view> ColumnNames(const ColumnSlots& columns) {
  std::vector<std::string_view> names;
  for (size_t slot = 0; slot < columns.size(); ++slot) {
    names.push_back(columns.name(static_cast<int>(slot)));
  }
  return names;
}

// The field inside an iteration result whose error has been checked. Used in
// place rather than moved out with get(): that copy stalls on store
// forwarding and cost a fifth of the decode time.
ondemand::field& FieldOf(simdjson::simdjson_result<ondemand::field>& result) {
  return result.value_unsafe();
}

// A null that simdjson has only peeked at must still be spelled `null`.
Problem CheckNull(ondemand::value& value) {
  bool is_null = false;
  if (auto code = value.is_null().get(is_null)) return InvalidJson(code);
  if (!is_null) return InvalidJson(simdjson::N_ATOM_ERROR);
  return kNoProblem;
}

// Reads one column value of a row image. Canal writes strings or null; a
// hand-made producer may write numbers or booleans, kept as their JSON text.
Problem ReadColumnValue(ondemand::value& value, ColumnValue* out) {
  JsonType type;
  if (auto code = value.type().get(type)) return InvalidJson(code);
  switch (type) {
    case JsonType::string:
      out->state = ColumnValue::State::kText;
      if (auto code = value.get_string().get(out->text)) return InvalidJson(code);
      return kNoProblem;
    case JsonType::null:
      out->state = ColumnValue::State::kNull;
      out->text = {};
      return CheckNull(value);
    case JsonType::number:
      out->state = ColumnValue::State::kText;
      out->text = TrimTrailingSpace(value.raw_json_token());
      if (!IsJsonNumber(out->text)) return InvalidJson(simdjson::NUMBER_ERROR);
      return kNoProblem;
    case JsonType::boolean: {
      bool flag = false;
      if (auto code = value.get_bool().get(flag)) return InvalidJson(code);
      out->state = ColumnValue::State::kText;
      out->text = flag ? "true" : "false";
      return kNoProblem;
    }
    case JsonType::array:
    case JsonType::object:
      break;
  }
  return {DecodeError::kWrongType, "a column value is an object or array"};
}

// Row images read from `data` or `old`: `rows` × width values (width is the
// number of schema columns), and per row the slots whose key was present.
// The vectors only grow, so steady-state decoding does not allocate.
struct ImageTable {
  std::vector<ColumnValue> values;
  std::vector<uint64_t> present;
  size_t rows = 0;
  bool found = false;  // the field was there and not null

  void Reset() {
    rows = 0;
    found = false;
  }

  // Appends a row with every slot absent; returns its first value. The
  // pointer stays valid until the next AppendRow.
  ColumnValue* AppendRow(size_t width) {
    const size_t end = (rows + 1) * width;
    if (values.size() < end) values.resize(std::max(end, 2 * values.size()));
    if (present.size() <= rows) present.resize(std::max(rows + 1, 2 * present.size()));
    ColumnValue* row = values.data() + rows * width;
    std::fill(row, row + width, ColumnValue{});
    present[rows] = 0;
    ++rows;
    return row;
  }

  std::span<ColumnValue> Row(size_t row, size_t width) {
    return {values.data() + row * width, width};
  }
};

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

// Reads a string field. JSON null counts as absent when `null_allowed`.
Problem ReadStringField(ondemand::value& value, bool null_allowed, std::string_view not_string,
                        bool* present, std::string_view* out) {
  JsonType type;
  if (auto code = value.type().get(type)) return InvalidJson(code);
  if (type == JsonType::null && null_allowed) return CheckNull(value);
  if (type != JsonType::string) return {DecodeError::kWrongType, not_string};
  if (auto code = value.get_string().get(*out)) return InvalidJson(code);
  *present = true;
  return kNoProblem;
}

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

// A top-level value that is not an object: valid JSON of the wrong shape, or
// not JSON at all.
Problem NotAnObject(ondemand::document& document) {
  JsonType type;
  if (auto code = document.type().get(type)) return InvalidJson(code);
  simdjson::error_code code = simdjson::SUCCESS;
  switch (type) {
    case JsonType::null: {
      bool is_null = false;
      code = document.is_null().get(is_null);
      if (!code && !is_null) code = simdjson::N_ATOM_ERROR;
      break;
    }
    case JsonType::boolean: {
      bool flag = false;
      code = document.get_bool().get(flag);
      break;
    }
    case JsonType::number: {
      double number = 0;
      code = document.get_double().get(number);
      break;
    }
    case JsonType::string: {
      std::string_view text;
      code = document.get_string().get(text);
      break;
    }
    case JsonType::array:
    case JsonType::object:
      break;
  }
  if (code) return InvalidJson(code);
  return {DecodeError::kWrongType, "the message is not a JSON object"};
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
        parser_(std::min<size_t>(schema.max_message_bytes, simdjson::SIMDJSON_MAXSIZE_BYTES)) {}

  DecodeResult Decode(const SourceMessage& message) {
    MessageFields fields;
    Problem problem = ReadMessage(message.payload, &fields);
    if (!problem) problem = BuildRows(fields, message.position);
    DecodeResult result;
    result.message_type = fields.type;
    if (problem) {
      result.error = problem.error;
      result.detail = problem.detail;
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
    if (payload.empty()) return {DecodeError::kInvalidJson, "the message is empty"};
    if (payload.size() > schema_.max_message_bytes) {
      return {DecodeError::kTooLarge, "the message is larger than max_message_bytes"};
    }
    if (Problem problem = Reserve(payload.size())) return problem;
    std::memcpy(padded_.data(), payload.data(), payload.size());

    ondemand::document document;
    if (auto code = parser_.iterate(padded_.data(), payload.size(), padded_.size()).get(document)) {
      return InvalidJson(code);
    }
    ondemand::object message;
    if (auto code = document.get_object().get(message)) {
      return code == simdjson::INCORRECT_TYPE ? NotAnObject(document) : InvalidJson(code);
    }
    if (Problem problem = ReadFields(message, fields)) return problem;
    // current_location() fails once the whole document has been consumed.
    const char* trailing = nullptr;
    if (document.current_location().get(trailing) == simdjson::SUCCESS) {
      return {DecodeError::kInvalidJson, "content after the message object"};
    }
    return kNoProblem;
  }

  // Grows the padded copy and the parser's buffers, doubling, when a message
  // does not fit.
  Problem Reserve(size_t payload_bytes) {
    if (payload_bytes <= parser_.capacity() &&
        payload_bytes + simdjson::SIMDJSON_PADDING <= padded_.size()) {
      return kNoProblem;
    }
    const size_t capacity =
        std::min(std::max({payload_bytes, 2 * parser_.capacity(), kInitialCapacityBytes}),
                 parser_.max_capacity());
    if (auto code = parser_.allocate(capacity)) {
      return {DecodeError::kTooLarge, simdjson::error_message(code)};
    }
    padded_.resize(capacity + simdjson::SIMDJSON_PADDING);
    return kNoProblem;
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
  ondemand::parser parser_;
  std::vector<char> padded_;  // the payload copy simdjson reads, plus padding
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

}  // namespace txmon
