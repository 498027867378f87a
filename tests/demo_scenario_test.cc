// `txmon demo`'s default shop (DemoScenario) run through the shipped
// txmon.yml mappings and rules/shop.yml in simulated time: a newcomer sees
// no alert until the staged payment outage, then ShopPaymentFailureRatioHigh
// fires and resolves, and nothing else fires at all.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "agent/base/civil_time.h"
#include "agent/config/agent_config.h"
#include "agent/decode/decoder_factory.h"
#include "agent/demo/demo_shop.h"
#include "agent/demo/shop_simulator.h"
#include "agent/map/row_mapper.h"
#include "agent/rules/rule_manager.h"
#include "agent/store/metric_store.h"

namespace txmon {
namespace {

constexpr int64_t kEvaluationMs = 1000;
constexpr int64_t kRunMs = 10 * 60'000;

// When an alert was first and last seen firing, in ms since the shop began.
struct Firing {
  int64_t first_ms = -1;
  int64_t last_ms = -1;
};

// The agent's stages from the shipped files, fed in simulated time.
class ShippedPipeline {
 public:
  void Build() {
    Status s = LoadConfigFile(std::string(TXMON_SOURCE_DIR) + "/txmon.yml", &config_);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(LocalZone::Use(config_.time_zone).ok());
    s = RowMapper::Compile(config_.metrics, store_, &mapper_);
    ASSERT_TRUE(s.ok()) << s.message();
    DecodeSchema schema = mapper_->decode_schema();
    schema.max_message_bytes = config_.source.max_message_bytes;
    s = CreateDecoder(config_.source.format, schema, &decoder_);
    ASSERT_TRUE(s.ok()) << s.message();
    RuleManagerOptions options;
    options.rule_files = {std::string(TXMON_SOURCE_DIR) + "/rules/shop.yml"};
    s = RuleManager::Create(options, &store_, &rules_);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Runs `scenario` for kRunMs, evaluating the rules every second.
  std::map<std::string, Firing> Run(const ShopSimulatorOptions& scenario) {
    ShopSimulator shop(scenario);
    const int64_t start = scenario.start_time_ms;
    std::map<std::string, Firing> firing;
    std::vector<CanalMessageOut> messages;
    for (int64_t t = kEvaluationMs; t <= kRunMs; t += kEvaluationMs) {
      messages.clear();
      shop.AdvanceTo(start + t, messages);
      for (const CanalMessageOut& message : messages) Apply(message);
      rules_->EvaluateAll(start + t);
      for (const auto& group : rules_->groups()) {
        for (const RuleGroup::Rule& rule : group->rules()) {
          if (!rule.alerting || rule.alerting->state() != AlertState::kFiring) continue;
          Firing& f = firing[rule.alerting->spec().name];
          if (f.first_ms < 0) f.first_ms = t;
          f.last_ms = t;
        }
      }
    }
    return firing;
  }

  void Apply(const CanalMessageOut& message) {
    SourceMessage source;
    source.payload = message.json;
    DecodeResult result = decoder_->Decode(source);
    ASSERT_EQ(result.error, DecodeError::kNone) << result.detail;
    for (const RowChange& row : result.rows) mapper_->Apply(row);
  }

 private:
  AgentConfig config_;
  MetricStore store_;
  std::unique_ptr<RowMapper> mapper_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<RuleManager> rules_;
};

// A fresh pipeline (store, history, alert state) for each shop.
std::map<std::string, Firing> RunShop(const ShopSimulatorOptions& scenario) {
  ShippedPipeline pipeline;
  pipeline.Build();
  if (::testing::Test::HasFatalFailure()) return {};
  return pipeline.Run(scenario);
}

TEST(DemoScenarioTest, CalmUntilThePaymentOutageWhoseAlertFiresAndResolves) {
  const ShopSimulatorOptions scenario = DemoScenario();
  const int64_t outage_start = scenario.payment_outage_start_ms;
  const int64_t outage_end = outage_start + scenario.payment_outage_duration_ms;
  std::map<std::string, Firing> firing = RunShop(scenario);
  for (const auto& [name, f] : firing) {
    std::printf("%s firing from %.0f s to %.0f s (outage %lld s to %lld s)\n", name.c_str(),
                f.first_ms / 1000.0, f.last_ms / 1000.0,
                static_cast<long long>(outage_start / 1000),
                static_cast<long long>(outage_end / 1000));
  }
  ASSERT_EQ(firing.count("ShopPaymentFailureRatioHigh"), 1u) << "the outage raised no alert";
  const Firing& payment = firing["ShopPaymentFailureRatioHigh"];
  EXPECT_GT(payment.first_ms, outage_start);
  EXPECT_LT(payment.first_ms, outage_end + 30'000);
  EXPECT_LT(payment.last_ms, outage_end + 3 * 60'000) << "it should resolve within minutes";
  EXPECT_EQ(firing.size(), 1u) << "only the staged incident may raise an alert";
}

TEST(DemoScenarioTest, WithoutTheOutageNoAlertFiresWhateverTheSeed) {
  for (uint64_t seed : {1, 2, 3}) {
    ShopSimulatorOptions scenario = DemoScenario();
    scenario.seed = seed;
    scenario.payment_outage_duration_ms = 0;
    std::map<std::string, Firing> firing = RunShop(scenario);
    for (const auto& [name, f] : firing) {
      ADD_FAILURE() << name << " fires from " << f.first_ms / 1000.0 << " s to "
                    << f.last_ms / 1000.0 << " s in a healthy shop (seed " << seed << ")";
    }
  }
}

}  // namespace
}  // namespace txmon
