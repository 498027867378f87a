// Rules: the alert state machine (for, keep_firing_for, resolution and
// resending), templating, rule-file loading and its errors, recording rules
// feeding later rules, the store sampled into the history, a group runner
// at 250ms, and the /api/v1/rules and /api/v1/alerts answers.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <regex>
#include <thread>

#include "agent/base/fixed_point.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/main/alert_checkpoint.h"
#include "agent/promql/promql_parser.h"
#include "agent/rules/alert_template.h"
#include "agent/rules/rule_manager.h"
#include "agent/store/metric_store.h"
#include "agent/web/prometheus_api.h"

namespace txmon {
namespace {

constexpr int64_t kSecond = 1000;

std::vector<RuleGroupSpec> ParseGroups(const std::string& yaml) {
  std::vector<RuleGroupSpec> groups;
  Status s = ParseRuleFile(yaml, "test.yml", &groups);
  EXPECT_TRUE(s.ok()) << s.message();
  return groups;
}

RuleSpec OneRule(const std::string& yaml) {
  std::vector<RuleGroupSpec> groups = ParseGroups(yaml);
  if (groups.empty() || groups[0].rules.empty()) return RuleSpec();
  return std::move(groups[0].rules[0]);
}

std::string LoadError(const std::string& yaml) {
  std::vector<RuleGroupSpec> groups;
  Status s = ParseRuleFile(yaml, "bad.yml", &groups);
  return s.ok() ? "accepted" : s.message();
}

Vector Result(std::initializer_list<std::pair<Labels, double>> samples) {
  Vector out;
  for (const auto& [labels, value] : samples) out.push_back(Sample{labels, value});
  return out;
}

const Labels kInstanceA{{"__name__", "up"}, {"instance", "a"}};
const Labels kNoExternal;

// ------------------------------------------------------------ state machine

class AlertStateTest : public ::testing::Test {
 protected:
  void Load(const std::string& extra) {
    spec_ = OneRule(R"(groups:
  - name: g
    rules:
      - alert: InstanceDown
        expr: up == 0
)" + extra);
    rule_ = std::make_unique<AlertingRule>(spec_);
  }
  void Update(int64_t seconds, const Vector& result) {
    ASSERT_TRUE(rule_->Update(result, seconds * kSecond, AlertContext{}).ok());
  }
  std::vector<AlertmanagerAlert> Due(int64_t seconds) {
    return rule_->AlertsToSend(seconds * kSecond, 60 * kSecond, kSecond, "http://txmon:9464",
                               kNoExternal);
  }
  RuleSpec spec_;
  std::unique_ptr<AlertingRule> rule_;
};

TEST_F(AlertStateTest, PendingForTheForDurationThenFiring) {
  Load("        for: 30s\n");
  Update(0, Result({{kInstanceA, 0}}));
  ASSERT_EQ(rule_->ActiveAlerts().size(), 1u);
  EXPECT_EQ(rule_->ActiveAlerts()[0].state, AlertState::kPending);
  EXPECT_TRUE(Due(0).empty()) << "pending alerts are not sent";
  Update(29, Result({{kInstanceA, 0}}));
  EXPECT_EQ(rule_->state(), AlertState::kPending);
  Update(30, Result({{kInstanceA, 0}}));
  EXPECT_EQ(rule_->state(), AlertState::kFiring);
  Alert alert = rule_->ActiveAlerts()[0];
  EXPECT_EQ(alert.active_at_ms, 0);
  EXPECT_EQ(alert.fired_at_ms, 30 * kSecond);
  EXPECT_EQ(alert.labels, (Labels{{"alertname", "InstanceDown"}, {"instance", "a"}}));
}

TEST_F(AlertStateTest, PendingAlertThatGoesAwayIsForgotten) {
  Load("        for: 30s\n");
  Update(0, Result({{kInstanceA, 0}}));
  Update(10, Vector{});
  EXPECT_TRUE(rule_->ActiveAlerts().empty());
  EXPECT_EQ(rule_->state(), AlertState::kInactive);
  EXPECT_TRUE(Due(10).empty()) << "a never-firing alert is never sent";
}

TEST_F(AlertStateTest, ZeroForFiresInTheFirstEvaluation) {
  Load("");
  Update(5, Result({{kInstanceA, 0}}));
  EXPECT_EQ(rule_->state(), AlertState::kFiring);
}

TEST_F(AlertStateTest, SendsFiringThenResendsThenResolvedOnce) {
  Load("");
  Update(0, Result({{kInstanceA, 0}}));
  std::vector<AlertmanagerAlert> first = Due(0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].starts_at_ms, 0);
  // endsAt ahead: 4 × max(resend delay, interval), so Alertmanager resolves
  // it by itself if the agent disappears.
  EXPECT_EQ(first[0].ends_at_ms, 4 * 60 * kSecond);
  EXPECT_EQ(first[0].generator_url, "http://txmon:9464/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
  Update(30, Result({{kInstanceA, 0}}));
  EXPECT_TRUE(Due(30).empty()) << "within the resend delay";
  Update(61, Result({{kInstanceA, 0}}));
  ASSERT_EQ(Due(61).size(), 1u) << "resent after the resend delay";
  Update(70, Vector{});
  EXPECT_TRUE(rule_->ActiveAlerts().empty()) << "resolved alerts are not active";
  std::vector<AlertmanagerAlert> resolved = Due(70);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].ends_at_ms, 70 * kSecond) << "resolved: endsAt is the resolution time";
  EXPECT_TRUE(Due(71).empty());
}

