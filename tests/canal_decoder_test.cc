#include "agent/decode/canal_decoder.h"
#include "tests/support/allocation_counter/allocation_counter.h"
#include "tests/support/decode_error_printer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace txmon {

namespace {

// Samples copied from real Canal output; see tests/data/canal/README.md.
constexpr std::string_view kFlinkFile = "canal-flink-testdata.jsonl";
constexpr std::string_view kBlogFile = "canal-blog-captures-unattributed.jsonl";
constexpr std::string_view kPaimonFile = "canal-paimon-testdata.jsonl";
constexpr std::string_view kSeatunnelFile = "canal-seatunnel-e2e.jsonl";
constexpr std::string_view kGlueFile = "canal-canal-glue-orders.jsonl";
constexpr std::string_view kAllFiles[] = {kFlinkFile, kBlogFile, kPaimonFile, kSeatunnelFile,
                                          kGlueFile};

std::vector<std::string> ReadLines(std::string_view file) {
  const std::string path = std::string(TXMON_SOURCE_DIR) + "/tests/data/canal/" + std::string(file);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Line `number` (1-based, as in the README) of a sample file.
std::string SampleLine(std::string_view file, size_t number) {
  const std::vector<std::string> lines = ReadLines(file);
  if (number == 0 || number > lines.size()) {
    ADD_FAILURE() << file << " has no line " << number;
    return "";
  }
  return lines[number - 1];
}

// `text` with its only occurrence of `from` replaced by `to`.
std::string ReplaceOnce(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "no " << from << " in " << text;
  if (at == std::string::npos) return text;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  return text.replace(at, from.size(), to);
}

DecodeSchema MakeSchema(std::vector<DecodeSchema::Table> tables,
                        std::initializer_list<std::string_view> columns) {
  DecodeSchema schema;
  schema.tables = std::move(tables);
  for (std::string_view column : columns) schema.columns.Add(column);
  return schema;
}

// The products tables of the Flink samples, with the Flink test's columns.
DecodeSchema ProductsSchema() {
  return MakeSchema({{"inventory", "products2"}, {"mydb", "product"}},
                    {"id", "name", "description", "weight"});
}

SourceMessage Message(std::string_view payload, int64_t offset = 0) {
  SourceMessage message;
  message.payload = payload;
  message.position = {"canal-topic", 3, offset};
  return message;
}

// The value of `column` in `image`, as the test sees it.
ColumnValue ValueOf(std::span<const ColumnValue> image, const DecodeSchema& schema,
                    std::string_view column) {
  const int slot = schema.columns.Find(column);
  EXPECT_GE(slot, 0) << column << " is not in the schema";
  EXPECT_EQ(image.size(), schema.columns.size());
  if (slot < 0 || static_cast<size_t>(slot) >= image.size()) return {};
  return image[slot];
}

std::string TextOf(std::span<const ColumnValue> image, const DecodeSchema& schema,
                   std::string_view column) {
  const ColumnValue value = ValueOf(image, schema, column);
  if (value.is_null()) return "<null>";
  if (value.is_absent()) return "<absent>";
  return std::string(value.text);
}

uint64_t SlotBit(const DecodeSchema& schema, std::string_view column) {
  return uint64_t{1} << schema.columns.Find(column);
}

ColumnValue Text(std::string_view text) { return {ColumnValue::State::kText, text}; }
ColumnValue Null() { return {ColumnValue::State::kNull, {}}; }

TEST(CanalDecoderTest, InsertWithNineRows) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 1);

  const DecodeResult result = decoder.Decode(Message(line, 41));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.message_type, "INSERT");
  ASSERT_EQ(result.rows.size(), 9u);
  for (size_t i = 0; i < result.rows.size(); ++i) {
    const RowChange& row = result.rows[i];
    EXPECT_EQ(row.op, RowOp::kInsert);
    EXPECT_EQ(row.database, "inventory");
    EXPECT_EQ(row.table, "products2");
    EXPECT_EQ(row.commit_time_ms, 1589373515000);
    EXPECT_EQ(row.position.topic, "canal-topic");
    EXPECT_EQ(row.position.partition, 3);
    EXPECT_EQ(row.position.offset, 41);
    EXPECT_TRUE(row.before.empty());
    EXPECT_EQ(row.changed_slots, 0u);
    EXPECT_EQ(TextOf(row.after, schema, "id"), std::to_string(101 + i));
  }
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "name"), "scooter");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "weight"), "3.14");
  EXPECT_EQ(TextOf(result.rows[2].after, schema, "description"),
            "12-pack of drill bits with sizes ranging from #40 to #3");
  EXPECT_EQ(TextOf(result.rows[3].after, schema, "description"), "12oz carpenter's hammer");
  EXPECT_EQ(TextOf(result.rows[8].after, schema, "weight"), "22.2");
}

TEST(CanalDecoderTest, ColumnsOutsideTheSchemaAreNotExtracted) {
  const DecodeSchema schema = MakeSchema({{"inventory", "products2"}}, {"weight", "color"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 1);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 9u);
  ASSERT_EQ(result.rows[4].after.size(), 2u);
  EXPECT_EQ(TextOf(result.rows[4].after, schema, "weight"), "0.875");
  // A column that the message does not carry stays absent, not null.
  EXPECT_TRUE(ValueOf(result.rows[4].after, schema, "color").is_absent());
}

