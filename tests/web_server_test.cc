#include "agent/web/web_server.h"

#include <civetweb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "tests/support/http_client.h"
#include "tests/support/metrics_text.h"

namespace txmon {
namespace {

using test::HttpGet;
using test::HttpPost;
using test::Labels;
using test::MetricsText;

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::unique_ptr<WebServer> StartOrFail(WebServerOptions options) {
  std::unique_ptr<WebServer> server;
  Status status = WebServer::Start(std::move(options), &server);
  EXPECT_TRUE(status.ok()) << status.message();
  return server;
}

std::unique_ptr<WebServer> StartOnLoopback() {
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  return StartOrFail(std::move(options));
}

std::string Url(const WebServer& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

// A shop-like registry: a counter, a gauge and a histogram with known values.
std::shared_ptr<prometheus::Registry> ShopRegistry() {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& orders = prometheus::BuildCounter()
                     .Name("shop_orders_created_total")
                     .Help("Orders created.")
                     .Register(*registry);
  orders.Add({{"channel", "app"}, {"province", "Beijing"}}).Increment(3);
  orders.Add({{"channel", "web"}, {"province", "Beijing"}}).Increment(2);
  prometheus::BuildGauge()
      .Name("shop_orders_open")
      .Help("Orders not yet paid.")
      .Register(*registry)
      .Add({})
      .Set(7);
  auto& amounts = prometheus::BuildHistogram()
                      .Name("shop_order_amount_yuan")
                      .Help("Order amounts.")
                      .Register(*registry)
                      .Add({}, prometheus::Histogram::BucketBoundaries{10, 100});
  amounts.Observe(5);
  amounts.Observe(50);
  amounts.Observe(500);
  return registry;
}

TEST(WebServerTest, HealthyAnswers200) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  test::HttpResponse response = HttpGet(Url(*server, "/-/healthy"));
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.body, "Healthy");
}

TEST(WebServerTest, ReadyFollowsTheCallback) {
  std::atomic<bool> ready{false};
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.ready = [&ready] { return ready.load(); };
  auto server = StartOrFail(std::move(options));
  ASSERT_NE(server, nullptr);

  test::HttpResponse before = HttpGet(Url(*server, "/-/ready"));
  EXPECT_EQ(before.status, 503);
  EXPECT_EQ(before.body, "Not ready");
  ready = true;
  test::HttpResponse after = HttpGet(Url(*server, "/-/ready"));
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "Ready");
}

TEST(WebServerTest, ReadyWithoutCallbackIsReady) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(HttpGet(Url(*server, "/-/ready")).status, 200);
}

TEST(WebServerTest, MetricsServesTheCollectedFamilies) {
  auto registry = ShopRegistry();
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.collect_metrics = [registry] { return registry->Collect(); };
  auto server = StartOrFail(std::move(options));
  ASSERT_NE(server, nullptr);

  test::HttpResponse response = HttpGet(Url(*server, "/metrics"));
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.content_type, kMetricsContentType);
  EXPECT_NE(response.body.find("# TYPE shop_orders_created_total counter"), std::string::npos);
  EXPECT_NE(response.body.find("# HELP shop_orders_open Orders not yet paid."), std::string::npos);

  MetricsText metrics = MetricsText::Parse(response.body);
  EXPECT_EQ(
      metrics.Value("shop_orders_created_total", {{"channel", "app"}, {"province", "Beijing"}}), 3);
  EXPECT_EQ(metrics.Sum("shop_orders_created_total", {{"province", "Beijing"}}), 5);
  EXPECT_EQ(metrics.Value("shop_orders_open"), 7);
  EXPECT_EQ(metrics.Value("shop_order_amount_yuan_bucket", {{"le", "10"}}), 1);
  EXPECT_EQ(metrics.Value("shop_order_amount_yuan_bucket", {{"le", "100"}}), 2);
  EXPECT_EQ(metrics.Value("shop_order_amount_yuan_bucket", {{"le", "+Inf"}}), 3);
  EXPECT_EQ(metrics.Value("shop_order_amount_yuan_count"), 3);
  EXPECT_EQ(metrics.Value("shop_order_amount_yuan_sum"), 555);
}

