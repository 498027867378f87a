#include "agent/store/metric_store.h"

#include <gtest/gtest.h>

#include <sstream>

#include <prometheus/text_serializer.h>

#include "agent/base/fixed_point.h"

namespace txmon {
namespace {

std::string Exposition(const MetricStore& store) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, store.Collect());
  return out.str();
}

TEST(FixedPointTest, ParsesDecimalsExactly) {
  EXPECT_EQ(ParseDecimalMicros("999.0"), 999'000'000);
  EXPECT_EQ(ParseDecimalMicros("0.1"), 100'000);
  EXPECT_EQ(ParseDecimalMicros("-3.50"), -3'500'000);
  EXPECT_EQ(ParseDecimalMicros("12"), 12'000'000);
  EXPECT_EQ(ParseDecimalMicros(".5"), 500'000);
  EXPECT_EQ(ParseDecimalMicros("1.0000005"), 1'000'001);  // rounded half away from zero
  EXPECT_EQ(ParseDecimalMicros("1.00000049"), 1'000'000);
  EXPECT_EQ(ParseDecimalMicros(""), std::nullopt);
  EXPECT_EQ(ParseDecimalMicros("-"), std::nullopt);
  EXPECT_EQ(ParseDecimalMicros("1e3"), std::nullopt);
  EXPECT_EQ(ParseDecimalMicros("12a"), std::nullopt);
  EXPECT_EQ(ParseDecimalMicros("99999999999999999999"), std::nullopt);
}

TEST(FixedPointTest, SumOfTenthsHasNoDrift) {
  // 0.1 added a million times: a double drifts, micro-units do not.
  int64_t micros = 0;
  double floating = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    micros += *ParseDecimalMicros("0.10");
    floating += 0.10;
  }
  EXPECT_EQ(micros, 100'000 * kMicrosPerUnit);
  EXPECT_NE(floating, 100'000.0);
  EXPECT_EQ(MicrosToDouble(micros), 100'000.0);
}

TEST(MetricStoreTest, CountersAndLabels) {
  MetricStore store;
  Metric* orders;
  ASSERT_TRUE(
      store.Add({"orders_total", "Orders.", MetricType::kCounter, {"channel"}, {}, {}}, &orders)
          .ok());
  Series* app = orders->Resolve({"app"});
  EXPECT_EQ(orders->Resolve({"app"}), app);  // same handle for the same values
  app->Add(kMicrosPerUnit);
  app->Add(kMicrosPerUnit);
  orders->Resolve({"web"})->Add(kMicrosPerUnit);
  std::string text = Exposition(store);
  EXPECT_NE(text.find("# TYPE orders_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("orders_total{channel=\"app\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("orders_total{channel=\"web\"} 1"), std::string::npos) << text;
}

TEST(MetricStoreTest, HistogramBucketsAreCumulative) {
  MetricStore store;
  Metric* amount;
  ASSERT_TRUE(store
                  .Add({"amount_yuan",
                        "Amounts.",
                        MetricType::kHistogram,
                        {},
                        {},
                        {10 * kMicrosPerUnit, 100 * kMicrosPerUnit}},
                       &amount)
                  .ok());
  Series* series = amount->Resolve({});
  for (const char* value : {"5", "10", "10.01", "99.99", "1000.5"}) {
    int64_t micros = *ParseDecimalMicros(value);
    series->Observe(amount->BucketFor(micros), micros);
  }
  std::string text = Exposition(store);
  EXPECT_NE(text.find("amount_yuan_bucket{le=\"10\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("amount_yuan_bucket{le=\"100\"} 4"), std::string::npos) << text;
  EXPECT_NE(text.find("amount_yuan_bucket{le=\"+Inf\"} 5"), std::string::npos) << text;
  EXPECT_NE(text.find("amount_yuan_count 5"), std::string::npos) << text;
  EXPECT_NE(text.find("amount_yuan_sum 1125.5"), std::string::npos) << text;
}

TEST(MetricStoreTest, LabelValuesFoldIntoOtherPastTheLimit) {
  MetricStore store;
  Metric* metric;
  ASSERT_TRUE(store.Add({"x_total", "X.", MetricType::kCounter, {"user"}, {2}, {}}, &metric).ok());
  for (std::string user : {"a", "b", "c", "d", "a"}) {
    metric->Resolve({std::string_view(user)})->Add(kMicrosPerUnit);
  }
  EXPECT_EQ(metric->folded_values(), 2u);
  std::string text = Exposition(store);
  EXPECT_NE(text.find("x_total{user=\"a\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{user=\"b\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{user=\"other\"} 2"), std::string::npos) << text;
  EXPECT_EQ(text.find("user=\"c\""), std::string::npos) << text;
}

TEST(MetricStoreTest, RefusesBadSpecs) {
  MetricStore store;
  EXPECT_FALSE(store.Add({"bad-name", "", MetricType::kCounter, {}, {}, {}}, nullptr).ok());
  EXPECT_FALSE(
      store.Add({"ok_total", "", MetricType::kCounter, {"__reserved"}, {}, {}}, nullptr).ok());
  EXPECT_FALSE(store.Add({"h", "", MetricType::kHistogram, {}, {}, {}}, nullptr).ok());
  EXPECT_FALSE(store.Add({"h", "", MetricType::kHistogram, {}, {}, {2, 1}}, nullptr).ok());
  ASSERT_TRUE(store.Add({"dup_total", "", MetricType::kCounter, {}, {}, {}}, nullptr).ok());
  Status dup = store.Add({"dup_total", "", MetricType::kCounter, {}, {}, {}}, nullptr);
  EXPECT_FALSE(dup.ok());
  EXPECT_NE(dup.message().find("defined twice"), std::string::npos);
}

TEST(MetricStoreTest, SnapshotRestoresEveryValue) {
  MetricSpec counter{"c_total", "C.", MetricType::kCounter, {"k"}, {}, {}};
  MetricSpec histogram{"h_seconds", "H.", MetricType::kHistogram, {}, {}, {1'000'000}};
  MetricStore original;
  Metric *c, *h;
  ASSERT_TRUE(original.Add(counter, &c).ok());
  ASSERT_TRUE(original.Add(histogram, &h).ok());
  c->Resolve({"x"})->Add(3'250'000);
  h->Resolve({})->Observe(h->BucketFor(500'000), 500'000);
  h->Resolve({})->Observe(h->BucketFor(2'000'000), 2'000'000);

  MetricStore restored;
  ASSERT_TRUE(restored.Add(counter, nullptr).ok());
  ASSERT_TRUE(restored.Add(histogram, nullptr).ok());
  std::vector<std::string> skipped;
  StoreSnapshot snapshot = original.Snapshot();
  snapshot.metrics.push_back({"gone_total", MetricType::kCounter, {}, {}, {}});
  restored.Restore(snapshot, &skipped);
  EXPECT_EQ(skipped, std::vector<std::string>{"gone_total"});
  EXPECT_EQ(Exposition(restored), Exposition(original));
}

// A retired agent's counts merged into another's equal one store that saw
// every observation of both: counters, buckets, counts and sums exactly;
// the merging process's own txmon_* gauges stay its own.
TEST(MetricStoreTest, MergeAddsAnotherStoreExactlyAsIfOneHadCountedBoth) {
  const std::vector<MetricSpec> specs = {
      {"c_total", "C.", MetricType::kCounter, {"k"}, {}, {}},
      {"h_seconds", "H.", MetricType::kHistogram, {"k"}, {}, {1'000'000, 5'000'000}},
      {"txmon_source_up", "Up.", MetricType::kGauge, {}, {}, {}}};
  MetricStore retired, adopter, both;
  for (MetricStore* store : {&retired, &adopter, &both}) {
    for (const MetricSpec& spec : specs) ASSERT_TRUE(store->Add(spec, nullptr).ok());
    store->Find("txmon_source_up")->Resolve({})->Set(kMicrosPerUnit);
  }
  auto count = [](MetricStore& store, const char* k, int64_t micros) {
    store.Find("c_total")->Resolve({k})->Add(micros);
    Metric* h = store.Find("h_seconds");
    h->Resolve({k})->Observe(h->BucketFor(micros), micros);
  };
  for (int64_t micros : {250'000, 1'250'001, 7'000'000}) {
    count(retired, "a", micros);
    count(both, "a", micros);
  }
  // Series in the order of `both`, so the expositions compare line by line.
  adopter.Find("c_total")->Resolve({"a"});
  adopter.Find("h_seconds")->Resolve({"a"});
  for (int64_t micros : {999'999, 3'000'000}) {
    count(retired, "b", micros);
    count(adopter, "b", micros);
    count(both, "b", micros);
    count(both, "b", micros);
  }
  std::vector<std::string> skipped, notes;
  adopter.Merge(retired.Snapshot(), &skipped, &notes);
  EXPECT_TRUE(skipped.empty());
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(Exposition(adopter), Exposition(both));
}

// Buckets changed between a checkpoint and the start: what merges exactly
// is kept, what cannot is said, with the metric named.
TEST(MetricStoreTest, ChangedBucketsMergeWhenTheyCanAndAreNamedWhenNot) {
  MetricSpec fine{"h_seconds", "H.", MetricType::kHistogram,
                  {},          {},   {1'000'000, 2'000'000, 5'000'000}};
  MetricStore original;
  Metric* h;
  ASSERT_TRUE(original.Add(fine, &h).ok());
  for (int64_t micros : {500'000, 1'500'000, 3'000'000, 9'000'000}) {
    h->Resolve({})->Observe(h->BucketFor(micros), micros);
  }

  MetricSpec coarse = fine;
  coarse.bucket_bounds = {2'000'000};  // a subset: merges exactly
  MetricStore merged;
  ASSERT_TRUE(merged.Add(coarse, nullptr).ok());
  std::vector<std::string> skipped, notes;
  merged.Restore(original.Snapshot(), &skipped, &notes);
  EXPECT_TRUE(skipped.empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "h_seconds: its buckets changed [1,2,5] -> [2]: the saved buckets merged");
  const std::string text = Exposition(merged);
  EXPECT_NE(text.find("h_seconds_bucket{le=\"2\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_sum 14\n"), std::string::npos) << text;

  MetricSpec split = fine;
  split.bucket_bounds = {1'000'000, 3'000'000};  // 3 splits the saved (2, 5] bucket
  MetricStore reset;
  ASSERT_TRUE(reset.Add(split, nullptr).ok());
  skipped.clear();
  notes.clear();
  reset.Restore(original.Snapshot(), &skipped, &notes);
  EXPECT_EQ(skipped, std::vector<std::string>{"h_seconds"});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "h_seconds: its buckets changed [1,2,5] -> [1,3] and the saved ones do not merge into "
            "them: starts from zero");
}

MetricSpec LimitedSpec(uint32_t max_series, std::vector<uint32_t> value_limits = {}) {
  MetricSpec spec{"x_total", "X.", MetricType::kCounter, {"user", "item"}, value_limits, {}};
  spec.max_series = max_series;
  return spec;
}

TEST(MetricStoreTest, SeriesPastTheLimitFoldIntoTheOverflowSeries) {
  MetricStore store;
  Metric* metric;
  ASSERT_TRUE(store.Add(LimitedSpec(3), &metric).ok());
  Series* ax = metric->Resolve({"a", "x"});
  Series* by = metric->Resolve({"b", "y"});
  Series* overflow = metric->Resolve({"c", "z"});  // the third series is the overflow one
  EXPECT_EQ(overflow->label_values(), (std::vector<std::string>{"other", "other"}));
  EXPECT_EQ(metric->Resolve({"d", "w"}), overflow);
  EXPECT_EQ(metric->Resolve({"a", "y"}), overflow);  // known values, new combination
  EXPECT_EQ(metric->Resolve({"a", "x"}), ax);        // existing series keep their handles
  EXPECT_EQ(metric->Resolve({"b", "y"}), by);
  EXPECT_EQ(metric->series_count(), 3u);
  EXPECT_EQ(metric->folded_series(), 3u);
  EXPECT_EQ(metric->folded_values(), 0u);
}

TEST(MetricStoreTest, SeriesLimitBoundsTheProductOfLabels) {
  // Each label stays within its own max_values; their product would not.
  MetricStore store;
  Metric* metric;
  ASSERT_TRUE(store.Add(LimitedSpec(50, {100, 100}), &metric).ok());
  for (int user = 0; user < 100; ++user) {
    for (int item = 0; item < 100; ++item) {
      std::string u = std::to_string(user), i = std::to_string(item);
      metric->Resolve({std::string_view(u), std::string_view(i)})->Add(kMicrosPerUnit);
    }
  }
  EXPECT_EQ(metric->series_count(), 50u);
  EXPECT_EQ(metric->folded_series(), 10'000u - 49u);
  std::string text = Exposition(store);
  EXPECT_NE(text.find("x_total{user=\"other\",item=\"other\"} 9951"), std::string::npos) << text;
}

TEST(MetricStoreTest, SeriesLimitCountsAnOverflowSeriesMadeByLabelFolding) {
  // max_values folds both labels to "other": that series is the overflow
  // series and leaves the rest of the limit to ordinary series.
  MetricStore store;
  Metric* metric;
  ASSERT_TRUE(store.Add(LimitedSpec(3, {1, 1}), &metric).ok());
  metric->Resolve({"a", "x"});
  Series* overflow = metric->Resolve({"b", "y"});
  EXPECT_EQ(overflow->label_values(), (std::vector<std::string>{"other", "other"}));
  Series* a_other = metric->Resolve({"a", "y"});
  EXPECT_EQ(a_other->label_values(), (std::vector<std::string>{"a", "other"}));
  EXPECT_EQ(metric->Resolve({"b", "x"}), overflow);  // {other, x} would be a fourth series
  EXPECT_EQ(metric->series_count(), 3u);
  EXPECT_EQ(metric->folded_series(), 1u);
}

TEST(MetricStoreTest, ZeroMeansNoSeriesLimit) {
  MetricStore store;
  Metric* metric;
  ASSERT_TRUE(store.Add(LimitedSpec(0), &metric).ok());
  for (int i = 0; i < 1000; ++i) {
    std::string v = std::to_string(i);
    metric->Resolve({std::string_view(v), "x"});
  }
  EXPECT_EQ(metric->series_count(), 1000u);
  EXPECT_EQ(metric->folded_series(), 0u);
}

TEST(MetricStoreTest, RestoreAddsSeriesThatNowFoldIntoOneSeries) {
  MetricStore original;
  Metric* before;
  ASSERT_TRUE(original.Add(LimitedSpec(0), &before).ok());
  for (const char* user : {"a", "b", "c", "d"}) before->Resolve({user, "x"})->Add(kMicrosPerUnit);
  // Saved after series that will fold into it: loaded first all the same.
  before->Resolve({"other", "other"})->Add(10 * kMicrosPerUnit);

  MetricStore restored;
  Metric* after;
  ASSERT_TRUE(restored.Add(LimitedSpec(2), &after).ok());
  restored.Restore(original.Snapshot(), nullptr);
  EXPECT_EQ(after->series_count(), 2u);
  std::string text = Exposition(restored);
  EXPECT_NE(text.find("x_total{user=\"a\",item=\"x\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{user=\"other\",item=\"other\"} 13"), std::string::npos) << text;
}

TEST(MetricStoreTest, DeclareReusesAMatchingMetricAndRefusesAChangedOne) {
  MetricStore store;
  Metric* first;
  ASSERT_TRUE(store.Add(LimitedSpec(0), &first).ok());
  first->Resolve({"a", "x"})->Add(kMicrosPerUnit);
  Metric* again;
  ASSERT_TRUE(store.Declare(LimitedSpec(5), &again).ok());
  EXPECT_EQ(again, first);
  EXPECT_EQ(again->series_count(), 1u);
  MetricSpec relabelled = LimitedSpec(0);
  relabelled.label_names = {"user"};
  Status refused = store.Declare(relabelled, nullptr);
  EXPECT_FALSE(refused.ok());
  // The refusal names the metric and what changed, so a refused reload says it.
  EXPECT_NE(refused.message().find("changed its labels [" + LimitedSpec(0).label_names[0]),
            std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("-> [user]"), std::string::npos) << refused.message();
  MetricSpec rebucketed = {"h_seconds", "H.", MetricType::kHistogram, {}, {}, {500'000, 1'000'000}};
  ASSERT_TRUE(store.Add(rebucketed, nullptr).ok());
  rebucketed.bucket_bounds = {250'000, 1'000'000};
  EXPECT_EQ(store.Declare(rebucketed, nullptr).message(),
            "metric \"h_seconds\" changed its buckets [0.5, 1] -> [0.25, 1]: restart txmon to "
            "apply that");
  Metric* added;
  ASSERT_TRUE(store.Declare({"y_total", "Y.", MetricType::kCounter, {}, {}, {}}, &added).ok());
  EXPECT_NE(added, nullptr);
  EXPECT_EQ(store.Find("y_total"), added);
}

TEST(MetricStoreTest, SetLimitsAppliesToNewSeries) {
  MetricStore store;
  Metric* metric;
  ASSERT_TRUE(store.Add(LimitedSpec(0), &metric).ok());
  metric->Resolve({"a", "x"});
  metric->Resolve({"b", "x"});
  metric->SetLimits({}, 3);
  EXPECT_EQ(metric->Resolve({"c", "x"})->label_values()[0], "other");
  EXPECT_EQ(metric->Resolve({"a", "x"})->label_values()[0], "a");
  EXPECT_EQ(metric->series_count(), 3u);
}

}  // namespace
}  // namespace txmon