TEST(CanalDecoderTest, TableColumnsListsWhatTheTableHasAndUnmappedTablesAreNamed) {
  const DecodeSchema schema = MakeSchema({{"inventory", "products2"}}, {"weight", "color"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 1);
  EXPECT_EQ(decoder.TableColumns(Message(line), "inventory", "products2"),
            (std::vector<std::string>{"id", "name", "description", "weight"}));

  // A table no mapping declares: the result says which one it is.
  CanalDecoder other(MakeSchema({{"mall", "t_order"}}, {"id"}));
  const DecodeResult result = other.Decode(Message(line));
  EXPECT_EQ(result.error, DecodeError::kUnknownTable);
  EXPECT_EQ(result.database, "inventory");
  EXPECT_EQ(result.table, "products2");
}

TEST(CanalDecoderTest, UpdateOverlaysOldOnData) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 9);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.message_type, "UPDATE");
  ASSERT_EQ(result.rows.size(), 2u);
  const RowChange& first = result.rows[0];
  const RowChange& second = result.rows[1];
  EXPECT_EQ(first.op, RowOp::kUpdate);
  EXPECT_EQ(first.commit_time_ms, 1589373753000);
  EXPECT_EQ(TextOf(first.after, schema, "id"), "101");
  EXPECT_EQ(TextOf(first.after, schema, "weight"), "5.17");
  EXPECT_EQ(TextOf(first.before, schema, "weight"), "3.14");
  EXPECT_EQ(TextOf(first.before, schema, "id"), "101");
  EXPECT_EQ(TextOf(first.before, schema, "name"), "scooter");
  EXPECT_EQ(TextOf(first.before, schema, "description"), "Small 2-wheel scooter");
  EXPECT_EQ(first.changed_slots, SlotBit(schema, "weight"));
  EXPECT_EQ(TextOf(second.after, schema, "id"), "102");
  EXPECT_EQ(TextOf(second.after, schema, "weight"), "5.17");
  EXPECT_EQ(TextOf(second.before, schema, "weight"), "8.1");
  EXPECT_EQ(TextOf(second.before, schema, "name"), "car battery");
  EXPECT_EQ(second.changed_slots, SlotBit(schema, "weight"));
}

TEST(CanalDecoderTest, UpdateMarksEveryColumnNamedInOld) {
  const DecodeSchema schema = MakeSchema({{"canal_demo", "canal_demo_user_test"}},
                                         {"id", "username", "email", "birthdate", "is_active"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kBlogFile, 1);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 2u);
  const uint64_t changed = SlotBit(schema, "birthdate") | SlotBit(schema, "is_active");
  EXPECT_EQ(result.rows[0].changed_slots, changed);
  EXPECT_EQ(result.rows[1].changed_slots, changed);
  EXPECT_EQ(TextOf(result.rows[0].before, schema, "birthdate"), "1992-10-12");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "birthdate"), "1995-08-08");
  EXPECT_EQ(TextOf(result.rows[0].before, schema, "is_active"), "1");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "is_active"), "0");
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "birthdate"), "1987-11-30");
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "email"), "diana@example.com");
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "username"), "diana_prince");
}

TEST(CanalDecoderTest, ChangedColumnsAreTrackedPerOldObject) {
  // Flink line 9 with a different column changed in each row: the key set of
  // old[i] decides for row i only.
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line =
      ReplaceOnce(SampleLine(kFlinkFile, 9), R"("old":[{"weight":"3.14"},{"weight":"8.1"}])",
                  R"("old":[{"weight":"3.14"},{"name":"battery"}])");

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[0].changed_slots, SlotBit(schema, "weight"));
  EXPECT_EQ(TextOf(result.rows[0].before, schema, "name"), "scooter");
  EXPECT_EQ(result.rows[1].changed_slots, SlotBit(schema, "name"));
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "name"), "battery");
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "weight"), "5.17");
}

TEST(CanalDecoderTest, DeleteCarriesBeforeImage) {
  const DecodeSchema schema =
      MakeSchema({{"canal_demo", "canal_demo_user_test"}}, {"id", "username", "is_active"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kBlogFile, 3);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.message_type, "DELETE");
  ASSERT_EQ(result.rows.size(), 2u);
  for (const RowChange& row : result.rows) {
    EXPECT_EQ(row.op, RowOp::kDelete);
    EXPECT_TRUE(row.after.empty());
    EXPECT_EQ(row.commit_time_ms, 1719923976000);
  }
  EXPECT_EQ(TextOf(result.rows[0].before, schema, "id"), "2");
  EXPECT_EQ(TextOf(result.rows[0].before, schema, "username"), "jane_smith");
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "id"), "3");
  EXPECT_EQ(TextOf(result.rows[1].before, schema, "username"), "sam_wilson");
}

TEST(CanalDecoderTest, NullInData) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 11);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 9u);
  const RowChange& hammer = result.rows[5];
  EXPECT_EQ(TextOf(hammer.after, schema, "id"), "106");
  EXPECT_EQ(ValueOf(hammer.after, schema, "description"), Null());
  EXPECT_EQ(ValueOf(hammer.after, schema, "weight"), Text("1.0"));
  EXPECT_EQ(ValueOf(result.rows[4].after, schema, "description"), Text("14oz carpenter's hammer"));
}

