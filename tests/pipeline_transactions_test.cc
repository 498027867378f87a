// A Maxwell transaction split over batches: its rows reach the store only
// with its commit, and neither the recorded positions (checkpoints) nor the
// source's acknowledgements go past a transaction that is still open.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "agent/base/civil_time.h"
#include "agent/base/fixed_point.h"
#include "agent/config/agent_config.h"
#include "agent/decode/maxwell_decoder.h"
#include "agent/pipeline/pipeline.h"

namespace txmon {
namespace {

constexpr const char* kConfig = R"(
metrics:
  - name: orders_total
    help: Orders.
    type: counter
    database: shop
    table: orders
    on: insert
)";

// Hands out fixed payloads in fixed batches; records what is acknowledged.
class ScriptedSource : public Source {
 public:
  ScriptedSource(std::vector<std::string> payloads, size_t batch)
      : payloads_(std::move(payloads)), batch_(batch) {}

  Status Poll(std::vector<SourceMessage>& out, size_t, std::chrono::milliseconds) override {
    out.clear();
    for (size_t i = 0; i < batch_ && next_ < payloads_.size(); ++i, ++next_) {
      out.push_back({payloads_[next_], {"t", 0, static_cast<int64_t>(next_)}});
    }
    return Status::Ok();
  }
  void Acknowledge(const std::vector<SourceMessage>& batch) override {
    for (const SourceMessage& m : batch) acknowledged_ = std::max(acknowledged_, m.position.offset);
  }
  bool Connected() const override { return true; }
  bool Finished() const override { return next_ == payloads_.size(); }
  void ResumeFrom(const std::vector<SourceOffset>&) override {}

  int64_t acknowledged() const { return acknowledged_; }

 private:
  std::vector<std::string> payloads_;
  size_t batch_;
  size_t next_ = 0;
  int64_t acknowledged_ = -1;
};

std::string Row(int id, int xid, bool commit) {
  return R"({"database":"shop","table":"orders","type":"insert","ts":1700000000,"xid":)" +
         std::to_string(xid) + (commit ? R"(,"commit":true)" : R"(,"xoffset":0)") +
         R"(,"data":{"id":)" + std::to_string(id) + "}}";
}

int64_t IncompleteTransactions(const MetricStore& store) {
  int64_t total = 0;
  store.Find("txmon_incomplete_transactions_total")->VisitSeries([&](const Series& series) {
    total += series.value();
  });
  return total / kMicrosPerUnit;
}

TEST(PipelineTransactionsTest, AnOpenTransactionIsNeitherAppliedNorAcknowledged) {
  ASSERT_TRUE(LocalZone::Use("UTC").ok());
  AgentConfig config;
  ASSERT_TRUE(ParseConfig(kConfig, "t.yml", &config).ok());
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  ASSERT_TRUE(metrics.Register(store).ok());
  ASSERT_TRUE(RowMapper::Compile(config.metrics, store, &mapper).ok());
  MaxwellDecoder decoder(mapper->decode_schema());
  // Offsets 0-1: a one-row transaction, then xid 8 over offsets 2-5, its
  // commit in the third batch (batches of 2).
  ScriptedSource source({Row(1, 7, false), Row(2, 7, true), Row(3, 8, false), Row(4, 8, false),
                         Row(5, 8, false), Row(6, 8, true)},
                        2);
  Pipeline pipeline(source, decoder, *mapper, store, metrics, PipelineOptions{});
  auto orders = [&] {
    int64_t total = 0;
    store.Find("orders_total")->VisitSeries([&](const Series& series) { total += series.value(); });
    return total / kMicrosPerUnit;
  };
  std::vector<SourceMessage> batch;

  ASSERT_TRUE(source.Poll(batch, 2, {}).ok());
  EXPECT_EQ(pipeline.ProcessBatch(batch), 2u);
  EXPECT_EQ(orders(), 2);

  ASSERT_TRUE(source.Poll(batch, 2, {}).ok());
  EXPECT_EQ(pipeline.ProcessBatch(batch), 0u);  // both held
  EXPECT_EQ(orders(), 2);
  ASSERT_EQ(pipeline.positions().offsets().size(), 1u);
  EXPECT_EQ(pipeline.positions().offsets()[0].next_offset, 2);  // the transaction's start

  ASSERT_TRUE(source.Poll(batch, 2, {}).ok());
  EXPECT_EQ(pipeline.ProcessBatch(batch), 2u);  // committed
  EXPECT_EQ(orders(), 6);
  EXPECT_EQ(pipeline.positions().offsets()[0].next_offset, 6);
}

TEST(PipelineTransactionsTest, RunAcknowledgesOnlyUpToTheOpenTransaction) {
  ASSERT_TRUE(LocalZone::Use("UTC").ok());
  AgentConfig config;
  ASSERT_TRUE(ParseConfig(kConfig, "t.yml", &config).ok());
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  ASSERT_TRUE(metrics.Register(store).ok());
  ASSERT_TRUE(RowMapper::Compile(config.metrics, store, &mapper).ok());
  MaxwellDecoder decoder(mapper->decode_schema());
  // The file ends inside xid 9: offsets 1-2 are never applied.
  ScriptedSource source({Row(1, 7, true), Row(2, 9, false), Row(3, 9, false)}, 3);
  Pipeline pipeline(source, decoder, *mapper, store, metrics, PipelineOptions{});
  std::atomic<bool> stop{false};
  ASSERT_TRUE(pipeline.Run(stop).ok());
  EXPECT_EQ(source.acknowledged(), 0);
  EXPECT_EQ(pipeline.positions().offsets()[0].next_offset, 1);
  // Not dropped silently: counted (and logged with its offsets).
  EXPECT_EQ(IncompleteTransactions(store), 1);
}

TEST(PipelineTransactionsTest, AnInputThatEndsOnACommitHasNoIncompleteTransaction) {
  ASSERT_TRUE(LocalZone::Use("UTC").ok());
  AgentConfig config;
  ASSERT_TRUE(ParseConfig(kConfig, "t.yml", &config).ok());
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  ASSERT_TRUE(metrics.Register(store).ok());
  ASSERT_TRUE(RowMapper::Compile(config.metrics, store, &mapper).ok());
  MaxwellDecoder decoder(mapper->decode_schema());
  ScriptedSource source({Row(1, 7, true), Row(2, 9, false), Row(3, 9, true)}, 2);
  Pipeline pipeline(source, decoder, *mapper, store, metrics, PipelineOptions{});
  std::atomic<bool> stop{false};
  ASSERT_TRUE(pipeline.Run(stop).ok());
  EXPECT_EQ(source.acknowledged(), 2);
  EXPECT_EQ(IncompleteTransactions(store), 0);
}

}  // namespace
}  // namespace txmon
