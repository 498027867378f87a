// Proves the Prometheus harness end to end: a real Prometheus scrapes a
// WebServer and PromQL returns the value the WebServer serves.
#include "tests/support/prometheus_server.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "agent/web/web_server.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

using test::PrometheusOptions;
using test::PrometheusServer;
using test::PromSample;

constexpr std::chrono::milliseconds kScrapeInterval{200};
constexpr std::chrono::milliseconds kScrapeTimeout{30000};

TEST(PrometheusServerTest, QueriesACounterScrapedFromTheWebServer) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("shop_orders_created_total")
      .Help("Orders created.")
      .Register(*registry)
      .Add({{"channel", "app"}})
      .Increment(42);
  WebServerOptions web_options;
  web_options.listen_address = "127.0.0.1:0";
  web_options.collect_metrics = [registry] { return registry->Collect(); };
  std::unique_ptr<WebServer> web;
  Status status = WebServer::Start(web_options, &web);
  ASSERT_TRUE(status.ok()) << status.message();

  std::string error;
  PrometheusOptions options;
  options.targets = {web->address()};
  options.scrape_interval = kScrapeInterval;
  std::unique_ptr<PrometheusServer> prometheus = PrometheusServer::Start(options, &error);
  ASSERT_NE(prometheus, nullptr) << error;
  ASSERT_TRUE(prometheus->WaitForScrapes(web->address(), 2, kScrapeTimeout, &error)) << error;

  std::vector<PromSample> samples;
  ASSERT_TRUE(prometheus->Query("shop_orders_created_total", &samples, &error)) << error;
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].value, 42);
  EXPECT_EQ(samples[0].labels["channel"], "app");
  EXPECT_EQ(samples[0].labels["job"], "txmon");
  EXPECT_EQ(samples[0].labels["instance"], web->address());

  ASSERT_TRUE(prometheus->Query("sum(shop_orders_created_total) * 2", &samples, &error)) << error;
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].value, 84);
  EXPECT_TRUE(samples[0].labels.empty());

  ASSERT_TRUE(prometheus->Query("scalar(up)", &samples, &error)) << error;
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].value, 1);
}

TEST(PrometheusServerTest, ReportsPromQLErrors) {
  std::string error;
  std::unique_ptr<PrometheusServer> prometheus = PrometheusServer::Start({}, &error);
  ASSERT_NE(prometheus, nullptr) << error;
  std::vector<PromSample> samples;
  EXPECT_FALSE(prometheus->Query("sum(", &samples, &error));
  EXPECT_NE(error.find("parse error"), std::string::npos) << error;
}

TEST(PrometheusServerTest, ExplainsAMissingBinary) {
  PrometheusOptions options;
  options.binary = "/nonexistent/prometheus";
  std::string error;
  EXPECT_EQ(PrometheusServer::Start(options, &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/prometheus is missing"), std::string::npos) << error;
}

TEST(PrometheusServerTest, RemovesItsDirectoryAndStopsOnDestruction) {
  std::string error;
  std::unique_ptr<PrometheusServer> prometheus = PrometheusServer::Start({}, &error);
  ASSERT_NE(prometheus, nullptr) << error;
  std::string directory = prometheus->directory();
  std::string ready_url = prometheus->url() + "/-/ready";
  EXPECT_TRUE(std::filesystem::exists(directory));
  prometheus.reset();
  EXPECT_FALSE(std::filesystem::exists(directory));
  EXPECT_EQ(test::HttpGet(ready_url).status, 0);
}

}  // namespace
}  // namespace txmon