TEST_F(AlertStateTest, KeepFiringForHoldsAResolvedCondition) {
  Load("        keep_firing_for: 20s\n");
  Update(0, Result({{kInstanceA, 0}}));
  Update(10, Vector{});
  EXPECT_EQ(rule_->state(), AlertState::kFiring) << "kept firing";
  Update(25, Vector{});
  EXPECT_EQ(rule_->state(), AlertState::kFiring) << "15s of 20s";
  Update(30, Vector{});
  EXPECT_EQ(rule_->state(), AlertState::kInactive) << "20s passed";
}

TEST_F(AlertStateTest, KeepFiringForRestartsWhenTheConditionReturns) {
  Load("        keep_firing_for: 20s\n");
  Update(0, Result({{kInstanceA, 0}}));
  Update(10, Vector{});
  Update(15, Result({{kInstanceA, 0}}));
  Update(30, Vector{});
  Update(45, Vector{});
  EXPECT_EQ(rule_->state(), AlertState::kFiring) << "keep_firing_for counts from 30s again";
  EXPECT_EQ(rule_->ActiveAlerts()[0].active_at_ms, 0) << "the same alert";
}

TEST_F(AlertStateTest, AResolvedAlertThatReturnsStartsAgainAsPending) {
  Load("        for: 10s\n");
  Update(0, Result({{kInstanceA, 0}}));
  Update(10, Result({{kInstanceA, 0}}));
  Update(20, Vector{});
  Update(30, Result({{kInstanceA, 0}}));
  ASSERT_EQ(rule_->ActiveAlerts().size(), 1u);
  EXPECT_EQ(rule_->ActiveAlerts()[0].state, AlertState::kPending);
  EXPECT_EQ(rule_->ActiveAlerts()[0].active_at_ms, 30 * kSecond);
}

TEST_F(AlertStateTest, SameLabelsetAfterDroppingTheNameIsAnError) {
  Load("");
  Status s = rule_->Update(Result({{Labels{{"__name__", "a"}, {"x", "1"}}, 1},
                                   {Labels{{"__name__", "b"}, {"x", "1"}}, 1}}),
                           0, AlertContext{});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("same labelset"), std::string::npos) << s.message();
}

