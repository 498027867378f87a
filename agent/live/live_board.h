// LiveBoard: the figures of the live order screen (GET /): orders and GMV
// today, orders/s, conversion, payment time p95, a per-second chart of the
// last few minutes, channel and province breakdowns and the firing alerts.
//
// It reads the MetricStore a few times a second on its own thread (never per
// event: the pipeline does not know it exists), turns each reading into one
// JSON frame, and hands the latest frame to every open Server-Sent Events
// stream. The shipped metrics of txmon.yml are looked up by name once; a
// metric the configuration lacks (or declares with another type or without
// the label) gives null figures, which the page shows as "—".
//
// Each reading goes into the board's own SampleHistory, under the metrics'
// own names: the orders and GMV totals, and today's payment-time buckets as
// `<payment_time>_bucket{le}`. The rate and the quantile are PromQL over it,
// evaluated by the engine the API and the rules use: orders/s is
// `rate(<orders>[<rate_window>s])`, the payment p95 is
// `histogram_quantile(0.95, <payment_time>_bucket)`. The board keeps its own
// history rather than reading the agent's: it reads every refresh interval
// (200 ms), finer than history.resolution, and "today" starts at a midnight
// hours older than the agent's history keeps.
//
// "Today" is since local midnight in the process's zone (global.time_zone,
// set by LocalZone::Use). The store's counters only grow (a checkpoint
// restores them after a restart), so today's figures are the counters minus
// a baseline: their values at local midnight. A board started after midnight
// takes its values at start (the frame says since when, and the page shows
// it), unless it is given the baseline a checkpoint kept (Baseline,
// RestoreBaseline): one of the same day continues "today" exactly through a
// restart (its "since" too), one of an earlier day is ignored. At midnight
// the first reading of the new day becomes the baseline (events in the < 1
// reading interval between midnight and it count for the day before).
//
// Threading: Start/Stop from one owner thread, RestoreBaseline from it before
// Start. Tick runs on the board's thread (or, when not started, on a test's
// thread; one at a time). LatestFrame, WaitForFrame and
// Baseline: any thread, concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/history/sample_history.h"
#include "agent/promql/promql_ast.h"
#include "agent/promql/promql_engine.h"
#include "agent/store/metric_store.h"

namespace txmon {

// An alert as the screen shows it.
struct LiveAlert {
  std::string name;
  std::string state;  // "firing" or "pending"
  std::string severity;
  std::string summary;
  int64_t active_at_ms = 0;
};
using LiveAlertSource = std::function<std::vector<LiveAlert>()>;

// Which metrics and labels the screen reads (the `live:` section of
// txmon.yml); the defaults are the names the shipped txmon.yml declares.
struct LiveMetricNames {
  std::string orders = "shop_orders_created_total";            // counter: orders created
  std::string paid_orders = "shop_orders_paid_total";          // counter: orders paid
  std::string gmv = "shop_gmv_paid_total";                     // counter: amount paid
  std::string payment_time = "shop_payment_duration_seconds";  // histogram: created → paid
  std::string channel_label = "channel";                       // on `orders` and `gmv`
  std::string province_label = "province";                     // on `orders`
  std::string currency = "¥";                                  // shown before money figures
};

struct LiveBoardOptions {
  LiveMetricNames names;
  int64_t refresh_interval_ms = 200;  // how often the store is read and a frame sent
  int chart_seconds = 180;            // length of the per-second chart
  int rate_window_seconds = 10;       // orders/s is averaged over this
  size_t top_provinces = 12;
  std::string time_zone = "UTC";  // shown on the page; the conversion uses the process zone
  LiveAlertSource alerts;         // firing/pending alerts; unset: none
  // LiveFigures::scope, read once per frame; unset: the whole stream.
  std::function<std::string()> scope;
};

// One row of a breakdown; gmv is null when the store has no GMV by that label.
struct LiveShare {
  std::string name;
  double orders = 0;
  std::optional<double> gmv;
};

// One reading of the board. Null figures are those the store cannot give.
struct LiveFigures {
  int64_t time_ms = 0;
  int64_t counting_since_ms = 0;  // local midnight, or the agent's start if later
  std::optional<double> orders_today;
  std::optional<double> gmv_today;
  std::optional<double> orders_per_second;
  std::optional<double> conversion;  // paid / created, today
  std::optional<double> payment_p95_seconds;
  // Complete seconds, oldest first, ending with the last complete second.
  int64_t chart_end_second = 0;  // Unix seconds of the last value
  std::vector<double> chart_orders;
  std::vector<double> chart_gmv;
  std::vector<LiveShare> channels;   // by orders today, descending
  std::vector<LiveShare> provinces;  // the top ones by orders today
  std::vector<LiveAlert> alerts;
  // Which share of the stream these figures count, when it is a share:
  // "3 of 16 partitions" (one agent of several in a consumer group).
  std::string scope;
};

// The counter totals "today" counts from, as named values (a checkpoint
// keeps them without knowing the board).
struct LiveBaseline {
  using ValueList = std::vector<std::pair<std::string, double>>;
  int64_t day_start_ms = 0;       // local midnight of the day it belongs to
  int64_t counting_since_ms = 0;  // when it was taken: midnight, or a later start
  ValueList values;
};

// Prometheus's histogram_quantile over non-cumulative bucket counts
// (`upper_bounds` finite, ascending; counts has one more entry, +Inf). Null
// when there are no observations.
std::optional<double> HistogramQuantile(double quantile, const std::vector<double>& upper_bounds,
                                        const std::vector<double>& counts);

// The frame sent to browsers: `figures` as one JSON object.
std::string LiveFiguresJson(const LiveFigures& figures, const std::string& time_zone,
                            const std::string& currency = "¥");

class LiveBoard {
 public:
  // Finds the metrics in `store` (which must outlive the board) and takes
  // the counters' baseline at `now_ms`, so a board built before the pipeline
  // runs counts every event it consumes.
  LiveBoard(const MetricStore* store, LiveBoardOptions options, int64_t now_ms);
  ~LiveBoard();
  LiveBoard(const LiveBoard&) = delete;
  LiveBoard& operator=(const LiveBoard&) = delete;

