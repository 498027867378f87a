// A real Prometheus scrapes the agent over TLS with basic auth, configured
// the way an operator would: scheme https, the CA in tls_config, the user in
// basic_auth; PromQL then returns what the agent serves.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/config/web_config.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/running_agent.h"
#include "tests/support/tls_files.h"

namespace txmon::test {
namespace {

constexpr char kUser[] = "prometheus";
constexpr char kPassword[] = "scrape-me-securely";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WebTlsScrapeTest, PrometheusScrapesOverTlsWithBasicAuth) {
  std::string error;
  auto files = TlsFiles::Create(&error);
  ASSERT_NE(files, nullptr) << error;
  const std::string hash = TlsFiles::BcryptHash(kUser, kPassword, &error);
  ASSERT_FALSE(hash.empty()) << error;
  const std::string web_config =
      files->WriteFile("web.yml",
                       "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                       "basic_auth_users:\n  " +
                           std::string(kUser) + ": " + hash + "\n");

  const std::string stream = std::string(TXMON_SOURCE_DIR) + "/tests/golden/shop_lifecycle.jsonl";
  AgentOptions options;
  options.config = ShippedConfig();
  options.source_file = stream;
  Status loaded = LoadWebConfigFile(web_config, &options.web_security);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_NE(agent, nullptr) << error;
  const std::string target = "127.0.0.1:" + std::to_string(agent->agent().web_port());

  // What the agent itself serves, read with the same credentials.
  HttpClientOptions client;
  client.ca_file = files->ca_cert();
  client.user_password = std::string(kUser) + ":" + kPassword;
  const MetricsText expected = MetricsText::Parse(
      ReadFile(std::string(TXMON_SOURCE_DIR) + "/tests/golden/shop_lifecycle.golden"));
  MetricsText served;
  for (int attempt = 0; attempt < 200; ++attempt) {
    served = MetricsText::Parse(HttpGet("https://" + target + "/metrics", client).body);
    if (served.Sum("shop_orders_created_total") == expected.Sum("shop_orders_created_total")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(expected.Sum("shop_orders_created_total"), 0);
  ASSERT_EQ(served.Sum("shop_orders_created_total"), expected.Sum("shop_orders_created_total"));

  PrometheusOptions prometheus_options;
  prometheus_options.targets = {target};
  prometheus_options.scrape_interval = std::chrono::milliseconds(500);
  prometheus_options.job_config =
      "    scheme: https\n"
      "    tls_config:\n      ca_file: " +
      files->ca_cert() +
      "\n"
      "    basic_auth:\n      username: " +
      kUser + "\n      password: " + kPassword + "\n";
  auto prometheus = PrometheusServer::Start(prometheus_options, &error);
  ASSERT_NE(prometheus, nullptr) << error;
  ASSERT_TRUE(prometheus->WaitForScrapes(target, 2, std::chrono::seconds(60), &error)) << error;

  for (const char* metric : {"shop_orders_created_total", "shop_gmv_paid_total"}) {
    std::vector<PromSample> samples;
    ASSERT_TRUE(prometheus->Query(std::string("sum(") + metric + ")", &samples, &error)) << error;
    ASSERT_EQ(samples.size(), 1u) << metric;
    EXPECT_DOUBLE_EQ(samples[0].value, expected.Sum(metric)) << metric;
  }
}

}  // namespace
}  // namespace txmon::test