TEST_F(AlertStateTest, ExpandsLabelsAndAnnotationsPerAlert) {
  Load(R"yaml(        labels:
          severity: page
          team: "{{ $labels.instance }}-ops"
        annotations:
          summary: "{{ $labels.instance }} is down ({{ $value }})"
)yaml");
  Update(0, Result({{kInstanceA, 0}}));
  Alert alert = rule_->ActiveAlerts().at(0);
  EXPECT_EQ(alert.labels.Get("severity"), "page");
  EXPECT_EQ(alert.labels.Get("team"), "a-ops");
  EXPECT_EQ(alert.annotations.Get("summary"), "a is down (0)");
}

TEST_F(AlertStateTest, ExternalLabelsAreAddedWhenSending) {
  Load("");
  Update(0, Result({{kInstanceA, 0}}));
  Labels external{{"cluster", "eu1"}, {"instance", "ignored"}};
  auto due = rule_->AlertsToSend(0, 60 * kSecond, kSecond, "", external);
  ASSERT_EQ(due.size(), 1u);
  std::vector<std::pair<std::string, std::string>> want = {
      {"alertname", "InstanceDown"}, {"cluster", "eu1"}, {"instance", "a"}};
  EXPECT_EQ(due[0].labels, want);
}

// ------------------------------------------------------------ templates

std::string Expand(const std::string& text, double value, const Labels& labels = {}) {
  AlertTemplate compiled;
  Status s = AlertTemplate::Parse(text, "t", &compiled);
  if (!s.ok()) return "parse error: " + s.message();
  std::string out;
  s = compiled.Expand(TemplateData{&labels, value, nullptr, "http://x"}, &out);
  return s.ok() ? out : "error: " + s.message();
}

TEST(AlertTemplateTest, ExpandsLikePrometheus) {
  Labels labels{{"job", "api"}, {"instance", "a:1"}};
  EXPECT_EQ(Expand("plain text", 0), "plain text");
  EXPECT_EQ(Expand("{{ $labels.job }}/{{ .Labels.instance }}", 0, labels), "api/a:1");
  EXPECT_EQ(Expand("{{ $labels.missing }}", 0, labels), "<no value>");
  EXPECT_EQ(Expand("{{ $value }}", 0.1), "0.1");
  EXPECT_EQ(Expand("{{ .Value }}", 1e6), "1e+06");
  EXPECT_EQ(Expand("{{ $value }}", 123456), "123456");
  EXPECT_EQ(Expand("{{ $value | humanize }}", 1234567), "1.235M");
  EXPECT_EQ(Expand("{{ humanize $value }}", 0.00123), "1.23m");
  EXPECT_EQ(Expand("{{ humanize 0 }}", 0), "0");
  EXPECT_EQ(Expand("{{ $value | humanize1024 }}", 2048), "2ki");
  EXPECT_EQ(Expand("{{ $value | humanizeDuration }}", 3661), "1h 1m 1s");
  EXPECT_EQ(Expand("{{ $value | humanizeDuration }}", 90061), "1d 1h 1m 1s");
  EXPECT_EQ(Expand("{{ $value | humanizeDuration }}", 1.5), "1.5s");
  EXPECT_EQ(Expand("{{ $value | humanizeDuration }}", 0.25), "250ms");
  EXPECT_EQ(Expand("{{ $value | humanizePercentage }}", 0.1234), "12.34%");
  EXPECT_EQ(Expand("{{ printf \"%.2f\" $value }}", 3.14159), "3.14");
  EXPECT_EQ(Expand("{{ $value | printf \"%.1f%%\" }}", 99.44), "99.4%");
  EXPECT_EQ(Expand("{{ printf \"%s=%v\" $labels.job $value }}", 2, labels), "api=2");
  EXPECT_EQ(Expand("{{ $labels.job | toUpper }}", 0, labels), "API");
  EXPECT_EQ(Expand("a {{- \" b \" -}} c", 0), "a b c");
  EXPECT_EQ(Expand("x{{/* a comment */}}y", 0), "xy");
  EXPECT_EQ(Expand("{{ $externalURL }}", 0), "http://x");
  EXPECT_EQ(Expand("{{ humanize \"1500\" }}", 0), "1.5k");
}