TEST(CanalDecoderTest, NullInOldMeansChangedFromNull) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 12);  // "old":[{"description":null}]

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  const RowChange& row = result.rows[0];
  EXPECT_EQ(row.changed_slots, SlotBit(schema, "description"));
  EXPECT_EQ(ValueOf(row.before, schema, "description"), Null());
  EXPECT_EQ(ValueOf(row.after, schema, "description"), Text("18oz carpenter hammer"));
  EXPECT_EQ(ValueOf(row.before, schema, "weight"), Text("1.0"));
  EXPECT_EQ(ValueOf(row.before, schema, "id"), Text("106"));
}

TEST(CanalDecoderTest, SeveralNullsInOld) {
  const DecodeSchema schema =
      MakeSchema({{"paimon_sync_table", "schema_evolution_2"}}, {"_id", "v1", "v4", "v5"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kPaimonFile, 29);  // "old":[{"v4":null,"v5":null}]

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  const RowChange& row = result.rows[0];
  EXPECT_EQ(row.changed_slots, SlotBit(schema, "v4") | SlotBit(schema, "v5"));
  EXPECT_EQ(ValueOf(row.before, schema, "v4"), Null());
  EXPECT_EQ(ValueOf(row.before, schema, "v5"), Null());
  EXPECT_EQ(ValueOf(row.after, schema, "v4"), Text("four.bin.long"));
  EXPECT_EQ(ValueOf(row.after, schema, "v5"), Text("4.00000000004"));
  EXPECT_EQ(ValueOf(row.before, schema, "v1"), Text("four"));
}

TEST(CanalDecoderTest, EmptyOldObjectMeansNothingChanged) {
  const DecodeSchema schema = MakeSchema({{"canal_demo", "canal_demo_user_test"}},
                                         {"id", "username", "email", "is_active"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kBlogFile, 4);  // "old":[{}], email filtered out

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  const RowChange& row = result.rows[0];
  EXPECT_EQ(row.op, RowOp::kUpdate);
  EXPECT_EQ(row.changed_slots, 0u);
  EXPECT_EQ(TextOf(row.after, schema, "username"), "lisa_brown");
  EXPECT_TRUE(ValueOf(row.after, schema, "email").is_absent());
  ASSERT_EQ(row.before.size(), row.after.size());
  for (size_t slot = 0; slot < row.after.size(); ++slot) {
    EXPECT_EQ(row.before[slot], row.after[slot]) << schema.columns.name(static_cast<int>(slot));
  }
}

TEST(CanalDecoderTest, DdlAndQueryMessagesYieldNoRows) {
  // The tables are declared, so only the type keeps rows from being made.
  const DecodeSchema schema =
      MakeSchema({{"", "orders"}, {"", "canal_demo_user_test"}, {"", "grands"}}, {"id"});
  CanalDecoder decoder(schema);
  struct Case {
    std::string_view file;
    size_t line;
    std::string_view type;
  };
  const Case cases[] = {
      {kFlinkFile, 13, "CREATE"},                           // sql holds "\n"
      {kBlogFile, 7, "QUERY"},                              // CREATE DATABASE, isDdl true, table ""
      {kBlogFile, 8, "ALTER"},    {kBlogFile, 9, "QUERY"},  // isDdl false, database "`test`"
      {kBlogFile, 14, "ERASE"},
  };
  for (const Case& c : cases) {
    const std::string line = SampleLine(c.file, c.line);
    const DecodeResult result = decoder.Decode(Message(line));
    EXPECT_EQ(result.error, DecodeError::kNone) << c.file << ":" << c.line << " " << result.detail;
    EXPECT_EQ(result.message_type, c.type) << c.file << ":" << c.line;
    EXPECT_TRUE(result.rows.empty()) << c.file << ":" << c.line;
  }
}

TEST(CanalDecoderTest, EveryOtherTypeYieldsNoRowsAndNoError) {
  const DecodeSchema schema = MakeSchema({{"", "canal_demo_user_test"}}, {"id"});
  CanalDecoder decoder(schema);
  // Blog line 8 is an ALTER; the other event types share its shape.
  const std::string alter = SampleLine(kBlogFile, 8);
  for (std::string_view type : {"TRUNCATE", "RENAME", "CINDEX", "DINDEX", "GTID", "XACOMMIT",
                                "XAROLLBACK", "MHEARTBEAT", "SOMETHING_NEW"}) {
    const std::string line =
        ReplaceOnce(alter, R"("type":"ALTER")", R"("type":")" + std::string(type) + "\"");
    const DecodeResult result = decoder.Decode(Message(line));
    EXPECT_EQ(result.error, DecodeError::kNone) << type << ": " << result.detail;
    EXPECT_EQ(result.message_type, type);
    EXPECT_TRUE(result.rows.empty()) << type;
  }
}

TEST(CanalDecoderTest, TypeDecidesEvenWhenIsDdlDisagrees) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line =
      ReplaceOnce(SampleLine(kFlinkFile, 4), R"("isDdl":false)", R"("isDdl":true)");

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "id"), "110");
}

