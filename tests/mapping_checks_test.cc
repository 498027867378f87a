// The mappings' checks against the tables the stream really has, through
// the hot path the pipeline runs (decoder → MessageProcessor → RowMapper):
// a column a mapping names that its table lacks is found on the table's
// first row of any kind, against the table's column list (never a row
// image), and a mapping whose table name is a typo is flagged when the
// stream has a table of a near name.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include <prometheus/text_serializer.h>

#include "agent/base/civil_time.h"
#include "agent/config/agent_config.h"
#include "agent/decode/canal_decoder.h"
#include "agent/decode/debezium_decoder.h"
#include "agent/decode/maxwell_decoder.h"
#include "agent/pipeline/pipeline.h"

namespace txmon {
namespace {

constexpr const char* kConfig = R"(
metrics:
  - name: mall_orders_paid_total
    help: Paid orders.
    type: counter
    database: mall
    table: t_order
    transition: {column: order_state, from: "0", to: "1"}
    labels:
      - {name: channel, column: source}
  - name: mall_gmv_paid_total
    help: Paid amount.
    type: counter
    database: mall
    table: t_order
    transition: {column: order_state, from: "0", to: "1"}
    value: {column: total_fe}
  - name: mall_refunds_total
    help: Refunds.
    type: counter
    database: mall
    table: t_refnd
    on: insert
)";

// A Canal UPDATE of mall.t_order: `data` holds only some columns (as with
// binlog_row_image=MINIMAL upstream); mysqlType lists them all.
constexpr const char* kCanalUpdate =
    R"j({"data":[{"id":"7","order_state":"1"}],"database":"mall","es":1700000000000,"id":3,)j"
    R"j("isDdl":false,"mysqlType":{"id":"bigint","order_no":"varchar(32)",)j"
    R"j("total_fee":"decimal(10,2)","order_state":"tinyint","source":"varchar(8)"},)j"
    R"j("old":[{"order_state":"0"}],"pkNames":["id"],"sql":"","table":"t_order",)j"
    R"j("ts":1700000000100,"type":"UPDATE"})j";

constexpr const char* kCanalRefund =
    R"j({"data":[{"id":"1","order_id":"7"}],"database":"mall","es":1700000000000,"id":4,)j"
    R"j("isDdl":false,"mysqlType":{"id":"bigint","order_id":"bigint"},"old":null,)j"
    R"j("pkNames":["id"],"sql":"","table":"t_refund","ts":1700000000100,"type":"INSERT"})j";

constexpr const char* kDebeziumUpdate =
    R"({"before":{"id":7,"order_no":"A7","total_fee":"9.90","order_state":0,"source":"ios"},)"
    R"("after":{"id":7,"order_no":"A7","total_fee":"9.90","order_state":1,"source":"ios"},)"
    R"("source":{"db":"mall","table":"t_order","ts_ms":1700000000000},"op":"u",)"
    R"("ts_ms":1700000000100})";

class MappingChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(LocalZone::Use("UTC").ok());
    AgentConfig config;
    Status s = ParseConfig(kConfig, "mall.yml", &config);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(metrics_.Register(store_).ok());
    s = RowMapper::Compile(config.metrics, store_, &mapper_);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Runs `payloads` through a MessageProcessor; returns what it logged.
  std::string Run(Decoder& decoder, std::initializer_list<const char*> payloads) {
    MessageProcessor processor(decoder, *mapper_, metrics_);
    ::testing::internal::CaptureStderr();
    int64_t offset = 0;
    for (const char* payload : payloads) {
      processor.Process({payload, {"t", 0, offset++}}, 1700000001000);
    }
    return ::testing::internal::GetCapturedStderr();
  }

  std::string Text() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, store_.Collect());
    return out.str();
  }
  bool Has(const std::string& line) { return Text().find(line + "\n") != std::string::npos; }

  MetricStore store_;
  PipelineMetrics metrics_;
  std::unique_ptr<RowMapper> mapper_;
};

TEST_F(MappingChecksTest, CanalTableSeenOnlyInUpdatesIsCheckedAgainstItsColumnList) {
  CanalDecoder decoder(mapper_->decode_schema());
  const std::string log = Run(decoder, {kCanalUpdate, kCanalUpdate});
  // total_fe is a typo; source is in mysqlType though not in this row's
  // data: only the typo is unknown.
  EXPECT_TRUE(Has(R"(txmon_mapping_unknown_column{metric="mall_gmv_paid_total",table="t_order",)"
                  R"(column="total_fe"} 1)"))
      << Text();
  EXPECT_EQ(Text().find(R"(column="source")"), std::string::npos) << Text();
  EXPECT_TRUE(Has(R"(mall_orders_paid_total{channel="unknown"} 2)")) << Text();
  // Logged once, with the columns the table has.
  EXPECT_NE(log.find("column=total_fe table_columns=id,order_no,total_fee,order_state,source"),
            std::string::npos)
      << log;
  const std::string said = "a mapping reads a column its table does not have";
  EXPECT_EQ(log.find(said, log.find(said) + 1), std::string::npos) << log;
}