TEST(WebServerTest, SelfMetricsCountRequestsByHandlerAndCode) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  HttpGet(Url(*server, "/-/healthy"));
  HttpGet(Url(*server, "/-/healthy"));
  HttpGet(Url(*server, "/no/such/page"));

  MetricsText metrics = MetricsText::Fetch(Url(*server, "/metrics"));
  EXPECT_EQ(
      metrics.Value("txmon_http_requests_total", {{"handler", "/-/healthy"}, {"code", "200"}}), 2);
  EXPECT_EQ(metrics.Value("txmon_http_requests_total", {{"handler", "other"}, {"code", "404"}}), 1);
  EXPECT_EQ(metrics.Value("txmon_http_request_duration_seconds_count", {{"handler", "/-/healthy"}}),
            2);
  // The scrape itself is recorded once it has been answered.
  MetricsText second = MetricsText::Fetch(Url(*server, "/metrics"));
  EXPECT_EQ(second.Value("txmon_http_requests_total", {{"handler", "/metrics"}, {"code", "200"}}),
            1);
  EXPECT_EQ(second.Value("txmon_http_request_duration_seconds_count", {{"handler", "/metrics"}}),
            1);
  EXPECT_FALSE(server->CollectSelfMetrics().empty());
}

TEST(WebServerTest, UnknownPathIs404) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(HttpGet(Url(*server, "/")).status, 404);
  EXPECT_EQ(HttpGet(Url(*server, "/nope")).status, 404);
  // Patterns without a trailing slash match only themselves.
  EXPECT_EQ(HttpGet(Url(*server, "/metrics/extra")).status, 404);
}

TEST(WebServerTest, BuiltInRoutesAllowOnlyGetAndHead) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  test::HttpResponse post = HttpPost(Url(*server, "/metrics"), "x", "text/plain");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
  test::HttpResponse head = test::HttpSend("HEAD", Url(*server, "/-/healthy"), "", "");
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.body, "");
}

TEST(WebServerTest, HandlerSeesTheRequestAndShapesTheResponse) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  HttpRequest seen;
  server->Handle("/api/v1/echo", [&seen](const HttpRequest& request) {
    seen = request;
    HttpResponse response;
    response.status = 201;
    response.content_type = "application/json";
    response.body = "{\"ok\":true}";
    response.headers.emplace_back("X-Txmon-Test", "yes");
    return response;
  });
  test::HttpClientOptions client;
  client.headers = {"X-Request-Id: 42"};
  test::HttpResponse response = HttpPost(Url(*server, "/api/v1/echo?a=1&expr=up%20%3D%3D%201"),
                                         "payload", "text/plain", client);
  EXPECT_EQ(response.status, 201) << response.error;
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, "{\"ok\":true}");
  EXPECT_EQ(response.headers["x-txmon-test"], "yes");

  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/api/v1/echo");
  EXPECT_EQ(seen.query, "a=1&expr=up%20%3D%3D%201");
  EXPECT_EQ(seen.body, "payload");
  EXPECT_EQ(seen.Header("x-request-id"), "42");
  EXPECT_EQ(seen.QueryParameter("expr"), "up == 1");
  EXPECT_EQ(seen.QueryParameter("missing"), std::nullopt);
}

TEST(WebServerTest, SubtreePatternsMatchAndTheLongestWins) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  server->Handle("/api/", [](const HttpRequest&) { return HttpResponse::Text(200, "api"); });
  server->Handle("/api/v1/rules/",
                 [](const HttpRequest& request) { return HttpResponse::Text(200, request.path); });
  EXPECT_EQ(HttpGet(Url(*server, "/api/v1/rules/orders")).body, "/api/v1/rules/orders");
  EXPECT_EQ(HttpGet(Url(*server, "/api/v1/status")).body, "api");
  EXPECT_EQ(HttpGet(Url(*server, "/apix")).status, 404);

  MetricsText metrics = MetricsText::Fetch(Url(*server, "/metrics"));
  EXPECT_EQ(
      metrics.Value("txmon_http_requests_total", {{"handler", "/api/v1/rules/"}, {"code", "200"}}),
      1);
}