TEST(CanalDecoderTest, BacktickedDatabaseIsUnquoted) {
  // Blog line 9 shows old Canal versions writing "`test`"; here on the order
  // INSERT of the same capture (line 11).
  const DecodeSchema schema = MakeSchema({{"test", "order"}}, {"id", "order_id", "amount"});
  CanalDecoder decoder(schema);
  const std::string line =
      ReplaceOnce(SampleLine(kBlogFile, 11), R"("database":"test")", R"("database":"`test`")");

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0].database, "test");
  EXPECT_EQ(result.rows[0].table, "order");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "amount"), "999.0");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "order_id"), "10086");
}

TEST(CanalDecoderTest, PkNamesNull) {
  const DecodeSchema schema = MakeSchema({{"test", "company"}}, {"id"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kBlogFile, 16);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0].op, RowOp::kInsert);
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "id"), "1");
  EXPECT_EQ(result.rows[0].commit_time_ms, 1680599764000);
}

TEST(CanalDecoderTest, DtsInitIsAnInsert) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line =
      ReplaceOnce(SampleLine(kFlinkFile, 5), R"("type":"INSERT")", R"("type":"INIT")");

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.message_type, "INIT");
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0].op, RowOp::kInsert);
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "name"), "scooter");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "description"), "Big 2-wheel scooter ");
}

// A RowChange in Flink's changelog notation: an update is two rows.
void AppendFlinkRows(const RowChange& row, const DecodeSchema& schema,
                     std::vector<std::string>* out) {
  auto render = [&](std::string_view kind, std::span<const ColumnValue> image) {
    std::string text = std::string(kind) + "(";
    for (std::string_view column : {"id", "name", "description", "weight"}) {
      const ColumnValue value = ValueOf(image, schema, column);
      if (column != "id") text += ",";
      text += value.has_text() ? std::string(value.text) : "null";
    }
    out->push_back(text + ")");
  };
  switch (row.op) {
    case RowOp::kInsert:
      render("+I", row.after);
      break;
    case RowOp::kUpdate:
      render("-U", row.before);
      render("+U", row.after);
      break;
    case RowOp::kDelete:
      render("-D", row.before);
      break;
  }
}

TEST(CanalDecoderTest, FlinkExpectedDecodeOfCanalData) {
  // Expected rows from Flink 1.11's CanalJsonDeserializationSchemaTest
  // (Balro/flink-1.11.2 @ cf6bff5ee7ebd486234b0dd97f4ceb1ef3e6e7c8, the test
  // of the same canal-data.txt that lines 1-10 come from).
  const std::vector<std::string> expected = {
      "+I(101,scooter,Small 2-wheel scooter,3.14)",
      "+I(102,car battery,12V car battery,8.1)",
      "+I(103,12-pack drill bits,12-pack of drill bits with sizes ranging from #40 to #3,0.8)",
      "+I(104,hammer,12oz carpenter's hammer,0.75)",
      "+I(105,hammer,14oz carpenter's hammer,0.875)",
      "+I(106,hammer,16oz carpenter's hammer,1.0)",
      "+I(107,rocks,box of assorted rocks,5.3)",
      "+I(108,jacket,water resistent black wind breaker,0.1)",
      "+I(109,spare tire,24 inch spare tire,22.2)",
      "-U(106,hammer,16oz carpenter's hammer,1.0)",
      "+U(106,hammer,18oz carpenter hammer,1.0)",
      "-U(107,rocks,box of assorted rocks,5.3)",
      "+U(107,rocks,box of assorted rocks,5.1)",
      "+I(110,jacket,water resistent white wind breaker,0.2)",
      "+I(111,scooter,Big 2-wheel scooter ,5.18)",
      "-U(110,jacket,water resistent white wind breaker,0.2)",
      "+U(110,jacket,new water resistent white wind breaker,0.5)",
      "-U(111,scooter,Big 2-wheel scooter ,5.18)",
      "+U(111,scooter,Big 2-wheel scooter ,5.17)",
      "-D(111,scooter,Big 2-wheel scooter ,5.17)",
      "-U(101,scooter,Small 2-wheel scooter,3.14)",
      "+U(101,scooter,Small 2-wheel scooter,5.17)",
      "-U(102,car battery,12V car battery,8.1)",
      "+U(102,car battery,12V car battery,5.17)",
      "-D(102,car battery,12V car battery,5.17)",
      "-D(103,12-pack drill bits,12-pack of drill bits with sizes ranging from #40 to #3,0.8)",
  };
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::vector<std::string> lines = ReadLines(kFlinkFile);
  ASSERT_GE(lines.size(), 10u);

  std::vector<std::string> actual;
  size_t row_changes = 0;
  for (size_t i = 0; i < 10; ++i) {
    const DecodeResult result = decoder.Decode(Message(lines[i], static_cast<int64_t>(i + 1)));
    ASSERT_EQ(result.error, DecodeError::kNone) << "line " << i + 1 << ": " << result.detail;
    for (const RowChange& row : result.rows) {
      EXPECT_EQ(row.position.offset, static_cast<int64_t>(i + 1));
      AppendFlinkRows(row, schema, &actual);
      ++row_changes;
    }
  }
  EXPECT_EQ(actual.size(), 26u);
  EXPECT_EQ(row_changes, 20u);  // 9 + 2 inserts, 6 updates, 3 deletes
  EXPECT_EQ(actual, expected);
}

