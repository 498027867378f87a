// The shipped alertmanager/alertmanager.yml: amtool accepts it, severity
// routes to the right receivers, and in a real Alertmanager a pipeline-down
// alert inhibits the business alerts (and only those). For the live test the
// receivers are pointed at a local webhook: the shipped placeholders must
// never be contacted from a test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "agent/notify/notifier.h"
#include "tests/alertmanager_server.h"

namespace txmon::test {
namespace {

using namespace std::chrono_literals;

const std::string kShippedConfig = std::string(TXMON_SOURCE_DIR) + "/alertmanager/alertmanager.yml";
constexpr const char* kAmtool = "/usr/bin/amtool";

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunAmtool(const std::vector<std::string>& args) {
  EXPECT_EQ(access(kAmtool, X_OK), 0)
      << kAmtool << " is missing: install the Debian package \"prometheus-alertmanager\"";
  // Per process: ctest runs this binary's tests in parallel processes.
  std::string prefix = ::testing::TempDir() + "amtool-" + std::to_string(getpid());
  ProcessOptions options;
  options.binary = kAmtool;
  options.args = args;
  options.stdout_path = prefix + ".stdout";
  options.stderr_path = prefix + ".stderr";
  std::string error;
  auto process = Process::Start(options, &error);
  if (!process) return {-1, error};
  std::optional<int> code = process->Wait(30s);
  return {code.value_or(-1), process->Stdout() + process->Stderr()};
}

std::string Receivers(const std::string& labels) {
  std::vector<std::string> args = {"config", "routes", "test", "--config.file=" + kShippedConfig};
  std::istringstream words(labels);
  std::string word;
  while (words >> word) args.push_back(word);
  CommandResult result = RunAmtool(args);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output.substr(0, result.output.find('\n'));
}

TEST(AlertmanagerConfigTest, AmtoolAcceptsTheShippedConfig) {
  CommandResult result = RunAmtool({"check-config", kShippedConfig});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("SUCCESS"), std::string::npos) << result.output;
}

TEST(AlertmanagerConfigTest, RoutesBySeverity) {
  EXPECT_EQ(Receivers("alertname=ShopNoOrders severity=page category=business"), "pager,chat");
  EXPECT_EQ(Receivers("alertname=ShopLargeOrder severity=chat category=business"), "chat");
  EXPECT_EQ(Receivers("alertname=Unlabelled"), "chat");
}

// The shipped config with each receiver replaced by a webhook to `webhook`.
std::string WithLocalReceivers(const WebhookReceiver& webhook) {
  YAML::Node config = YAML::LoadFile(kShippedConfig);
  YAML::Node receivers(YAML::NodeType::Sequence);
  for (const YAML::Node& receiver : config["receivers"]) {
    std::string name = receiver["name"].as<std::string>();
    YAML::Node local;
    local["name"] = name;
    YAML::Node hook;
    hook["url"] = webhook.url("/" + name);
    hook["send_resolved"] = true;
    local["webhook_configs"].push_back(hook);
    receivers.push_back(local);
  }
  config["receivers"] = receivers;
  YAML::Emitter out;
  out << config;
  return out.c_str();
}

AlertmanagerAlert Firing(const std::string& name, const std::string& severity,
                         const std::string& category) {
  AlertmanagerAlert alert;
  alert.labels = {{"alertname", name}, {"category", category}, {"severity", severity}};
  alert.annotations = {{"summary", name}};
  alert.starts_at_ms = WallMs();
  alert.ends_at_ms = alert.starts_at_ms + 4 * 60'000;
  return alert;
}

TEST(AlertmanagerConfigTest, SourceDownInhibitsBusinessAlertsOnly) {
  WebhookReceiver webhook;
  std::string error;
  auto alertmanager =
      AlertmanagerServer::Start(FreeLoopbackPort(), WithLocalReceivers(webhook), &error);
  ASSERT_TRUE(alertmanager) << error;
  NotifierOptions options;
  options.alertmanager_urls = {alertmanager->url()};
  std::unique_ptr<Notifier> notifier;
  ASSERT_TRUE(Notifier::Create(options, &notifier).ok());
  notifier->Send({Firing("TxmonSourceDown", "page", "pipeline"),
                  Firing("ShopNoOrders", "page", "business"),
                  Firing("TxmonConsumerLagGrowing", "chat", "pipeline")});

  // Alertmanager's API reports each alert's inhibition.
  std::string listed;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    listed = HttpGet(alertmanager->url() + "/api/v2/alerts").body;
    if (listed.find("TxmonConsumerLagGrowing") != std::string::npos &&
        listed.find("ShopNoOrders") != std::string::npos &&
        listed.find("TxmonSourceDown") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  auto state_of = [&](const std::string& alertname) {
    std::string body =
        HttpGet(alertmanager->url() + "/api/v2/alerts?filter=alertname%3D%22" + alertname + "%22")
            .body;
    size_t at = body.find("\"state\":\"");
    return at == std::string::npos ? body : body.substr(at + 9, body.find('"', at + 9) - at - 9);
  };
  EXPECT_EQ(state_of("ShopNoOrders"), "suppressed") << listed;
  EXPECT_EQ(state_of("TxmonSourceDown"), "active") << listed;
  EXPECT_EQ(state_of("TxmonConsumerLagGrowing"), "active") << listed;

  // The page reaches the pager receiver; the inhibited one reaches nobody.
  EXPECT_FALSE(webhook.WaitFor({"TxmonSourceDown"}, 20s, "/pager").empty()) << webhook.All();
  EXPECT_EQ(webhook.All().find("ShopNoOrders"), std::string::npos) << webhook.All();
}

}  // namespace
}  // namespace txmon::test
