// BinlogTransactionAssembler: groups the events of a binlog dump into whole
// transactions, so the pipeline only ever sees complete ones — a batch never
// splits a transaction and a checkpoint never lands inside one.
//
// A group starts at a GTID event (MariaDB's, or MySQL's GTID/anonymous GTID)
// or a BEGIN query, and ends at its XID event, a COMMIT/ROLLBACK query, or —
// for a standalone group (DDL: MariaDB's FL_STANDALONE, MySQL's GTID not
// followed by BEGIN, or a query outside any group) — at its one query.
// A STOP event (the server shut down) moves the position to the start of the
// next file, where the restarted server writes. FORMAT_DESCRIPTION events are kept and handed out
// at the front of the next transaction. ROTATE events move the position to the next file;
// heartbeats and events a row-based stream does not need (GTID_LIST, BINLOG_CHECKPOINT, STOP,
// INTVAR, ...) are dropped. With a database list, TABLE_MAP and ROWS events of other schemas are
// dropped, but their transaction still ends with its GTID and commit event, so positions move on.
//
// Threading: none; used by the one thread reading the dump.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/source/binlog_position.h"

namespace txmon {

// Binlog event type codes this source looks at (MySQL's and MariaDB's).
namespace binlog_event {
inline constexpr uint8_t kQuery = 2;
inline constexpr uint8_t kStop = 3;
inline constexpr uint8_t kRotate = 4;
inline constexpr uint8_t kFormatDescription = 15;
inline constexpr uint8_t kXid = 16;
inline constexpr uint8_t kTableMap = 19;
inline constexpr uint8_t kHeartbeat = 27;
inline constexpr uint8_t kMysqlGtid = 33;
inline constexpr uint8_t kMysqlAnonymousGtid = 34;
inline constexpr uint8_t kMariadbGtid = 162;
inline constexpr uint8_t kQueryCompressed = 165;
// Event type names as the binlog decoder gives them (BinlogDecoder::
// EventTypeName: "WRITE_ROWS" for v1 and v2, "GTID" for MySQL's and
// MariaDB's, "TABLE_MAP", ...); "UNKNOWN" for others.
std::string_view Name(uint8_t type);
// WRITE/UPDATE/DELETE rows, v1, v2 and MariaDB's compressed forms.
bool IsRows(uint8_t type);
}  // namespace binlog_event

// What the assembler needs to know about one event; the connector parsed it.
struct BinlogEventInfo {
  uint8_t type = 0;
  std::string_view bytes;     // header + body, without the checksum
  uint32_t end_position = 0;  // the header's next-event position (0: artificial)
  uint32_t timestamp = 0;     // seconds since the epoch
  // MariaDB GTID events.
  std::optional<BinlogGtid> gtid;
  bool standalone = false;
  // QUERY events: the statement. ROTATE: the next file and position.
  std::string_view text;
  uint64_t rotate_position = 0;
  // TABLE_MAP and ROWS events: the table id; TABLE_MAP: its schema.
  uint64_t table_id = 0;
  std::string_view database;
};

// One complete transaction: its events back to back in `bytes`.
struct BinlogTransaction {
  struct Event {
    uint32_t offset = 0;
    uint32_t size = 0;
    bool is_gtid = false;  // a MariaDB GTID event (it carries the GTID position)
  };
  std::string bytes;
  std::vector<Event> events;
  BinlogFilePosition end;          // where the next transaction starts
  std::optional<BinlogGtid> gtid;  // MariaDB GTID, when the group had one
  uint32_t timestamp = 0;          // the commit event's header time
  uint32_t row_events = 0;

  std::string_view EventBytes(const Event& e) const {
    return std::string_view(bytes).substr(e.offset, e.size);
  }
};

class BinlogTransactionAssembler {
 public:
  // `databases`: the schemas whose row events are kept; empty: all.
  explicit BinlogTransactionAssembler(std::vector<std::string> databases = {});

  // A new dump starts at `at`: a half-read transaction is dropped.
  void Reset(const BinlogFilePosition& at);

  // Takes one event. Returns true when it completed a transaction, which
  // `*done` then receives (its previous content is replaced).
  bool Add(const BinlogEventInfo& event, BinlogTransaction* done);

  // The end of the last complete transaction (or the start of the file a
  // rotation moved to): where a new dump resumes without loss or repeats.
  const BinlogFilePosition& position() const { return position_; }
  // True while a transaction has started but not ended.
  bool in_transaction() const { return in_group_; }

 private:
  enum class Group { kNone, kMariadb, kMariadbStandalone, kMysqlGtid, kExplicit };

  void Append(const BinlogEventInfo& event);
  bool Finish(const BinlogEventInfo& event, BinlogTransaction* done);
  bool OnQuery(const BinlogEventInfo& event, BinlogTransaction* done);
  void StartGroup(Group kind);
  bool KeepsTable(const BinlogEventInfo& event);

  std::vector<std::string> databases_;
  std::set<uint64_t> dropped_tables_;
  BinlogFilePosition position_;
  BinlogTransaction current_;
  bool in_group_ = false;
  Group group_ = Group::kNone;
};

}  // namespace txmon