TEST(CanalDecoderTest, EscapedValuesAreUnescaped) {
  const DecodeSchema schema = MakeSchema({{"paimon_sync_table", "all_types_table"}},
                                         {"_id", "_json", "_point", "_fixed", "_datetime6"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kPaimonFile, 30);

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 2u);
  const auto& first = result.rows[0].after;
  EXPECT_EQ(TextOf(first, schema, "_json"), R"({"a": "b"})");
  EXPECT_EQ(TextOf(first, schema, "_fixed"), "123456789876543212345678987654321.110");
  EXPECT_EQ(TextOf(first, schema, "_datetime6"), "2023-03-23 14:30:05.123456");
  // POINT(1 1): 4-byte SRID 0, WKB byte order 1, type 1, two doubles 1.0
  // whose 0xF0 bytes Canal maps to U+00F0 ("ð", two bytes in UTF-8).
  const std::string point = TextOf(first, schema, "_point");
  ASSERT_EQ(point.size(), 27u);
  EXPECT_EQ(point.substr(0, 6), std::string("\0\0\0\0\x01\x01", 6));
  EXPECT_EQ(point.substr(point.size() - 3), "\xC3\xB0?");
  // The second row is NULL in every column but the key.
  const auto& second = result.rows[1].after;
  EXPECT_EQ(TextOf(second, schema, "_id"), "2");
  for (std::string_view column : {"_json", "_point", "_fixed", "_datetime6"}) {
    EXPECT_TRUE(ValueOf(second, schema, column).is_null()) << column;
  }
}

TEST(CanalDecoderTest, NumbersAndBooleansKeepTheirText) {
  // Real Canal writes strings only; hand-made producers do not.
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line =
      R"({"type":"INSERT","database":"mydb","table":"product","es":1598944132000,)"
      R"("data":[{"id":18446744073709551615,"weight":-1.5E+7 ,"name":true,"description":false}]})";

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "id"), "18446744073709551615");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "weight"), "-1.5E+7");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "name"), "true");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "description"), "false");
}

TEST(CanalDecoderTest, ColumnNamesMatchExactly) {
  // Names that share prefixes, around the 8-byte word boundaries, and one
  // longer than 56 bytes.
  const std::string long_name(60, 'x');
  DecodeSchema schema = MakeSchema({{"", "t"}}, {"abcdefg", "abcdefgh", "abcdefghijklmnop", "ab"});
  schema.columns.Add(long_name);
  CanalDecoder decoder(schema);
  const std::string line = R"({"type":"INSERT","table":"t","data":[{"abcdefg":"7","abcdefgh":"8",)"
                           R"("abcdefghi":"9","abcdefghijklmnop":"16","abcdefghijklmnopq":"17",)"
                           R"("a":"1","abc":"3",")" +
                           long_name + R"(":"60",")" + long_name + R"(y":"61"}]})";

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  const auto& after = result.rows[0].after;
  EXPECT_EQ(TextOf(after, schema, "abcdefg"), "7");
  EXPECT_EQ(TextOf(after, schema, "abcdefgh"), "8");
  EXPECT_EQ(TextOf(after, schema, "abcdefghijklmnop"), "16");
  EXPECT_EQ(TextOf(after, schema, "ab"), "<absent>");
  EXPECT_EQ(TextOf(after, schema, long_name), "60");
}

// The message with its top-level fields in reverse order, built from an
// independent DOM parse of the line.
std::string ReverseFields(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  EXPECT_EQ(parser.parse(line.data(), line.size()).get(object), simdjson::SUCCESS);
  std::vector<std::string> fields;
  for (const simdjson::dom::key_value_pair field : object) {
    fields.push_back("\"" + std::string(field.key) + "\":" + simdjson::minify(field.value));
  }
  std::string reversed = "{";
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    if (reversed.size() > 1) reversed += ",";
    reversed += *it;
  }
  return reversed + "}";
}

// Everything a RowChange says, as one comparable string.
std::string Describe(const DecodeResult& result) {
  std::string text =
      std::string(DecodeErrorReason(result.error)) + " " + std::string(result.message_type) + ":";
  auto image = [&](std::span<const ColumnValue> values) {
    text += "[";
    for (const ColumnValue& value : values) {
      text += value.is_absent() ? "~" : value.is_null() ? "null" : std::string(value.text);
      text += "|";
    }
    text += "]";
  };
  for (const RowChange& row : result.rows) {
    text += " " + std::string(RowOpName(row.op)) + " " + std::string(row.database) + "." +
            std::string(row.table) + "@" + std::to_string(row.commit_time_ms) +
            " changed=" + std::to_string(row.changed_slots);
    image(row.before);
    image(row.after);
  }
  return text;
}

TEST(CanalDecoderTest, FieldOrderDoesNotMatter) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  for (size_t number : {1, 2, 9, 10, 11, 12, 13, 14}) {
    const std::string line = SampleLine(kFlinkFile, number);
    const std::string reversed = ReverseFields(line);
    ASSERT_NE(reversed, line);
    ASSERT_EQ(reversed.front(), '{');
    EXPECT_EQ(reversed.substr(1, 7), R"("type":)") << reversed;
    const std::string expected = Describe(decoder.Decode(Message(line)));
    EXPECT_EQ(Describe(decoder.Decode(Message(reversed))), expected) << "line " << number;
  }
}

