#include "agent/map/row_mapper.h"

#include <gtest/gtest.h>

#include <sstream>

#include <prometheus/text_serializer.h>

#include "agent/base/civil_time.h"
#include "agent/config/agent_config.h"

namespace txmon {
namespace {

constexpr const char* kConfig = R"(
metrics:
  - name: orders_paid_total
    help: Paid orders.
    type: counter
    database: shop
    table: orders
    transition: {column: status, from: created, to: paid}
    labels:
      - {name: channel}
  - name: gmv_total
    help: GMV.
    type: counter
    table: orders
    transition: {column: status, from: created, to: paid}
    value: {column: amount}
  - name: transitions_total
    help: Status changes.
    type: counter
    table: orders
    transition: {column: status}
    labels:
      - {name: from, column: status, image: before}
      - {name: to, column: status, image: after}
  - name: big_orders_total
    help: Orders of 1000 or more created on the app.
    type: counter
    table: orders
    on: insert
    where:
      - {column: channel, equals: app}
      - {column: size, in: [big, huge]}
  - name: pay_seconds
    help: Payment time.
    type: histogram
    table: orders
    transition: {column: status, to: paid}
    value: {seconds_between: {start: created_at, end: paid_at}}
    buckets: [10, 60]
  - name: open_orders
    help: Orders not yet deleted.
    type: gauge
    action: subtract
    table: orders
    on: delete
  - name: orders_by_customer_total
    help: Orders by customer and channel (a column of unique values).
    type: counter
    table: orders
    on: insert
    max_series: 3
    labels:
      - {name: customer}
      - {name: channel}
)";

// Builds row images by column name for the mapper's slots.
class RowBuilder {
 public:
  explicit RowBuilder(const ColumnSlots& slots) : slots_(slots) {}
  RowChange Make(RowOp op, std::vector<std::pair<std::string, std::string>> after,
                 std::vector<std::pair<std::string, std::string>> old = {}) {
    after_.assign(slots_.size(), ColumnValue{});
    before_.assign(slots_.size(), ColumnValue{});
    storage_.clear();
    storage_.reserve(after.size() + old.size());
    RowChange row;
    row.database = "shop";
    row.table = "orders";
    row.op = op;
    for (auto& [name, value] : after) Set(after_, name, value);
    before_ = after_;
    for (auto& [name, value] : old) {
      Set(before_, name, value);
      row.changed_slots |= uint64_t{1} << slots_.Find(name);
    }
    if (op != RowOp::kInsert) row.before = before_;
    if (op != RowOp::kDelete) row.after = after_;
    if (op == RowOp::kDelete) row.before = after_;
    return row;
  }

 private:
  void Set(std::vector<ColumnValue>& image, const std::string& name, const std::string& value) {
    int slot = slots_.Find(name);
    if (slot < 0) return;
    storage_.push_back(value);
    image[slot] = value == "NULL" ? ColumnValue{ColumnValue::State::kNull, {}}
                                  : ColumnValue{ColumnValue::State::kText, storage_.back()};
  }
  const ColumnSlots& slots_;
  std::vector<ColumnValue> before_, after_;
  std::vector<std::string> storage_;
};

class RowMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(LocalZone::Use("UTC").ok());
    AgentConfig config;
    Status s = ParseConfig(kConfig, "test.yml", &config);
    ASSERT_TRUE(s.ok()) << s.message();
    s = RowMapper::Compile(config.metrics, store_, &mapper_);
    ASSERT_TRUE(s.ok()) << s.message();
    builder_ = std::make_unique<RowBuilder>(mapper_->decode_schema().columns);
  }
  std::string Text() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, store_.Collect());
    return out.str();
  }
  bool Has(const std::string& line) { return Text().find(line + "\n") != std::string::npos; }

  MetricStore store_;
  std::unique_ptr<RowMapper> mapper_;
  std::unique_ptr<RowBuilder> builder_;
};

