// A million distinct label values through the real decode → map → store
// path: the series count stays at max_series and memory stays bounded.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "agent/base/civil_time.h"
#include "agent/base/fixed_point.h"
#include "agent/config/agent_config.h"
#include "agent/decode/canal_decoder.h"
#include "agent/pipeline/pipeline.h"

namespace txmon {
namespace {

constexpr const char* kConfig = R"(
global:
  max_series: 1000
metrics:
  - name: orders_by_order_id_total
    help: Orders by their unique id (a label no one should use).
    type: counter
    table: orders
    on: insert
    labels:
      - {name: order_id}
  - name: orders_by_user_and_amount_total
    help: Two labels whose values stay few alone but multiply together.
    type: counter
    table: orders
    on: insert
    max_series: 500
    labels:
      - {name: user_id, max_values: 2000}
      - {name: amount, max_values: 2000}
)";

// Resident set size of this process in KiB, from /proc/self/status.
long ResidentKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

// One Canal flat-message INSERT of one order row.
void FormatInsert(long order_id, std::string* out) {
  const std::string id = std::to_string(order_id);
  const std::string user = std::to_string(order_id % 1999);
  const std::string amount = std::to_string(order_id % 1997) + ".50";
  out->assign(R"j({"data":[{"order_id":")j" + id + R"j(","user_id":")j" + user +
              R"j(","amount":")j" + amount +
              R"j("}],"database":"shop","es":1700000000000,"id":1,"isDdl":false,)j"
              R"j("mysqlType":{"order_id":"BIGINT","user_id":"BIGINT","amount":"DECIMAL(10,2)"},)j"
              R"j("old":null,"pkNames":["order_id"],"sql":"","table":"orders",)j"
              R"j("ts":1700000000001,"type":"INSERT"})j");
}

TEST(SeriesLimitTest, MillionDistinctValuesStayWithinTheLimit) {
  constexpr long kOrders = 1'000'000;
  ASSERT_TRUE(LocalZone::Use("UTC").ok());
  AgentConfig config;
  Status s = ParseConfig(kConfig, "series_limit.yml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  ASSERT_TRUE(metrics.Register(store).ok());
  s = RowMapper::Compile(config.metrics, store, &mapper);
  ASSERT_TRUE(s.ok()) << s.message();
  CanalDecoder decoder(mapper->decode_schema());
  MessageProcessor processor(decoder, *mapper, metrics);

  const long rss_before_kib = ResidentKib();
  std::string payload;
  for (long i = 0; i < kOrders; ++i) {
    FormatInsert(i, &payload);
    processor.Process({payload, {"orders", 0, i}}, 1700000000000);
  }
  const long rss_after_kib = ResidentKib();
  std::printf("RSS before %ld KiB, after %ld KiB, growth %ld KiB for %ld distinct values\n",
              rss_before_kib, rss_after_kib, rss_after_kib - rss_before_kib, kOrders);

  const Metric* by_id = store.Find("orders_by_order_id_total");
  const Metric* by_pair = store.Find("orders_by_user_and_amount_total");
  ASSERT_NE(by_id, nullptr);
  ASSERT_NE(by_pair, nullptr);
  EXPECT_EQ(by_id->series_count(), 1000u);
  EXPECT_EQ(by_id->folded_series(), uint64_t{kOrders - 999});
  EXPECT_EQ(by_pair->series_count(), 500u);
  EXPECT_EQ(by_pair->folded_series(), uint64_t{kOrders - 499});
  // Every order is counted once, in its own series or the overflow series.
  int64_t total = 0;
  by_id->VisitSeries([&](const Series& series) { total += series.value(); });
  EXPECT_EQ(total, kOrders * kMicrosPerUnit);

  metrics.RefreshFoldedValues(store);
  Metric* folded = store.Find("txmon_series_folded_total");
  ASSERT_NE(folded, nullptr);
  EXPECT_EQ(folded->Resolve({"orders_by_order_id_total"})->value(),
            (kOrders - 999) * kMicrosPerUnit);
  EXPECT_LT(rss_after_kib - rss_before_kib, 200 * 1024);
}

}  // namespace
}  // namespace txmon