TEST(CanalDecoderTest, UnknownTable) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 14);  // mydb.orders

  const DecodeResult result = decoder.Decode(Message(line));

  EXPECT_EQ(result.error, DecodeError::kUnknownTable);
  EXPECT_EQ(result.message_type, "INSERT");
  EXPECT_TRUE(result.rows.empty());
  EXPECT_FALSE(result.detail.empty());
  // Type, database and table ahead of data: the rows are skipped unread.
  const DecodeResult reversed = decoder.Decode(Message(ReverseFields(line)));
  EXPECT_EQ(reversed.error, DecodeError::kUnknownTable);
  EXPECT_TRUE(reversed.rows.empty());
}

TEST(CanalDecoderTest, TableInAnotherDatabaseIsUnknown) {
  const DecodeSchema schema = MakeSchema({{"inventory", "product"}}, {"id"});
  CanalDecoder decoder(schema);
  const std::string line = SampleLine(kFlinkFile, 16);  // mydb.product

  EXPECT_EQ(decoder.Decode(Message(line)).error, DecodeError::kUnknownTable);
}

TEST(CanalDecoderTest, EmptyDataArrayGivesNoRows) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line = ReplaceOnce(
      SampleLine(kFlinkFile, 16),
      R"("data":[{"id":"110","name":"jacket","description":"water resistent white wind breaker","weight":"0.2"}])",
      R"("data":[])");

  const DecodeResult result = decoder.Decode(Message(line));

  EXPECT_EQ(result.error, DecodeError::kNone) << result.detail;
  EXPECT_EQ(result.message_type, "INSERT");
  EXPECT_TRUE(result.rows.empty());
}

TEST(CanalDecoderTest, UpdateWithoutOldKeepsAfterAsBefore) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string line =
      ReplaceOnce(SampleLine(kFlinkFile, 15), R"("old":[{"weight":"5.3"}])", R"("old":null)");

  const DecodeResult result = decoder.Decode(Message(line));

  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0].changed_slots, 0u);
  EXPECT_EQ(TextOf(result.rows[0].before, schema, "weight"), "5.1");
  EXPECT_EQ(TextOf(result.rows[0].after, schema, "weight"), "5.1");
}

struct BadInput {
  std::string name;
  std::string payload;
  DecodeError error;
  std::string_view detail_mentions;  // empty: any detail
};

std::vector<BadInput> BadInputs() {
  const std::string insert = SampleLine(kFlinkFile, 16);  // mydb.product, 1 row
  const std::string update = SampleLine(kFlinkFile, 22);  // mydb.product, 2 rows
  const std::string ddl = SampleLine(kFlinkFile, 13);
  return {
      {"empty", "", DecodeError::kInvalidJson, ""},
      {"whitespace", "  \n", DecodeError::kInvalidJson, ""},
      {"not json", "INSERT INTO product VALUES (110)", DecodeError::kInvalidJson, ""},
      {"truncated", insert.substr(0, insert.size() / 2), DecodeError::kInvalidJson, ""},
      {"truncated at the end", insert.substr(0, insert.size() - 1), DecodeError::kInvalidJson, ""},
      {"invalid utf-8", ReplaceOnce(insert, "jacket", "jack\xff\xfe"), DecodeError::kInvalidJson,
       ""},
      {"invalid utf-8 in a skipped field",
       ReplaceOnce(insert, R"("sql":"")", "\"sql\":\"\xc3\x28\""), DecodeError::kInvalidJson, ""},
      {"trailing garbage", insert + " x", DecodeError::kInvalidJson, ""},
      {"two messages", insert + insert, DecodeError::kInvalidJson, ""},
      {"bad literal in a value", ReplaceOnce(insert, R"("0.2")", "nul"), DecodeError::kInvalidJson,
       ""},
      {"top level array", "[" + insert + "]", DecodeError::kWrongType, ""},
      {"data an object",
       R"({"data":{"id":"1"},"database":"mydb","table":"product","type":"INSERT"})",
       DecodeError::kWrongType, "\"data\""},
      {"row not an object",
       R"({"data":["id"],"database":"mydb","table":"product","type":"INSERT"})",
       DecodeError::kWrongType, "\"data\""},
      {"value an object", ReplaceOnce(insert, R"("0.2")", R"({"kg":"0.2"})"),
       DecodeError::kWrongType, "value"},
      {"value an array", ReplaceOnce(insert, R"("0.2")", R"(["0.2"])"), DecodeError::kWrongType,
       "value"},
      {"old not an array",
       ReplaceOnce(update, R"("old":[{"weight":"3.14"},{"weight":"8.1"}])", R"("old":"3.14")"),
       DecodeError::kWrongType, "\"old\""},
      {"missing type", ReplaceOnce(insert, R"(,"type":"INSERT")", ""), DecodeError::kMissingField,
       "\"type\""},
      {"missing type on ddl", ReplaceOnce(ddl, R"(,"type":"CREATE")", ""),
       DecodeError::kMissingField, "\"type\""},
      {"type not a string", ReplaceOnce(insert, R"("type":"INSERT")", R"("type":1)"),
       DecodeError::kWrongType, "\"type\""},
      {"type null", ReplaceOnce(insert, R"("type":"INSERT")", R"("type":null)"),
       DecodeError::kWrongType, "\"type\""},
      {"missing table", ReplaceOnce(insert, R"("table":"product",)", ""),
       DecodeError::kMissingField, "\"table\""},
      {"missing data",
       ReplaceOnce(
           insert,
           R"("data":[{"id":"110","name":"jacket","description":"water resistent white wind breaker","weight":"0.2"}],)",
           ""),
       DecodeError::kMissingField, "\"data\""},
      {"data null on a row type",
       ReplaceOnce(
           insert,
           R"("data":[{"id":"110","name":"jacket","description":"water resistent white wind breaker","weight":"0.2"}])",
           R"("data":null)"),
       DecodeError::kMissingField, "\"data\""},
      {"es a string", ReplaceOnce(insert, R"("es":1598944288000)", R"("es":"1598944288000")"),
       DecodeError::kWrongType, "\"es\""},
      {"es not an integer", ReplaceOnce(insert, R"("es":1598944288000)", R"("es":1.5)"),
       DecodeError::kBadValue, "\"es\""},
      {"table not a string", ReplaceOnce(insert, R"("table":"product")", R"("table":["product"])"),
       DecodeError::kWrongType, "\"table\""},
      {"old shorter than data",
       ReplaceOnce(update, R"("old":[{"weight":"3.14"},{"weight":"8.1"}])",
                   R"("old":[{"weight":"3.14"}])"),
       DecodeError::kBadValue, "\"old\""},
      {"old longer than data",
       ReplaceOnce(update, R"("old":[{"weight":"3.14"},{"weight":"8.1"}])",
                   R"("old":[{"weight":"3.14"},{},{}])"),
       DecodeError::kBadValue, "\"old\""},
  };
}