// Answers the mapper's question with a fixed column list, counting calls.
class FixedColumns final : public TableColumnLookup {
 public:
  explicit FixedColumns(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  std::vector<std::string> Columns(std::string_view database, std::string_view table) override {
    ++calls;
    last_table = std::string(database) + "." + std::string(table);
    return columns_;
  }
  int calls = 0;
  std::string last_table;

 private:
  std::vector<std::string> columns_;
};

// Every column of shop.orders but `size`, which big_orders_total filters on.
const std::vector<std::string> kOrdersColumns = {"id",         "channel", "status",  "amount",
                                                 "created_at", "paid_at", "customer"};

TEST_F(RowMapperTest, AColumnTheTableDoesNotHaveIsFlaggedOnItsFirstRowOfAnyKind) {
  // A table that only ever sees updates (or deletes) is checked too: on its
  // first row, against the table's column list, once.
  FixedColumns columns(kOrdersColumns);
  mapper_->Apply(builder_->Make(RowOp::kUpdate, {{"status", "paid"}}, {{"status", "created"}}),
                 &columns);
  EXPECT_EQ(columns.calls, 1);
  EXPECT_EQ(columns.last_table, "shop.orders");
  ASSERT_TRUE(mapper_->has_unknown_columns());
  std::vector<RowMapper::UnknownColumn> unknown = mapper_->TakeUnknownColumns();
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].metric, "big_orders_total");
  EXPECT_EQ(unknown[0].database, "shop");
  EXPECT_EQ(unknown[0].table, "orders");
  EXPECT_EQ(unknown[0].column, "size");
  EXPECT_EQ(unknown[0].table_columns, "id,channel,status,amount,created_at,paid_at,customer");
  EXPECT_TRUE(Has(R"(txmon_mapping_unknown_column{metric="big_orders_total",table="orders",)"
                  R"(column="size"} 1)"))
      << Text();
  // Checked once per table: later rows cost nothing and report nothing.
  mapper_->Apply(builder_->Make(RowOp::kDelete, {{"channel", "web"}}), &columns);
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"channel", "web"}}), &columns);
  EXPECT_EQ(columns.calls, 1);
  EXPECT_FALSE(mapper_->has_unknown_columns());
}

TEST_F(RowMapperTest, AColumnMissingFromARowImageOnlyIsNotUnknown) {
  // binlog_row_image=MINIMAL: an INSERT carries only the columns the
  // statement named, an UPDATE only the key and the changed ones. The table
  // has them all (and `size`): nothing is unknown.
  std::vector<std::string> all = kOrdersColumns;
  all.push_back("size");
  FixedColumns columns(all);
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"id", "1"}, {"status", "created"}}), &columns);
  EXPECT_EQ(columns.calls, 1);
  EXPECT_FALSE(mapper_->has_unknown_columns());
  EXPECT_FALSE(Text().find("txmon_mapping_unknown_column{") != std::string::npos) << Text();
}

TEST_F(RowMapperTest, WithoutTheTablesColumnsTheFirstInsertsImageDecides) {
  // Updates say nothing about it (Canal's old image is partial, and
  // before the first insert the table's columns are unknown).
  FixedColumns none({});
  mapper_->Apply(builder_->Make(RowOp::kUpdate, {{"status", "paid"}}, {{"status", "created"}}),
                 &none);
  mapper_->Apply(builder_->Make(RowOp::kDelete, {{"status", "paid"}}));
  EXPECT_FALSE(mapper_->has_unknown_columns());
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"id", "1"},
                                                 {"channel", "app"},
                                                 {"status", "created"},
                                                 {"amount", "9.90"},
                                                 {"created_at", "2024-11-11 00:00:00"},
                                                 {"paid_at", "NULL"},
                                                 {"customer", "c1"}}));
  ASSERT_TRUE(mapper_->has_unknown_columns());
  std::vector<RowMapper::UnknownColumn> unknown = mapper_->TakeUnknownColumns();
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].column, "size");
  EXPECT_EQ(unknown[0].table_columns, "");
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"channel", "web"}}));
  EXPECT_FALSE(mapper_->has_unknown_columns());
}

TEST_F(RowMapperTest, AMappingNearATableOfTheStreamIsFlaggedUntilItsTableShows) {
  // orders_paid_total asks for shop.orders; the stream has shop.order (one
  // letter off) and sales.orders (the same table in another database).
  mapper_->NoteUnmappedTable("shop", "order");
  ASSERT_TRUE(mapper_->has_near_misses());
  std::vector<RowMapper::NearMiss> misses = mapper_->TakeNearMisses();
  // Every mapping of table orders; orders_paid_total is the one with a
  // database.
  ASSERT_FALSE(misses.empty());
  EXPECT_EQ(misses[0].metric, "orders_paid_total");
  EXPECT_EQ(misses[0].origin, "test.yml:3");
  EXPECT_EQ(misses[0].database, "shop");
  EXPECT_EQ(misses[0].table, "orders");
  EXPECT_EQ(misses[0].seen_database, "shop");
  EXPECT_EQ(misses[0].seen_table, "order");
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="orders_paid_total",database="shop",)"
                  R"(table="orders",near_miss="shop.order"} 1)"))
      << Text();
  // Once per mapping.
  mapper_->NoteUnmappedTable("sales", "orders");
  EXPECT_FALSE(mapper_->has_near_misses());
  // Its table shows: the verdict goes back to 0.
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"id", "1"}}));
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="orders_paid_total",database="shop",)"
                  R"(table="orders",near_miss="shop.order"} 0)"))
      << Text();
  // And a mapping that has seen its table is never near another.
  mapper_->NoteUnmappedTable("shop", "orderz");
  EXPECT_FALSE(mapper_->has_near_misses());
}

