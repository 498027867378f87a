// BinlogSource: reads a MySQL/MariaDB server's binlog as a replica (MariaDB
// Connector/C's mariadb_rpl_* dump API) and yields whole transactions.
//
// Payloads: each SourceMessage is one binlog event exactly as the server sent
// it — the 19-byte common header and the body — with its CRC32 checksum
// verified by the connector and removed. FORMAT_DESCRIPTION, TABLE_MAP,
// ROWS, QUERY, XID and GTID events pass; heartbeats, ROTATE and events a row
// stream does not need are dropped (BinlogTransactionAssembler says which).
//
// Transactions: messages are released to Poll only when their transaction is
// complete (XID, COMMIT, or a standalone DDL query), and a batch holds whole
// transactions only — one bigger than `max_messages` comes alone, whole — so
// the pipeline's checkpoint, taken between batches, never lands inside one.
//
// Positions (binlog_position.h): every message of a transaction carries the
// transaction's end ("binlog:<base>", (file sequence << 32) | end - 1), and a
// MariaDB GTID event carries its GTID ("binlog-gtid:<domain>", server id,
// sequence - 1). The pipeline's next_offset is then exactly where a dump
// resumes. ResumeFrom reads them back: the file position first; the GTIDs
// only when there is none. A resume position the server has purged is
// logged as an error, counted (ReplicaStats::purged_positions) and the dump
// continues at the oldest binlog the server still has.
//
// Connection: a reader thread connects, checks the server (binlog_format=ROW,
// grants, MySQL 8 settings this source cannot read), sets up the dump (the
// checksum, @mariadb_slave_capability=4, a heartbeat period), and reconnects
// with a doubling backoff after a lost connection or a server restart,
// resuming at the end of the last complete transaction it received. A
// refused configuration (missing grants, wrong binlog_format, a clashing
// server_id, bad credentials) is fatal: Poll returns it, with what to do.
//
// Threading: as Source says. Poll/Acknowledge/ResumeFrom/Close on the
// pipeline thread; the reader thread starts at the first Poll.
#pragma once

#include <mysql.h>
// after mysql.h, which it needs
#include <mariadb_rpl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/base/status.h"
#include "agent/source/binlog_position.h"
#include "agent/source/binlog_transactions.h"
#include "agent/source/mysql_connection.h"
#include "agent/source/source.h"

namespace txmon {

struct BinlogSourceOptions {
  MysqlEndpoint endpoint;
  uint32_t server_id = 0;  // unique among the server's replicas, not 0
  enum class Start { kCurrent, kEarliest, kFilePosition, kGtid };
  Start start = Start::kCurrent;
  BinlogFilePosition start_position;   // kFilePosition
  std::string start_gtid;              // kGtid: "0-1-100[,1-2-7]"
  std::vector<std::string> databases;  // row events of these schemas only; empty: all
  std::chrono::milliseconds heartbeat_period{500};
  std::chrono::milliseconds reconnect_backoff_min{100};
  std::chrono::milliseconds reconnect_backoff_max{5000};
  size_t max_buffered_bytes = 64 << 20;  // complete transactions waiting for Poll
};

class BinlogSource : public Source {
 public:
  // Validates the options; connects only at the first Poll.
  static Status Create(BinlogSourceOptions options, std::unique_ptr<BinlogSource>* out);
  ~BinlogSource() override;
  BinlogSource(const BinlogSource&) = delete;
  BinlogSource& operator=(const BinlogSource&) = delete;

  Status Poll(std::vector<SourceMessage>& batch, size_t max_messages,
              std::chrono::milliseconds timeout) override;
  void Acknowledge(const std::vector<SourceMessage>& batch) override;
  bool Connected() const override { return connected_.load(std::memory_order_acquire); }
  bool Finished() const override { return false; }
  bool GetReplicaStats(ReplicaStats* stats) const override;
  void ResumeFrom(const std::vector<SourceOffset>& offsets) override;
  // Stops the reader thread. The destructor calls it too.
  void Close() override;

 private:
  struct Session;
  explicit BinlogSource(BinlogSourceOptions options);

  void ReaderLoop();
  // One connection: checks, dump, events until it fails or Close.
  Status RunSession(bool* fatal);
  Status PrepareSession(Session& session, bool* fatal);
  Status ChooseStart(Session& session, bool* fatal);
  Status CheckNotPurged(Session& session, bool* fatal);
  Status ReadEvents(Session& session, bool* fatal);
  void OnEvent(const MARIADB_RPL_EVENT& event, size_t checksum_bytes);
  void Enqueue(BinlogTransaction&& transaction);
  void SleepBackoff(std::chrono::milliseconds delay);
  std::string_view Intern(std::string topic);

  const BinlogSourceOptions options_;
  BinlogTransactionAssembler assembler_;  // reader thread
  BinlogTransaction done_;                // reader thread
  // Where the next session starts: set by ResumeFrom / the first session's
  // choice, then the assembler's position. Reader thread after start.
  std::optional<BinlogFilePosition> resume_position_;
  std::string resume_gtid_state_;
  bool resume_from_checkpoint_ = false;
  bool rotated_ = false;  // the last session ended at a real ROTATE

  std::thread reader_;
  bool started_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};

  std::mutex mutex_;                  // guards everything below up to the atomics
  std::condition_variable ready_cv_;  // a transaction, a failure, or room
  std::deque<BinlogTransaction> queue_;
  std::vector<BinlogTransaction> free_;  // reusable buffers
  size_t queued_bytes_ = 0;
  bool failed_ = false;
  Status failure_;
  MysqlConnection* live_connection_ = nullptr;  // for Close's Interrupt

  // The last batch: its messages' payloads point into these. Pipeline thread.
  std::vector<BinlogTransaction> held_;
  std::set<std::string, std::less<>> topics_;

  // Self-metrics.
  std::array<std::atomic<uint64_t>, 256> events_{};
  std::atomic<uint64_t> heartbeats_{0}, reconnects_{0}, purged_{0};
  std::atomic<uint32_t> applied_sequence_{0};
  std::atomic<uint64_t> applied_position_{0};
  std::atomic<int64_t> last_event_time_s_{0};
  std::atomic<int64_t> server_clock_offset_ms_{0};
  std::atomic<bool> caught_up_{false};
};

}  // namespace txmon