TEST(CanalDecoderTest, EveryErrorReason) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  for (const BadInput& bad : BadInputs()) {
    const DecodeResult result = decoder.Decode(Message(bad.payload));
    EXPECT_EQ(DecodeErrorReason(result.error), DecodeErrorReason(bad.error))
        << bad.name << ": " << result.detail;
    EXPECT_TRUE(result.rows.empty()) << bad.name;
    EXPECT_FALSE(result.detail.empty()) << bad.name;
    if (!bad.detail_mentions.empty()) {
      EXPECT_NE(result.detail.find(bad.detail_mentions), std::string_view::npos)
          << bad.name << ": " << result.detail;
    }
  }
}

TEST(CanalDecoderTest, DataObjectInsteadOfArrayIsWrongType) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  // Flink line 16 with its one row given as an object rather than an array.
  std::string line = SampleLine(kFlinkFile, 16);
  line = ReplaceOnce(line, R"("data":[{)", R"("data":{"row":{)");
  line = ReplaceOnce(line, R"("}],)", R"("}},)");

  const DecodeResult result = decoder.Decode(Message(line));

  EXPECT_EQ(result.error, DecodeError::kWrongType);
  EXPECT_EQ(result.detail, R"(field "data" is not an array)");
}

TEST(CanalDecoderTest, OversizedMessage) {
  DecodeSchema schema = ProductsSchema();
  const std::string line = SampleLine(kFlinkFile, 1);
  schema.max_message_bytes = line.size() - 1;
  CanalDecoder decoder(schema);

  const DecodeResult result = decoder.Decode(Message(line));

  EXPECT_EQ(result.error, DecodeError::kTooLarge);
  EXPECT_TRUE(result.rows.empty());
  const std::string small = SampleLine(kFlinkFile, 2);
  ASSERT_LE(small.size(), schema.max_message_bytes);
  EXPECT_EQ(decoder.Decode(Message(small)).error, DecodeError::kNone);
}

TEST(CanalDecoderTest, ErrorsLeaveTheDecoderUsable) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::string good = SampleLine(kFlinkFile, 9);
  const std::string expected = Describe(decoder.Decode(Message(good)));
  for (const BadInput& bad : BadInputs()) {
    decoder.Decode(Message(bad.payload));
    EXPECT_EQ(Describe(decoder.Decode(Message(good))), expected) << "after " << bad.name;
  }
}

TEST(CanalDecoderTest, LargerMessagesGrowTheBuffers) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  // One INSERT of 500 copies of Flink line 1's rows (~430 KB), between two
  // small messages.
  const std::string line = SampleLine(kFlinkFile, 1);
  const size_t rows_begin = line.find('[') + 1;
  const size_t rows_end = line.find("}],") + 1;
  const std::string rows = line.substr(rows_begin, rows_end - rows_begin);
  std::string many_rows = rows;
  for (int i = 1; i < 500; ++i) many_rows += "," + rows;
  const std::string big = line.substr(0, rows_begin) + many_rows + line.substr(rows_end);

  EXPECT_EQ(decoder.Decode(Message(SampleLine(kFlinkFile, 2))).rows.size(), 1u);
  const DecodeResult result = decoder.Decode(Message(big));
  ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
  ASSERT_EQ(result.rows.size(), 4500u);
  EXPECT_EQ(TextOf(result.rows[4499].after, schema, "id"), "109");
  EXPECT_EQ(TextOf(result.rows[4500 - 9].after, schema, "weight"), "3.14");
  EXPECT_EQ(decoder.Decode(Message(SampleLine(kFlinkFile, 9))).rows.size(), 2u);
}

