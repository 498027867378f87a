// BinlogDecoder against a real MariaDB: every column type a shop uses is
// written through SQL, the binlog is read back through the replication
// protocol, and every decoded value must equal the text the server returns
// for a SELECT of the same row. Also: UPDATE before/after, DELETE, a
// three-table transaction, MINIMAL row images, column names from the
// callback, and malformed bytes (errors, never crashes).
#include "agent/decode/binlog_decoder.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/support/binlog_dump.h"
#include "tests/support/mariadb_server.h"

namespace txmon {
namespace {

using test::BinlogPosition;
using test::MariaDbConnection;
using test::MariaDbServer;
using test::SqlRow;

constexpr char kDatabase[] = "txmon_types";
constexpr char kZone[] = "+08:00";  // TIMESTAMP text: session and decoder alike

// One table per column type: `id INT PRIMARY KEY, v <type>`.
struct TypeCase {
  std::string type;
  std::vector<std::string> values;  // SQL literals, one row each (NULL added)
  std::string select = "v";         // what SELECT shows as the decoder's text
};

std::vector<TypeCase> TypeCases() {
  return {
      {"TINYINT", {"-128", "127", "0", "-5", "1"}},
      {"TINYINT UNSIGNED", {"0", "255", "1"}},
      {"SMALLINT", {"-32768", "32767", "-1"}},
      {"SMALLINT UNSIGNED", {"65535", "0"}},
      {"MEDIUMINT", {"-8388608", "8388607", "-2"}},
      {"MEDIUMINT UNSIGNED", {"16777215", "0"}},
      {"INT", {"-2147483648", "2147483647", "-7", "42"}},
      {"INT UNSIGNED", {"4294967295", "0", "3000000000"}},
      {"BIGINT", {"-9223372036854775808", "9223372036854775807", "-1"}},
      {"BIGINT UNSIGNED", {"18446744073709551615", "0", "9223372036854775808"}},
      {"DECIMAL(10,2)", {"-0.50", "999.00", "12345678.90", "-12345678.99", "0.00", "0.01"}},
      {"DECIMAL(5,0)", {"12345", "-99999", "0", "-1"}},
      {"DECIMAL(9,9)", {"0.123456789", "-0.5", "0"}},
      {"DECIMAL(20,10)", {"-1234567890.0123456789", "1.5", "-0.0000000001"}},
      {"DECIMAL(65,30)",
       {"12345678901234567890123456789012345.123456789012345678901234567890",
        "-0.000000000000000000000000000001"}},
      {"DECIMAL(18,4)", {"99999999999999.9999", "-100.0001"}},
      {"FLOAT", {"3.14", "-2.5e30", "1e-5", "0.1", "1234567.125", "3e38", "1.175494351e-38", "0"}},
      {"DOUBLE",
       {"0.1", "1.7976931348623157e308", "-1e-300", "123456789012345.6", "1e15", "1e-15", "1e-16",
        "-0.0012345678901234567", "100000000000000", "2.5"}},
      {"DATE", {"'2024-11-11'", "'1000-01-01'", "'9999-12-31'", "'0000-00-00'"}},
      {"DATETIME", {"'2024-11-11 00:00:01'", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'"}},
      {"DATETIME(1)", {"'2024-11-11 12:34:56.7'", "'2024-11-11 12:34:56.0'"}},
      {"DATETIME(2)", {"'2024-11-11 12:34:56.78'"}},
      {"DATETIME(3)", {"'2024-11-11 12:34:56.789'", "'2000-02-29 23:59:59.999'"}},
      {"DATETIME(4)", {"'2024-11-11 12:34:56.7891'"}},
      {"DATETIME(5)", {"'2024-11-11 12:34:56.78912'"}},
      {"DATETIME(6)", {"'2024-11-11 12:34:56.000001'", "'9999-12-31 23:59:59.999999'"}},
      {"TIMESTAMP NULL",
       {"'2024-11-11 00:00:01'", "'1970-01-01 08:00:01'", "'2038-01-19 11:14:07'"}},
      {"TIMESTAMP(3) NULL", {"'2024-11-11 12:34:56.789'"}},
      {"TIMESTAMP(6) NULL", {"'2024-11-11 12:34:56.000001'", "'2020-02-29 23:59:59.999999'"}},
      {"TIME", {"'838:59:59'", "'-838:59:59'", "'00:00:00'", "'-00:00:01'", "'12:34:56'"}},
      {"TIME(1)", {"'-00:00:01.5'", "'12:34:56.7'"}},
      {"TIME(2)", {"'-00:00:00.01'", "'-12:00:00.99'"}},
      {"TIME(3)", {"'-00:00:01.500'", "'12:34:56.789'", "'-12:34:56.001'", "'-838:59:58.999'"}},
      {"TIME(4)", {"'-01:02:03.0004'", "'01:02:03.9999'"}},
      {"TIME(5)", {"'-01:02:03.00005'"}},
      {"TIME(6)", {"'-838:59:58.999999'", "'00:00:00.000001'", "'-00:00:00.000001'"}},
      {"YEAR", {"2024", "1901", "2155", "0"}},
      {"CHAR(10)", {"'abc'", "''", "'héllo'", "'  lead'"}},
      {"CHAR(255)", {"'a long char column, more than 255 bytes in utf8mb4'", "'€'"}},
      {"VARCHAR(20)", {"'paid'", "''", "'日本語'", "'😀 emoji'"}},
      {"VARCHAR(300)", {"REPEAT('x', 300)", "'short'"}},
      {"BINARY(4)", {"'ab'", "'abcd'", "X'00FF0000'"}},
      {"VARBINARY(10)", {"X'00FF'", "''", "'bin'"}},
      {"TINYBLOB", {"X'DEADBEEF'", "''"}},
      {"BLOB", {"REPEAT('b', 1000)"}},
      {"MEDIUMBLOB", {"'medium'"}},
      {"LONGBLOB", {"'long'"}},
      {"TINYTEXT", {"'tiny'"}},
      {"TEXT", {"'some text'", "REPEAT('ü', 500)"}},
      {"MEDIUMTEXT", {"'medium text'"}},
      {"LONGTEXT", {"'long text'"}},
      {"VARCHAR(20) CHARACTER SET latin1", {"'café €'", "'plain'"}},
      {"TEXT CHARACTER SET latin1", {"'naïve'"}},
      {"ENUM('new','paid','shipped')", {"'new'", "'shipped'", "'paid'"}},
      {"SET('a','b','c','d')", {"'a'", "'b,d'", "''", "'a,b,c,d'"}},
      {"BIT(1)", {"b'1'", "b'0'"}, "v+0"},
      {"BIT(8)", {"b'10101010'"}, "v+0"},
      {"BIT(12)", {"b'111100001111'"}, "v+0"},
      {"BIT(64)", {"b'1111111111111111111111111111111111111111111111111111111111111111'"}, "v+0"},
      {"JSON", {"'{\"a\": 1, \"b\": [true, null]}'", "'[]'"}},
  };
}

std::string TableName(size_t index) { return "t" + std::to_string(index); }

// The decoded value as the SELECT would show it; "<absent>" when missing.
std::optional<std::string> Text(const ColumnValue& value) {
  if (value.is_null()) return std::nullopt;
  if (value.is_absent()) return std::string("<absent>");
  return std::string(value.text);
}

std::string Show(const std::optional<std::string>& value) {
  return value ? "'" + *value + "'" : "NULL";
}

// All rows decoded from a run of events, copied out of the decoder.
struct DecodedRow {
  std::string table;
  RowOp op;
  int64_t commit_time_ms;
  std::vector<std::optional<std::string>> before, after;
  uint64_t changed;
};

struct DecodedStream {
  std::vector<DecodedRow> rows;
  std::vector<std::string> types;  // message_type of every event
  std::vector<std::string> errors;
};

DecodedStream DecodeAll(BinlogDecoder& decoder, const std::vector<std::string>& events) {
  DecodedStream out;
  for (const std::string& event : events) {
    SourceMessage message{event, {}};
    DecodeResult result = decoder.Decode(message);
    out.types.emplace_back(result.message_type);
    if (result.error != DecodeError::kNone) {
      out.errors.push_back(std::string(result.message_type) + ": " +
                           std::string(DecodeErrorReason(result.error)) + ": " +
                           std::string(result.detail));
      continue;
    }
    for (const RowChange& row : result.rows) {
      DecodedRow& copy = out.rows.emplace_back();
      copy.table = std::string(row.table);
      copy.op = row.op;
      copy.commit_time_ms = row.commit_time_ms;
      copy.changed = row.changed_slots;
      for (const ColumnValue& v : row.before) copy.before.push_back(Text(v));
      for (const ColumnValue& v : row.after) copy.after.push_back(Text(v));
    }
  }
  return out;
}

class BinlogDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    test::MariaDbOptions options;
    server_ = MariaDbServer::Start(options, &error).release();
    ASSERT_NE(server_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    std::string error;
    ASSERT_TRUE(server_->Exec(std::string("CREATE DATABASE IF NOT EXISTS ") + kDatabase, &error))
        << error;
    sql_ = server_->Connect(kDatabase, &error);
    ASSERT_NE(sql_, nullptr) << error;
    Exec(std::string("SET time_zone = '") + kZone + "'");
  }

  void Exec(const std::string& statement) {
    std::string error;
    ASSERT_TRUE(sql_->Exec(statement, &error)) << error;
  }

  BinlogPosition Position() {
    BinlogPosition position;
    std::string error;
    EXPECT_TRUE(test::CurrentBinlogPosition(*server_, &position, &error)) << error;
    return position;
  }

  std::vector<std::string> EventsSince(const BinlogPosition& from) {
    std::vector<std::string> events;
    std::string error;
    EXPECT_TRUE(test::ReadBinlogEvents(*server_, from, &events, &error)) << error;
    return events;
  }

  // id -> the SELECT text of `expression`.
  std::map<int, std::optional<std::string>> Snapshot(const std::string& table,
                                                     const std::string& expression) {
    std::vector<SqlRow> rows;
    std::string error;
    EXPECT_TRUE(sql_->Query("SELECT id, " + expression + " FROM " + table, &rows, &error)) << error;
    std::map<int, std::optional<std::string>> out;
    for (const SqlRow& row : rows) out[std::stoi(*row[0])] = row[1];
    return out;
  }

  static DecodeSchema Schema(const std::vector<std::string>& tables,
                             const std::vector<std::string>& columns) {
    DecodeSchema schema;
    for (const std::string& table : tables) schema.tables.push_back({kDatabase, table});
    for (const std::string& column : columns) schema.columns.Add(column);
    return schema;
  }

  static MariaDbServer* server_;
  std::unique_ptr<MariaDbConnection> sql_;
};

MariaDbServer* BinlogDecoderTest::server_ = nullptr;

TEST_F(BinlogDecoderTest, EveryColumnTypeEqualsSelectText) {
  const std::vector<TypeCase> cases = TypeCases();
  std::vector<std::string> tables;
  for (size_t i = 0; i < cases.size(); ++i) {
    tables.push_back(TableName(i));
    Exec("DROP TABLE IF EXISTS " + TableName(i));
    Exec("CREATE TABLE " + TableName(i) + " (id INT PRIMARY KEY, v " + cases[i].type +
         ") DEFAULT CHARSET=utf8mb4");
  }
  const BinlogPosition start = Position();
  std::vector<std::map<int, std::optional<std::string>>> inserted, updated;
  for (size_t i = 0; i < cases.size(); ++i) {
    // One multi-row INSERT per table, a NULL row last.
    std::string insert = "INSERT INTO " + TableName(i) + " VALUES ";
    const std::vector<std::string>& values = cases[i].values;
    for (size_t row = 0; row < values.size(); ++row) {
      insert += "(" + std::to_string(row + 1) + ", " + values[row] + "), ";
    }
    insert += "(" + std::to_string(values.size() + 1) + ", NULL)";
    Exec(insert);
    inserted.push_back(Snapshot(TableName(i), cases[i].select));
    // Row 1 takes the last value (or NULL), the NULL row takes the first.
    Exec("UPDATE " + TableName(i) + " SET v = " + values.back() + " WHERE id = 1");
    Exec("UPDATE " + TableName(i) + " SET v = " + values.front() +
         " WHERE id = " + std::to_string(values.size() + 1));
    updated.push_back(Snapshot(TableName(i), cases[i].select));
    Exec("DELETE FROM " + TableName(i) + " WHERE id <= 2");
  }
  const std::vector<std::string> events = EventsSince(start);

  BinlogDecoderOptions options;
  options.time_zone = kZone;
  BinlogDecoder decoder(Schema(tables, {"v", "id"}), options);
  const DecodedStream stream = DecodeAll(decoder, events);
  EXPECT_TRUE(stream.errors.empty()) << stream.errors.front();

  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < tables.size(); ++i) index_of[tables[i]] = i;
  std::vector<int> inserts(cases.size()), updates(cases.size()), deletes(cases.size());
  for (const DecodedRow& row : stream.rows) {
    ASSERT_TRUE(index_of.count(row.table)) << row.table;
    const size_t i = index_of[row.table];
    const std::string what = cases[i].type;
    const std::vector<std::optional<std::string>>& image =
        row.op == RowOp::kDelete ? row.before : row.after;
    ASSERT_EQ(image.size(), 2u) << what;
    ASSERT_TRUE(image[1]) << what;
    const int id = std::stoi(*image[1]);
    switch (row.op) {
      case RowOp::kInsert:
        ++inserts[i];
        EXPECT_EQ(Show(row.after[0]), Show(inserted[i][id])) << what << " insert id " << id;
        break;
      case RowOp::kUpdate:
        ++updates[i];
        EXPECT_EQ(Show(row.before[0]), Show(inserted[i][id])) << what << " update before " << id;
        EXPECT_EQ(Show(row.after[0]), Show(updated[i][id])) << what << " update after " << id;
        EXPECT_EQ(row.changed, row.before[0] == row.after[0] ? 0u : 1u) << what;
        break;
      case RowOp::kDelete:
        ++deletes[i];
        EXPECT_EQ(Show(row.before[0]), Show(updated[i][id])) << what << " delete " << id;
        break;
    }
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(inserts[i], static_cast<int>(cases[i].values.size() + 1)) << cases[i].type;
    // The server logs only the rows an UPDATE really changed.
    int changed = 0;
    for (const auto& [id, value] : inserted[i]) changed += updated[i][id] != value;
    EXPECT_EQ(updates[i], changed) << cases[i].type;
    EXPECT_EQ(deletes[i], 2) << cases[i].type;
  }
}

TEST_F(BinlogDecoderTest, ThreeTableTransactionAndEventTypes) {
  Exec("DROP TABLE IF EXISTS orders, payments, refunds, other");
  Exec(
      "CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, status VARCHAR(16), "
      "amount DECIMAL(12,2), created_at DATETIME(3))");
  Exec(
      "CREATE TABLE payments (id BIGINT UNSIGNED PRIMARY KEY, order_id BIGINT UNSIGNED, "
      "amount DECIMAL(12,2))");
  Exec(
      "CREATE TABLE refunds (id BIGINT UNSIGNED PRIMARY KEY, order_id BIGINT UNSIGNED, "
      "amount DECIMAL(12,2))");
  Exec("CREATE TABLE other (id INT PRIMARY KEY)");
  const BinlogPosition start = Position();
  Exec(
      "BEGIN; INSERT INTO orders VALUES (1, 'new', 999.00, '2024-11-11 00:00:01.250'), "
      "(2, 'new', 5.50, '2024-11-11 00:00:02.000'); "
      "INSERT INTO payments VALUES (10, 1, 999.00); "
      "UPDATE orders SET status = 'paid' WHERE id = 1; "
      "INSERT INTO refunds VALUES (20, 1, 100.00); COMMIT");
  Exec("INSERT INTO other VALUES (1)");
  const std::vector<std::string> events = EventsSince(start);

  BinlogDecoder decoder(Schema({"orders", "payments", "refunds"},
                               {"id", "status", "amount", "order_id", "created_at"}));
  std::vector<std::string> types;
  std::vector<RowChange> rows;  // views valid only per Decode: check in the loop
  int transaction_rows = 0, unknown_table = 0;
  int64_t commit_time_ms = -1;
  for (const std::string& event : events) {
    DecodeResult result = decoder.Decode(SourceMessage{event, {"binlog", 0, 7}});
    types.emplace_back(result.message_type);
    if (result.error == DecodeError::kUnknownTable) {
      ++unknown_table;
      continue;
    }
    ASSERT_EQ(result.error, DecodeError::kNone) << result.message_type << ": " << result.detail;
    for (const RowChange& row : result.rows) {
      ++transaction_rows;
      EXPECT_EQ(row.database, kDatabase);
      EXPECT_EQ(row.position.offset, 7);
      if (commit_time_ms < 0) commit_time_ms = row.commit_time_ms;
      EXPECT_EQ(row.commit_time_ms, commit_time_ms);
      EXPECT_EQ(row.commit_time_ms % 1000, 0);
      if (row.table == "orders" && row.op == RowOp::kUpdate) {
        EXPECT_EQ(row.before[1].text, "new");
        EXPECT_EQ(row.after[1].text, "paid");
        EXPECT_EQ(row.after[2].text, "999.00");
        EXPECT_EQ(row.after[4].text, "2024-11-11 00:00:01.250");
        EXPECT_EQ(row.changed_slots, uint64_t{1} << 1);
        EXPECT_TRUE(row.after[3].is_absent());  // order_id: not a column of orders
      }
      if (row.table == "payments") {
        EXPECT_EQ(row.after[3].text, "1");
      }
    }
  }
  EXPECT_EQ(transaction_rows, 5);
  EXPECT_EQ(unknown_table, 1);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EXPECT_LE(std::abs(now_ms - commit_time_ms), 60'000);
  auto count = [&](const std::string& type) {
    return std::count(types.begin(), types.end(), type);
  };
  EXPECT_EQ(count("GTID"), 2);
  EXPECT_EQ(count("XID"), 2);
  EXPECT_GE(count("TABLE_MAP"), 4);
  EXPECT_EQ(count("WRITE_ROWS"), 4);
  EXPECT_EQ(count("UPDATE_ROWS"), 1);
  EXPECT_GE(count("FORMAT_DESCRIPTION"), 1);
  EXPECT_GE(count("ROTATE"), 1);
}

TEST_F(BinlogDecoderTest, MinimalRowImage) {
  Exec("DROP TABLE IF EXISTS orders_min");
  Exec(
      "CREATE TABLE orders_min (id INT PRIMARY KEY, status VARCHAR(16), amount DECIMAL(10,2), "
      "note VARCHAR(20))");
  Exec("INSERT INTO orders_min VALUES (1, 'new', 10.00, 'x'), (2, 'new', 20.00, 'y')");
  const BinlogPosition start = Position();
  Exec("SET SESSION binlog_row_image = MINIMAL");
  Exec("UPDATE orders_min SET status = 'paid' WHERE id = 1");
  Exec("UPDATE orders_min SET status = 'paid', amount = 20.00 WHERE id = 2");
  Exec("DELETE FROM orders_min WHERE id = 1");
  Exec("SET SESSION binlog_row_image = FULL");
  const std::vector<std::string> events = EventsSince(start);

  BinlogDecoder decoder(Schema({"orders_min"}, {"id", "status", "amount", "note"}));
  const DecodedStream stream = DecodeAll(decoder, events);
  ASSERT_TRUE(stream.errors.empty()) << stream.errors.front();
  ASSERT_EQ(stream.rows.size(), 3u);
  const std::string absent = "<absent>";
  const DecodedRow& first = stream.rows[0];
  EXPECT_EQ(first.op, RowOp::kUpdate);
  // The old image has only the key; the new one only the assigned columns.
  EXPECT_EQ(first.before, (std::vector<std::optional<std::string>>{"1", absent, absent, absent}));
  EXPECT_EQ(first.after, (std::vector<std::optional<std::string>>{"1", "paid", absent, absent}));
  EXPECT_EQ(first.changed, uint64_t{1} << 1);
  const DecodedRow& second = stream.rows[1];
  EXPECT_EQ(second.after, (std::vector<std::optional<std::string>>{"2", "paid", "20.00", absent}));
  EXPECT_EQ(second.changed, (uint64_t{1} << 1) | (uint64_t{1} << 2));
  const DecodedRow& removed = stream.rows[2];
  EXPECT_EQ(removed.op, RowOp::kDelete);
  EXPECT_EQ(removed.before, (std::vector<std::optional<std::string>>{"1", absent, absent, absent}));
}

TEST_F(BinlogDecoderTest, ColumnNamesFromTheCallbackWithoutMetadata) {
  Exec("DROP TABLE IF EXISTS named");
  Exec("CREATE TABLE named (id INT PRIMARY KEY, status ENUM('new','paid'), qty INT UNSIGNED)");
  std::string error;
  ASSERT_TRUE(server_->Exec("SET GLOBAL binlog_row_metadata = MINIMAL", &error)) << error;
  std::unique_ptr<MariaDbConnection> minimal = server_->Connect(kDatabase, &error);
  ASSERT_NE(minimal, nullptr) << error;
  const BinlogPosition start = Position();
  ASSERT_TRUE(minimal->Exec("INSERT INTO named VALUES (1, 'paid', 7)", &error)) << error;
  ASSERT_TRUE(server_->Exec("SET GLOBAL binlog_row_metadata = FULL", &error)) << error;
  const std::vector<std::string> events = EventsSince(start);

  const std::vector<std::string> names = {"id", "status", "qty"};
  int asked = 0;
  BinlogDecoderOptions options;
  options.column_names = [&](std::string_view database, std::string_view table) {
    ++asked;
    EXPECT_EQ(database, kDatabase);
    EXPECT_EQ(table, "named");
    return &names;
  };
  BinlogDecoder decoder(Schema({"named"}, {"qty", "status"}), options);
  DecodedStream stream = DecodeAll(decoder, events);
  ASSERT_TRUE(stream.errors.empty()) << stream.errors.front();
  ASSERT_EQ(stream.rows.size(), 1u);
  EXPECT_EQ(asked, 1);
  // Without metadata an ENUM is its index (and integers read as signed).
  EXPECT_EQ(stream.rows[0].after, (std::vector<std::optional<std::string>>{"7", "2"}));

  BinlogDecoder without_names(Schema({"named"}, {"qty"}));
  stream = DecodeAll(without_names, events);
  ASSERT_EQ(stream.errors.size(), 1u);
  EXPECT_NE(stream.errors[0].find("missing_field"), std::string::npos) << stream.errors[0];
}

// Every prefix of real events, and random corruptions, decode to an error or
// to rows, never to a crash or a read out of bounds.
TEST_F(BinlogDecoderTest, MalformedEventsAreErrorsNotCrashes) {
  Exec("DROP TABLE IF EXISTS fuzzed");
  Exec(
      "CREATE TABLE fuzzed (id INT PRIMARY KEY, a DECIMAL(10,2), b VARCHAR(300), "
      "c DATETIME(6), d TIME(3), e SET('x','y'), f ENUM('p','q'), g BLOB, h BIT(12))");
  const BinlogPosition start = Position();
  Exec(
      "INSERT INTO fuzzed VALUES (1, -0.50, 'text', '2024-01-01 00:00:00.5', '-00:00:01.5', "
      "'x,y', 'q', 'blob', b'101'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  Exec("UPDATE fuzzed SET a = 1 WHERE id = 1");
  const std::vector<std::string> events = EventsSince(start);
  DecodeSchema schema = Schema({"fuzzed"}, {"id", "a", "b", "c", "d", "e", "f", "g", "h"});

  // The intact stream first, then each event cut short after its TABLE_MAP.
  BinlogDecoder decoder(schema);
  DecodedStream intact = DecodeAll(decoder, events);
  ASSERT_TRUE(intact.errors.empty()) << intact.errors.front();
  ASSERT_EQ(intact.rows.size(), 3u);
  int errors = 0;
  for (const std::string& event : events) {
    for (size_t cut = 0; cut < event.size(); ++cut) {
      BinlogDecoder fresh(schema);
      for (const std::string& previous : events) {
        if (&previous == &event) break;
        fresh.Decode(SourceMessage{previous, {}});
      }
      DecodeResult result = fresh.Decode(SourceMessage{std::string_view(event).substr(0, cut), {}});
      if (result.error != DecodeError::kNone) ++errors;
    }
  }
  EXPECT_GT(errors, 0);

  std::mt19937 random(42);
  for (int round = 0; round < 3000; ++round) {
    BinlogDecoder fresh(schema);
    for (const std::string& event : events) {
      std::string corrupt = event;
      const int flips = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < flips && corrupt.size() > 19; ++i) {
        corrupt[19 + random() % (corrupt.size() - 19)] ^= static_cast<char>(1 << (random() % 8));
      }
      DecodeResult result = fresh.Decode(SourceMessage{corrupt, {}});
      for (const RowChange& row : result.rows) {
        for (const ColumnValue& value : row.after) (void)value.text.size();
      }
    }
  }
  // Hand-made: a header alone, and a row event for a table never mapped.
  BinlogDecoder fresh(schema);
  std::string header(19, '\0');
  header[4] = 30;  // WRITE_ROWS v2
  EXPECT_EQ(fresh.Decode(SourceMessage{header, {}}).error, DecodeError::kMalformedEvent);
  EXPECT_EQ(fresh.Decode(SourceMessage{header.substr(0, 5), {}}).error,
            DecodeError::kMalformedEvent);
  std::string rows = header + std::string("\x01\0\0\0\0\0\0\0\x02\0\x01\x01\x00", 13);
  EXPECT_EQ(fresh.Decode(SourceMessage{rows, {}}).error, DecodeError::kMalformedEvent);
  header[4] = 16;  // XID: no rows, no error
  DecodeResult xid = fresh.Decode(SourceMessage{header + std::string(8, '\0'), {}});
  EXPECT_EQ(xid.error, DecodeError::kNone);
  EXPECT_EQ(xid.message_type, "XID");
}

}  // namespace
}  // namespace txmon