TEST_F(RowMapperTest, TheSameTableInAnotherDatabaseIsANearMissFarNamesAreNot) {
  for (const char* far : {"users", "order_items", "refunds", "o"}) {
    mapper_->NoteUnmappedTable("shop", far);
    EXPECT_FALSE(mapper_->has_near_misses()) << far;
  }
  mapper_->NoteUnmappedTable("mall", "orders");
  std::vector<RowMapper::NearMiss> misses = mapper_->TakeNearMisses();
  ASSERT_EQ(misses.size(), 1u);  // the other mappings of `orders` take any database
  EXPECT_EQ(misses[0].metric, "orders_paid_total");
  EXPECT_EQ(misses[0].seen_database, "mall");
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="orders_paid_total",database="shop",)"
                  R"(table="orders",near_miss="mall.orders"} 1)"))
      << Text();
}

TEST_F(RowMapperTest, DecodeSchemaListsTablesAndColumns) {
  const DecodeSchema& schema = mapper_->decode_schema();
  EXPECT_TRUE(schema.HasTable("shop", "orders"));
  EXPECT_TRUE(schema.HasTable("other_db", "orders"));  // gmv_total has no database
  EXPECT_FALSE(schema.HasTable("shop", "users"));
  for (const char* column : {"status", "channel", "amount", "size", "created_at", "paid_at"}) {
    EXPECT_GE(schema.columns.Find(column), 0) << column;
  }
}

TEST_F(RowMapperTest, TransitionCountsOnlyTheMatchingChange) {
  auto paid = builder_->Make(RowOp::kUpdate,
                             {{"status", "paid"},
                              {"channel", "app"},
                              {"amount", "129.90"},
                              {"created_at", "2024-11-11 00:00:00"},
                              {"paid_at", "2024-11-11 00:00:45"}},
                             {{"status", "created"}, {"paid_at", "NULL"}});
  mapper_->Apply(paid);
  // Same row again but status did not change (only amount did): no transition.
  auto edited =
      builder_->Make(RowOp::kUpdate, {{"status", "paid"}, {"channel", "app"}, {"amount", "10"}},
                     {{"amount", "129.90"}});
  mapper_->Apply(edited);
  auto shipped = builder_->Make(RowOp::kUpdate, {{"status", "shipped"}, {"channel", "web"}},
                                {{"status", "paid"}});
  mapper_->Apply(shipped);
  EXPECT_TRUE(Has("orders_paid_total{channel=\"app\"} 1")) << Text();
  EXPECT_TRUE(Has("gmv_total 129.9")) << Text();
  EXPECT_TRUE(Has("transitions_total{from=\"created\",to=\"paid\"} 1")) << Text();
  EXPECT_TRUE(Has("transitions_total{from=\"paid\",to=\"shipped\"} 1")) << Text();
  EXPECT_TRUE(Has("pay_seconds_bucket{le=\"10\"} 0")) << Text();
  EXPECT_TRUE(Has("pay_seconds_bucket{le=\"60\"} 1")) << Text();
  EXPECT_TRUE(Has("pay_seconds_sum 45")) << Text();
}

TEST_F(RowMapperTest, FiltersNeedEveryCondition) {
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"channel", "app"}, {"size", "huge"}}));
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"channel", "web"}, {"size", "huge"}}));
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"channel", "app"}, {"size", "small"}}));
  mapper_->Apply(builder_->Make(RowOp::kInsert, {{"channel", "app"}, {"size", "NULL"}}));
  EXPECT_TRUE(Has("big_orders_total 1")) << Text();
}