TEST(WebServerTest, HandlerExceptionIs500) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  server->Handle("/boom",
                 [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  EXPECT_EQ(HttpGet(Url(*server, "/boom")).status, 500);
  EXPECT_EQ(HttpGet(Url(*server, "/-/healthy")).status, 200);
}

TEST(WebServerTest, OversizedBodyIs413) {
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.max_request_body_bytes = 16;
  auto server = StartOrFail(std::move(options));
  ASSERT_NE(server, nullptr);
  std::atomic<int> calls{0};
  server->Handle("/upload", [&calls](const HttpRequest&) {
    ++calls;
    return HttpResponse::Text(200, "ok");
  });
  EXPECT_EQ(HttpPost(Url(*server, "/upload"), std::string(17, 'x'), "text/plain").status, 413);
  EXPECT_EQ(HttpPost(Url(*server, "/upload"), std::string(16, 'x'), "text/plain").status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(WebServerTest, PortZeroReportsTheBoundPort) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(HttpGet(Url(*server, "/-/healthy")).status, 200);
}

TEST(WebServerTest, AllInterfacesAddressServesLoopback) {
  WebServerOptions options;
  options.listen_address = ":0";
  auto server = StartOrFail(std::move(options));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->address(), ":" + std::to_string(server->port()));
  EXPECT_EQ(HttpGet(Url(*server, "/-/healthy")).status, 200);
}

TEST(WebServerTest, PortTakenGivesAClearError) {
  auto first = StartOnLoopback();
  ASSERT_NE(first, nullptr);
  WebServerOptions options;
  options.listen_address = "127.0.0.1:" + std::to_string(first->port());
  std::unique_ptr<WebServer> second;
  const std::string error = WebServer::Start(options, &second).message();
  EXPECT_EQ(second, nullptr);
  EXPECT_EQ(error, "listen " + options.listen_address + ": address in use");
}

TEST(WebServerTest, MalformedAddressesAreRejected) {
  for (const char* address : {"9464", "127.0.0.1:", "127.0.0.1:65536", "::1:9464", "[::1:9464"}) {
    WebServerOptions options;
    options.listen_address = address;
    std::unique_ptr<WebServer> server;
    const std::string error = WebServer::Start(options, &server).message();
    EXPECT_EQ(server, nullptr) << address;
    EXPECT_EQ(error, "listen " + std::string(address) + ": invalid address, want [host]:port");
  }
}

TEST(WebServerTest, Ipv6AddressServesOrExplainsWhyNot) {
  WebServerOptions options;
  options.listen_address = "[::1]:0";
  std::unique_ptr<WebServer> server;
  const std::string error = WebServer::Start(options, &server).message();
  if (mg_check_feature(MG_FEATURES_IPV6) != 0) {
    ASSERT_NE(server, nullptr) << error;
    EXPECT_EQ(HttpGet("http://[::1]:" + std::to_string(server->port()) + "/-/healthy").status, 200);
  } else {
    EXPECT_EQ(server, nullptr);
    EXPECT_EQ(error, "listen [::1]:0: IPv6 is not supported by the installed CivetWeb");
  }
}

TEST(WebServerTest, StopClosesThePort) {
  auto server = StartOnLoopback();
  ASSERT_NE(server, nullptr);
  std::string url = Url(*server, "/-/healthy");
  server->Stop();
  server->Stop();  // idempotent
  test::HttpResponse response = HttpGet(url);
  EXPECT_EQ(response.status, 0);
  EXPECT_FALSE(response.error.empty());
}

TEST(WebServerTest, ServesConcurrentRequests) {
  auto registry = ShopRegistry();
  std::atomic<int> collections{0};
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.threads = 4;
  options.collect_metrics = [&] {
    ++collections;
    return registry->Collect();
  };
  auto server = StartOrFail(std::move(options));
  ASSERT_NE(server, nullptr);

  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 25;
  std::atomic<int> successes{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        bool scrape = (t + i) % 2 == 0;
        test::HttpResponse response = HttpGet(Url(*server, scrape ? "/metrics" : "/-/healthy"));
        bool ok = response.status == 200 &&
                  (!scrape || response.body.find("shop_orders_open 7") != std::string::npos);
        if (ok) ++successes;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(successes.load(), kThreads * kRequestsPerThread);

  MetricsText metrics = MetricsText::Fetch(Url(*server, "/metrics"));
  EXPECT_EQ(metrics.Sum("txmon_http_requests_total"), kThreads * kRequestsPerThread);
  // Concurrent scrapes share renderings (CoalescedRender): never more
  // collections than scrapes, the last one included.
  const double scrapes =
      metrics.Value("txmon_http_requests_total", {{"handler", "/metrics"}, {"code", "200"}});
  EXPECT_EQ(scrapes, kThreads * kRequestsPerThread / 2);
  EXPECT_GE(collections.load(), 2);
  EXPECT_LE(collections.load(), scrapes + 1);
}

}  // namespace
}  // namespace txmon

namespace txmon {
namespace {

// Handlers run on workers niced by worker_nice, so the pipeline thread wins
// the CPU when scrapes and ingest compete.
TEST(WebServerTest, WorkersRunAtTheConfiguredNiceValue) {
  errno = 0;
  const int own = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  ASSERT_EQ(errno, 0);
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.worker_nice = 7;
  auto server = StartOrFail(std::move(options));
  ASSERT_NE(server, nullptr);
  server->Handle("/nice", [](const HttpRequest&) {
    return HttpResponse::Text(200, std::to_string(getpriority(PRIO_PROCESS, gettid())));
  });
  test::HttpResponse response = HttpGet(Url(*server, "/nice"));
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.body, std::to_string(std::min(own + 7, 19)));
}

}  // namespace
}  // namespace txmon
