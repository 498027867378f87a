// Alert delivery against a real Alertmanager (/usr/bin/prometheus-alertmanager,
// started here on a loopback port), which forwards to a webhook receiver
// served by this test: what arrives there is what an on-call chat would get.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "agent/notify/alertmanager_client.h"
#include "agent/notify/notifier.h"
#include "agent/rules/rule_manager.h"
#include "tests/alertmanager_server.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"

namespace txmon::test {
namespace {

using namespace std::chrono_literals;

AlertmanagerAlert FiringAlert(const std::string& name, int64_t now_ms) {
  AlertmanagerAlert alert;
  alert.labels = {{"alertname", name}, {"severity", "chat"}};
  alert.annotations = {{"summary", "test alert " + name}};
  alert.starts_at_ms = now_ms;
  alert.ends_at_ms = now_ms + 4 * 60'000;
  alert.generator_url = "http://txmon:9464/graph?g0.expr=up&g0.tab=1";
  return alert;
}

NotifierOptions FastRetries(const std::string& url) {
  NotifierOptions options;
  options.alertmanager_urls = {url};
  options.timeout = 2s;
  options.initial_backoff = 50ms;
  options.max_backoff = 500ms;
  return options;
}

TEST(EncodeAlertsTest, WritesTheApiV2Shape) {
  AlertmanagerAlert alert = FiringAlert("A\"x", 1'700'000'000'250);
  EXPECT_EQ(EncodeAlerts({&alert, 1}),
            R"([{"labels":{"alertname":"A\"x","severity":"chat"},)"
            R"("annotations":{"summary":"test alert A\"x"},)"
            R"("startsAt":"2023-11-14T22:13:20.250Z","endsAt":"2023-11-14T22:17:20.250Z",)"
            R"("generatorURL":"http://txmon:9464/graph?g0.expr=up&g0.tab=1"}])");
}

TEST(NotifierTest, FiringAndResolvedAlertsReachTheWebhookThroughAlertmanager) {
  WebhookReceiver webhook;
  std::string error;
  auto alertmanager =
      AlertmanagerServer::Start(FreeLoopbackPort(), QuickRoutingConfig(webhook.url()), &error);
  ASSERT_TRUE(alertmanager) << error;
  std::unique_ptr<Notifier> notifier;
  ASSERT_TRUE(Notifier::Create(FastRetries(alertmanager->url()), &notifier).ok());

  int64_t now = WallMs();
  notifier->Send({FiringAlert("TxmonNotifyTest", now)});
  std::string firing =
      webhook.WaitFor({"\"status\":\"firing\"", "\"alertname\":\"TxmonNotifyTest\"",
                       "http://txmon:9464/graph?g0.expr=up\\u0026g0.tab=1"},
                      20s);
  EXPECT_FALSE(firing.empty()) << webhook.All();

  // Alertmanager's own API lists it, with our generatorURL.
  test::HttpResponse listed = HttpGet(alertmanager->url() + "/api/v2/alerts");
  EXPECT_NE(listed.body.find("TxmonNotifyTest"), std::string::npos) << listed.body;

  AlertmanagerAlert resolved = FiringAlert("TxmonNotifyTest", now);
  resolved.ends_at_ms = WallMs();
  notifier->Send({resolved});
  std::string resolution =
      webhook.WaitFor({"\"status\":\"resolved\"", "\"alertname\":\"TxmonNotifyTest\""}, 20s);
  EXPECT_FALSE(resolution.empty()) << webhook.All();

  AlertmanagerStats stats = notifier->stats().at(0);
  EXPECT_EQ(stats.sent, 2u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.url, alertmanager->url() + "/api/v2/alerts");
}

TEST(NotifierTest, AlertmanagerDownAtFirstBackLaterTheAlertStillArrives) {
  WebhookReceiver webhook;
  const int port = FreeLoopbackPort();
  std::unique_ptr<Notifier> notifier;
  ASSERT_TRUE(
      Notifier::Create(FastRetries("http://127.0.0.1:" + std::to_string(port)), &notifier).ok());
  notifier->Send({FiringAlert("TxmonArrivesLater", WallMs())});

  // Nothing listens yet: posts fail and are retried.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (notifier->stats()[0].errors < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  AlertmanagerStats down = notifier->stats()[0];
  EXPECT_GE(down.errors, 2u) << "at least two failed attempts";
  EXPECT_EQ(down.sent, 0u);
  EXPECT_EQ(down.queue_length, 1u) << "kept for the next attempt";

  std::string error;
  auto alertmanager = AlertmanagerServer::Start(port, QuickRoutingConfig(webhook.url()), &error);
  ASSERT_TRUE(alertmanager) << error;
  std::string body = webhook.WaitFor({"\"alertname\":\"TxmonArrivesLater\""}, 20s);
  EXPECT_FALSE(body.empty()) << webhook.All();
  AlertmanagerStats up = notifier->stats()[0];
  EXPECT_EQ(up.sent, 1u);
  EXPECT_EQ(up.queue_length, 0u);
  EXPECT_EQ(up.dropped, 0u);
}

