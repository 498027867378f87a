#include "agent/decode/row_change.h"

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

}  // namespace txmon
