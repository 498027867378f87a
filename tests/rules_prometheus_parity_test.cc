// Parity with Prometheus, the acceptance test of in-agent rule evaluation:
// the same live stream goes into the agent, a real Prometheus scrapes the
// agent every second and evaluates the same rule files, and every shipped
// expression is queried from
// both through the same HTTP query API at the same instant.
//
// Tolerance: the agent samples its store at each 1 s evaluation tick, while
// Prometheus sees the values its 1 s scrapes caught. Both are 1 s grids, up
// to 1 s apart, so a window's first and last samples may differ by one
// interval's worth of change: for an N-second rate window that is about
// 1/N of the value plus the burstiness of one second of orders. We allow
// 15% relative (or 0.05 absolute), which the 1 m and 2 m windows of the
// shipped rules stay well inside, and require the same set of series (job
// and instance, which only Prometheus attaches, are ignored).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "agent/base/civil_time.h"
#include "agent/rules/rule_file.h"
#include "tests/support/live_shop.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

using Series = std::map<std::string, double>;  // labels (no job/instance) -> value

Series BySeries(const std::vector<PromSample>& samples) {
  Series out;
  for (const PromSample& sample : samples) {
    std::string key;
    for (const auto& [name, value] : sample.labels) {
      if (name == "job" || name == "instance") continue;
      key += name + "=" + value + ",";
    }
    out[key] = sample.value;
  }
  return out;
}

bool Close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= std::max(0.05, 0.15 * std::max(std::fabs(a), std::fabs(b)));
}

TEST(RulesPrometheusParityTest, ShippedExpressionsAgreeWithPrometheus) {
  const std::string rules = std::string(TXMON_SOURCE_DIR) + "/rules/*.yml";
  std::vector<RuleGroupSpec> groups;
  ASSERT_TRUE(LoadRuleFiles({rules}, &groups).ok());

  std::string error;
  DemoShopOptions shop_options;
  shop_options.simulator.orders_per_second = 40;
  shop_options.simulator.time_scale = 30;
  auto live = LiveShop::Create(shop_options, &error);
  ASSERT_NE(live, nullptr) << error;
  // The shop creates its topic: before any consumer asks for it, or the
  // broker would create it with its default partition count.
  ASSERT_TRUE(live->shop().Start().ok());

  AgentOptions options = live->AgentOptionsFor("parity");
  options.config.rule_files = {rules};
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_TRUE(agent) << error;

  const std::string target = "127.0.0.1:" + std::to_string(agent->agent().web_port());
  PrometheusOptions prometheus_options;
  prometheus_options.targets = {target};
  prometheus_options.extra_config = "rule_files: ['" + rules + "']\n";
  auto prometheus = PrometheusServer::Start(prometheus_options, &error);
  ASSERT_TRUE(prometheus) << error;
  // Enough scrapes that the 1 m windows of the rules are full on both sides.
  ASSERT_TRUE(prometheus->WaitForScrapes(target, 70, std::chrono::seconds(120), &error)) << error;

  // Only what the rules select is in the agent's history, so the shipped
  // rules' own expressions are the ones to compare.
  std::vector<std::string> exprs;
  for (const RuleGroupSpec& group : groups) {
    for (const RuleSpec& rule : group.rules) exprs.push_back(rule.expr_text);
  }
  // An instant a few seconds back, which both sides have fully recorded.
  const double at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      3;
  int compared = 0, with_data = 0;
  for (const std::string& expr : exprs) {
    if (expr.find("up{") != std::string::npos) continue;  // Prometheus's own scrape series
    std::vector<PromSample> from_agent, from_prometheus;
    ASSERT_TRUE(QueryInstant(agent->url(""), expr, at, &from_agent, &error)) << error;
    ASSERT_TRUE(QueryInstant(prometheus->url(), expr, at, &from_prometheus, &error)) << error;
    Series a = BySeries(from_agent), p = BySeries(from_prometheus);
    std::set<std::string> keys;
    for (const auto& [k, v] : a) keys.insert(k);
    for (const auto& [k, v] : p) keys.insert(k);
    for (const std::string& key : keys) {
      ASSERT_TRUE(a.count(key) && p.count(key)) << expr << "\n  series {" << key << "} only in "
                                                << (a.count(key) ? "txmon" : "Prometheus");
      EXPECT_TRUE(Close(a[key], p[key]))
          << expr << "\n  {" << key << "}: txmon " << a[key] << ", Prometheus " << p[key];
    }
    ++compared;
    with_data += keys.empty() ? 0 : 1;
  }
  printf("compared %d expressions at the same instant, %d with data on both sides\n", compared,
         with_data);
  EXPECT_GE(with_data, 6) << "too few expressions returned data to mean anything";
  live->shop().Stop();
}

}  // namespace
}  // namespace txmon::test
