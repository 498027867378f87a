// The agent's query API against a real Prometheus 2.42 on the same series:
// a fixed data set (counters with a reset, gauges, histogram buckets, a
// series with a gap longer than the lookback) at 1 s resolution goes into
// the agent's history and, through `promtool tsdb create-blocks-from
// openmetrics`, into Prometheus' TSDB. Then every query of the table below
// is asked of both through /api/v1/query (at several times) and
// /api/v1/query_range (two grids, one not aligned to the data), and the
// results must be identical: the same series, the same timestamps and
// bit-for-bit the same values (NaN equal to NaN). No tolerance: both read
// the very same samples, so any difference is a difference of engines.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/rules/rule_manager.h"
#include "agent/web/prometheus_api.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_server.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;

constexpr int kSeconds = 720;  // 12 minutes at 1 s

struct DataPoint {
  Labels labels;
  int64_t t_ms;
  double value;
};

// The data set, from `t0_ms` on. Deterministic.
std::vector<DataPoint> DataSet(int64_t t0_ms) {
  std::vector<DataPoint> out;
  const char* jobs[] = {"api", "web"};
  const char* instances[] = {"a:80", "b:80"};
  for (int j = 0; j < 2; ++j) {
    for (int k = 0; k < 2; ++k) {
      const int series = 2 * j + k;
      const Labels counter{
          {"__name__", "parity_requests_total"}, {"instance", instances[k]}, {"job", jobs[j]}};
      const Labels gauge{
          {"__name__", "parity_temperature_celsius"}, {"instance", instances[k]}, {"job", jobs[j]}};
      double total = 10 * series;
      for (int i = 0; i < kSeconds; ++i) {
        total += (i * 7 + series) % 5 + 0.25 * series;
        if (series == 1 && i == 300) total = 3;  // a counter reset
        out.push_back({counter, t0_ms + i * 1000, total});
        const double temperature =
            std::round((20 + 5 * std::sin(i / 30.0 + series) + 0.01 * (i % 13)) * 100) / 100;
        out.push_back({gauge, t0_ms + i * 1000, temperature});
      }
    }
  }
  const char* buckets[] = {"0.1", "0.5", "1", "+Inf"};
  for (int b = 0; b < 4; ++b) {
    const Labels bucket{{"__name__", "parity_latency_seconds_bucket"}, {"le", buckets[b]}};
    double count = 0;
    for (int i = 0; i < kSeconds; ++i) {
      count += (b + 1) * ((i % 3) + 1);
      out.push_back({bucket, t0_ms + i * 1000, count});
    }
  }
  // Silent for 6 minutes, more than the 5 m lookback.
  const Labels gap{{"__name__", "parity_gap"}, {"job", "api"}};
  for (int i = 0; i < kSeconds; ++i) {
    if (i < 200 || i >= 560) out.push_back({gap, t0_ms + i * 1000, 1.5 * i});
  }
  return out;
}

