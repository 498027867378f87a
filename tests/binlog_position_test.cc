// Binlog positions through the pipeline's (topic, partition, next_offset)
// shape and back, and the transaction grouping of a dump's events.
#include <gtest/gtest.h>

#include "agent/source/binlog_columns.h"
#include "agent/source/binlog_position.h"
#include "agent/source/binlog_transactions.h"

namespace txmon {
namespace {

TEST(BinlogPositionTest, FilePositionsRoundTripThroughNextOffsets) {
  int64_t offset = 0;
  ASSERT_TRUE(BinlogOffsetFor({"mysql-bin.000042", 1234}, &offset));
  EXPECT_EQ(BinlogTopicFor("mysql-bin.000042"), "binlog:mysql-bin");
  // The pipeline records offset + 1: exactly the end position.
  const std::vector<SourceOffset> offsets = {{"binlog:mysql-bin", 0, offset + 1},
                                             {"shop.binlog", 3, 99},
                                             {"binlog-gtid:0", 1, 100},
                                             {"binlog-gtid:0", 2, 90},
                                             {"binlog-gtid:1", 2, 7}};
  const BinlogResumePoint point = BinlogResumePointFrom(offsets);
  ASSERT_TRUE(point.file_position);
  EXPECT_EQ(*point.file_position, (BinlogFilePosition{"mysql-bin.000042", 1234}));
  EXPECT_EQ(point.GtidState(), "0-1-100,1-2-7");
  // A later file is a larger offset, whatever the position in it.
  int64_t next_file = 0;
  ASSERT_TRUE(BinlogOffsetFor({"mysql-bin.000043", 4}, &next_file));
  EXPECT_GT(next_file, offset);
  EXPECT_FALSE(BinlogOffsetFor({"nonumber", 4}, &offset));
  EXPECT_EQ(BinlogFileName("bin", 7), "bin.000007");
  EXPECT_EQ(BinlogFileName("bin", 1234567), "bin.1234567");
  EXPECT_EQ(ParseBinlogGtid("0-1-100"), (BinlogGtid{0, 1, 100}));
  EXPECT_FALSE(ParseBinlogGtid("0-1"));
  EXPECT_FALSE(BinlogResumePointFrom({{"shop.binlog", 0, 5}}).file_position);
}

// An event of `type` whose header says it ends at `end`.
BinlogEventInfo Event(uint8_t type, uint32_t end, std::string_view text = {}) {
  BinlogEventInfo e;
  e.type = type;
  e.end_position = end;
  e.text = text;
  static const std::string bytes(19, 'x');
  e.bytes = bytes;
  return e;
}

TEST(BinlogTransactionsTest, GroupsEventsIntoWholeTransactions) {
  BinlogTransactionAssembler assembler;
  assembler.Reset({"bin.000001", 4});
  BinlogTransaction done;
  BinlogEventInfo rotate = Event(binlog_event::kRotate, 0, "bin.000002");
  rotate.rotate_position = 4;
  EXPECT_FALSE(assembler.Add(rotate, &done));
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kFormatDescription, 256), &done));
  BinlogEventInfo gtid = Event(binlog_event::kMariadbGtid, 300);
  gtid.gtid = BinlogGtid{0, 1, 5};
  EXPECT_FALSE(assembler.Add(gtid, &done));
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kTableMap, 350), &done));
  EXPECT_FALSE(assembler.Add(Event(30, 400), &done));  // WRITE_ROWS
  EXPECT_TRUE(assembler.in_transaction());
  ASSERT_TRUE(assembler.Add(Event(binlog_event::kXid, 431), &done));
  EXPECT_EQ(done.events.size(), 5u);  // the format description leads the transaction
  EXPECT_EQ(done.end, (BinlogFilePosition{"bin.000002", 431}));
  EXPECT_EQ(done.gtid, (BinlogGtid{0, 1, 5}));
  EXPECT_EQ(done.row_events, 1u);
  EXPECT_TRUE(done.events[1].is_gtid);

  // DDL: a standalone GTID group ends at its query.
  gtid.standalone = true;
  EXPECT_FALSE(assembler.Add(gtid, &done));
  ASSERT_TRUE(assembler.Add(Event(binlog_event::kQuery, 500, "ALTER TABLE t ADD c INT"), &done));
  EXPECT_EQ(done.events.size(), 2u);
  // Non-transactional tables: BEGIN ... COMMIT queries.
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kQuery, 550, "BEGIN"), &done));
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kTableMap, 600), &done));
  EXPECT_FALSE(assembler.Add(Event(23, 650), &done));
  ASSERT_TRUE(assembler.Add(Event(binlog_event::kQuery, 700, "commit"), &done));
  EXPECT_EQ(done.events.size(), 4u);
  EXPECT_EQ(assembler.position(), (BinlogFilePosition{"bin.000002", 700}));
  // Heartbeats are dropped; a STOP moves to the next file.
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kHeartbeat, 700), &done));
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kStop, 723), &done));
  EXPECT_EQ(assembler.position(), (BinlogFilePosition{"bin.000003", 4}));
  // A reconnect drops a half-read transaction.
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kQuery, 800, "BEGIN"), &done));
  assembler.Reset({"bin.000003", 4});
  EXPECT_FALSE(assembler.in_transaction());
}

TEST(BinlogTransactionsTest, DatabaseListDropsOtherSchemasRows) {
  BinlogTransactionAssembler assembler({"shop"});
  assembler.Reset({"bin.000001", 4});
  BinlogTransaction done;
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kMysqlGtid, 100), &done));
  EXPECT_FALSE(assembler.Add(Event(binlog_event::kQuery, 150, "BEGIN"), &done));
  BinlogEventInfo other = Event(binlog_event::kTableMap, 200);
  other.table_id = 7;
  other.database = "audit";
  BinlogEventInfo rows = Event(30, 250);
  rows.table_id = 7;
  EXPECT_FALSE(assembler.Add(other, &done));
  EXPECT_FALSE(assembler.Add(rows, &done));
  ASSERT_TRUE(assembler.Add(Event(binlog_event::kXid, 300), &done));
  EXPECT_EQ(done.events.size(), 3u);  // GTID, BEGIN, XID
  EXPECT_EQ(done.row_events, 0u);
}

TEST(BinlogColumnsTest, RecognisesSchemaChanges) {
  EXPECT_TRUE(IsSchemaChange("ALTER TABLE orders ADD COLUMN c INT"));
  EXPECT_TRUE(IsSchemaChange("  /* generated */ rename table a to b"));
  EXPECT_TRUE(IsSchemaChange("CREATE TABLE t (id INT)"));
  EXPECT_FALSE(IsSchemaChange("BEGIN"));
  EXPECT_FALSE(IsSchemaChange("ALTERNATIVE"));
  EXPECT_FALSE(IsSchemaChange("COMMIT"));
}

}  // namespace
}  // namespace txmon
