#include "agent/decode/row_change.h"

#include "agent/decode/decoder.h"

namespace txmon {

std::string_view RowOpName(RowOp op) {
  switch (op) {
    case RowOp::kInsert:
      return "insert";
    case RowOp::kUpdate:
      return "update";
    case RowOp::kDelete:
      return "delete";
  }
  return "insert";
}

int ColumnSlots::Add(std::string_view name) {
  int existing = Find(name);
  if (existing >= 0) return existing;
  if (names_.size() >= kMaxSlots) return -1;
  names_.emplace_back(name);
  return static_cast<int>(names_.size() - 1);
}

bool DecodeSchema::HasPatternTable(std::string_view database, std::string_view table) const {
  if (last_known_ && table == last_table_ && database == last_database_) return last_result_;
  bool found = false;
  for (const PatternTable& t : pattern_tables) {
    if (t.table.Matches(table) && t.database.Matches(database)) {
      found = true;
      break;
    }
  }
  last_database_.assign(database);
  last_table_.assign(table);
  last_known_ = true;
  last_result_ = found;
  return found;
}

}  // namespace txmon