// The PromQL table: functions, aggregations, operators, subqueries, offset, @.
const char* const kQueries[] = {
    "parity_requests_total",
    "parity_requests_total{job=\"api\"}",
    "rate(parity_requests_total[1m])",
    "irate(parity_requests_total[30s])",
    "increase(parity_requests_total[2m])",
    "resets(parity_requests_total[10m])",
    "sum by (job) (rate(parity_requests_total[1m]))",
    "sum without (instance) (parity_requests_total)",
    "avg by (job) (parity_temperature_celsius)",
    "min(parity_temperature_celsius)",
    "max by (instance) (parity_temperature_celsius)",
    "count by (job) (parity_requests_total)",
    "topk(2, parity_temperature_celsius)",
    "bottomk(1, rate(parity_requests_total[1m]))",
    "max_over_time(parity_temperature_celsius[2m])",
    "min_over_time(parity_temperature_celsius[90s])",
    "avg_over_time(parity_temperature_celsius[1m])",
    "sum_over_time(parity_temperature_celsius[30s])",
    "count_over_time(parity_gap[10m])",
    "last_over_time(parity_gap[10m])",
    "quantile_over_time(0.9, parity_temperature_celsius[5m])",
    "stddev_over_time(parity_temperature_celsius[3m])",
    "stdvar_over_time(parity_temperature_celsius[3m])",
    "deriv(parity_temperature_celsius[2m])",
    "predict_linear(parity_temperature_celsius[2m], 60)",
    "delta(parity_temperature_celsius[1m])",
    "changes(parity_temperature_celsius[5m])",
    "histogram_quantile(0.95, sum by (le) (rate(parity_latency_seconds_bucket[1m])))",
    "histogram_quantile(0.5, rate(parity_latency_seconds_bucket[2m]))",
    "parity_gap",
    "absent(parity_gap)",
    "absent(nonexistent{job=\"x\"})",
    "parity_requests_total offset 2m",
    "rate(parity_requests_total[1m] offset 1m)",
    "parity_requests_total - parity_requests_total offset 1m",
    "parity_requests_total @ start()",
    "parity_requests_total @ end()",
    "rate(parity_requests_total[1m] @ end())",
    "parity_temperature_celsius - parity_temperature_celsius @ start()",
    "parity_requests_total @ end() offset 3m",
    "max_over_time(rate(parity_requests_total[1m])[5m:15s])",
    "max_over_time(rate(parity_requests_total[1m])[5m:15s] @ end())",
    "sum_over_time(parity_temperature_celsius[1m:10s] offset 30s)",
    "avg_over_time(sum by (job) (parity_temperature_celsius)[2m:7s])",
    "rate(parity_requests_total[1m]) > bool 2",
    "parity_temperature_celsius > 22",
    "sum by (job) (parity_requests_total) / on (job) sum by (job) (parity_temperature_celsius)",
    "parity_temperature_celsius * on (job, instance) group_left rate(parity_requests_total[1m])",
    "parity_requests_total and parity_temperature_celsius > 21",
    "parity_requests_total unless parity_temperature_celsius > 21",
    "parity_gap or parity_temperature_celsius{instance=\"a:80\"}",
    "label_replace(parity_requests_total, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "label_join(parity_requests_total, \"both\", \"-\", \"job\", \"instance\")",
    "round(parity_temperature_celsius, 0.5)",
    "abs(deriv(parity_temperature_celsius[1m]))",
    "sgn(deriv(parity_temperature_celsius[1m]))",
    "clamp_min(parity_temperature_celsius, 21)",
    "clamp_max(parity_temperature_celsius, 21)",
    "sort_desc(parity_temperature_celsius)",
    "timestamp(parity_gap)",
    "scalar(sum(parity_requests_total))",
    "vector(time())",
    "time() - 1",
    "-parity_temperature_celsius",
};

struct Series {
  std::string labels;  // canonical JSON of the metric object's pairs, sorted
  std::vector<std::pair<double, uint64_t>> points;  // time, value bits (NaN canonical)
};

uint64_t Bits(double value) {
  if (std::isnan(value)) return 0x7ff8000000000001ULL;
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

bool ParseValue(simdjson::dom::array pair, double* t, uint64_t* bits) {
  std::string_view text;
  if (pair.at(0).get_double().get(*t) || pair.at(1).get_string().get(text)) return false;
  const std::string copy(text);
  double value = 0;
  if (copy == "NaN") {
    value = NAN;
  } else if (copy == "+Inf") {
    value = INFINITY;
  } else if (copy == "-Inf") {
    value = -INFINITY;
  } else {
    value = std::strtod(copy.c_str(), nullptr);
  }
  *bits = Bits(value);
  return true;
}

// A query answer as comparable text: resultType, then each series sorted
// by labels with its points, values as their bits. "error: ..." on errors.
std::string Canonical(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root)) return "unparsable: " + body;
  std::string_view status;
  if (root["status"].get(status) || status != "success") return "error: " + body;
  std::string_view type;
  if (root["data"]["resultType"].get(type)) return "no resultType: " + body;
  std::map<std::string, std::string> series;
  auto add_points = [](simdjson::dom::array pair, std::string* out) {
    double t;
    uint64_t bits;
    if (!ParseValue(pair, &t, &bits)) return;
    char text[64];
    std::snprintf(text, sizeof text, " %.3f=%016llx", t, static_cast<unsigned long long>(bits));
    *out += text;
  };
  simdjson::dom::array result;
  if (type == "scalar") {
    std::string points;
    simdjson::dom::array pair;
    if (!root["data"]["result"].get(pair)) add_points(pair, &points);
    return "scalar" + points;
  }
  if (root["data"]["result"].get(result)) return "no result: " + body;
  for (simdjson::dom::element item : result) {
    std::map<std::string, std::string> labels;
    simdjson::dom::object metric;
    if (!item["metric"].get(metric)) {
      for (auto [key, value] : metric)
        labels[std::string(key)] = std::string(value.get_string().value_unsafe());
    }
    std::string key;
    for (const auto& [name, value] : labels) key += name + "=" + value + ",";
    std::string points;
    simdjson::dom::array pair, values;
    if (!item["value"].get(pair)) add_points(pair, &points);
    if (!item["values"].get(values)) {
      for (simdjson::dom::element p : values) add_points(p.get_array().value_unsafe(), &points);
    }
    series[key] += points;
  }
  std::string out(type);
  for (const auto& [key, points] : series) out += "\n  {" + key + "}" + points;
  return out;
}