TEST_F(RowMapperTest, NullAndBadValuesAreCountedAsSkipped) {
  mapper_->Apply(builder_->Make(RowOp::kUpdate, {{"status", "paid"}, {"amount", "NULL"}},
                                {{"status", "created"}}));
  mapper_->Apply(builder_->Make(RowOp::kUpdate, {{"status", "paid"}, {"amount", "abc"}},
                                {{"status", "created"}}));
  mapper_->Apply(builder_->Make(RowOp::kUpdate,
                                {{"status", "paid"},
                                 {"amount", "-5"},
                                 {"created_at", "x"},
                                 {"paid_at", "2024-01-01 00:00:00"}},
                                {{"status", "created"}}));
  EXPECT_TRUE(Has("txmon_mapping_skipped_total{metric=\"gmv_total\",reason=\"null_value\"} 1"))
      << Text();
  EXPECT_TRUE(Has("txmon_mapping_skipped_total{metric=\"gmv_total\",reason=\"bad_number\"} 1"));
  EXPECT_TRUE(Has("txmon_mapping_skipped_total{metric=\"gmv_total\",reason=\"negative_value\"} 1"));
  EXPECT_TRUE(Has("txmon_mapping_skipped_total{metric=\"pay_seconds\",reason=\"bad_datetime\"} 1"));
  EXPECT_TRUE(Has("txmon_mapping_skipped_total{metric=\"pay_seconds\",reason=\"null_value\"} 2"));
  // A NULL label value becomes "unknown"; the transition still counts.
  EXPECT_TRUE(Has("orders_paid_total{channel=\"unknown\"} 3")) << Text();
}

TEST_F(RowMapperTest, NegativeDurationsAreSkippedByHistogramsAsByCounters) {
  // Paid "before" it was created: clock skew, or an ambiguous DST hour.
  mapper_->Apply(builder_->Make(RowOp::kUpdate,
                                {{"status", "paid"},
                                 {"amount", "5"},
                                 {"created_at", "2024-10-27 02:30:00"},
                                 {"paid_at", "2024-10-27 02:10:00"}},
                                {{"status", "created"}}));
  EXPECT_TRUE(
      Has("txmon_mapping_skipped_total{metric=\"pay_seconds\",reason=\"negative_value\"} 1"))
      << Text();
  // The histogram's _sum never drops, so rate() never reads a reset.
  EXPECT_TRUE(Has("pay_seconds_sum 0")) << Text();
  EXPECT_TRUE(Has("pay_seconds_count 0")) << Text();
}

TEST_F(RowMapperTest, DeletesReadTheBeforeImage) {
  mapper_->Apply(builder_->Make(RowOp::kDelete, {{"status", "cancelled"}}));
  mapper_->Apply(builder_->Make(RowOp::kDelete, {{"status", "paid"}}));
  EXPECT_TRUE(Has("open_orders -2")) << Text();
}

TEST_F(RowMapperTest, OtherTablesAndDatabasesAreIgnored) {
  RowChange row =
      builder_->Make(RowOp::kUpdate, {{"status", "paid"}, {"channel", "app"}, {"amount", "5"}},
                     {{"status", "created"}});
  row.database = "archive";  // orders_paid_total is for database shop only
  mapper_->Apply(row);
  EXPECT_TRUE(Has("gmv_total 5")) << Text();
  EXPECT_EQ(Text().find("orders_paid_total{"), std::string::npos) << Text();
  row.table = "users";
  mapper_->Apply(row);
  EXPECT_TRUE(Has("gmv_total 5")) << Text();
}

TEST_F(RowMapperTest, MaxSeriesFoldsNewCombinationsIntoOneSeries) {
  for (const char* customer : {"c1", "c2", "c3", "c4", "c1"}) {
    mapper_->Apply(builder_->Make(RowOp::kInsert, {{"customer", customer}, {"channel", "app"}}));
  }
  EXPECT_TRUE(Has("orders_by_customer_total{customer=\"c1\",channel=\"app\"} 2")) << Text();
  EXPECT_TRUE(Has("orders_by_customer_total{customer=\"c2\",channel=\"app\"} 1")) << Text();
  EXPECT_TRUE(Has("orders_by_customer_total{customer=\"other\",channel=\"other\"} 2")) << Text();
  EXPECT_EQ(Text().find("customer=\"c3\""), std::string::npos) << Text();
  EXPECT_EQ(store_.Find("orders_by_customer_total")->folded_series(), 2u);
}

}  // namespace
}  // namespace txmon
