// The shipped rules/*.yml: promtool accepts them, and on one scenario (a
// shop whose orders stop, payments failing, refunds spiking, a large order,
// the source going down, lag and decode errors) txmon's rule evaluation and
// Prometheus's agree: our engine runs the scenario and every alert it has
// firing at the end, with its labels and expanded annotations, is handed to
// `promtool test rules` as the expected alerts. promtool compares exactly,
// so a pass means same state machine, same values, same template output.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "agent/rules/rule_manager.h"
#include "tests/promql_script.h"
#include "tests/support/process.h"

namespace txmon::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPromtool = "/usr/bin/promtool";
const std::string kRulesDir = std::string(TXMON_SOURCE_DIR) + "/rules";
constexpr int64_t kIntervalMs = 15'000;
constexpr int64_t kEvalTimeMs = 35 * 60'000;

// 161 samples, one every 15s (0 to 40m), in promtool's series notation.
const std::vector<std::pair<std::string, std::string>> kScenario = {
    // 2 orders/s for 30 minutes, then none.
    {R"(shop_orders_created_total{channel="app", province="Beijing"})", "0+30x120 3600x39"},
    // Half of the payment attempts fail.
    {R"(shop_payment_attempts_total{method="alipay", result="failed"})", "0+15x160"},
    {R"(shop_payment_attempts_total{method="alipay", result="success"})", "0+15x160"},
    // Most payments take 10-15 minutes.
    {R"(shop_payment_duration_seconds_bucket{le="300"})", "0x160"},
    {R"(shop_payment_duration_seconds_bucket{le="600"})", "0+1x160"},
    {R"(shop_payment_duration_seconds_bucket{le="900"})", "0+10x160"},
    {R"(shop_payment_duration_seconds_bucket{le="1800"})", "0+10x160"},
    {R"(shop_payment_duration_seconds_bucket{le="+Inf"})", "0+10x160"},
    // Refunds start at 33m15s, 100 yuan every 15s.
    {R"(shop_refund_amount_total{reason="damaged"})", "0x132 100+100x27"},
    // One order above 10000 yuan at 34m30s.
    {R"(shop_order_amount_yuan_bucket{channel="app", le="10000"})", "0+1x160"},
    {R"(shop_order_amount_yuan_bucket{channel="app", le="+Inf"})", "0+1x137 139+1x22"},
    // The source disconnects at 32m45s.
    {R"(txmon_source_up)", "1x130 0x29"},
    // Rows arrive 1-5s after their commit.
    {R"(txmon_event_lag_seconds_bucket{le="1"})", "0x160"},
    {R"(txmon_event_lag_seconds_bucket{le="5"})", "0+10x160"},
    {R"(txmon_event_lag_seconds_bucket{le="+Inf"})", "0+10x160"},
    // A growing Kafka backlog, and decode errors from 32m45s.
    {R"(txmon_kafka_consumer_lag_messages{topic="shop.binlog", partition="0"})", "1000+10x160"},
    {R"(txmon_decode_errors_total{reason="invalid_json"})", "0x130 1+1x29"},
    {R"(up{job="txmon", instance="txmon:9464"})", "1x160"},
    // A mapping reads a column its table does not have.
    {R"(txmon_mapping_unknown_column{metric="shop_orders_created_total", table="orders", column="chanel"})",
     "1x160"},
    // A mapping whose table is misspelt, near a table of the stream.
    {R"(txmon_mapping_unmatched{metric="shop_refund_amount_total", database="shop", table="refund", near_miss="shop.refunds"})",
     "1x160"},
};

std::string YamlQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Pairs(const Labels& labels, bool skip_alertname) {
  std::string out = "{";
  for (const Label& label : labels) {
    if (skip_alertname && label.name == "alertname") continue;
    if (out.size() > 1) out += ", ";
    out += label.name + ": " + YamlQuote(label.value);
  }
  return out + "}";
}

TEST(ShippedRulesTest, PromtoolChecksThem) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package \"prometheus\"";
  ProcessOptions options;
  options.binary = kPromtool;
  options.args = {"check", "rules", kRulesDir + "/pipeline.yml", kRulesDir + "/shop.yml"};
  options.stdout_path =
      ::testing::TempDir() + "promtool_check-" + std::to_string(getpid()) + ".out";
  options.stderr_path =
      ::testing::TempDir() + "promtool_check-" + std::to_string(getpid()) + ".err";
  std::string error;
  auto promtool = Process::Start(options, &error);
  ASSERT_TRUE(promtool) << error;
  EXPECT_EQ(promtool->Wait(60s).value_or(-1), 0) << promtool->Stdout() << promtool->Stderr();
}

