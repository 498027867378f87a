#include "agent/source/binlog_transactions.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace txmon {

namespace binlog_event {

std::string_view Name(uint8_t type) {
  switch (type) {
    case 2:
      return "QUERY";
    case 3:
      return "STOP";
    case 4:
      return "ROTATE";
    case 5:
      return "INTVAR";
    case 13:
      return "RAND";
    case 14:
      return "USER_VAR";
    case 15:
      return "FORMAT_DESCRIPTION";
    case 16:
      return "XID";
    case 19:
      return "TABLE_MAP";
    case 23:
      return "WRITE_ROWS";
    case 24:
      return "UPDATE_ROWS";
    case 25:
      return "DELETE_ROWS";
    case 26:
      return "INCIDENT";
    case 27:
      return "HEARTBEAT";
    case 28:
      return "IGNORABLE";
    case 29:
      return "ROWS_QUERY";
    case 30:
      return "WRITE_ROWS";
    case 31:
      return "UPDATE_ROWS";
    case 32:
      return "DELETE_ROWS";
    case 33:
      return "GTID";
    case 34:
      return "ANONYMOUS_GTID";
    case 35:
      return "PREVIOUS_GTIDS";
    case 36:
      return "TRANSACTION_CONTEXT";
    case 37:
      return "VIEW_CHANGE";
    case 38:
      return "XA_PREPARE";
    case 39:
      return "PARTIAL_UPDATE_ROWS";
    case 40:
      return "TRANSACTION_PAYLOAD";
    case 41:
      return "HEARTBEAT";
    case 160:
      return "ANNOTATE_ROWS";
    case 161:
      return "BINLOG_CHECKPOINT";
    case 162:
      return "GTID";
    case 163:
      return "GTID_LIST";
    case 164:
      return "START_ENCRYPTION";
    case 165:
      return "QUERY_COMPRESSED";
    case 166:
      return "COMPRESSED_ROWS";
    case 167:
      return "COMPRESSED_ROWS";
    case 168:
      return "COMPRESSED_ROWS";
    case 169:
      return "COMPRESSED_ROWS";
    case 170:
      return "COMPRESSED_ROWS";
    case 171:
      return "COMPRESSED_ROWS";
    default:
      return "UNKNOWN";
  }
}

bool IsRows(uint8_t type) {
  return (type >= 23 && type <= 25) || (type >= 30 && type <= 32) || (type >= 166 && type <= 171);
}

}  // namespace binlog_event

namespace {

using namespace binlog_event;

// True if `statement` is `word` (any case), ignoring surrounding blanks and
// a trailing semicolon.
bool StatementIs(std::string_view statement, std::string_view word) {
  while (!statement.empty() && std::isspace(static_cast<unsigned char>(statement.front())))
    statement.remove_prefix(1);
  while (!statement.empty() &&
         (std::isspace(static_cast<unsigned char>(statement.back())) || statement.back() == ';'))
    statement.remove_suffix(1);
  return statement.size() == word.size() &&
         std::equal(statement.begin(), statement.end(), word.begin(), [](char a, char b) {
           return std::toupper(static_cast<unsigned char>(a)) == b;
         });
}

bool IsGroupEnd(std::string_view statement) {
  return StatementIs(statement, "COMMIT") || StatementIs(statement, "ROLLBACK");
}

}  // namespace

BinlogTransactionAssembler::BinlogTransactionAssembler(std::vector<std::string> databases)
    : databases_(std::move(databases)) {}

void BinlogTransactionAssembler::Reset(const BinlogFilePosition& at) {
  position_ = at;
  current_.bytes.clear();
  current_.events.clear();
  current_.gtid.reset();
  current_.row_events = 0;
  in_group_ = false;
  group_ = Group::kNone;
  dropped_tables_.clear();
}

void BinlogTransactionAssembler::Append(const BinlogEventInfo& event) {
  const bool is_gtid = event.type == kMariadbGtid;
  current_.events.push_back({static_cast<uint32_t>(current_.bytes.size()),
                             static_cast<uint32_t>(event.bytes.size()), is_gtid});
  current_.bytes.append(event.bytes);
  if (IsRows(event.type)) ++current_.row_events;
}

void BinlogTransactionAssembler::StartGroup(Group kind) {
  in_group_ = true;
  group_ = kind;
}

bool BinlogTransactionAssembler::Finish(const BinlogEventInfo& event, BinlogTransaction* done) {
  Append(event);
  if (event.end_position != 0) position_.position = event.end_position;
  current_.end = position_;
  current_.timestamp = event.timestamp;
  std::swap(*done, current_);
  current_.bytes.clear();
  current_.events.clear();
  current_.gtid.reset();
  current_.row_events = 0;
  in_group_ = false;
  group_ = Group::kNone;
  return true;
}

bool BinlogTransactionAssembler::OnQuery(const BinlogEventInfo& event, BinlogTransaction* done) {
  if (StatementIs(event.text, "BEGIN")) {
    StartGroup(Group::kExplicit);
    Append(event);
    return false;
  }
  if (!in_group_ || IsGroupEnd(event.text) || group_ == Group::kMariadbStandalone ||
      group_ == Group::kMysqlGtid) {
    return Finish(event, done);
  }
  Append(event);  // a statement inside a transaction
  return false;
}

bool BinlogTransactionAssembler::KeepsTable(const BinlogEventInfo& event) {
  if (databases_.empty()) return true;
  if (event.type == kTableMap) {
    const bool keep =
        std::find(databases_.begin(), databases_.end(), event.database) != databases_.end();
    if (keep) {
      dropped_tables_.erase(event.table_id);
    } else {
      dropped_tables_.insert(event.table_id);
    }
    return keep;
  }
  return !dropped_tables_.contains(event.table_id);
}

bool BinlogTransactionAssembler::Add(const BinlogEventInfo& event, BinlogTransaction* done) {
  switch (event.type) {
    case kRotate:
      position_.file.assign(event.text);
      position_.position = static_cast<uint32_t>(event.rotate_position);
      return false;
    case kStop: {  // the server stopped; it continues in the next file
      std::string base;
      uint32_t sequence = 0;
      if (!in_group_ && SplitBinlogFileName(position_.file, &base, &sequence)) {
        position_ = {BinlogFileName(base, sequence + 1), 4};
      }
      return false;
    }
    case kFormatDescription:
      Append(event);
      return false;
    case kMariadbGtid:
      if (in_group_) Reset(position_);  // an unfinished group: the server rolled it back
      StartGroup(event.standalone ? Group::kMariadbStandalone : Group::kMariadb);
      current_.gtid = event.gtid;
      Append(event);
      return false;
    case kMysqlGtid:
    case kMysqlAnonymousGtid:
      if (in_group_) Reset(position_);
      StartGroup(Group::kMysqlGtid);
      Append(event);
      return false;
    case kQuery:
    case kQueryCompressed:
      return OnQuery(event, done);
    case kXid:
      return Finish(event, done);
    case kTableMap:
      if (!in_group_) StartGroup(Group::kExplicit);
      if (KeepsTable(event)) Append(event);
      return false;
    default:
      if (IsRows(event.type)) {
        if (!in_group_) StartGroup(Group::kExplicit);
        if (KeepsTable(event)) Append(event);
      }
      return false;  // heartbeats and events a row stream does not need
  }
}

}  // namespace txmon