  // Reads the store every refresh interval on the board's thread.
  void Start();
  // Idempotent; streams then see no new frames.
  void Stop();

  // Reads the store at `now_ms`, publishes the frame and returns the figures.
  LiveFigures Tick(int64_t now_ms);

  // The current baseline, for a checkpoint: a copy of a snapshot that
  // changes once a day, taken under the frame lock.
  LiveBaseline Baseline() const;
  // Counts today from `saved` (a checkpoint's) when it belongs to the
  // board's current day, and returns true; another day's is ignored. Before
  // Start.
  bool RestoreBaseline(const LiveBaseline& saved);

  struct Frame {
    uint64_t number = 0;  // 0: none yet
    std::shared_ptr<const std::string> json;
  };
  Frame LatestFrame() const;
  // The first frame newer than `seen`, waiting up to `timeout`; number 0 if
  // none came.
  Frame WaitForFrame(uint64_t seen, std::chrono::milliseconds timeout) const;

 private:
  // What the board reads from the store at one instant: sums over series,
  // in units (not micros). Absent optionals: the metric is missing.
  struct Totals {
    std::optional<double> orders;
    std::optional<double> paid;
    std::optional<double> gmv;
    std::map<std::string, double> orders_by_channel;
    std::map<std::string, double> gmv_by_channel;
    std::map<std::string, double> orders_by_province;
    std::vector<double> payment_buckets;  // empty: no payment histogram
  };

  Totals ReadTotals() const;
  // Makes `totals` the baseline of the day starting at `day_start_ms`, and
  // publishes it for Baseline.
  void SetBaseline(int64_t day_start_ms, int64_t counting_since_ms, Totals totals);
  static LiveBaseline::ValueList NamedValues(const Totals& totals);
  Totals FromNamedValues(const LiveBaseline::ValueList& values) const;
  void StartDayIfNew(int64_t now_ms, const Totals& totals);
  void PrepareReadings();
  void Record(int64_t now_ms, const Totals& totals);
  // The first value of `expr` at `now_ms` over the readings; null when it
  // has none or it is not a number.
  std::optional<double> Evaluate(const Expr& expr, int64_t now_ms) const;
  void FillToday(int64_t now_ms, const Totals& totals, LiveFigures* figures) const;
  void FillRate(int64_t now_ms, const Totals& totals, LiveFigures* figures) const;
  void FillChart(int64_t now_ms, LiveFigures* figures) const;
  void FillChartOf(const LabelMatcher& series, int64_t first_second,
                   std::vector<double>* chart) const;
  void FillShares(const Totals& totals, LiveFigures* figures) const;
  void Publish(std::string json);
  void Run();

  const LiveBoardOptions options_;
  // Handles found once; null when the configuration has no such metric.
  const Metric* orders_created_ = nullptr;
  const Metric* orders_paid_ = nullptr;
  const Metric* gmv_paid_ = nullptr;
  const Metric* payment_duration_ = nullptr;
  std::vector<double> payment_bounds_seconds_;
  int created_channel_label_ = -1;  // label positions; -1: the metric lacks it
  int created_province_label_ = -1;
  int gmv_channel_label_ = -1;

  // Tick's state (one thread at a time).
  int64_t day_start_ms_ = 0;
  int64_t counting_since_ms_ = 0;
  Totals baseline_;
  // The readings, and the PromQL the figures are computed with over them.
  SampleHistory readings_;
  int64_t first_reading_ms_ = INT64_MAX;
  PromqlEngine engine_;
  Labels orders_series_;
  Labels gmv_series_;
  LabelMatcher orders_matcher_;  // __name__ of orders_series_, for the chart
  LabelMatcher gmv_matcher_;
  std::vector<Labels> payment_bucket_series_;  // by bucket, +Inf last
  ExprPtr orders_rate_;
  ExprPtr payment_p95_;

  mutable std::mutex frame_mutex_;  // guards frame_ and published_baseline_
  mutable std::condition_variable frame_changed_;
  Frame frame_;
  std::shared_ptr<const LiveBaseline> published_baseline_;

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace txmon