TEST(ShippedRulesTest, PrometheusFiresTheSameAlertsOnAScenario) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package \"prometheus\"";
  RuleManagerOptions options;
  options.rule_files = {kRulesDir + "/*.yml"};
  std::unique_ptr<RuleManager> rules;
  Status s = RuleManager::Create(options, nullptr, &rules);
  ASSERT_TRUE(s.ok()) << s.message();
  for (const auto& [series, values] : kScenario) {
    Labels labels;
    std::vector<std::optional<double>> points;
    std::string error;
    ASSERT_TRUE(script_detail::ParseSeriesLabels(series, &labels, &error)) << error;
    ASSERT_TRUE(script_detail::ParseValues(values, &points, &error)) << error;
    ASSERT_EQ(points.size(), 161u) << series;
    for (size_t i = 0; i < points.size(); ++i) {
      rules->history().Append(labels, static_cast<int64_t>(i) * kIntervalMs, *points[i]);
    }
  }
  for (int64_t t = 0; t <= kEvalTimeMs; t += kIntervalMs) rules->EvaluateAll(t);

  std::map<std::string, std::vector<Alert>> firing;
  for (const auto& group : rules->groups()) {
    for (const RuleGroup::Rule& rule : group->rules()) {
      if (!rule.alerting) continue;
      EXPECT_EQ(rule.alerting->evaluation().health, RuleHealth::kOk)
          << rule.alerting->spec().name << ": " << rule.alerting->evaluation().last_error;
      auto& list = firing[rule.alerting->spec().name];
      for (const Alert& alert : rule.alerting->ActiveAlerts()) {
        if (alert.state == AlertState::kFiring) list.push_back(alert);
      }
    }
  }
  // The scenario is built so that all but two alerts fire.
  for (const char* name :
       {"ShopOrderRateCollapsed", "ShopNoOrders", "ShopPaymentFailureRatioHigh",
        "ShopPaymentTimeP95High", "ShopRefundAmountSpike", "ShopLargeOrder", "TxmonSourceDown",
        "TxmonEventLagHigh", "TxmonConsumerLagGrowing", "TxmonDecodeErrors",
        "TxmonMappingUnknownColumn", "TxmonMappingUnmatched"}) {
    EXPECT_EQ(firing[name].size(), 1u) << name << " should fire in the scenario";
  }
  EXPECT_TRUE(firing["ShopCancellationRatioHigh"].empty());
  EXPECT_TRUE(firing["TxmonDown"].empty());

  std::string yaml = "rule_files:\n  - " + kRulesDir + "/pipeline.yml\n  - " + kRulesDir +
                     "/shop.yml\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n"
                     "    input_series:\n";
  for (const auto& [series, values] : kScenario) {
    yaml +=
        "      - series: " + YamlQuote(series) + "\n        values: " + YamlQuote(values) + "\n";
  }
  yaml += "    alert_rule_test:\n";
  for (const auto& [name, alerts] : firing) {
    yaml += "      - eval_time: 35m\n        alertname: " + name +
            "\n        exp_alerts:" + (alerts.empty() ? " []\n" : "\n");
    for (const Alert& alert : alerts) {
      yaml += "          - exp_labels: " + Pairs(alert.labels, true) +
              "\n            exp_annotations: " + Pairs(alert.annotations, false) + "\n";
    }
  }
  std::string file =
      ::testing::TempDir() + "shipped_rules_scenario-" + std::to_string(getpid()) + ".yml";
  std::ofstream(file) << yaml;

  ProcessOptions run;
  run.binary = kPromtool;
  run.args = {"test", "rules", file};
  run.stdout_path = file + ".out";
  run.stderr_path = file + ".err";
  std::string error;
  auto promtool = Process::Start(run, &error);
  ASSERT_TRUE(promtool) << error;
  EXPECT_EQ(promtool->Wait(120s).value_or(-1), 0)
      << "Prometheus disagrees with txmon on the shipped rules:\n"
      << promtool->Stdout() << promtool->Stderr() << "\ninput: " << file;
}

}  // namespace
}  // namespace txmon::test