TEST_F(MappingChecksTest, DebeziumUpdateIsCheckedToo) {
  DebeziumDecoder decoder(mapper_->decode_schema());
  const std::string log = Run(decoder, {kDebeziumUpdate});
  EXPECT_TRUE(Has(R"(txmon_mapping_unknown_column{metric="mall_gmv_paid_total",table="t_order",)"
                  R"(column="total_fe"} 1)"))
      << Text();
  EXPECT_EQ(Text().find(R"(column="source")"), std::string::npos) << Text();
  EXPECT_NE(log.find("table_columns=id,order_no,total_fee,order_state,source"), std::string::npos)
      << log;
}

TEST_F(MappingChecksTest, ATableNameTypoIsFlaggedWithTheNearMissSeen) {
  CanalDecoder decoder(mapper_->decode_schema());
  const std::string log = Run(decoder, {kCanalRefund, kCanalRefund});
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="mall_refunds_total",database="mall",)"
                  R"(table="t_refnd",near_miss="mall.t_refund"} 1)"))
      << Text();
  // Still an unmapped table, never an error.
  EXPECT_TRUE(Has(R"(txmon_unmapped_table_messages_total{database="mall",table="t_refund"} 2)"))
      << Text();
  const size_t at = log.find("metric=mall_refunds_total mapping=mall.yml:");
  EXPECT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find("database=mall table=t_refnd seen_database=mall seen_table=t_refund"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("metric=mall_refunds_total", at + 1), std::string::npos) << "logged once";
  // The t_order mappings are far from t_refund: nothing said of them.
  EXPECT_EQ(Text().find(R"(txmon_mapping_unmatched{metric="mall_orders_paid_total")"),
            std::string::npos)
      << Text();
}

TEST_F(MappingChecksTest, AReloadThatFixesTheTypoClearsTheVerdict) {
  CanalDecoder decoder(mapper_->decode_schema());
  MessageProcessor processor(decoder, *mapper_, metrics_);
  ::testing::internal::CaptureStderr();
  processor.Process({kCanalRefund, {"t", 0, 0}}, 1700000001000);
  ASSERT_TRUE(Has(R"(txmon_mapping_unmatched{metric="mall_refunds_total",database="mall",)"
                  R"(table="t_refnd",near_miss="mall.t_refund"} 1)"))
      << Text();
  std::string fixed = kConfig;
  fixed.replace(fixed.find("t_refnd"), 7, "t_refund");
  AgentConfig config;
  ASSERT_TRUE(ParseConfig(fixed, "mall.yml", &config).ok());
  std::unique_ptr<RowMapper> reloaded;
  Status s = RowMapper::CompileForReload(config.metrics, store_, &reloaded);
  ASSERT_TRUE(s.ok()) << s.message();
  reloaded->Activate();
  CanalDecoder reloaded_decoder(reloaded->decode_schema());
  processor.Use(reloaded_decoder, *reloaded);
  processor.Process({kCanalRefund, {"t", 0, 1}}, 1700000001000);
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="mall_refunds_total",database="mall",)"
                  R"(table="t_refnd",near_miss="mall.t_refund"} 0)"))
      << Text();
  EXPECT_TRUE(Has("mall_refunds_total 1")) << Text();
}

TEST_F(MappingChecksTest, TheSameTableInAnotherDatabaseIsANearMiss) {
  CanalDecoder decoder(mapper_->decode_schema());
  std::string elsewhere = kCanalUpdate;
  elsewhere.replace(elsewhere.find(R"("database":"mall")"), 17, R"("database":"mall_2026")");
  Run(decoder, {elsewhere.c_str()});
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="mall_orders_paid_total",database="mall",)"
                  R"(table="t_order",near_miss="mall_2026.t_order"} 1)"))
      << Text();
  // Its own table shows: back to 0.
  Run(decoder, {kCanalUpdate});
  EXPECT_TRUE(Has(R"(txmon_mapping_unmatched{metric="mall_orders_paid_total",database="mall",)"
                  R"(table="t_order",near_miss="mall_2026.t_order"} 0)"))
      << Text();
}

TEST_F(MappingChecksTest, MaxwellRowsReleasedByAnotherTablesCommitAreNotJudgedByIt) {
  // A transaction of t_order then t_refund: the commit (a t_refund row)
  // releases both; t_refund's data says nothing of t_order's columns.
  MaxwellDecoder decoder(mapper_->decode_schema());
  const std::string order =
      R"({"database":"mall","table":"t_order","type":"insert","ts":1700000000,"xid":9,)"
      R"("xoffset":0,"data":{"id":7,"order_state":0,"source":"ios","total_fee":"9.90"}})";
  const std::string refund =
      R"({"database":"mall","table":"t_refund","type":"insert","ts":1700000000,"xid":9,)"
      R"("commit":true,"data":{"id":1,"order_id":7}})";
  Run(decoder, {order.c_str(), refund.c_str()});
  // The row's own image decides (an insert): only the typo.
  EXPECT_TRUE(Has(R"(txmon_mapping_unknown_column{metric="mall_gmv_paid_total",table="t_order",)"
                  R"(column="total_fe"} 1)"))
      << Text();
  EXPECT_EQ(Text().find(R"(column="source")"), std::string::npos) << Text();
}

}  // namespace
}  // namespace txmon