TEST(AlertTemplateTest, RefusesWhatIsOutsideTheSubsetAtParse) {
  EXPECT_NE(Expand("{{ if gt $value 1.0 }}big{{ end }}", 0).find("action \"if\" is not supported"),
            std::string::npos);
  EXPECT_NE(Expand("{{ query \"up\" }}", 0).find("function \"query\" not defined"),
            std::string::npos);
  EXPECT_NE(Expand("{{ $value ", 0).find("unclosed action"), std::string::npos);
  EXPECT_NE(Expand("{{ $nope }}", 0).find("undefined variable"), std::string::npos);
}

TEST(AlertTemplateTest, RuntimeErrorsAreReported) {
  EXPECT_NE(Expand("{{ humanize \"abc\" }}", 0).find("error executing template"),
            std::string::npos);
}

// ------------------------------------------------------------ rule files

TEST(RuleFileTest, LoadsBothRuleKinds) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g1
    interval: 250ms
    limit: 10
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {source: txmon}
      - alert: A
        expr: job:up:sum == 0
        for: 1m
        keep_firing_for: 30s
        labels: {severity: chat}
        annotations: {summary: "down"}
  - name: g2
    rules: []
)");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].interval_ms, 250);
  EXPECT_EQ(groups[0].limit, 10);
  ASSERT_EQ(groups[0].rules.size(), 2u);
  EXPECT_EQ(groups[0].rules[0].kind, RuleSpec::Kind::kRecording);
  EXPECT_EQ(groups[0].rules[1].for_ms, 60000);
  EXPECT_EQ(groups[0].rules[1].keep_firing_for_ms, 30000);
  EXPECT_EQ(groups[0].rules[1].line, 9);
  EXPECT_EQ(groups[1].interval_ms, 0);
}

TEST(RuleFileTest, ErrorsNameFileLineGroupRuleAndReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: holt_winters(up[5m], "
       "0.5, "
       "0.5)\n",
       "bad.yml:5:15: group \"g\": rule 1 (alert \"A\"): expr: 1:1: function \"holt_winters\" is "
       "not supported"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n", "field 'expr' must be set in rule"},
      {"groups:\n  - name: g\n    rules:\n      - expr: up\n",
       "one of 'record' or 'alert' must be set"},
      {"groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: up\n",
       "only one of 'record' and 'alert' must be set"},
      {"groups:\n  - name: g\n    rules:\n      - record: not-a-name\n        expr: up\n",
       "invalid recording rule name: not-a-name"},
      {"groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        for: 1m\n",
       "invalid field 'for' in recording rule"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 1x\n",
       "for: not a valid duration string"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: "
       "{\"a-b\": x}\n",
       "invalid label name: a-b"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations: "
       "{s: \"{{ if 1 }}\"}\n",
       "annotations.s: template: __alert_A:1: action \"if\" is not supported"},
      {"groups:\n  - name: g\n  - name: g\n", "groupname: \"g\" is repeated in the same file"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        severity: "
       "page\n",
       "field severity not found"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up[5m]\n",
       "invalid expression type \"range vector\""},
      {"groups: [", "bad.yml:1:"},
  };
  for (const auto& [yaml, error] : cases) {
    std::string got = LoadError(yaml);
    EXPECT_NE(got.find(error), std::string::npos) << yaml << "\n  got: " << got;
  }
}

