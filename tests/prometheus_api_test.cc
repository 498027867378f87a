// The Prometheus HTTP API over the sample history, handler by handler:
// exact bodies for the shapes Grafana reads, Prometheus' error envelope and
// codes, GET and POST forms, the limits.
#include <gtest/gtest.h>

#include "agent/base/fixed_point.h"
#include "agent/rules/rule_manager.h"
#include "agent/store/metric_store.h"
#include "agent/web/prometheus_api.h"

namespace txmon {
namespace {

HttpRequest Get(std::string path, std::string query) {
  HttpRequest request;
  request.method = "GET";
  request.path = std::move(path);
  request.query = std::move(query);
  return request;
}

HttpRequest Post(std::string path, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.path = std::move(path);
  request.body = std::move(body);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return request;
}

class PrometheusApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        store_.Add({"a_total", "A things.", MetricType::kCounter, {"job"}, {}, {}}, &a_).ok());
    ASSERT_TRUE(RuleManager::Create({}, {}, &store_, &rules_).ok());
    // a_total{job="x"} = t and a_total{job="y"} = 2t, every second from 0 to 10 s.
    for (int t = 0; t <= 10; ++t) {
      rules_->history().Append(Labels{{"__name__", "a_total"}, {"job", "x"}}, t * 1000, t);
      rules_->history().Append(Labels{{"__name__", "a_total"}, {"job", "y"}}, t * 1000, 2 * t);
    }
    rules_->history().Append(Labels{{"__name__", "b"}, {"job", "x"}}, 5000, 7);
    api_.rules = rules_.get();
    api_.store = &store_;
  }

  MetricStore store_;
  Metric* a_ = nullptr;
  std::unique_ptr<RuleManager> rules_;
  PrometheusApi api_;
};

TEST_F(PrometheusApiTest, GrafanaSaveAndTestSendsOnePlusOneAtTimeFour) {
  HttpResponse response = ServeQueryApi(api_, Post("/api/v1/query", "query=1%2B1&time=4"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"status":"success","data":{"resultType":"scalar","result":[4,"2"]}})");
}

TEST_F(PrometheusApiTest, InstantQueryVectorMatrixAndString) {
  HttpResponse vector = ServeQueryApi(api_, Get("/api/v1/query", "query=a_total&time=3.5"));
  EXPECT_EQ(vector.body, R"({"status":"success","data":{"resultType":"vector","result":[)"
                         R"({"metric":{"__name__":"a_total","job":"x"},"value":[3.5,"3"]},)"
                         R"({"metric":{"__name__":"a_total","job":"y"},"value":[3.5,"6"]}]}})");
  HttpResponse matrix =
      ServeQueryApi(api_, Get("/api/v1/query", "query=a_total%7Bjob%3D%22x%22%7D%5B2s%5D&time=3"));
  EXPECT_EQ(matrix.body,
            R"({"status":"success","data":{"resultType":"matrix","result":[)"
            R"({"metric":{"__name__":"a_total","job":"x"},"values":[[1,"1"],[2,"2"],[3,"3"]]}]}})");
  HttpResponse text = ServeQueryApi(api_, Get("/api/v1/query", "query=%22hi%22&time=2"));
  EXPECT_EQ(text.body, R"({"status":"success","data":{"resultType":"string","result":[2,"hi"]}})");
  // RFC 3339 times.
  HttpResponse rfc = ServeQueryApi(
      api_, Get("/api/v1/query", "query=a_total%7Bjob%3D%22x%22%7D&time=1970-01-01T00:00:04.000Z"));
  EXPECT_NE(rfc.body.find(R"("value":[4,"4"])"), std::string::npos) << rfc.body;
}

