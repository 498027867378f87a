// LiveBoard: today's figures against the counters' baseline, local midnight,
// orders/s and the per-second chart, conversion and payment p95, breakdowns,
// missing metrics, alerts and frame hand-off.
#include "agent/live/live_board.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "agent/base/civil_time.h"
#include "agent/base/fixed_point.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/main/live_board_checkpoint.h"

namespace txmon {
namespace {

// 2026-11-30 10:00:00 in Asia/Shanghai (UTC+8, no DST) is 02:00:00 UTC.
constexpr int64_t kMorningMs = 1'796'004'000'000;
constexpr int64_t kHourMs = 3'600'000;

// The shipped metrics of txmon.yml the board reads, in a store.
class ShopStore {
 public:
  ShopStore() {
    created_ = Add(
        {"shop_orders_created_total", "", MetricType::kCounter, {"channel", "province"}, {}, {}});
    paid_ = Add({"shop_orders_paid_total",
                 "",
                 MetricType::kCounter,
                 {"channel", "payment_method"},
                 {},
                 {}});
    gmv_ = Add(
        {"shop_gmv_paid_total", "", MetricType::kCounter, {"channel", "payment_method"}, {}, {}});
    payment_ = Add({"shop_payment_duration_seconds",
                    "",
                    MetricType::kHistogram,
                    {},
                    {},
                    {5 * kMicrosPerUnit, 10 * kMicrosPerUnit, 20 * kMicrosPerUnit}});
  }

  void Create(std::string_view channel, std::string_view province, int count = 1) {
    created_->Resolve({channel, province})->Add(count * kMicrosPerUnit);
  }
  void Pay(std::string_view channel, double yuan, double seconds) {
    paid_->Resolve({channel, "alipay"})->Add(kMicrosPerUnit);
    gmv_->Resolve({channel, "alipay"})->Add(static_cast<int64_t>(std::llround(yuan * 1e6)));
    int64_t micros = static_cast<int64_t>(seconds * 1e6);
    payment_->Resolve({})->Observe(payment_->BucketFor(micros), micros);
  }

  MetricStore store;

 private:
  Metric* Add(MetricSpec spec) {
    Metric* metric = nullptr;
    Status status = store.Add(std::move(spec), &metric);
    EXPECT_TRUE(status.ok()) << status.message();
    return metric;
  }

  Metric* created_;
  Metric* paid_;
  Metric* gmv_;
  Metric* payment_;
};

class LiveBoardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(LocalZone::Use("Asia/Shanghai").ok()); }

  LiveBoardOptions Options() {
    LiveBoardOptions options;
    options.chart_seconds = 5;
    options.rate_window_seconds = 2;
    options.time_zone = "Asia/Shanghai";
    return options;
  }

  ShopStore shop_;
};

TEST_F(LiveBoardTest, TodayCountsFromTheValuesAtStart) {
  shop_.Create("app", "Beijing", 40);  // restored from a checkpoint: before the start
  shop_.Pay("app", 100, 3);
  LiveBoard board(&shop_.store, Options(), kMorningMs);

  shop_.Create("app", "Beijing", 2);
  shop_.Create("web", "Shanghai", 2);
  shop_.Pay("web", 12.5, 7);
  LiveFigures figures = board.Tick(kMorningMs + 1000);

  EXPECT_EQ(figures.counting_since_ms, kMorningMs);
  EXPECT_EQ(figures.orders_today, 4);
  EXPECT_EQ(figures.gmv_today, 12.5);
  EXPECT_EQ(figures.conversion, 0.25);
  // The one payment today took 7 s: in the (5, 10] bucket.
  ASSERT_TRUE(figures.payment_p95_seconds.has_value());
  EXPECT_GT(*figures.payment_p95_seconds, 5);
  EXPECT_LE(*figures.payment_p95_seconds, 10);
}

TEST_F(LiveBoardTest, LocalMidnightStartsANewDay) {
  LiveBoard board(&shop_.store, Options(), kMorningMs);
  shop_.Create("app", "Beijing", 5);
  EXPECT_EQ(board.Tick(kMorningMs + 13 * kHourMs).orders_today, 5);  // 23:00 local

  const int64_t midnight = kMorningMs + 14 * kHourMs;  // 00:00 local, 16:00 UTC
  LiveFigures next_day = board.Tick(midnight + 200);
  EXPECT_EQ(next_day.orders_today, 0);
  EXPECT_EQ(next_day.counting_since_ms, midnight);

  shop_.Create("app", "Beijing", 3);
  EXPECT_EQ(board.Tick(midnight + 400).orders_today, 3);
}

