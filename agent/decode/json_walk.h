// Pieces shared by the JSON decoders (Canal, Debezium, Maxwell): problems
// that never allocate, the raw key matcher, column value reading and the
// reusable row-image table. Internal to agent/decode/.
//
// Threading: the classes here are used by one decoder, on one thread.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/decoder.h"

namespace txmon::json_walk {

namespace ondemand = simdjson::ondemand;
using JsonType = ondemand::json_type;

// Sized for a few hundred typical messages' worth of rows; larger messages
// grow the buffers once, doubling.
inline constexpr size_t kInitialCapacityBytes = 64 * 1024;

// Why a message was rejected. `detail` is always static text, so returning a
// Problem never allocates.
struct Problem {
  DecodeError error = DecodeError::kNone;
  std::string_view detail;
  explicit operator bool() const { return error != DecodeError::kNone; }
};

inline constexpr Problem kNoProblem{};

inline Problem InvalidJson(simdjson::error_code code) {
  return {DecodeError::kInvalidJson, simdjson::error_message(code)};
}

// simdjson reports a type mismatch as INCORRECT_TYPE; everything else it
// reports means the text is not valid JSON.
inline Problem JsonProblem(simdjson::error_code code, std::string_view wrong_type_detail) {
  if (code == simdjson::INCORRECT_TYPE) return {DecodeError::kWrongType, wrong_type_detail};
  return InvalidJson(code);
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True if `token` is exactly one JSON number (RFC 8259 grammar). simdjson
// does not check tokens that are only peeked at, as numbers are here.
inline bool IsJsonNumber(std::string_view token) {
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

inline std::string_view TrimTrailingSpace(std::string_view token) {
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

inline std::vector<std::string_view> ColumnNames(const ColumnSlots& columns) {
  std::vector<std::string_view> names;
  for (size_t slot = 0; slot < columns.size(); ++slot) {
    names.push_back(columns.name(static_cast<int>(slot)));
  }
  return names;
}

// The field inside an iteration result whose error has been checked. Used in
// place rather than moved out with get(): that copy stalls on store
// forwarding and cost a fifth of the decode time.
inline ondemand::field& FieldOf(simdjson::simdjson_result<ondemand::field>& result) {
  return result.value_unsafe();
}

// A null that simdjson has only peeked at must still be spelled `null`.
inline Problem CheckNull(ondemand::value& value) {
  bool is_null = false;
  if (auto code = value.is_null().get(is_null)) return InvalidJson(code);
  if (!is_null) return InvalidJson(simdjson::N_ATOM_ERROR);
  return kNoProblem;
}

// Reads one column value of a row image. Canal writes strings or null; a
// hand-made producer may write numbers or booleans, kept as their JSON text.
inline Problem ReadColumnValue(ondemand::value& value, ColumnValue* out) {
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

// Reads a string field. JSON null counts as absent when `null_allowed`.
inline Problem ReadStringField(ondemand::value& value, bool null_allowed,
                               std::string_view not_string, bool* present, std::string_view* out) {
  JsonType type;
  if (auto code = value.type().get(type)) return InvalidJson(code);
  if (type == JsonType::null && null_allowed) return CheckNull(value);
  if (type != JsonType::string) return {DecodeError::kWrongType, not_string};
  if (auto code = value.get_string().get(*out)) return InvalidJson(code);
  *present = true;
  return kNoProblem;
}

// A top-level value that is not an object: valid JSON of the wrong shape, or
// not JSON at all.
inline Problem NotAnObject(ondemand::document& document) {
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

// A padded copy of each message and the On-Demand parser that reads it,
// reused across messages: once both have grown to the largest message seen,
// opening a message allocates nothing.
class PaddedParser {
 public:
  explicit PaddedParser(size_t max_message_bytes)
      : max_bytes_(max_message_bytes),
        parser_(std::min<size_t>(max_message_bytes, simdjson::SIMDJSON_MAXSIZE_BYTES)) {}

  // Copies `payload` and starts iterating it. An empty payload is refused:
  // callers that give it a meaning check it first.
  Problem Open(std::string_view payload, ondemand::document* document) {
    if (payload.empty()) return {DecodeError::kInvalidJson, "the message is empty"};
    if (payload.size() > max_bytes_) {
      return {DecodeError::kTooLarge, "the message is larger than max_message_bytes"};
    }
    if (Problem problem = Reserve(payload.size())) return problem;
    std::memcpy(padded_.data(), payload.data(), payload.size());
    if (auto code =
            parser_.iterate(padded_.data(), payload.size(), padded_.size()).get(*document)) {
      return InvalidJson(code);
    }
    return kNoProblem;
  }

  // After the top-level object has been walked: anything left is an error.
  static Problem CheckFullyRead(ondemand::document& document) {
    // current_location() fails once the whole document has been consumed.
    const char* trailing = nullptr;
    if (document.current_location().get(trailing) == simdjson::SUCCESS) {
      return {DecodeError::kInvalidJson, "content after the message object"};
    }
    return kNoProblem;
  }

 private:
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

  const size_t max_bytes_;
  ondemand::parser parser_;
  std::vector<char> padded_;
};

// Opens `payload` as a JSON object; a valid non-object is kWrongType.
inline Problem OpenObject(PaddedParser& parser, std::string_view payload,
                          ondemand::document* document, ondemand::object* object) {
  if (Problem problem = parser.Open(payload, document)) return problem;
  if (auto code = document->get_object().get(*object)) {
    return code == simdjson::INCORRECT_TYPE ? NotAnObject(*document) : InvalidJson(code);
  }
  return kNoProblem;
}

// The raw JSON text of an object or array value (simdjson 3.0 has no
// value::raw_json), consuming it.
inline Problem RawJsonOf(ondemand::value& value, JsonType kind, std::string_view* out) {
  simdjson::error_code code;
  if (kind == JsonType::object) {
    ondemand::object object;
    code = value.get_object().get(object);
    if (!code) code = object.raw_json().get(*out);
  } else {
    ondemand::array array;
    code = value.get_array().get(array);
    if (!code) code = array.raw_json().get(*out);
  }
  if (code) return InvalidJson(code);
  *out = TrimTrailingSpace(*out);
  return kNoProblem;
}

// Reads one column value of Debezium or Maxwell, whose values are typed
// JSON: strings as their text, numbers as their exact JSON text (never
// through a double: DECIMAL keeps its scale, BIGINT UNSIGNED its digits),
// booleans (BIT(1)) as "1"/"0" as Canal writes them, and objects or arrays
// (a JSON column, a SET array, a GEOMETRY struct) as their raw JSON text.
// `kind` says which it was, for the caller's conversions.
inline Problem ReadTypedColumnValue(ondemand::value& value, ColumnValue* out, JsonType* kind) {
  if (auto code = value.type().get(*kind)) return InvalidJson(code);
  out->state = ColumnValue::State::kText;
  switch (*kind) {
    case JsonType::string:
      if (auto code = value.get_string().get(out->text)) return InvalidJson(code);
      return kNoProblem;
    case JsonType::null:
      out->state = ColumnValue::State::kNull;
      out->text = {};
      return CheckNull(value);
    case JsonType::number:
      out->text = TrimTrailingSpace(value.raw_json_token());
      if (!IsJsonNumber(out->text)) return InvalidJson(simdjson::NUMBER_ERROR);
      return kNoProblem;
    case JsonType::boolean: {
      bool flag = false;
      if (auto code = value.get_bool().get(flag)) return InvalidJson(code);
      out->text = flag ? "1" : "0";
      return kNoProblem;
    }
    case JsonType::array:
    case JsonType::object:
      return RawJsonOf(value, *kind, &out->text);
  }
  return kNoProblem;
}

// Reads an integer field (a time stamp, a count); null leaves `*out` as is.
inline Problem ReadInt64Field(ondemand::value& value, std::string_view not_integer, int64_t* out) {
  JsonType type;
  if (auto code = value.type().get(type)) return InvalidJson(code);
  if (type == JsonType::null) return CheckNull(value);
  if (type != JsonType::number) return {DecodeError::kWrongType, not_integer};
  if (auto code = value.get_int64().get(*out)) {
    if (code == simdjson::INCORRECT_TYPE || code == simdjson::NUMBER_OUT_OF_RANGE) {
      return {DecodeError::kBadValue, not_integer};
    }
    return InvalidJson(code);
  }
  return kNoProblem;
}

// Skips a value no decode needs, checking null spellings that simdjson only
// peeked at. Other values are skipped by simdjson as the walk moves on.
inline Problem SkipValue(ondemand::value& value) {
  JsonType type;
  if (auto code = value.type().get(type)) return InvalidJson(code);
  return type == JsonType::null ? CheckNull(value) : kNoProblem;
}

}  // namespace txmon::json_walk
