#include "agent/decode/transaction_rows.h"

namespace txmon {

TransactionRows::Text TransactionRows::Keep(std::string_view text) {
  Text kept{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(text.size())};
  text_.append(text);
  return kept;
}

uint32_t TransactionRows::KeepImage(std::span<const ColumnValue> image) {
  const auto begin = static_cast<uint32_t>(values_.size());
  for (const ColumnValue& value : image) {
    values_.push_back({value.state, value.has_text() ? Keep(value.text) : Text{}});
  }
  return begin;
}

void TransactionRows::Add(const RowChange& row) {
  Row& kept = rows_.emplace_back();
  kept.head = row;
  kept.head.before = {};
  kept.head.after = {};
  kept.database = Keep(row.database);
  kept.table = Keep(row.table);
  kept.before_begin = KeepImage(row.before);
  kept.before_size = static_cast<uint32_t>(row.before.size());
  kept.after_begin = KeepImage(row.after);
  kept.after_size = static_cast<uint32_t>(row.after.size());
}

std::span<const RowChange> TransactionRows::Rows() {
  // Built only now: text_ and values_ may have moved while rows were added.
  images_.resize(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    images_[i] = {values_[i].state, View(values_[i].text)};
  }
  out_.resize(rows_.size());
  for (size_t i = 0; i < rows_.size(); ++i) {
    const Row& kept = rows_[i];
    RowChange& row = out_[i];
    row = kept.head;
    row.database = View(kept.database);
    row.table = View(kept.table);
    row.before = std::span<const ColumnValue>(images_).subspan(kept.before_begin, kept.before_size);
    row.after = std::span<const ColumnValue>(images_).subspan(kept.after_begin, kept.after_size);
  }
  return out_;
}

void TransactionRows::Clear() {
  text_.clear();
  values_.clear();
  rows_.clear();
}

}  // namespace txmon