// A board's baseline through the checkpoint format, as at a restart.
LiveBaseline ThroughACheckpoint(const LiveBoard& board) {
  Checkpoint written;
  written.day_baseline = SaveLiveBoardBaseline(board);
  Checkpoint read;
  EXPECT_TRUE(DecodeCheckpoint(EncodeCheckpoint(written), &read).ok());
  EXPECT_TRUE(read.day_baseline.has_value());
  return FromDayBaselineCheckpoint(read.day_baseline.value_or(DayBaselineCheckpoint()));
}

TEST_F(LiveBoardTest, ASameDayBaselineFromACheckpointContinuesToday) {
  shop_.Create("app", "Beijing", 40);  // the days before
  shop_.Pay("app", 100, 3);
  const int64_t midnight = kMorningMs - 10 * kHourMs;  // 00:00 local
  LiveBoard before(&shop_.store, Options(), midnight - 1000);
  before.Tick(midnight + 200);  // the new day's baseline
  shop_.Create("web", "Shanghai", 6);
  shop_.Pay("web", 20, 7);
  EXPECT_EQ(before.Tick(kMorningMs - 1000).orders_today, 6);
  const LiveBaseline saved = ThroughACheckpoint(before);

  // Restarted at 10:00 with every counter restored.
  LiveBoard after(&shop_.store, Options(), kMorningMs);
  ASSERT_TRUE(after.RestoreBaseline(saved));
  shop_.Create("app", "Sichuan", 2);
  LiveFigures figures = after.Tick(kMorningMs + 200);
  EXPECT_EQ(figures.counting_since_ms, midnight);
  EXPECT_EQ(figures.orders_today, 8);
  EXPECT_EQ(figures.gmv_today, 20);
  EXPECT_EQ(figures.conversion, 0.125);
  ASSERT_TRUE(figures.payment_p95_seconds.has_value());  // today's 7 s payment only
  EXPECT_GT(*figures.payment_p95_seconds, 5);
  ASSERT_EQ(figures.channels.size(), 2u);
  EXPECT_EQ(figures.channels[0].name, "web");
  EXPECT_EQ(figures.channels[0].orders, 6);
  EXPECT_EQ(figures.channels[1].orders, 2);  // app: not the 40 of the days before
  EXPECT_NE(LiveFiguresJson(figures, "Asia/Shanghai").find("\"since\":\"00:00\""),
            std::string::npos);
  EXPECT_EQ(after.Baseline().counting_since_ms, midnight);  // saved again as it was
}

TEST_F(LiveBoardTest, AnEarlierDaysBaselineFromACheckpointIsIgnored) {
  LiveBoard before(&shop_.store, Options(), kMorningMs - 12 * kHourMs);  // 22:00 the day before
  shop_.Create("app", "Beijing", 5);
  before.Tick(kMorningMs - 11 * kHourMs);
  const LiveBaseline saved = ThroughACheckpoint(before);

  LiveBoard after(&shop_.store, Options(), kMorningMs);
  EXPECT_FALSE(after.RestoreBaseline(saved));
  shop_.Create("app", "Beijing", 1);
  LiveFigures figures = after.Tick(kMorningMs + 200);
  EXPECT_EQ(figures.counting_since_ms, kMorningMs);  // from the restart, as without one
  EXPECT_EQ(figures.orders_today, 1);
}

TEST_F(LiveBoardTest, TheBaselineFollowsMidnight) {
  LiveBoard board(&shop_.store, Options(), kMorningMs);
  EXPECT_EQ(board.Baseline().counting_since_ms, kMorningMs);
  shop_.Create("app", "Beijing", 5);
  const int64_t midnight = kMorningMs + 14 * kHourMs;
  board.Tick(midnight + 200);
  LiveBaseline baseline = board.Baseline();
  EXPECT_EQ(baseline.day_start_ms, midnight);
  EXPECT_EQ(baseline.counting_since_ms, midnight);
  EXPECT_NE(std::find(baseline.values.begin(), baseline.values.end(),
                      std::pair<std::string, double>("orders", 5)),
            baseline.values.end());
}

TEST_F(LiveBoardTest, OrdersPerSecondAndTheChartFollowTheSeconds) {
  LiveBoard board(&shop_.store, Options(), kMorningMs);
  // 10 orders in each of four seconds, read five times a second.
  for (int second = 0; second < 4; ++second) {
    for (int tick = 0; tick < 5; ++tick) {
      if (tick == 1) shop_.Create("app", "Beijing", 10);
      board.Tick(kMorningMs + second * 1000 + tick * 200);
    }
  }
  LiveFigures figures = board.Tick(kMorningMs + 4000);
  ASSERT_TRUE(figures.orders_per_second.has_value());
  EXPECT_DOUBLE_EQ(*figures.orders_per_second, 10);
  EXPECT_EQ(figures.chart_end_second, kMorningMs / 1000 + 3);
  EXPECT_EQ(figures.chart_orders, (std::vector<double>{0, 10, 10, 10, 10}));
}