TEST_F(PrometheusApiTest, RangeQueryEvaluatesAtStartPlusKSteps) {
  HttpResponse response = ServeQueryRangeApi(
      api_, Get("/api/v1/query_range", "query=a_total%7Bjob%3D%22y%22%7D&start=2&end=7&step=2"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(
      response.body,
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"a_total","job":"y"},"values":[[2,"4"],[4,"8"],[6,"12"]]}]}})");
  // POST form, RFC 3339 bounds, a duration step; rate drops the name.
  HttpResponse rate = ServeQueryRangeApi(
      api_, Post("/api/v1/query_range",
                 "query=sum(rate(a_total%5B4s%5D))&start=1970-01-01T00:00:08Z&end="
                 "1970-01-01T00:00:10Z&step=1s"));
  EXPECT_EQ(rate.body, R"({"status":"success","data":{"resultType":"matrix","result":[)"
                       R"({"metric":{},"values":[[8,"3"],[9,"3"],[10,"3"]]}]}})");
  // A subquery's inner selectors are read before start: the snapshot covers them.
  HttpResponse subquery = ServeQueryRangeApi(
      api_,
      Get("/api/v1/query_range",
          "query=min_over_time(a_total%7Bjob%3D%22x%22%7D%5B2s%3A1s%5D)&start=5&end=6&step=1"));
  EXPECT_EQ(subquery.body, R"({"status":"success","data":{"resultType":"matrix","result":[)"
                           R"({"metric":{"job":"x"},"values":[[5,"3"],[6,"4"]]}]}})");
  // Offsets either way read outside [start, end]: the range snapshot covers them.
  HttpResponse offset = ServeQueryRangeApi(
      api_, Get("/api/v1/query_range",
                "query=a_total%7Bjob%3D%22x%22%7D%20offset%202s%20-%20a_total%7Bjob%3D%22x%22%7D%"
                "20offset%20-3s&start=5&end=7&step=1"));
  EXPECT_EQ(offset.body, R"({"status":"success","data":{"resultType":"matrix","result":[)"
                         R"({"metric":{"job":"x"},"values":[[5,"-5"],[6,"-5"],[7,"-5"]]}]}})");
  HttpResponse scalar =
      ServeQueryRangeApi(api_, Get("/api/v1/query_range", "query=1%2B1&start=0&end=1&step=0.5"));
  EXPECT_EQ(scalar.body, R"({"status":"success","data":{"resultType":"matrix","result":[)"
                         R"({"metric":{},"values":[[0,"2"],[0.5,"2"],[1,"2"]]}]}})");
}

TEST_F(PrometheusApiTest, ErrorsUsePrometheusEnvelopeAndCodes) {
  struct Case {
    HttpResponse response;
    int status;
    std::string body;
  };
  const Case cases[] = {
      {ServeQueryApi(api_, Get("/api/v1/query", "")), 400,
       R"({"status":"error","errorType":"bad_data","error":"missing query parameter \"query\""})"},
      {ServeQueryApi(api_, Get("/api/v1/query", "query=sum(")), 400, ""},
      {ServeQueryApi(api_, Get("/api/v1/query", "query=1&time=yesterday")), 400,
       R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": cannot )"
       R"(parse \"yesterday\" to a valid timestamp"})"},
      {ServeQueryRangeApi(api_, Get("/api/v1/query_range", "query=1&start=5&end=4&step=1")), 400,
       R"({"status":"error","errorType":"bad_data","error":"end timestamp must not be before )"
       R"(start time"})"},
      {ServeQueryRangeApi(api_, Get("/api/v1/query_range", "query=1&start=0&end=4&step=0")), 400,
       ""},
      {ServeQueryRangeApi(api_, Get("/api/v1/query_range", "query=1&start=0&end=11001&step=1")),
       400,
       R"({"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of )"
       R"x(11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"})x"},
      {ServeQueryRangeApi(api_, Get("/api/v1/query_range",
                                    "query=a_total%5B1m%5D&start=0&end=1&"
                                    "step=1")),
       400, ""},
      // Two series on each side match one another: many-to-many.
      {ServeQueryApi(api_, Get("/api/v1/query", "query=a_total%20%2B%20on()%20a_total&time=5")),
       422, ""},
      {ServeSeriesApi(api_, Get("/api/v1/series", "")), 400,
       R"({"status":"error","errorType":"bad_data","error":"no match[] parameter provided"})"},
      {ServeSeriesApi(api_, Get("/api/v1/series", "match[]=rate(a_total%5B1m%5D)")), 400, ""},
      {ServeLabelValuesApi(api_, Get("/api/v1/label/1x/values", "")), 400,
       R"({"status":"error","errorType":"bad_data","error":"invalid label name: \"1x\""})"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.response.status, c.status) << c.response.body;
    EXPECT_NE(c.response.body.find(c.status == 400 ? R"("errorType":"bad_data")"
                                                   : R"("errorType":"execution")"),
              std::string::npos)
        << c.response.body;
    if (!c.body.empty()) {
      EXPECT_EQ(c.response.body, c.body);
    }
  }
}

