// An incident end to end: the simulated shop (real time, into the embedded
// Kafka) has a payment outage; the agent's rules see it within a second and
// send the alert to a real Alertmanager, which routes it to a webhook run by
// this test; after the outage the resolved notification arrives too.
// Prints the time from the outage's start (its first failed payment is
// committed then) to the firing notification at the webhook.
#include <gtest/gtest.h>

#include "agent/base/civil_time.h"
#include "tests/alertmanager_server.h"
#include "tests/support/free_port.h"
#include "tests/support/live_shop.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

TEST(AlertIncidentTest, PaymentOutageReachesTheWebhookThroughAlertmanager) {
  WebhookReceiver webhook;
  std::string error;
  auto alertmanager =
      AlertmanagerServer::Start(FreeLoopbackPort(), QuickRoutingConfig(webhook.url()), &error);
  ASSERT_TRUE(alertmanager) << error;

  DemoShopOptions shop_options;
  shop_options.simulator.orders_per_second = 60;
  shop_options.simulator.time_scale = 30;  // payments a second or two after checkout
  shop_options.simulator.payment_outage_start_ms = 12'000;
  shop_options.simulator.payment_outage_duration_ms = 6'000;
  auto live = LiveShop::Create(shop_options, &error);
  ASSERT_NE(live, nullptr) << error;
  // The shop creates its topic: before any consumer asks for it, or the
  // broker would create it with its default partition count.
  ASSERT_TRUE(live->shop().Start().ok());
  const int64_t outage_start_ms = WallMs() + shop_options.simulator.payment_outage_start_ms;

  AgentOptions options = live->AgentOptionsFor("incident");
  options.config.rule_files = {std::string(TXMON_SOURCE_DIR) +
                               "/tests/data/rules/payment_outage.yml"};
  options.config.evaluation_interval_ms = 250;
  options.config.alertmanager_urls = {alertmanager->url()};
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_TRUE(agent) << error;

  std::string firing =
      webhook.WaitFor({"\"status\":\"firing\"", "PaymentOutage"}, std::chrono::seconds(40));
  const int64_t fired_ms = WallMs();
  ASSERT_FALSE(firing.empty()) << "no firing alert; webhook got: " << webhook.All();
  EXPECT_GE(fired_ms, outage_start_ms) << "fired before the outage began: " << firing;
  EXPECT_NE(firing.find("\"severity\":\"page\""), std::string::npos) << firing;
  EXPECT_NE(firing.find("of payment attempts fail"), std::string::npos) << firing;
  printf(
      "payment outage -> firing notification at the webhook: %lld ms "
      "(evaluation every 250 ms, 1 s rule window, Alertmanager group_wait 100 ms)\n",
      static_cast<long long>(fired_ms - outage_start_ms));

  std::string resolved =
      webhook.WaitFor({"\"status\":\"resolved\"", "PaymentOutage"}, std::chrono::seconds(60));
  EXPECT_FALSE(resolved.empty()) << "no resolved notification; webhook got: " << webhook.All();
  live->shop().Stop();
}

}  // namespace
}  // namespace txmon::test
