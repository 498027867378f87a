// TransactionRows: the rows of a transaction still open in a one-row-per-
// message stream (Maxwell), copied out of the decoder's buffers so they
// outlive the message they came from, and handed on together when the
// transaction commits — as a Canal message or a binlog transaction carries
// them.
//
// Add copies a row's names and values into storage that is reused: once it
// has grown to the largest transaction seen, nothing is allocated.
//
// Threading: one decoder's; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agent/decode/row_change.h"

namespace txmon {

class TransactionRows {
 public:
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }

  // Copies `row` (its database, table and images) in.
  void Add(const RowChange& row);
  // The rows added since the last Clear, in order. Views into this object:
  // valid until the next Add or Clear.
  std::span<const RowChange> Rows();
  void Clear();

 private:
  struct Text {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct Value {
    ColumnValue::State state = ColumnValue::State::kAbsent;
    Text text;
  };
  struct Row {
    RowChange head;  // op, times, mask, position; its views are not used
    Text database;
    Text table;
    uint32_t before_begin = 0, before_size = 0;
    uint32_t after_begin = 0, after_size = 0;
  };

  Text Keep(std::string_view text);
  uint32_t KeepImage(std::span<const ColumnValue> image);
  std::string_view View(Text text) const {
    return std::string_view(text_).substr(text.offset, text.size);
  }

  std::string text_;
  std::vector<Value> values_;
  std::vector<Row> rows_;
  // What Rows() hands out, rebuilt from the above.
  std::vector<ColumnValue> images_;
  std::vector<RowChange> out_;
};

}  // namespace txmon