TEST_F(PrometheusApiTest, SampleLimitAndTimeoutStopTheQuery) {
  api_.limits.max_samples = 5;
  HttpResponse many = ServeQueryApi(api_, Get("/api/v1/query", "query=a_total%5B10s%5D&time=10"));
  EXPECT_EQ(many.status, 422);
  EXPECT_EQ(many.body,
            R"({"status":"error","errorType":"execution","error":"query processing would load too )"
            R"(many samples into memory in query execution"})");
  api_.limits.max_samples = 1'000'000;
  api_.limits.timeout_ms = -1;  // already past the deadline
  HttpResponse late =
      ServeQueryRangeApi(api_, Get("/api/v1/query_range", "query=a_total&start=0&end=10&step=1"));
  EXPECT_EQ(late.status, 503);
  EXPECT_EQ(late.body, R"({"status":"error","errorType":"timeout","error":"query timed out in )"
                       R"(expression evaluation"})");
}

TEST_F(PrometheusApiTest, SeriesLabelsAndLabelValues) {
  HttpResponse series =
      ServeSeriesApi(api_, Post("/api/v1/series", "match[]=a_total%7Bjob%3D%22y%22%7D&match[]=b"));
  EXPECT_EQ(series.body, R"({"status":"success","data":[{"__name__":"a_total","job":"y"},)"
                         R"({"__name__":"b","job":"x"}]})");
  // b has its one sample at 5 s: outside [6, 10].
  HttpResponse later = ServeSeriesApi(api_, Get("/api/v1/series", "match[]=b&start=6&end=10"));
  EXPECT_EQ(later.body, R"({"status":"success","data":[]})");
  HttpResponse limited = ServeSeriesApi(api_, Get("/api/v1/series", "match[]=a_total&limit=1"));
  EXPECT_EQ(limited.body, R"({"status":"success","data":[{"__name__":"a_total","job":"x"}],)"
                          R"("warnings":["results truncated due to limit"]})");

  EXPECT_EQ(ServeLabelsApi(api_, Get("/api/v1/labels", "")).body,
            R"({"status":"success","data":["__name__","job"]})");
  EXPECT_EQ(ServeLabelValuesApi(api_, Get("/api/v1/label/__name__/values", "")).body,
            R"({"status":"success","data":["a_total","b"]})");
  EXPECT_EQ(ServeLabelValuesApi(api_, Get("/api/v1/label/job/values", "match[]=b")).body,
            R"({"status":"success","data":["x"]})");
}

TEST_F(PrometheusApiTest, MetadataBuildInfoAndExemplars) {
  EXPECT_EQ(ServeMetadataApi(api_, Get("/api/v1/metadata", "")).body,
            R"({"status":"success","data":{"a_total":[{"type":"counter","help":"A things.",)"
            R"("unit":""}]}})");
  HttpResponse build = ServeBuildInfoApi(Get("/api/v1/status/buildinfo", ""));
  EXPECT_EQ(build.status, 200);
  EXPECT_NE(build.body.find(R"("version":")"), std::string::npos);
  EXPECT_EQ(build.body.find("features"), std::string::npos) << "Grafana would assume Mimir";
  EXPECT_EQ(ServeExemplarsApi(Get("/api/v1/query_exemplars", "query=a_total")).body,
            R"({"status":"success","data":[]})");
}

}  // namespace
}  // namespace txmon