TEST(NotifierTest, AnAlertAlertmanagerRefusesIsDroppedNotRetried) {
  WebhookReceiver webhook;
  std::string error;
  auto alertmanager =
      AlertmanagerServer::Start(FreeLoopbackPort(), QuickRoutingConfig(webhook.url()), &error);
  ASSERT_TRUE(alertmanager) << error;
  std::unique_ptr<Notifier> notifier;
  ASSERT_TRUE(Notifier::Create(FastRetries(alertmanager->url()), &notifier).ok());
  AlertmanagerAlert invalid = FiringAlert("x", WallMs());
  invalid.labels = {};  // Alertmanager answers 400: an alert needs labels
  notifier->Send({invalid});
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (notifier->stats()[0].dropped == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  AlertmanagerStats stats = notifier->stats()[0];
  EXPECT_EQ(stats.dropped, 1u);
  EXPECT_EQ(stats.errors, 1u) << "one attempt only";
  EXPECT_EQ(stats.queue_length, 0u);
}

TEST(NotifierTest, AFullQueueDropsItsOldestAlertsAndCountsThem) {
  NotifierOptions options = FastRetries("http://127.0.0.1:" + std::to_string(FreeLoopbackPort()));
  options.queue_capacity = 3;
  std::unique_ptr<Notifier> notifier;
  ASSERT_TRUE(Notifier::Create(options, &notifier).ok());
  int64_t now = WallMs();
  notifier->Send({FiringAlert("a", now), FiringAlert("b", now), FiringAlert("c", now),
                  FiringAlert("d", now), FiringAlert("e", now)});
  AlertmanagerStats stats = notifier->stats()[0];
  EXPECT_EQ(stats.dropped, 2u);
  EXPECT_EQ(stats.queue_length, 3u);

  bool counted = false;
  for (const auto& family : notifier->CollectMetrics()) {
    if (family.name != "txmon_notifications_dropped_total") continue;
    ASSERT_EQ(family.metric.size(), 1u);
    EXPECT_EQ(family.metric[0].label.at(0).name, "alertmanager");
    EXPECT_EQ(family.metric[0].counter.value, 2);
    counted = true;
  }
  EXPECT_TRUE(counted);
}

TEST(NotifierTest, RefusesUrlsThatAreNotHttp) {
  NotifierOptions options;
  options.alertmanager_urls = {"127.0.0.1:9093"};
  std::unique_ptr<Notifier> notifier;
  Status s = Notifier::Create(options, &notifier);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("want http:// or https://"), std::string::npos) << s.message();
}

// The whole path: a rule fires, evaluation enqueues, the notifier posts,
// Alertmanager routes it to the webhook.
TEST(NotifierTest, AFiringRuleReachesTheWebhook) {
  WebhookReceiver webhook;
  std::string error;
  auto alertmanager =
      AlertmanagerServer::Start(FreeLoopbackPort(), QuickRoutingConfig(webhook.url()), &error);
  ASSERT_TRUE(alertmanager) << error;
  std::unique_ptr<Notifier> notifier;
  ASSERT_TRUE(Notifier::Create(FastRetries(alertmanager->url()), &notifier).ok());

  std::vector<RuleGroupSpec> groups;
  ASSERT_TRUE(ParseRuleFile(R"yaml(groups:
  - name: g
    interval: 250ms
    rules:
      - alert: TxmonRuleToWebhook
        expr: vector(42)
        labels: {severity: chat}
        annotations: {summary: "value is {{ $value }}"}
)yaml",
                            "notify.yml", &groups)
                  .ok());
  RuleManagerOptions options;
  options.external_url = "http://txmon.example:9464";
  options.notify = [&](std::vector<AlertmanagerAlert> alerts) {
    notifier->Send(std::move(alerts));
  };
  std::unique_ptr<RuleManager> rules;
  ASSERT_TRUE(RuleManager::Create(options, std::move(groups), nullptr, &rules).ok());
  rules->Start();
  std::string body =
      webhook.WaitFor({"\"alertname\":\"TxmonRuleToWebhook\"", "\"summary\":\"value is 42\"",
                       "http://txmon.example:9464/graph?g0.expr=vector%2842%29"},
                      20s);
  rules->Stop();
  EXPECT_FALSE(body.empty()) << webhook.All();
}

}  // namespace
}  // namespace txmon::test