TEST(RuleFileTest, ShippedRulesLoad) {
  std::vector<RuleGroupSpec> groups;
  Status s = LoadRuleFiles({std::string(TXMON_SOURCE_DIR) + "/rules/*.yml"}, &groups);
  ASSERT_TRUE(s.ok()) << s.message();
  size_t alerts = 0;
  for (const RuleGroupSpec& group : groups) {
    for (const RuleSpec& rule : group.rules) {
      if (rule.kind != RuleSpec::Kind::kAlerting) continue;
      ++alerts;
      bool has_severity = false, has_summary = false, has_description = false;
      for (const auto& label : rule.labels) {
        if (label.name == "severity") {
          has_severity = true;
          EXPECT_TRUE(label.text == "page" || label.text == "chat") << rule.name;
        }
      }
      for (const auto& annotation : rule.annotations) {
        has_summary |= annotation.name == "summary";
        has_description |= annotation.name == "description";
      }
      EXPECT_TRUE(has_severity && has_summary && has_description) << rule.name;
    }
  }
  EXPECT_GE(alerts, 11u);
}

// ------------------------------------------------------------ groups

TEST(RuleGroupTest, RecordedSeriesFeedLaterRulesInTheSameEvaluation) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g
    rules:
      - record: job:requests:sum
        expr: sum by (job) (requests)
      - record: job:requests:doubled
        expr: job:requests:sum * 2
      - alert: TooMany
        expr: job:requests:doubled > 10
)");
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, std::move(groups), nullptr, &manager).ok());
  manager->history().Append(Labels{{"__name__", "requests"}, {"job", "a"}, {"i", "1"}}, 1000, 4);
  manager->history().Append(Labels{{"__name__", "requests"}, {"job", "a"}, {"i", "2"}}, 1000, 2);
  manager->EvaluateAll(1000);
  const auto& rules = manager->groups()[0]->rules();
  EXPECT_EQ(rules[2].alerting->state(), AlertState::kFiring)
      << "the first evaluation already sees both recorded series";
  EXPECT_EQ(rules[0].recording->evaluation().health, RuleHealth::kOk);
}

TEST(RuleGroupTest, ASeriesARuleStopsRecordingGoesStale) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g
    rules:
      - record: high
        expr: value > 5
      - alert: High
        expr: high
)");
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, std::move(groups), nullptr, &manager).ok());
  Labels series{{"__name__", "value"}};
  manager->history().Append(series, 1000, 10);
  manager->EvaluateAll(1000);
  auto& alerting = *manager->groups()[0]->rules()[1].alerting;
  EXPECT_EQ(alerting.state(), AlertState::kFiring);
  manager->history().Append(series, 2000, 1);
  manager->EvaluateAll(2000);
  // Without the stale marker the 1s-old recorded sample would still be
  // inside the 5m lookback and keep the alert firing.
  EXPECT_EQ(alerting.state(), AlertState::kInactive);
}

TEST(RuleGroupTest, AlertsSeriesCanBeSelected) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g
    rules:
      - alert: Base
        expr: vector(1)
      - record: firing_alerts
        expr: count(ALERTS{alertstate="firing"})
      - alert: SomethingFires
        expr: firing_alerts >= 1
)");
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, std::move(groups), nullptr, &manager).ok());
  manager->EvaluateAll(1000);
  EXPECT_EQ(manager->groups()[0]->rules()[2].alerting->state(), AlertState::kFiring);
}

TEST(RuleManagerTest, ReloadKeepsTheStateOfUnchangedAlertingRules) {
  const std::string head = R"(groups:
  - name: g
    rules:
      - alert: Slow
        expr: vector(1)
        for: 10s
      - alert: Now
        expr: vector(1)
)";
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, ParseGroups(head), nullptr, &manager).ok());
  manager->EvaluateAll(1000);
  manager->EvaluateAll(2000);
  const Alert slow = manager->groups()[0]->rules()[0].alerting->ActiveAlerts().at(0);
  EXPECT_EQ(slow.state, AlertState::kPending);
  EXPECT_EQ(slow.active_at_ms, 1000);

  // Slow is unchanged; Now gains a label, so it is another rule; New is new.
  std::string changed = head + "        labels: {team: shop}\n" +
                        "      - alert: New\n        expr: vector(1)\n        for: 10s\n";
  manager->Reload(ParseGroups(changed), 1000);
  const auto& rules = manager->groups()[0]->rules();
  ASSERT_EQ(rules.size(), 3u);
  ASSERT_EQ(rules[0].alerting->ActiveAlerts().size(), 1u);
  EXPECT_EQ(rules[0].alerting->ActiveAlerts()[0].active_at_ms, 1000);
  EXPECT_TRUE(rules[1].alerting->ActiveAlerts().empty());
  manager->EvaluateAll(11'000);
  // `for: 10s` counted from before the reload.
  EXPECT_EQ(rules[0].alerting->state(), AlertState::kFiring);
  EXPECT_EQ(rules[2].alerting->state(), AlertState::kPending);
}