TEST(CanalDecoderTest, SteadyStateDecodingDoesNotAllocate) {
  const DecodeSchema schema = ProductsSchema();
  CanalDecoder decoder(schema);
  const std::vector<std::string> lines = ReadLines(kFlinkFile);
  std::vector<SourceMessage> messages;
  for (const std::string& line : lines) messages.push_back(Message(line));
  const int64_t at_start = test::AllocationCount();
  for (const SourceMessage& message : messages) decoder.Decode(message);  // grow the buffers
  ASSERT_GT(test::AllocationCount() - at_start, 0) << "the allocation counter is not counting";

  const int64_t before = test::AllocationCount();
  size_t rows = 0;
  for (int round = 0; round < 10; ++round) {
    for (const SourceMessage& message : messages) rows += decoder.Decode(message).rows.size();
  }
  EXPECT_EQ(test::AllocationCount() - before, 0);
  EXPECT_GT(rows, 0u);
}

// ---- Every sample line against an independent DOM parse -------------------

std::string DomText(simdjson::dom::element value) {
  if (value.is_null()) return "<null>";
  std::string_view text;
  EXPECT_EQ(value.get_string().get(text), simdjson::SUCCESS);
  return std::string(text);
}

// The DOM's view of column `column` in `row` (an object of `data` or `old`).
std::string DomColumn(simdjson::dom::object row, std::string_view column) {
  simdjson::dom::element value;
  if (row.at_key(column).get(value) != simdjson::SUCCESS) return "<absent>";
  return DomText(value);
}

constexpr std::string_view kSweepColumns[] = {
    "id",     "_id",          "name",      "description", "weight", "order_id",
    "amount", "username",     "is_active", "v1",          "v2",     "v4",
    "v5",     "order_number", "quantity",  "_json",       "_point", "customer_name"};

DecodeSchema SweepSchema() {
  std::set<std::string> tables;
  for (std::string_view file : kAllFiles) {
    for (const std::string& line : ReadLines(file)) {
      simdjson::dom::parser parser;
      std::string_view table;
      if (parser.parse(line)["table"].get_string().get(table) == simdjson::SUCCESS) {
        tables.emplace(table);
      }
    }
  }
  DecodeSchema schema;
  for (const std::string& table : tables) schema.tables.push_back({"", table});
  for (std::string_view column : kSweepColumns) schema.columns.Add(column);
  return schema;
}

void ExpectAgreesWithDom(const DecodeResult& result, simdjson::dom::object message,
                         const DecodeSchema& schema, const std::string& where) {
  std::string_view type;
  ASSERT_EQ(message["type"].get_string().get(type), simdjson::SUCCESS) << where;
  EXPECT_EQ(result.message_type, type) << where;
  const bool row_type = type == "INSERT" || type == "UPDATE" || type == "DELETE" || type == "INIT";
  simdjson::dom::array data;
  if (!row_type || message["data"].get_array().get(data) != simdjson::SUCCESS) {
    EXPECT_TRUE(result.rows.empty()) << where;
    return;
  }
  ASSERT_EQ(result.rows.size(), data.size()) << where;
  simdjson::dom::array old;
  const bool has_old = type == "UPDATE" && message["old"].get_array().get(old) == simdjson::SUCCESS;
  for (size_t i = 0; i < data.size(); ++i) {
    const RowChange& row = result.rows[i];
    simdjson::dom::object data_row = data.at(i).get_object().value_unsafe();
    for (std::string_view column : kSweepColumns) {
      const std::string from_data = DomColumn(data_row, column);
      const std::string at = where + " row " + std::to_string(i) + " " + std::string(column);
      if (type == "DELETE") {
        EXPECT_EQ(TextOf(row.before, schema, column), from_data) << at;
        continue;
      }
      EXPECT_EQ(TextOf(row.after, schema, column), from_data) << at;
      if (!has_old) continue;
      const std::string from_old = DomColumn(old.at(i).get_object().value_unsafe(), column);
      const bool changed = from_old != "<absent>";
      EXPECT_EQ(TextOf(row.before, schema, column), changed ? from_old : from_data) << at;
      EXPECT_EQ((row.changed_slots & SlotBit(schema, column)) != 0, changed) << at;
    }
  }
}

TEST(CanalDecoderTest, AgreesWithDomParseOnEverySample) {
  const DecodeSchema schema = SweepSchema();
  CanalDecoder decoder(schema);
  simdjson::dom::parser parser;
  size_t messages = 0;
  size_t rows = 0;
  for (std::string_view file : kAllFiles) {
    const std::vector<std::string> lines = ReadLines(file);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string where = std::string(file) + ":" + std::to_string(i + 1);
      const DecodeResult result = decoder.Decode(Message(lines[i]));
      ASSERT_EQ(result.error, DecodeError::kNone) << where << ": " << result.detail;
      simdjson::dom::object message;
      ASSERT_EQ(parser.parse(lines[i]).get(message), simdjson::SUCCESS) << where;
      ExpectAgreesWithDom(result, message, schema, where);
      ++messages;
      rows += result.rows.size();
    }
  }
  EXPECT_EQ(messages, 26u + 16u + 32u + 7u + 3u);  // the line counts in the README
  EXPECT_GT(rows, messages);
}

}  // namespace
}  // namespace txmon