TEST_F(LiveBoardTest, AStalledReadingSpreadsOverTheSecondsItMissed) {
  LiveBoard board(&shop_.store, Options(), kMorningMs);
  board.Tick(kMorningMs);
  shop_.Create("app", "Beijing", 30);
  LiveFigures figures = board.Tick(kMorningMs + 3000);  // no reading for 3 s
  board.Tick(kMorningMs + 3200);
  figures = board.Tick(kMorningMs + 4000);
  EXPECT_EQ(figures.chart_orders, (std::vector<double>{0, 10, 10, 10, 0}));
}

TEST_F(LiveBoardTest, BreakdownsAreSortedAndProvincesCut) {
  LiveBoardOptions options = Options();
  options.top_provinces = 2;
  LiveBoard board(&shop_.store, options, kMorningMs);
  shop_.Create("web", "Beijing", 1);
  shop_.Create("app", "Shanghai", 5);
  shop_.Create("app", "Sichuan", 2);
  shop_.Pay("app", 50, 3);
  LiveFigures figures = board.Tick(kMorningMs + 200);

  ASSERT_EQ(figures.channels.size(), 2u);
  EXPECT_EQ(figures.channels[0].name, "app");
  EXPECT_EQ(figures.channels[0].orders, 7);
  EXPECT_EQ(figures.channels[0].gmv, 50);
  EXPECT_EQ(figures.channels[1].name, "web");
  EXPECT_EQ(figures.channels[1].gmv, std::nullopt);
  ASSERT_EQ(figures.provinces.size(), 2u);
  EXPECT_EQ(figures.provinces[0].name, "Shanghai");
  EXPECT_EQ(figures.provinces[1].name, "Sichuan");
}

TEST_F(LiveBoardTest, MetricsTheConfigLacksGiveNull) {
  MetricStore empty;
  LiveBoard board(&empty, Options(), kMorningMs);
  LiveFigures figures = board.Tick(kMorningMs + 2000);
  EXPECT_EQ(figures.orders_today, std::nullopt);
  EXPECT_EQ(figures.gmv_today, std::nullopt);
  EXPECT_EQ(figures.orders_per_second, std::nullopt);
  EXPECT_EQ(figures.conversion, std::nullopt);
  EXPECT_EQ(figures.payment_p95_seconds, std::nullopt);
  EXPECT_TRUE(figures.channels.empty());
  std::string json = LiveFiguresJson(figures, "Asia/Shanghai");
  EXPECT_NE(json.find("\"orders_today\":null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"payment_p95_seconds\":null"), std::string::npos) << json;
}

TEST_F(LiveBoardTest, FramesCarryTheFiguresAndTheAlerts) {
  LiveBoardOptions options = Options();
  options.alerts = [] {
    return std::vector<LiveAlert>{{"ShopNoOrders", "firing", "page", "No \"orders\"", kMorningMs}};
  };
  LiveBoard board(&shop_.store, options, kMorningMs);
  EXPECT_EQ(board.LatestFrame().number, 0u);
  shop_.Create("app", "Beijing", 3);
  board.Tick(kMorningMs + 200);

  LiveBoard::Frame frame = board.LatestFrame();
  ASSERT_EQ(frame.number, 1u);
  const std::string& json = *frame.json;
  EXPECT_NE(json.find("\"orders_today\":3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"clock\":\"10:00:00\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"since\":\"10:00\""), std::string::npos) << json;
  EXPECT_NE(json.find("{\"name\":\"ShopNoOrders\",\"state\":\"firing\",\"severity\":\"page\","
                      "\"summary\":\"No \\\"orders\\\"\",\"since\":\"10:00:00\"}"),
            std::string::npos)
      << json;
}

TEST_F(LiveBoardTest, FramesRoundFiguresToThreeDecimals) {
  LiveFigures figures;
  figures.orders_per_second = 18.377946464242907;
  figures.conversion = 0.5869565217391305;
  figures.chart_gmv = {1234.5599999999977};
  std::string json = LiveFiguresJson(figures, "UTC");
  EXPECT_NE(json.find("\"orders_per_second\":18.378,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"conversion\":0.587,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"gmv\":[1234.56]"), std::string::npos) << json;
}

TEST_F(LiveBoardTest, WaitForFrameWakesOnTheNextFrameOrTimesOut) {
  LiveBoard board(&shop_.store, Options(), kMorningMs);
  EXPECT_EQ(board.WaitForFrame(0, std::chrono::milliseconds(20)).number, 0u);
  std::thread ticker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    board.Tick(kMorningMs + 200);
  });
  LiveBoard::Frame frame = board.WaitForFrame(0, std::chrono::seconds(10));
  ticker.join();
  EXPECT_EQ(frame.number, 1u);
  EXPECT_EQ(board.WaitForFrame(1, std::chrono::milliseconds(20)).number, 0u);
}

