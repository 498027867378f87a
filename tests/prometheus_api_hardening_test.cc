// The Prometheus HTTP API handlers' checks of what they are asked: a query
// time must be a finite number in Prometheus' range (NaN, infinities and
// ±1e20 are bad_data, never cast to an integer), and each endpoint answers
// only the methods Prometheus routes for it.
#include "agent/web/prometheus_api.h"

#include <gtest/gtest.h>

#include <memory>

namespace txmon {
namespace {

std::unique_ptr<RuleManager> NoRules() {
  std::unique_ptr<RuleManager> rules;
  Status s =
      RuleManager::Create(RuleManagerOptions{}, std::vector<RuleGroupSpec>{}, nullptr, &rules);
  EXPECT_TRUE(s.ok()) << s.message();
  return rules;
}

HttpRequest Request(std::string method, std::string query) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = "/api/v1/query";
  request.query = std::move(query);
  return request;
}

TEST(PrometheusApiHardeningTest, QueryTimeMustBeAFiniteTimeInPrometheusRange) {
  std::unique_ptr<RuleManager> rules = NoRules();
  HttpResponse ok =
      ServeQueryApi(PrometheusApi{rules.get(), nullptr, {}}, Request("GET", "query=1&time=100.5"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("[100.5,\"1\"]"), std::string::npos) << ok.body;
  for (const char* time : {"NaN", "nan", "Inf", "+Inf", "-Inf", "1e20", "-1e20", "1e300",
                           "9223372036854775807", "abc"}) {
    HttpResponse refused = ServeQueryApi(PrometheusApi{rules.get(), nullptr, {}},
                                         Request("GET", std::string("query=1&time=") + time));
    EXPECT_EQ(refused.status, 400) << time << ": " << refused.body;
    EXPECT_NE(refused.body.find("\"errorType\":\"bad_data\""), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find("invalid parameter \\\"time\\\": cannot parse"), std::string::npos)
        << refused.body;
  }
  // An empty time is "now", as in Prometheus; the ends of its range are
  // still times.
  EXPECT_EQ(ServeQueryApi(PrometheusApi{rules.get(), nullptr, {}}, Request("GET", "query=1&time="))
                .status,
            200);
  EXPECT_EQ(ServeQueryApi(PrometheusApi{rules.get(), nullptr, {}},
                          Request("GET", "query=1&time=-9223309901257974"))
                .status,
            200);
  EXPECT_EQ(ServeQueryApi(PrometheusApi{rules.get(), nullptr, {}},
                          Request("GET", "query=1&time=9223309901257973"))
                .status,
            200);
}

TEST(PrometheusApiHardeningTest, EndpointsAnswer405WithAllowToOtherMethods) {
  std::unique_ptr<RuleManager> rules = NoRules();
  struct Endpoint {
    HttpHandler handler;
    std::string allow;
    std::vector<std::string> served;
  };
  const std::vector<Endpoint> endpoints = {
      {[&](const HttpRequest& request) {
         return ServeQueryApi(PrometheusApi{rules.get(), nullptr, {}}, request);
       },
       "GET, HEAD, POST",
       {"GET", "HEAD", "POST"}},
      {RulesApiHandler(rules.get()), "GET, HEAD", {"GET", "HEAD"}},
      {AlertsApiHandler(rules.get()), "GET, HEAD", {"GET", "HEAD"}},
  };
  for (const Endpoint& endpoint : endpoints) {
    for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}) {
      HttpResponse response = endpoint.handler(Request(method, "query=1"));
      EXPECT_EQ(response.status, 405) << method;
      ASSERT_EQ(response.headers.size(), 1u) << method;
      EXPECT_EQ(response.headers[0].first, "Allow");
      EXPECT_EQ(response.headers[0].second, endpoint.allow);
    }
    for (const std::string& method : endpoint.served) {
      EXPECT_EQ(endpoint.handler(Request(method, "query=1")).status, 200) << method;
    }
  }
}

}  // namespace
}  // namespace txmon