TEST(RuleManagerTest, AlertStateSurvivesARestartThroughTheCheckpoint) {
  const std::string yaml = R"(groups:
  - name: g
    rules:
      - alert: Slow
        expr: vector(1)
        for: 10s
      - alert: Now
        expr: vector(1)
      - alert: Twin
        expr: vector(1)
        labels: {route: page}
      - alert: Twin
        expr: vector(2)
        labels: {route: chat}
)";
  std::vector<std::string> sent;
  RuleManagerOptions options;
  options.notify = [&](std::vector<AlertmanagerAlert> alerts) {
    for (const AlertmanagerAlert& alert : alerts) {
      for (const auto& [name, value] : alert.labels) {
        if (name == "alertname") sent.push_back(value);
      }
    }
  };
  std::unique_ptr<RuleManager> before;
  ASSERT_TRUE(RuleManager::Create(options, ParseGroups(yaml), nullptr, &before).ok());
  before->EvaluateAll(1000);
  EXPECT_EQ(sent.size(), 3u);  // Now and both Twins fire at once

  // Through the checkpoint file format, as at a restart.
  Checkpoint written;
  written.alerts = SaveAlertState(*before);
  EXPECT_EQ(written.alerts.size(), 4u);
  Checkpoint read;
  ASSERT_TRUE(DecodeCheckpoint(EncodeCheckpoint(written), &read).ok());
  std::unique_ptr<RuleManager> after;
  ASSERT_TRUE(RuleManager::Create(options, ParseGroups(yaml), nullptr, &after).ok());
  EXPECT_EQ(RestoreAlertState(read.alerts, *after), 4u);

  sent.clear();
  after->EvaluateAll(5000);
  EXPECT_TRUE(sent.empty()) << sent[0];  // already sent, resend delay not over
  const auto& rules = after->groups()[0]->rules();
  EXPECT_EQ(rules[0].alerting->state(), AlertState::kPending);
  EXPECT_EQ(rules[0].alerting->ActiveAlerts().at(0).active_at_ms, 1000);
  EXPECT_EQ(rules[1].alerting->ActiveAlerts().at(0).fired_at_ms, 1000);
  for (size_t twin : {2, 3}) {
    ASSERT_EQ(rules[twin].alerting->ActiveAlerts().size(), 1u) << twin;
    EXPECT_EQ(rules[twin].alerting->ActiveAlerts()[0].state, AlertState::kFiring);
  }
  after->EvaluateAll(11'000);  // `for: 10s` counted from before the restart
  EXPECT_EQ(rules[0].alerting->state(), AlertState::kFiring);
  EXPECT_EQ(sent, std::vector<std::string>{"Slow"});
}

TEST(RuleGroupTest, RuntimeErrorsMarkTheRuleUnhealthy) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g
    rules:
      - alert: Bad
        expr: a + ignoring(i) a
)");
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, std::move(groups), nullptr, &manager).ok());
  manager->history().Append(Labels{{"__name__", "a"}, {"i", "1"}}, 1000, 1);
  manager->history().Append(Labels{{"__name__", "a"}, {"i", "2"}}, 1000, 1);
  manager->EvaluateAll(1000);
  RuleEvaluation evaluation = manager->groups()[0]->rules()[0].alerting->evaluation();
  EXPECT_EQ(evaluation.health, RuleHealth::kError);
  EXPECT_NE(evaluation.last_error.find("many-to-many"), std::string::npos);
  EXPECT_EQ(manager->groups()[0]->failures(), 1u);
}

