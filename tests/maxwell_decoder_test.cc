#include "agent/decode/maxwell_decoder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/auto_decoder.h"
#include "agent/decode/canal_decoder.h"
#include "agent/decode/debezium_decoder.h"
#include "agent/decode/decoder_factory.h"
#include "tests/support/allocation_counter/allocation_counter.h"
#include "tests/support/cdc_samples.h"
#include "tests/support/decode_error_printer.h"

namespace txmon {

namespace {

using test::MakeSchema;
using test::Message;
using test::SampleLine;
using test::TextOf;

// Samples copied from real Maxwell output; see tests/data/maxwell/README.md.
constexpr std::string_view kDir = "maxwell";
constexpr std::string_view kFlink = "maxwell-flink-testdata.jsonl";
constexpr std::string_view kRepo = "maxwell-repo-docs-and-tests.jsonl";
constexpr std::string_view kRuoze = "maxwell-ruozedata-blog.jsonl";
constexpr std::string_view kAllFiles[] = {kFlink,
                                          kRepo,
                                          kRuoze,
                                          "maxwell-seatunnel-e2e.jsonl",
                                          "maxwell-blog-captures-unattributed.jsonl",
                                          "maxwell-misc-attributed.jsonl"};

DecodeSchema ProductSchema() {
  return MakeSchema({{"test", "product"}}, {"id", "name", "description", "weight"});
}

// Line 1 as the one row of its transaction (in the file it opens one).
std::string CommittedFirstInsert() {
  return test::ReplaceOnce(SampleLine(kDir, kFlink, 1), R"("xoffset":0)", R"("commit":true)");
}

TEST(MaxwellDecoderTest, Insert) {
  const DecodeSchema schema = ProductSchema();
  MaxwellDecoder decoder(schema);
  const std::string line = CommittedFirstInsert();

  const DecodeResult result = decoder.Decode(Message(line, 3));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.format, "maxwell");
  EXPECT_EQ(result.message_type, "insert");
  ASSERT_EQ(result.rows.size(), 1u);
  const RowChange& row = result.rows[0];
  EXPECT_EQ(row.op, RowOp::kInsert);
  EXPECT_FALSE(row.bootstrap);
  EXPECT_EQ(row.database, "test");
  EXPECT_EQ(row.table, "product");
  EXPECT_EQ(row.commit_time_ms, 1596684883000);  // ts in seconds
  EXPECT_EQ(row.position.offset, 3);
  EXPECT_EQ(TextOf(row.after, schema, "id"), "101");
  EXPECT_EQ(TextOf(row.after, schema, "name"), "scooter");
  EXPECT_EQ(TextOf(row.after, schema, "weight"), "3.14");
  EXPECT_FALSE(result.transaction_open);
}

// Lines 1-9 are one transaction (xid 7125, `commit` on the ninth): its rows
// come out together with the ninth message, each with its own position.
TEST(MaxwellDecoderTest, RowsOfATransactionComeOutTogetherAtItsCommit) {
  const DecodeSchema schema = ProductSchema();
  MaxwellDecoder decoder(schema);
  const std::vector<std::string> lines = test::ReadSampleLines(kDir, kFlink);
  for (size_t i = 0; i < 8; ++i) {
    const DecodeResult held = decoder.Decode(Message(lines[i], static_cast<int64_t>(i + 1)));
    ASSERT_EQ(held.error, DecodeError::kNone) << held.detail;
    EXPECT_EQ(held.message_type, "insert");
    EXPECT_TRUE(held.rows.empty()) << i;
    EXPECT_TRUE(held.transaction_open) << i;
  }
  const DecodeResult commit = decoder.Decode(Message(lines[8], 9));
  ASSERT_EQ(commit.error, DecodeError::kNone) << commit.detail;
  EXPECT_FALSE(commit.transaction_open);
  ASSERT_EQ(commit.rows.size(), 9u);
  for (size_t i = 0; i < 9; ++i) {
    const RowChange& row = commit.rows[i];
    EXPECT_EQ(TextOf(row.after, schema, "id"), std::to_string(101 + i));
    EXPECT_EQ(row.position.offset, static_cast<int64_t>(i + 1));
    EXPECT_EQ(row.database, "test");
    EXPECT_EQ(row.table, "product");
    EXPECT_EQ(row.op, RowOp::kInsert);
    EXPECT_EQ(row.commit_time_ms, 1596684883000);
  }
  EXPECT_EQ(TextOf(commit.rows[0].after, schema, "description"), "Small 2-wheel scooter");
  EXPECT_EQ(TextOf(commit.rows[8].after, schema, "name"), "spare tire");

  // A one-row transaction goes straight through; an update keeps its images.
  const DecodeResult single = decoder.Decode(Message(lines[9], 10));
  ASSERT_EQ(single.rows.size(), 1u);
  EXPECT_FALSE(single.transaction_open);
  decoder.Decode(Message(lines[16], 17));  // xid 7291, row 1 of 2 (updates)
  const DecodeResult two = decoder.Decode(Message(lines[17], 18));
  ASSERT_EQ(two.rows.size(), 2u);
  EXPECT_EQ(two.rows[0].op, RowOp::kUpdate);
  EXPECT_EQ(TextOf(two.rows[0].before, schema, "weight"), "3.14");
  EXPECT_EQ(TextOf(two.rows[0].after, schema, "weight"), "5.17");
  EXPECT_EQ(two.rows[0].changed_slots, test::SlotBit(schema, "weight"));
  EXPECT_EQ(TextOf(two.rows[1].before, schema, "weight"), "8.1");
}

// A transaction whose commit row never came (a filtered or lost message) is
// released by the next row of another transaction, or without xid.
TEST(MaxwellDecoderTest, ATransactionWithoutItsCommitIsReleasedByTheNext) {
  const DecodeSchema schema = ProductSchema();
  MaxwellDecoder decoder(schema);
  const std::vector<std::string> lines = test::ReadSampleLines(kDir, kFlink);
  EXPECT_TRUE(decoder.Decode(Message(lines[16])).transaction_open);  // xid 7291, no commit
  // Line 19 opens xid 7322: 7291's row goes on, 7322's is held.
  const DecodeResult next = decoder.Decode(Message(lines[18]));
  ASSERT_EQ(next.rows.size(), 1u);
  EXPECT_EQ(TextOf(next.rows[0].after, schema, "id"), "101");
  EXPECT_TRUE(next.transaction_open);
  // A DDL changes nothing; a bad message neither.
  const DecodeResult ddl =
      decoder.Decode(Message(R"({"database":"test","table":"product","type":"table-alter"})"));
  EXPECT_TRUE(ddl.rows.empty());
  EXPECT_TRUE(ddl.transaction_open);
  EXPECT_TRUE(decoder.Decode(Message("{")).transaction_open);
  // A row without xid (a bootstrap) releases it, with itself.
  const std::string no_xid = test::ReplaceOnce(lines[19], R"("xid":7322,"commit":true,)", "");
  const DecodeResult released = decoder.Decode(Message(no_xid));
  ASSERT_EQ(released.rows.size(), 2u);
  EXPECT_EQ(TextOf(released.rows[0].before, schema, "id"), "102");
  EXPECT_EQ(TextOf(released.rows[1].before, schema, "id"), "103");
  EXPECT_FALSE(released.transaction_open);
}

// Transactions often end on a row of a table no mapping declares: its
// commit still releases the held rows (with the unknown_table error).
TEST(MaxwellDecoderTest, ACommitOnAnUnmappedTableReleasesTheTransaction) {
  const DecodeSchema schema = ProductSchema();
  MaxwellDecoder decoder(schema);
  const DecodeResult first = decoder.Decode(Message(SampleLine(kDir, kFlink, 1)));
  EXPECT_TRUE(first.transaction_open);
  const DecodeResult commit = decoder.Decode(
      Message(R"({"database":"test","table":"audit","type":"insert","ts":1596684883,)"
              R"("xid":7125,"commit":true,"data":{"id":1}})"));
  EXPECT_EQ(commit.error, DecodeError::kUnknownTable);
  ASSERT_EQ(commit.rows.size(), 1u);
  EXPECT_EQ(TextOf(commit.rows[0].after, schema, "id"), "101");
  EXPECT_FALSE(commit.transaction_open);
}

TEST(MaxwellDecoderTest, TheBinlogPositionIsKeptForLogs) {
  const DecodeSchema schema = MakeSchema({{"test", "other"}}, {"id"});
  MaxwellDecoder decoder(schema);
  const DecodeResult result = decoder.Decode(Message(SampleLine(kDir, kRepo, 16)));
  EXPECT_EQ(result.error, DecodeError::kUnknownTable);
  EXPECT_EQ(result.binlog_file, "master.000006");
  EXPECT_EQ(result.binlog_pos, 800911);
  const std::string with_gtid =
      test::ReplaceOnce(SampleLine(kDir, kRepo, 16), R"("server_id")",
                        R"("gtid":"3e11fa47-71ca-11e1-9e33-c80aa9429562:23","server_id")");
  EXPECT_EQ(decoder.Decode(Message(with_gtid)).gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:23");
}

TEST(MaxwellDecoderTest, UpdateOverlaysOldOnData) {
  const DecodeSchema schema = ProductSchema();
  MaxwellDecoder decoder(schema);
  const std::string line = SampleLine(kDir, kFlink, 10);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  const RowChange& row = result.rows[0];
  EXPECT_EQ(row.op, RowOp::kUpdate);
  EXPECT_EQ(TextOf(row.before, schema, "description"), "16oz carpenter's hammer");
  EXPECT_EQ(TextOf(row.after, schema, "description"), "18oz carpenter hammer");
  EXPECT_EQ(TextOf(row.before, schema, "weight"), "1.0");  // from data: unchanged
  EXPECT_EQ(row.changed_slots, test::SlotBit(schema, "description"));
}

TEST(MaxwellDecoderTest, NumbersKeepTheirExactText) {
  const DecodeSchema schema =
      MakeSchema({{"MyDatabase", "User"}, {"hlwtest", "emp"}}, {"DoubleField", "sal", "comm"});
  MaxwellDecoder decoder(schema);
  const std::string user = SampleLine(kDir, kRepo, 1);
  const DecodeResult a = decoder.Decode(Message(user));
  ASSERT_EQ(a.error, DecodeError::kNone) << a.detail;
  ASSERT_EQ(a.rows.size(), 1u);
  // More digits than a double holds.
  EXPECT_EQ(TextOf(a.rows[0].after, schema, "DoubleField"), "4500000001.512456777");

  const std::string emp = SampleLine(kDir, kRuoze, 23);
  const DecodeResult b = decoder.Decode(Message(emp));
  ASSERT_EQ(b.error, DecodeError::kNone) << b.detail;
  ASSERT_EQ(b.rows.size(), 1u);
  EXPECT_EQ(TextOf(b.rows[0].after, schema, "sal"), "730.00");  // DECIMAL keeps its scale
  EXPECT_EQ(TextOf(b.rows[0].after, schema, "comm"), "6000.00");
}

TEST(MaxwellDecoderTest, BootstrapInsertsAreFlaggedOthersSkipped) {
  const DecodeSchema schema = MakeSchema({{"fooDB", "barTable"}}, {"txt"});
  MaxwellDecoder decoder(schema);
  const std::string start = SampleLine(kDir, kRepo, 9);
  const std::string insert = SampleLine(kDir, kRepo, 10);
  const std::string complete = SampleLine(kDir, kRepo, 12);

  const DecodeResult s = decoder.Decode(Message(start));
  EXPECT_EQ(s.error, DecodeError::kNone) << s.detail;
  EXPECT_EQ(s.message_type, "bootstrap-start");
  EXPECT_TRUE(s.rows.empty());

  const DecodeResult i = decoder.Decode(Message(insert));
  ASSERT_EQ(i.error, DecodeError::kNone) << i.detail;
  ASSERT_EQ(i.rows.size(), 1u);
  EXPECT_EQ(i.rows[0].op, RowOp::kInsert);
  EXPECT_TRUE(i.rows[0].bootstrap);
  EXPECT_EQ(TextOf(i.rows[0].after, schema, "txt"), "hello");

  const DecodeResult c = decoder.Decode(Message(complete));
  EXPECT_EQ(c.error, DecodeError::kNone) << c.detail;
  EXPECT_TRUE(c.rows.empty());
}

TEST(MaxwellDecoderTest, DdlIsSkipped) {
  const DecodeSchema schema = MakeSchema({{"test", "e"}}, {"id", "m"});
  MaxwellDecoder decoder(schema);
  const std::string line = SampleLine(kDir, kRepo, 17);
  const DecodeResult result = decoder.Decode(Message(line));
  EXPECT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.message_type, "table-create");
  EXPECT_TRUE(result.rows.empty());
}

TEST(MaxwellDecoderTest, EncryptedPayloadsAreUnsupported) {
  const DecodeSchema schema = MakeSchema({{"shard_1", "minimal"}}, {"id"});
  MaxwellDecoder decoder(schema);
  for (size_t line_number : {3, 4, 5, 6}) {
    const std::string line = SampleLine(kDir, kRepo, line_number);
    const DecodeResult result = decoder.Decode(Message(line));
    EXPECT_EQ(result.error, DecodeError::kUnsupportedEvent) << line_number;
    EXPECT_NE(result.detail.find("encrypted"), std::string_view::npos) << result.detail;
  }
}

TEST(MaxwellDecoderTest, UnknownTableAndBadMessages) {
  const DecodeSchema schema = MakeSchema({{"test", "orders"}}, {"id"});
  MaxwellDecoder decoder(schema);
  const std::string line = SampleLine(kDir, kFlink, 1);
  EXPECT_EQ(decoder.Decode(Message(line)).error, DecodeError::kUnknownTable);
  EXPECT_EQ(decoder.Decode(Message("")).error, DecodeError::kInvalidJson);
  EXPECT_EQ(decoder.Decode(Message(R"({"type":"insert","table":"orders")")).error,
            DecodeError::kInvalidJson);
  EXPECT_EQ(decoder.Decode(Message(R"({"table":"orders","data":{}})")).error,
            DecodeError::kMissingField);
  EXPECT_EQ(
      decoder.Decode(Message(R"({"type":"insert","database":"test","table":"orders"})")).error,
      DecodeError::kMissingField);
  EXPECT_EQ(
      decoder.Decode(Message(R"({"type":"insert","database":"test","table":"orders","data":[1]})"))
          .error,
      DecodeError::kWrongType);
}

TEST(MaxwellDecoderTest, EverySampleIsDecodedOrCountedByReason) {
  const DecodeSchema schema = MakeSchema({}, {"id"});
  MaxwellDecoder decoder(schema);
  int decoded = 0, unknown_table = 0, other = 0;
  for (std::string_view file : kAllFiles) {
    for (const std::string& line : test::ReadSampleLines(kDir, file)) {
      const DecodeResult result = decoder.Decode(Message(line));
      if (result.error == DecodeError::kNone) {
        ++decoded;
      } else if (result.error == DecodeError::kUnknownTable) {
        ++unknown_table;
      } else {
        ++other;
        EXPECT_EQ(result.error, DecodeError::kUnsupportedEvent) << file << ": " << result.detail;
      }
    }
  }
  EXPECT_GT(decoded, 5);  // DDL and bootstrap markers
  EXPECT_GT(unknown_table, 80);
  EXPECT_GT(other, 3);  // the encrypted ones
}

TEST(MaxwellDecoderTest, SteadyStateDecodingDoesNotAllocate) {
  const DecodeSchema schema = ProductSchema();
  MaxwellDecoder decoder(schema);
  const std::vector<std::string> lines = test::ReadSampleLines(kDir, kFlink);
  for (const std::string& line : lines) decoder.Decode(Message(line));
  const int64_t before = test::AllocationCount();
  size_t rows = 0;
  for (int round = 0; round < 10; ++round) {
    for (const std::string& line : lines) rows += decoder.Decode(Message(line)).rows.size();
  }
  EXPECT_EQ(test::AllocationCount() - before, 0);
  EXPECT_EQ(rows, 10 * lines.size());
}

// The same first nine products as Canal, Debezium and Maxwell wrote them
// (Flink's three test files describe one change history): the same rows.
TEST(CdcFormatsTest, TheThreeFormatsGiveTheSameInserts) {
  const DecodeSchema schema = MakeSchema({{"inventory", "products"},
                                          {"test", "product"},
                                          {"inventory", "products2"},
                                          {"mydb", "product"}},
                                         {"id", "name", "description"});
  CanalDecoder canal(schema);
  DebeziumDecoder debezium(schema);
  MaxwellDecoder maxwell(schema);
  const std::string canal_line = SampleLine("canal", "canal-flink-testdata.jsonl", 1);
  const DecodeResult c = canal.Decode(Message(canal_line));
  ASSERT_EQ(c.error, DecodeError::kNone) << c.detail;
  ASSERT_EQ(c.rows.size(), 9u);
  const std::vector<std::string> dbz =
      test::ReadSampleLines("debezium", "debezium-flink-testdata-schema-include.jsonl");
  const std::vector<std::string> mxw = test::ReadSampleLines("maxwell", kFlink);
  // Maxwell's nine rows are one transaction: they come out with the ninth.
  DecodeResult m;
  for (size_t i = 0; i < 9; ++i) m = maxwell.Decode(Message(mxw[i]));
  ASSERT_EQ(m.error, DecodeError::kNone) << m.detail;
  ASSERT_EQ(m.rows.size(), 9u);
  for (size_t i = 0; i < 9; ++i) {
    const DecodeResult d = debezium.Decode(Message(dbz[i]));
    ASSERT_EQ(d.error, DecodeError::kNone) << d.detail;
    ASSERT_EQ(d.rows.size(), 1u);
    for (std::string_view column : {"id", "name", "description"}) {
      const std::string expected = TextOf(c.rows[i].after, schema, column);
      EXPECT_EQ(TextOf(d.rows[0].after, schema, column), expected) << i << " " << column;
      EXPECT_EQ(TextOf(m.rows[i].after, schema, column), expected) << i << " " << column;
    }
    EXPECT_EQ(d.rows[0].op, RowOp::kInsert);
    EXPECT_EQ(m.rows[i].op, RowOp::kInsert);
  }
}

TEST(CdcFormatsTest, AutoRecognisesEachFormat) {
  struct Case {
    std::string_view dir, file;
    size_t line;
    WireFormat format;
  };
  const Case cases[] = {
      {"canal", "canal-flink-testdata.jsonl", 1, WireFormat::kCanal},
      {"canal", "canal-paimon-testdata.jsonl", 1, WireFormat::kCanal},
      {"canal", "canal-blog-captures-unattributed.jsonl", 7, WireFormat::kCanal},
      {"debezium", "debezium-flink-testdata-schema-include.jsonl", 1, WireFormat::kDebezium},
      {"debezium", "debezium-flink-testdata-schema-exclude.jsonl", 1, WireFormat::kDebezium},
      {"debezium", "debezium-docs-examples.jsonl", 12, WireFormat::kDebezium},
      {"debezium", "debezium-docs-examples.jsonl", 5, WireFormat::kDebezium},
      {"maxwell", kFlink, 1, WireFormat::kMaxwell},
      {"maxwell", kRepo, 5, WireFormat::kMaxwell},
      {"maxwell", kRepo, 17, WireFormat::kMaxwell},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SniffWireFormat(SampleLine(c.dir, c.file, c.line)), c.format)
        << c.file << ":" << c.line;
  }
  EXPECT_EQ(SniffWireFormat(""), WireFormat::kDebezium);  // a tombstone
  // Fields in an unusual order: every key is looked at.
  EXPECT_EQ(SniffWireFormat(R"({"table":"t","type":"INSERT","data":[],"es":1})"),
            WireFormat::kCanal);
  EXPECT_EQ(SniffWireFormat(R"({"table":"t","type":"insert","data":{}})"), WireFormat::kMaxwell);
  EXPECT_EQ(SniffWireFormat(R"({"table":"t","after":{}})"), WireFormat::kDebezium);
  EXPECT_EQ(SniffWireFormat(R"({"x":1})"), WireFormat::kUnknown);
}