// name{a="b",c="d"}: OpenMetrics allows no spaces.
std::string OpenMetricsName(const Labels& labels) {
  std::string name, pairs;
  for (const Label& label : labels) {
    if (label.name == "__name__") {
      name = label.value;
    } else {
      pairs += (pairs.empty() ? "" : ",") + label.name + "=\"" + label.value + "\"";
    }
  }
  return pairs.empty() ? name : name + "{" + pairs + "}";
}

HttpRequest Get(std::string path, std::string query) {
  HttpRequest request;
  request.method = "GET";
  request.path = std::move(path);
  request.query = std::move(query);
  return request;
}

std::string Seconds(int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(ms) / 1000);
  return text;
}

TEST(PromqlPrometheusParityTest, EveryQueryOfTheTableAgreesWithPrometheus) {
  ASSERT_TRUE(fs::exists("/usr/bin/promtool")) << "needs prometheus (Debian package)";
  // An hour ago, on a minute: inside Prometheus' retention, never in the future.
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const int64_t t0_ms = (now_s - 3600) / 60 * 60 * 1000;
  const std::vector<DataPoint> data = DataSet(t0_ms);

  // The agent's side.
  MetricStore store;
  std::unique_ptr<RuleManager> rules;
  ASSERT_TRUE(RuleManager::Create({}, {}, &store, &rules).ok());
  for (const DataPoint& p : data) rules->history().Append(p.labels, p.t_ms, p.value);
  PrometheusApi api;
  api.rules = rules.get();

  // Prometheus' side: the same samples backfilled into a TSDB.
  std::string dir_pattern = (fs::temp_directory_path() / "txmon-parity-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_pattern.data()), nullptr);
  const fs::path dir = dir_pattern;
  {
    std::ofstream om(dir / "data.om");
    char value[40];
    for (const DataPoint& p : data) {
      std::snprintf(value, sizeof value, "%.17g", p.value);
      om << OpenMetricsName(p.labels) << " " << value << " " << p.t_ms / 1000 << "\n";
    }
    om << "# EOF\n";
  }
  ProcessOptions backfill;
  backfill.binary = "/usr/bin/promtool";
  backfill.args = {"tsdb", "create-blocks-from", "openmetrics", (dir / "data.om").string(),
                   (dir / "tsdb").string()};
  backfill.stderr_path = (dir / "promtool.log").string();
  std::string error;
  auto promtool = Process::Start(backfill, &error);
  ASSERT_TRUE(promtool) << error;
  std::optional<int> code = promtool->Wait(std::chrono::seconds(120));
  ASSERT_TRUE(code && *code == 0) << "promtool create-blocks-from failed";
  PrometheusOptions options;
  options.tsdb_path = (dir / "tsdb").string();
  auto prometheus = PrometheusServer::Start(options, &error);
  ASSERT_TRUE(prometheus) << error;

  struct Ask {
    std::string path;
    std::string params;  // without query=
  };
  std::vector<Ask> asks;
  for (int64_t at : {t0_ms + 299'000, t0_ms + 300'500, t0_ms + 570'000, t0_ms + 719'000}) {
    asks.push_back({"/api/v1/query", "time=" + Seconds(at)});
  }
  asks.push_back({"/api/v1/query_range", "start=" + Seconds(t0_ms + 120'000) +
                                             "&end=" + Seconds(t0_ms + 715'000) + "&step=15"});
  asks.push_back({"/api/v1/query_range", "start=" + Seconds(t0_ms + 183'400) +
                                             "&end=" + Seconds(t0_ms + 640'000) + "&step=7.3"});

  int compared = 0, differing = 0;
  for (const char* query : kQueries) {
    for (const Ask& ask : asks) {
      const std::string params = "query=" + UrlEncode(query) + "&" + ask.params;
      HttpRequest request = Get(ask.path, params);
      const txmon::HttpResponse ours = ask.path == "/api/v1/query"
                                           ? ServeQueryApi(api, request)
                                           : ServeQueryRangeApi(api, request);
      const HttpResponse theirs = HttpGet(prometheus->url() + ask.path + "?" + params);
      const std::string a = Canonical(ours.body), b = Canonical(theirs.body);
      ++compared;
      if (a != b) {
        ++differing;
        ADD_FAILURE() << query << " (" << ask.path << "?" << ask.params << ")\n txmon: " << a
                      << "\n Prometheus: " << b;
      }
    }
  }
  std::printf("%d query evaluations compared with Prometheus, %d differ\n", compared, differing);
  prometheus.reset();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace
}  // namespace txmon::test
