#include "agent/source/binlog_columns.h"

#include <algorithm>
#include <cctype>

#include "agent/base/log.h"

namespace txmon {

namespace {

constexpr size_t kHeaderSize = 19;
constexpr size_t kQueryPostHeader = 13;  // thread id, time, db length, error, status length

uint32_t Read16(std::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) | static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8;
}

bool StartsWithWord(std::string_view text, std::string_view word) {
  if (text.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != word[i]) return false;
  }
  return text.size() == word.size() || !std::isalnum(static_cast<unsigned char>(text[word.size()]));
}

// Skips blanks and /* ... */ comments (servers prefix some DDL with them).
std::string_view SkipBlanksAndComments(std::string_view s) {
  while (true) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    if (!s.starts_with("/*")) return s;
    const size_t end = s.find("*/");
    if (end == std::string_view::npos) return {};
    s.remove_prefix(end + 2);
  }
}

}  // namespace

std::string_view BinlogQueryStatement(std::string_view event) {
  if (event.size() < kHeaderSize + kQueryPostHeader || static_cast<uint8_t>(event[4]) != 2) {
    return {};
  }
  const size_t db_length = static_cast<uint8_t>(event[kHeaderSize + 8]);
  const size_t status_length = Read16(event, kHeaderSize + 11);
  const size_t statement = kHeaderSize + kQueryPostHeader + status_length + db_length + 1;
  if (statement > event.size()) return {};
  return event.substr(statement);
}

bool IsSchemaChange(std::string_view statement) {
  statement = SkipBlanksAndComments(statement);
  for (std::string_view word : {"ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE"}) {
    if (StartsWithWord(statement, word)) return true;
  }
  return false;
}

bool BinlogColumnCatalog::ObserveEvent(std::string_view event) {
  if (event.size() <= 4 || static_cast<uint8_t>(event[4]) != 2) return false;
  if (!IsSchemaChange(BinlogQueryStatement(event))) return false;
  Invalidate();
  return true;
}

const std::vector<std::string>* BinlogColumnCatalog::Columns(std::string_view database,
                                                             std::string_view table) {
  auto key = std::make_pair(std::string(database), std::string(table));
  if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
  MysqlError error;
  if (!connection_) connection_ = MysqlConnection::Open(endpoint_, &error);
  std::vector<MysqlRow> rows;
  if (connection_) {
    const std::string sql =
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
        connection_->Quote(database) + " AND TABLE_NAME = " + connection_->Quote(table) +
        " ORDER BY ORDINAL_POSITION";
    if (!connection_->Query(sql, &rows, &error)) connection_.reset();
  }
  if (!connection_ || rows.empty()) {
    Log(LogLevel::kWarn, "binlog", "cannot read the column names of a table",
        {{"database", std::string(database)},
         {"table", std::string(table)},
         {"err",
          error.message.empty() ? "no such table, or no SELECT privilege on it" : error.message}});
    return nullptr;
  }
  std::vector<std::string> names;
  for (const MysqlRow& row : rows) names.push_back(row[0].value_or(""));
  return &cache_.emplace(std::move(key), std::move(names)).first->second;
}

}  // namespace txmon