TEST(CdcFormatsTest, AutoDelegatesAndNamesTheFormat) {
  const DecodeSchema schema =
      MakeSchema({{"test", "product"}, {"inventory", "products"}}, {"id", "name"});
  std::unique_ptr<Decoder> decoder;
  ASSERT_TRUE(CreateDecoder("auto", schema, &decoder).ok());
  const std::string mx = CommittedFirstInsert();
  const std::string dz = SampleLine("debezium", "debezium-flink-testdata-schema-exclude.jsonl", 1);
  const DecodeResult m = decoder->Decode(Message(mx));
  EXPECT_EQ(m.format, "maxwell");
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(TextOf(m.rows[0].after, schema, "id"), "101");
  const DecodeResult d = decoder->Decode(Message(dz));
  EXPECT_EQ(d.format, "debezium");
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(TextOf(d.rows[0].after, schema, "id"), "101");
  const DecodeResult t = decoder->Decode(Message(""));
  EXPECT_EQ(t.error, DecodeError::kNone);
  EXPECT_EQ(t.message_type, "tombstone");
  const DecodeResult bad = decoder->Decode(Message(R"({"x":1})"));
  EXPECT_EQ(bad.error, DecodeError::kMissingField);
  EXPECT_EQ(decoder->Decode(Message("not json")).error, DecodeError::kInvalidJson);
}

TEST(CdcFormatsTest, FactoryKnowsTheFixedNames) {
  const std::vector<std::string_view>& formats = DecoderFormats();
  for (std::string_view name : {"canal", "debezium", "maxwell", "auto"}) {
    EXPECT_NE(std::find(formats.begin(), formats.end(), name), formats.end()) << name;
    std::unique_ptr<Decoder> decoder;
    EXPECT_TRUE(CreateDecoder(name, DecodeSchema{}, &decoder).ok()) << name;
  }
}

}  // namespace
}  // namespace txmon
