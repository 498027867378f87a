// /metrics text: money summed exactly in the store is printed as its exact
// decimal total (the shortest text that reads back as the same double), and
// the exposition format is Prometheus' (escaping, histograms, specials).
#include "agent/web/metrics_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "agent/base/fixed_point.h"
#include "agent/base/float_text.h"
#include "agent/store/metric_store.h"

namespace txmon {
namespace {

TEST(FloatTextTest, ShortestTextThatReadsBack) {
  EXPECT_EQ(FormatFloatExact(8652242.44), "8652242.44");
  EXPECT_EQ(FormatFloatExact(99.9), "99.9");
  EXPECT_EQ(FormatFloatExact(0.1 + 0.2), "0.30000000000000004");  // not the same double as 0.3
  EXPECT_EQ(FormatFloatExact(100000), "100000");
  EXPECT_EQ(FormatFloatExact(0), "0");
  EXPECT_EQ(FormatFloatExact(-2.5), "-2.5");
  EXPECT_EQ(FormatFloatExact(1e-7), "1e-07");
  EXPECT_EQ(FormatFloatExact(1.5e21), "1.5e+21");
  EXPECT_EQ(FormatFloatExact(NAN), "NaN");
  EXPECT_EQ(FormatFloatExact(INFINITY), "+Inf");
  EXPECT_EQ(FormatFloatExact(-INFINITY), "-Inf");
  std::mt19937_64 random(7);
  for (int i = 0; i < 100000; ++i) {
    double value =
        std::ldexp(static_cast<double>(random() >> 11), static_cast<int>(random() % 120) - 90);
    EXPECT_EQ(std::stod(FormatFloatExact(value)), value);
  }
}

// The sum of many decimal amounts, kept exactly as micro-units by the
// store, appears on /metrics as the decimal total itself.
TEST(MetricsTextTest, SumsOfDecimalAmountsPrintAsTheirExactTotal) {
  MetricStore store;
  Metric* gmv = nullptr;
  MetricSpec spec;
  spec.name = "shop_gmv_paid_total";
  spec.help = "GMV.";
  ASSERT_TRUE(store.Add(spec, &gmv).ok());
  Series* series = gmv->Resolve({});
  std::mt19937 random(42);
  int64_t total_cents = 0;
  for (int i = 0; i < 100000; ++i) {
    const int64_t cents = 100 + static_cast<int64_t>(random() % 50000);  // 1.00 .. 500.99
    total_cents += cents;
    const std::string text = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
                             std::to_string(cents % 100);
    series->Add(*ParseDecimalMicros(text));
  }
  std::string expected = std::to_string(total_cents / 100) + "." +
                         (total_cents % 100 < 10 ? "0" : "") + std::to_string(total_cents % 100);
  while (expected.back() == '0') expected.pop_back();
  if (expected.back() == '.') expected.pop_back();
  const std::string text = SerializeMetricsText(store.Collect());
  EXPECT_NE(text.find("\nshop_gmv_paid_total " + expected + "\n"), std::string::npos)
      << "want " << expected << " in:\n"
      << text;
}

TEST(MetricsTextTest, WritesThePrometheusTextFormat) {
  prometheus::MetricFamily counter{
      "odd_total", "Help with \\ and\nnewline.", prometheus::MetricType::Counter, {}};
  prometheus::ClientMetric sample;
  sample.label = {{"path", "a\"b\\c\nd"}};
  sample.counter.value = 3;
  counter.metric.push_back(sample);

  prometheus::MetricFamily histogram{
      "wait_seconds", "Waits.", prometheus::MetricType::Histogram, {}};
  prometheus::ClientMetric observed;
  observed.histogram.sample_count = 3;
  observed.histogram.sample_sum = 0.75;
  observed.histogram.bucket = {{1, 0.1}, {2, 0.5}};
  histogram.metric.push_back(observed);

  EXPECT_EQ(SerializeMetricsText({counter, histogram}),
            "# HELP odd_total Help with \\\\ and\\nnewline.\n"
            "# TYPE odd_total counter\n"
            "odd_total{path=\"a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP wait_seconds Waits.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"0.1\"} 1\n"
            "wait_seconds_bucket{le=\"0.5\"} 2\n"
            "wait_seconds_bucket{le=\"+Inf\"} 3\n"
            "wait_seconds_sum 0.75\n"
            "wait_seconds_count 3\n");
}

}  // namespace
}  // namespace txmon