TEST_F(LiveBoardTest, StartedBoardPublishesSeveralFramesASecond) {
  LiveBoardOptions options = Options();
  options.refresh_interval_ms = 50;
  LiveBoard board(&shop_.store, options, kMorningMs);
  board.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  board.Stop();
  EXPECT_GE(board.LatestFrame().number, 3u);
}

TEST(HistogramQuantileTest, InterpolatesLikePrometheus) {
  // 10 observations in (0, 5], 10 in (5, 10]: the median is 5, p95 is 9.5.
  std::vector<double> bounds = {5, 10, 20};
  std::vector<double> counts = {10, 10, 0, 0};
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.5, bounds, counts), 5);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.95, bounds, counts), 9.5);
}

TEST(HistogramQuantileTest, TheInfBucketGivesTheHighestBound) {
  EXPECT_EQ(HistogramQuantile(0.95, {5, 10}, {1, 0, 9}), 10);
}

TEST(HistogramQuantileTest, NoObservationsGiveNull) {
  EXPECT_EQ(HistogramQuantile(0.95, {5, 10}, {0, 0, 0}), std::nullopt);
  EXPECT_EQ(HistogramQuantile(0.95, {5, 10}, {1, 2}), std::nullopt);  // malformed
}

}  // namespace
}  // namespace txmon

namespace txmon {
namespace {

// A shop whose metrics are named otherwise gets a working screen by naming
// them in the config's `live:` section.
TEST(LiveBoardNamesTest, TheScreenReadsTheMetricsAndLabelsTheConfigNames) {
  MetricStore store;
  Metric* orders = nullptr;
  Metric* paid = nullptr;
  Metric* revenue = nullptr;
  ASSERT_TRUE(
      store
          .Add({"acme_orders_total", "", MetricType::kCounter, {"store_front", "region"}, {}, {}},
               &orders)
          .ok());
  ASSERT_TRUE(
      store
          .Add({"acme_paid_orders_total", "", MetricType::kCounter, {"store_front"}, {}, {}}, &paid)
          .ok());
  ASSERT_TRUE(
      store
          .Add({"acme_revenue_eur_total", "", MetricType::kCounter, {"store_front"}, {}, {}},
               &revenue)
          .ok());
  LiveBoardOptions options;
  options.names.orders = "acme_orders_total";
  options.names.paid_orders = "acme_paid_orders_total";
  options.names.gmv = "acme_revenue_eur_total";
  options.names.payment_time = "acme_missing_seconds";
  options.names.channel_label = "store_front";
  options.names.province_label = "region";
  options.names.currency = "€";
  LiveBoard board(&store, options, kMorningMs);
  orders->Resolve({"web", "Bavaria"})->Add(3 * kMicrosPerUnit);
  orders->Resolve({"app", "Saxony"})->Add(1 * kMicrosPerUnit);
  paid->Resolve({"web"})->Add(2 * kMicrosPerUnit);
  revenue->Resolve({"web"})->Add(4'250'500'000);  // 4250.50
  LiveFigures figures = board.Tick(kMorningMs + 2000);
  EXPECT_EQ(figures.orders_today, 4);
  EXPECT_EQ(figures.gmv_today, 4250.5);
  EXPECT_EQ(figures.conversion, 0.5);
  EXPECT_EQ(figures.payment_p95_seconds, std::nullopt);
  ASSERT_EQ(figures.channels.size(), 2u);
  EXPECT_EQ(figures.channels[0].name, "web");
  EXPECT_EQ(figures.channels[0].gmv, 4250.5);
  ASSERT_EQ(figures.provinces.size(), 2u);
  EXPECT_EQ(figures.provinces[0].name, "Bavaria");
  const std::string json = LiveFiguresJson(figures, options.time_zone, options.names.currency);
  EXPECT_NE(json.find("\"currency\":\"€\""), std::string::npos) << json;
}

// One agent of several in a consumer group says which share it counts.
TEST(LiveBoardJsonTest, SaysWhichShareOfThePartitionsTheFiguresCount) {
  LiveFigures figures;
  EXPECT_NE(LiveFiguresJson(figures, "UTC").find("\"scope\":\"\""), std::string::npos);
  figures.scope = "3 of 16 partitions";
  EXPECT_NE(LiveFiguresJson(figures, "UTC").find("\"scope\":\"3 of 16 partitions\""),
            std::string::npos);
}

}  // namespace
}  // namespace txmon