// ------------------------------------------------------------ store + runner

class StoreRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        store_.Add({"orders_total", "Orders.", MetricType::kCounter, {"channel"}, {}, {}}, &orders_)
            .ok());
    ASSERT_TRUE(store_
                    .Add({"amount",
                          "Amounts.",
                          MetricType::kHistogram,
                          {},
                          {},
                          {10 * kMicrosPerUnit, 100 * kMicrosPerUnit}},
                         &amount_)
                    .ok());
    ASSERT_TRUE(
        store_
            .Add({"unused_total", "Not read by any rule.", MetricType::kCounter, {}, {}, {}},
                 &unused_)
            .ok());
  }
  MetricStore store_;
  Metric* orders_ = nullptr;
  Metric* amount_ = nullptr;
  Metric* unused_ = nullptr;
};

TEST_F(StoreRulesTest, SamplesOnlyWhatRulesSelectAndHistogramsAsBuckets) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g
    rules:
      - record: orders:rate10s
        expr: sum(rate(orders_total[10s]))
      - record: amount:p50
        expr: histogram_quantile(0.5, amount_bucket)
)");
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, std::move(groups), &store_, &manager).ok());
  Series* app = orders_->Resolve({"app"});
  unused_->Resolve({})->Add(kMicrosPerUnit);
  for (int i = 0; i < 11; ++i) {
    app->Add(2 * kMicrosPerUnit);
    manager->EvaluateAll(1000 * (i + 1));
  }
  Series* amounts = amount_->Resolve({});
  amounts->Observe(amount_->BucketFor(5 * kMicrosPerUnit), 5 * kMicrosPerUnit);
  amounts->Observe(amount_->BucketFor(50 * kMicrosPerUnit), 50 * kMicrosPerUnit);
  manager->EvaluateAll(12000);

  PromqlEngine engine;
  auto eval = [&](const std::string& text) {
    ExprPtr expr;
    EXPECT_TRUE(ParseExpr(text, &expr).ok()) << text;
    Vector out;
    EXPECT_TRUE(engine.EvalVector(*expr, 12000, manager->history(), &out).ok()) << text;
    return out;
  };
  EXPECT_EQ(eval("orders_total").size(), 1u);
  EXPECT_TRUE(eval("unused_total").empty()) << "not selected by any rule: not kept";
  EXPECT_EQ(eval("amount_bucket").size(), 3u) << "le=10, le=100, le=+Inf";
  Vector cumulative = eval("amount_bucket{le=\"100\"}");
  ASSERT_EQ(cumulative.size(), 1u);
  EXPECT_EQ(cumulative[0].value, 2) << "cumulative, as exposed";
  Vector rate = eval("sum(rate(orders_total[10s]))");
  ASSERT_EQ(rate.size(), 1u);
  // 2 orders per second for 9 of the window's 10 seconds, none in the last.
  EXPECT_NEAR(rate[0].value, 1.8, 1e-9);
  Vector p50 = eval("histogram_quantile(0.5, amount_bucket)");
  ASSERT_EQ(p50.size(), 1u);
  EXPECT_DOUBLE_EQ(p50[0].value, 10);
  // Only the selected series are kept: the counter and three buckets, 11
  // samples each (the history trims by whole 120-sample chunks;
  // history_test checks that bound over a longer run).
  EXPECT_EQ(manager->history().series_count(), 4u);
  EXPECT_LE(manager->history().sample_count(), 4 * 11u);
}

