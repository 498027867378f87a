// Parity of the shop dashboard with Prometheus, through query_range: the
// simulated shop streams into the agent, a real Prometheus scrapes the
// agent every second, and every panel query of the shop dashboard
// (grafana/dashboards/shop-realtime.json, Grafana's variables as
// tests/grafana_dashboards_test gives them: `.*` for the dashboard's own,
// 1m for $__rate_interval and $__interval) is asked of both as the same
// range query: the last minute at a 1 s step, ending a few seconds back so
// both sides have recorded it.
//
// Tolerance, per point: 15% of the larger value or 0.05 absolute, or, if
// larger, how far the agent's own answer moves to the steps either side.
// Why: both sides sample the same store on 1 s grids up to 1 s apart (the
// agent's history at its sampling tick, Prometheus at its scrape), and
// Prometheus is started first, its target failing until the agent listens,
// so its first scrape comes within a second of the agent's start. Each
// window's first and last samples may therefore be up to 1 s of change away
// from the other side's: for the 1 m windows that is 2/60 ≈ 3% of the value
// plus the burstiness of a second of orders (40/s × 30 simulated: a few
// orders a second per series, ±1 of which is 10-30% of a second's share);
// ratios (average order value, conversion) and histogram_quantile's
// interpolation within a bucket move no more than their inputs; hence 15%.
// A sparse counter (refunds of one reason: one event every few seconds)
// takes in or leaves out a whole event at a window end when the grids are
// out of phase, far more than 15% of a small increase; that is exactly what
// the agent's answer does one step earlier or later, the second term. The
// 5 m and 1 h windows are longer than the run, so both reach back to their
// first samples, which the start order keeps within a second of each other.
// A real disagreement (a missed reset, a wrong extrapolation, a label
// matched wrongly, a quantile in the wrong bucket) moves every step, not
// one step's worth: the test also checks that a 30% error in the agent's
// answers would fail most points, so it can fail.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/dashboard_queries.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/live_shop.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

// labels (no job/instance) -> time in ms -> value
using RangeResult = std::map<std::string, std::map<int64_t, double>>;

bool ParseValue(simdjson::dom::element element, double* out) {
  std::string_view text;
  if (element.get_string().get(text) != simdjson::SUCCESS) return false;
  const std::string value(text);
  if (value == "NaN")
    *out = NAN;
  else if (value == "+Inf")
    *out = INFINITY;
  else if (value == "-Inf")
    *out = -INFINITY;
  else
    *out = std::stod(value);
  return true;
}

// query_range against any server with Prometheus' HTTP API.
bool QueryRange(const std::string& base_url, const std::string& expr, int64_t start_s,
                int64_t end_s, RangeResult* out, std::string* error) {
  out->clear();
  HttpResponse response =
      HttpGet(base_url + "/api/v1/query_range?query=" + UrlEncode(expr) +
              "&start=" + std::to_string(start_s) + "&end=" + std::to_string(end_s) + "&step=1");
  simdjson::dom::parser parser;
  simdjson::dom::element document;
  std::string_view status;
  if (response.status != 200 || parser.parse(response.body).get(document) != simdjson::SUCCESS ||
      document["status"].get_string().get(status) != simdjson::SUCCESS || status != "success") {
    *error = base_url + ": " + expr + ": status " + std::to_string(response.status) + " " +
             response.error + " " + response.body.substr(0, 300);
    return false;
  }
  simdjson::dom::array result;
  if (document["data"]["result"].get_array().get(result) != simdjson::SUCCESS) {
    *error = base_url + ": " + expr + ": no result array";
    return false;
  }
  for (simdjson::dom::element series : result) {
    std::string key;
    simdjson::dom::object metric;
    if (series["metric"].get_object().get(metric) != simdjson::SUCCESS) return false;
    std::map<std::string, std::string> labels;
    for (auto [name, value] : metric) {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) return false;
      labels[std::string(name)] = std::string(text);
    }
    for (const auto& [name, value] : labels) {
      if (name != "job" && name != "instance") key += name + "=" + value + ",";
    }
    simdjson::dom::array values;
    if (series["values"].get_array().get(values) != simdjson::SUCCESS) return false;
    for (simdjson::dom::element point : values) {
      double time = 0, value = 0;
      if (point.at(0).get_double().get(time) != simdjson::SUCCESS ||
          !ParseValue(point.at(1), &value)) {
        return false;
      }
      (*out)[key][std::llround(time * 1000)] = value;
    }
  }
  return true;
}

// `a` the agent's answer at a step, `p` Prometheus'; `spread` how far the
// agent's own answer moves to the steps either side.
bool Close(double a, double p, double spread) {
  if (std::isnan(a) || std::isnan(p)) return std::isnan(a) && std::isnan(p);
  if (std::isinf(a) || std::isinf(p)) return a == p;
  return std::fabs(a - p) <= std::max({0.05, 0.15 * std::max(std::fabs(a), std::fabs(p)), spread});
}

// How far the agent's answer at `time_ms` is from its answers one step
// before and after (0 where those are missing or not finite).
double Spread(const std::map<int64_t, double>& points, int64_t time_ms) {
  const double here = points.at(time_ms);
  double out = 0;
  for (int64_t neighbour : {time_ms - 1000, time_ms + 1000}) {
    auto it = points.find(neighbour);
    if (it != points.end() && std::isfinite(it->second) && std::isfinite(here)) {
      out = std::max(out, std::fabs(it->second - here));
    }
  }
  return out;
}

