// The whole agent on the simulated shop written as Debezium (with and
// without the schema envelope) and as Maxwell would publish it, through the
// embedded Kafka (librdkafka's mock cluster, the real protocol on
// loopback), with `source.format` naming the format or left to `auto`.
// Every metric on /metrics must equal the shop's ground truth exactly —
// counters, every histogram bucket, sums — as for Canal
// (kafka_pipeline_integration_test), and every message must be read as the
// format the shop wrote.
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>

#include "tests/support/live_shop.h"
#include "tests/support/running_agent.h"
#include "tests/support/shop_truth_check.h"

namespace txmon::test {
namespace {

struct FormatCase {
  ShopFormat shop_format;
  std::string source_format;  // the agent's source.format
};

// How gtest (and ctest's test names) show a case.
void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << ShopFormatName(c.shop_format) << " read as " << c.source_format;
}

std::string CaseName(const ::testing::TestParamInfo<FormatCase>& info) {
  std::string name =
      std::string(ShopFormatName(info.param.shop_format)) + "_as_" + info.param.source_format;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

// What a user of Debezium without the schema envelope must tell the
// mappings: the message does not say that `amount` is a DECIMAL(12,2) in
// precise mode (base64 bytes) or that the DATETIMEs are epoch milliseconds.
void DeclareNoSchemaEncodings(AgentConfig* config) {
  auto declare = [](ColumnRef& ref) {
    if (ref.column == "amount") ref.hint.scale = 2;
    if (ref.column.ends_with("_at")) ref.hint.epoch = EpochUnit::kMillis;
  };
  for (MetricMapping& mapping : config->metrics) {
    for (ColumnFilter& filter : mapping.filters) declare(filter.ref);
    for (LabelMapping& label : mapping.labels) declare(label.ref);
    declare(mapping.value.column);
    declare(mapping.value.start_column);
    declare(mapping.value.end_column);
  }
}

class KafkaFormatsTest : public ::testing::TestWithParam<FormatCase> {
 protected:
  void SetUp() override {
    DemoShopOptions options;
    // One message per row, up to ~3 KB with the envelope: enough partitions
    // that none passes the mock cluster's 5 MiB retention.
    options.partitions = 24;
    options.simulator.seed = 20241111;
    options.simulator.orders_per_second = 40;
    options.simulator.surge_multiplier = 4;
    options.simulator.surge_start_ms = 30'000;
    options.simulator.surge_duration_ms = 15'000;
    options.simulator.time_scale = 30;
    options.simulator.format = GetParam().shop_format;
    std::string error;
    live_ = LiveShop::Create(options, &error);
    ASSERT_NE(live_, nullptr) << error;
    Status produced = live_->ProduceSimulated(100'000);
    ASSERT_TRUE(produced.ok()) << produced.message();
    truth_ = live_->shop().truth();
    config_ = live_->config();
  }

  std::unique_ptr<RunningAgent> StartAgent() {
    AgentOptions options = live_->AgentOptionsFor("formats");
    options.config.source.format = GetParam().source_format;
    if (GetParam().shop_format == ShopFormat::kDebeziumNoSchema) {
      DeclareNoSchemaEncodings(&options.config);
    }
    std::string error;
    auto agent = RunningAgent::Start(std::move(options), &error);
    EXPECT_TRUE(agent) << error;
    return agent;
  }

  std::unique_ptr<LiveShop> live_;
  AgentConfig config_;
  ShopTruth truth_;
};

TEST_P(KafkaFormatsTest, EveryMetricEqualsTheGroundTruth) {
  ASSERT_GT(truth_.messages, 5000) << "the stream should be big enough to mean something";
  ASSERT_GT(truth_.refunds, 0);
  ASSERT_GT(TotalOf(truth_.orders_cancelled), 0);
  ASSERT_GT(truth_.ddl_messages, 0);
  // One message per row (and per DDL statement), unlike Canal's batches.
  ASSERT_EQ(truth_.messages, truth_.rows_total + truth_.ddl_messages);

  const auto started = std::chrono::steady_clock::now();
  auto agent = StartAgent();
  ASSERT_TRUE(agent);
  MetricsText m;
  bool consumed = agent->WaitFor(
      [&](const MetricsText& scrape) {
        return scrape.Sum("txmon_messages_total") == static_cast<double>(truth_.messages);
      },
      std::chrono::seconds(120), &m);
  ASSERT_TRUE(consumed) << "consumed " << m.Sum("txmon_messages_total") << " of "
                        << truth_.messages;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%s as %s: %lld messages, %lld rows consumed in %.1f s\n",
              std::string(ShopFormatName(GetParam().shop_format)).c_str(),
              GetParam().source_format.c_str(), static_cast<long long>(truth_.messages),
              static_cast<long long>(truth_.rows_total), seconds);

  const std::string_view wire_format =
      GetParam().shop_format == ShopFormat::kMaxwell ? "maxwell" : "debezium";
  ExpectMetricsMatchTruth(m, truth_, config_, wire_format);
  EXPECT_TRUE(agent->Stop().ok());
}

INSTANTIATE_TEST_SUITE_P(Formats, KafkaFormatsTest,
                         ::testing::Values(FormatCase{ShopFormat::kDebezium, "debezium"},
                                           FormatCase{ShopFormat::kDebezium, "auto"},
                                           FormatCase{ShopFormat::kDebeziumNoSchema, "debezium"},
                                           FormatCase{ShopFormat::kDebeziumNoSchema, "auto"},
                                           FormatCase{ShopFormat::kMaxwell, "maxwell"},
                                           FormatCase{ShopFormat::kMaxwell, "auto"}),
                         CaseName);

}  // namespace
}  // namespace txmon::test
