// BinlogColumnCatalog: column names from information_schema.COLUMNS, for
// servers that do not send them in TABLE_MAP events (binlog_row_metadata
// other than FULL). The binlog decoder asks it once per table layout; a DDL
// query in the stream (ObserveEvent) empties its cache so the next question
// reads the table afresh.
//
// The names are the server's current ones: while catching up a backlog
// across an ALTER TABLE, rows older than the ALTER are named as after it.
// binlog_row_metadata=FULL has no such gap.
//
// Threading: one thread (the pipeline's, where the decoder runs). Its own
// connection, opened at the first look-up and again after a failure.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/source/mysql_connection.h"

namespace txmon {

class BinlogColumnCatalog {
 public:
  explicit BinlogColumnCatalog(MysqlEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

  // The column names of `database`.`table` by ORDINAL_POSITION, or null when
  // the server cannot be asked or has no such table (logged, rate-limited).
  // Valid until the next call.
  const std::vector<std::string>* Columns(std::string_view database, std::string_view table);

  // Looks at one binlog event (header + body, as the binlog source yields
  // it). True if it is a DDL query (ALTER, CREATE, DROP, RENAME, TRUNCATE):
  // the cache was emptied and the decoder should forget its table maps.
  bool ObserveEvent(std::string_view event);

  // Empties the cache.
  void Invalidate() { cache_.clear(); }

 private:
  MysqlEndpoint endpoint_;
  std::unique_ptr<MysqlConnection> connection_;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>, std::less<>> cache_;
};

// The statement of a QUERY event (header + body, no checksum); empty if it
// is not one or is malformed.
std::string_view BinlogQueryStatement(std::string_view event);
// True for statements that change a table's columns or name.
bool IsSchemaChange(std::string_view statement);

}  // namespace txmon