// Every panel query of the dashboard, Grafana's variables substituted.
std::vector<std::string> DashboardQueries(const std::string& path) {
  const std::map<std::string, std::string> variables = {{"__rate_interval", "1m"},
                                                        {"__interval", "1m"}};
  std::vector<std::string> out;
  for (const DashboardTarget& target : ReadDashboardTargets(path)) {
    std::string substituted = SubstituteGrafanaVariables(target.expr, variables);
    if (std::find(out.begin(), out.end(), substituted) == out.end()) {
      out.push_back(std::move(substituted));
    }
  }
  return out;
}

TEST(DashboardPrometheusParityTest, ShopDashboardRangeQueriesAgreeWithPrometheus) {
  const std::vector<std::string> queries =
      DashboardQueries(std::string(TXMON_SOURCE_DIR) + "/grafana/dashboards/shop-realtime.json");
  ASSERT_GE(queries.size(), 15u);

  std::string error;
  // Prometheus first, its target (the agent's port) already failing, so
  // its first successful scrape comes within a second of the agent's start:
  // both sides then hold every series from (nearly) its first second.
  const int port = FreeLoopbackPort();
  const std::string target = "127.0.0.1:" + std::to_string(port);
  PrometheusOptions prometheus_options;
  prometheus_options.targets = {target};
  auto prometheus = PrometheusServer::Start(prometheus_options, &error);
  ASSERT_TRUE(prometheus) << error;
  const auto attempted_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (HttpGet(prometheus->url() + "/api/v1/targets").body.find("\"lastScrape\":\"0001-") !=
         std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), attempted_by)
        << "Prometheus never tried its target";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  DemoShopOptions shop_options;
  shop_options.simulator.orders_per_second = 40;
  shop_options.simulator.time_scale = 30;
  auto live = LiveShop::Create(shop_options, &error);
  ASSERT_NE(live, nullptr) << error;
  // The shop creates its topic: before any consumer asks for it, or the
  // broker would create it with its default partition count.
  ASSERT_TRUE(live->shop().Start().ok());
  AgentOptions options = live->AgentOptionsFor("dashboard-parity");
  options.web_listen_address = target;
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_TRUE(agent) << error;
  // 150 scrapes: the compared minute's 1 m windows are full on both sides,
  // and the longer windows reach back over 150 s.
  ASSERT_TRUE(prometheus->WaitForScrapes(target, 150, std::chrono::seconds(240), &error)) << error;

  const int64_t end_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() -
                        5;
  const int64_t start_s = end_s - 60;
  int compared_points = 0, with_data = 0, sizeable_points = 0, caught_by_tolerance = 0;
  double worst = 0;
  std::string worst_where;
  for (const std::string& expr : queries) {
    RangeResult from_agent, from_prometheus;
    ASSERT_TRUE(QueryRange(agent->url(""), expr, start_s, end_s, &from_agent, &error)) << error;
    ASSERT_TRUE(QueryRange(prometheus->url(), expr, start_s, end_s, &from_prometheus, &error))
        << error;
    std::set<std::string> keys;
    for (const auto& [key, points] : from_agent) keys.insert(key);
    for (const auto& [key, points] : from_prometheus) keys.insert(key);
    for (const std::string& key : keys) {
      ASSERT_TRUE(from_agent.count(key) && from_prometheus.count(key))
          << expr << "\n  series {" << key << "} only in "
          << (from_agent.count(key) ? "txmon" : "Prometheus");
      const auto& a = from_agent[key];
      const auto& p = from_prometheus[key];
      // Both answer every step of the minute (the series exist throughout).
      EXPECT_EQ(a.size(), p.size()) << expr << " {" << key << "}";
      for (const auto& [time_ms, value] : a) {
        auto other = p.find(time_ms);
        if (other == p.end()) continue;
        ++compared_points;
        const double relative =
            std::fabs(value - other->second) /
            std::max(1e-9, std::max(std::fabs(value), std::fabs(other->second)));
        if (std::isfinite(relative) && relative > worst) {
          worst = relative;
          worst_where = expr + " {" + key + "} at " + std::to_string(time_ms);
        }
        const double spread = Spread(a, time_ms);
        if (std::isfinite(value) && std::fabs(value) > 0.5 &&
            !Close(value * 1.3, other->second, spread)) {
          ++caught_by_tolerance;
        }
        if (std::isfinite(value) && std::fabs(value) > 0.5) ++sizeable_points;
        EXPECT_TRUE(Close(value, other->second, spread))
            << expr << "\n  {" << key << "} at " << time_ms << ": txmon " << value
            << ", Prometheus " << other->second << " (spread to the next steps " << spread << ")";
      }
    }
    with_data += keys.empty() ? 0 : 1;
  }
  printf("%zu queries, %d with data, %d points compared; largest relative difference %.4f (%s)\n",
         queries.size(), with_data, compared_points, worst, worst_where.c_str());
  EXPECT_GE(with_data, 15) << "too few queries returned data to mean anything";
  EXPECT_GE(compared_points, 15 * 61);
  // The tolerance is tight enough to mean something: the agent's answers
  // off by 30% would fail most of the points not near zero.
  printf("an agent 30%% off would fail %d of %d points above 0.5\n", caught_by_tolerance,
         sizeable_points);
  EXPECT_GT(caught_by_tolerance, sizeable_points * 3 / 4);
  live->shop().Stop();
}

}  // namespace
}  // namespace txmon::test