TEST_F(StoreRulesTest, RunnerAt250msFiresWithinAFewIntervals) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: fast
    interval: 250ms
    rules:
      - alert: OrdersSeen
        expr: sum(orders_total) > 0
)");
  std::mutex mutex;
  std::vector<AlertmanagerAlert> sent;
  RuleManagerOptions options;
  options.notify = [&](std::vector<AlertmanagerAlert> alerts) {
    std::lock_guard lock(mutex);
    for (auto& alert : alerts) sent.push_back(std::move(alert));
  };
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create(options, std::move(groups), &store_, &manager).ok());
  manager->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(sent.empty());
  }
  auto changed = std::chrono::steady_clock::now();
  orders_->Resolve({"web"})->Add(kMicrosPerUnit);
  bool delivered = false;
  while (!delivered && std::chrono::steady_clock::now() - changed < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(mutex);
    delivered = !sent.empty();
  }
  auto latency = std::chrono::steady_clock::now() - changed;
  manager->Stop();
  ASSERT_TRUE(delivered);
  // One 250ms tick plus the evaluation; a second is the product's promise.
  EXPECT_LT(latency, std::chrono::milliseconds(1000));
  EXPECT_GE(manager->groups()[0]->evaluations(), 3u);
  EXPECT_EQ(manager->groups()[0]->interval_ms(), 250);
}

// ------------------------------------------------------------ HTTP API

TEST(RulesApiTest, AnswersInPrometheusShapes) {
  std::vector<RuleGroupSpec> groups = ParseGroups(R"(groups:
  - name: g
    rules:
      - record: r
        expr: vector(1)
      - alert: A
        expr: vector(2) > 1
        for: 5s
        labels: {severity: chat}
        annotations: {summary: "value {{ $value }}"}
)");
  std::unique_ptr<RuleManager> manager;
  ASSERT_TRUE(RuleManager::Create({}, std::move(groups), nullptr, &manager).ok());
  manager->EvaluateAll(1'700'000'000'250);

  HttpRequest request;
  HttpResponse rules = ServeRulesApi(*manager, request);
  EXPECT_EQ(rules.status, 200);
  EXPECT_EQ(rules.content_type, "application/json");
  // Durations vary from run to run.
  std::string body = std::regex_replace(rules.body, std::regex("\"evaluationTime\":[0-9.e-]+"),
                                        "\"evaluationTime\":T");
  EXPECT_EQ(
      body,
      R"j({"status":"success","data":{"groups":[{"name":"g","file":"test.yml","rules":[)j"
      R"j({"name":"r","query":"vector(1)","health":"ok","evaluationTime":T,)j"
      R"j("lastEvaluation":"2023-11-14T22:13:20.25Z","type":"recording"},)j"
      R"j({"state":"pending","name":"A","query":"vector(2) > 1","duration":5,)j"
      R"j("keepFiringFor":0,"labels":{"severity":"chat"},)j"
      R"j("annotations":{"summary":"value {{ $value }}"},)j"
      R"j("alerts":[{"labels":{"alertname":"A","severity":"chat"},)j"
      R"j("annotations":{"summary":"value 2"},"state":"pending",)j"
      R"j("activeAt":"2023-11-14T22:13:20.25Z","value":"2e+00"}],"health":"ok",)j"
      R"j("evaluationTime":T,"lastEvaluation":"2023-11-14T22:13:20.25Z","type":"alerting"}],)j"
      R"j("interval":1,"limit":0,"evaluationTime":T,)j"
      R"j("lastEvaluation":"2023-11-14T22:13:20.25Z"}]}})j");

  request.query = "type=record";
  HttpResponse records = ServeRulesApi(*manager, request);
  EXPECT_EQ(records.body.find("\"alerting\""), std::string::npos);
  request.query = "type=nonsense";
  EXPECT_EQ(ServeRulesApi(*manager, request).status, 400);

  HttpResponse alerts = ServeAlertsApi(*manager, HttpRequest());
  EXPECT_EQ(
      alerts.body,
      R"j({"status":"success","data":{"alerts":[{"labels":{"alertname":"A","severity":"chat"},)j"
      R"j("annotations":{"summary":"value 2"},"state":"pending",)j"
      R"j("activeAt":"2023-11-14T22:13:20.25Z","value":"2e+00"}]}})j");
}

}  // namespace
}  // namespace txmon
