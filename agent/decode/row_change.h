// RowChange: one changed row, the unit that flows from decode to map.
//
// To keep the hot path free of allocation and string lookups, a decoder only
// extracts the columns some mapping needs. Those columns are numbered once at
// start-up (ColumnSlots); an image is then an array indexed by slot. Values
// are views into the decoder's buffers, valid until its next Decode call.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/source/source_message.h"

namespace txmon {

enum class RowOp : uint8_t { kInsert = 0, kUpdate = 1, kDelete = 2 };
inline constexpr int kRowOpCount = 3;
std::string_view RowOpName(RowOp op);  // "insert", "update", "delete"

// One column of one row image.
struct ColumnValue {
  enum class State : uint8_t { kAbsent = 0, kNull = 1, kText = 2 };
  State state = State::kAbsent;
  std::string_view text;  // the value as MySQL text ("999.00", "paid"); empty unless kText

  bool is_absent() const { return state == State::kAbsent; }
  bool is_null() const { return state == State::kNull; }
  bool has_text() const { return state == State::kText; }
  bool operator==(const ColumnValue& other) const {
    return state == other.state && text == other.text;
  }
};

// The column names that mappings need, numbered 0..size()-1. At most 64, so
// that a change mask fits one word. Built by the map stage at start-up.
class ColumnSlots {
 public:
  static constexpr int kMaxSlots = 64;
  // Returns the slot of `name`, adding it if new; -1 when full.
  int Add(std::string_view name);
  // Returns the slot of `name` or -1. Linear scan: a handful of names,
  // compared by length first, beats hashing here.
  int Find(std::string_view name) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i].size() == name.size() && names_[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  size_t size() const { return names_.size(); }
  const std::string& name(int slot) const { return names_[slot]; }

 private:
  std::vector<std::string> names_;
};

struct RowChange {
  std::string_view database;
  std::string_view table;
  RowOp op = RowOp::kInsert;
  // Commit time of the transaction in the source database, ms since the
  // epoch (Canal `es` and Maxwell `ts`: one-second resolution; Debezium
  // `source.ts_us`/`ts_ms`: millisecond). 0 when unknown.
  int64_t commit_time_ms = 0;
  // Row images indexed by slot. `before` is empty for inserts, `after` for
  // deletes. On updates `before` holds the old value of every changed column
  // and the new value of the others (Canal sends only the changed ones).
  std::span<const ColumnValue> before;
  std::span<const ColumnValue> after;
  // Bit i set: slot i changed in this update (it was named in Canal `old`).
  uint64_t changed_slots = 0;
  // A Maxwell `bootstrap-insert`: a row copied by a bootstrap, not written
  // by the application. Mappings count it only when they ask to.
  bool bootstrap = false;
  SourcePosition position;
};

}  // namespace txmon
