#include "agent/live/live_board.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "agent/base/bucket_quantile.h"
#include "agent/base/fixed_point.h"
#include "agent/base/json_writer.h"
#include "agent/base/wall_clock.h"
#include "agent/promql/float_format.h"
#include "agent/promql/promql_parser.h"

namespace txmon {

namespace {

// The metrics of the shipped txmon.yml the board shows.

// Names of the baseline's values in checkpoints: a total, or "PART:KEY" for
// one entry of a breakdown or one histogram bucket (KEY may hold ':').
constexpr char kOrdersValue[] = "orders";
constexpr char kPaidValue[] = "paid";
constexpr char kGmvValue[] = "gmv";
constexpr char kOrdersByChannel[] = "orders_by_channel";
constexpr char kGmvByChannel[] = "gmv_by_channel";
constexpr char kOrdersByProvince[] = "orders_by_province";
constexpr char kPaymentBucket[] = "payment_bucket";

// How often a stream looks at the server's stop flag, and how long it may
// stay silent (a comment line keeps proxies from closing it and detects a
// client that has gone).

std::tm LocalTime(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(FloorDiv(ms, 1000));
  std::tm local{};
  localtime_r(&seconds, &local);
  return local;
}

// Local midnight (process zone) of the day holding `ms`.
int64_t LocalMidnightMs(int64_t ms) {
  std::tm local = LocalTime(ms);
  local.tm_hour = 0;
  local.tm_min = 0;
  local.tm_sec = 0;
  local.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&local)) * 1000;
}

std::string FormatLocal(int64_t ms, const char* format) {
  std::tm local = LocalTime(ms);
  char buffer[64];
  size_t length = std::strftime(buffer, sizeof buffer, format, &local);
  return std::string(buffer, length);
}

const Metric* FindMetric(const MetricStore& store, const std::string& name, MetricType type) {
  const Metric* metric = store.Find(name);
  return metric != nullptr && metric->spec().type == type ? metric : nullptr;
}

int LabelPosition(const Metric* metric, std::string_view label) {
  if (metric == nullptr) return -1;
  const std::vector<std::string>& names = metric->spec().label_names;
  auto found = std::find(names.begin(), names.end(), label);
  return found == names.end() ? -1 : static_cast<int>(found - names.begin());
}

std::optional<double> Sum(const Metric* metric) {
  if (metric == nullptr) return std::nullopt;
  int64_t micros = 0;
  metric->VisitSeries([&](const Series& series) { micros += series.value(); });
  return MicrosToDouble(micros);
}

// Sums `metric`'s series by the value of the label at `position`.
void SumByLabel(const Metric& metric, int position, std::map<std::string, double>* by) {
  std::map<std::string, int64_t> micros;
  metric.VisitSeries([&](const Series& series) {
    micros[series.label_values()[static_cast<size_t>(position)]] += series.value();
  });
  for (const auto& [value, sum] : micros) (*by)[value] = MicrosToDouble(sum);
}

// `__name__="name"`. Make refuses only an invalid regex, never an equality.
LabelMatcher NameIs(const std::string& name) {
  LabelMatcher matcher;
  Status made =
      LabelMatcher::Make(LabelMatcher::Type::kEqual, std::string(kMetricNameLabel), name, &matcher);
  (void)made;
  return matcher;
}

std::vector<double> SumBuckets(const Metric& histogram) {
  std::vector<double> counts(histogram.spec().bucket_bounds.size() + 1, 0);
  histogram.VisitSeries([&](const Series& series) {
    for (size_t i = 0; i < counts.size() && i < series.bucket_size(); ++i) {
      counts[i] += static_cast<double>(series.bucket_count(i));
    }
  });
  return counts;
}

// Today's part of a counter: now minus the baseline, never negative.
std::optional<double> SinceBaseline(std::optional<double> now, std::optional<double> base) {
  if (!now) return std::nullopt;
  return std::max(0.0, *now - base.value_or(0));
}

double SinceBaseline(const std::map<std::string, double>& base, const std::string& key,
                     double now) {
  auto found = base.find(key);
  return std::max(0.0, now - (found == base.end() ? 0 : found->second));
}

void AddNamed(LiveBaseline::ValueList* values, const char* name, std::optional<double> value) {
  if (value) values->emplace_back(name, *value);
}

void AddNamed(LiveBaseline::ValueList* values, const char* part,
              const std::map<std::string, double>& by) {
  for (const auto& [key, value] : by) values->emplace_back(std::string(part) + ":" + key, value);
}

// Sets bucket `index` (decimal text) when the histogram has it: a bucket
// layout changed since the checkpoint leaves the rest at 0.
void SetBucket(std::string_view index, double value, std::vector<double>* buckets) {
  size_t i = 0;
  auto [end, error] = std::from_chars(index.data(), index.data() + index.size(), i);
  if (error == std::errc() && end == index.data() + index.size() && i < buckets->size()) {
    (*buckets)[i] = value;
  }
}

// Figures for display: three decimals are plenty, and keep frames small.
std::optional<double> Rounded(std::optional<double> value) {
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return std::round(*value * 1000) / 1000;
}

void WriteNumbers(JsonWriter& json, const std::vector<double>& values) {
  json.BeginArray();
  for (double value : values) json.Number(Rounded(value));
  json.EndArray();
}

void WriteShares(JsonWriter& json, const std::vector<LiveShare>& shares) {
  json.BeginArray();
  for (const LiveShare& share : shares) {
    json.BeginObject().Field("name", share.name);
    json.Key("orders").Number(Rounded(share.orders));
    json.Key("gmv").Number(Rounded(share.gmv));
    json.EndObject();
  }
  json.EndArray();
}

void WriteAlerts(JsonWriter& json, const std::vector<LiveAlert>& alerts) {
  json.BeginArray();
  for (const LiveAlert& alert : alerts) {
    json.BeginObject()
        .Field("name", alert.name)
        .Field("state", alert.state)
        .Field("severity", alert.severity)
        .Field("summary", alert.summary)
        .Field("since", FormatLocal(alert.active_at_ms, "%H:%M:%S"))
        .EndObject();
  }
  json.EndArray();
}

}  // namespace

std::optional<double> HistogramQuantile(double quantile, const std::vector<double>& upper_bounds,
                                        const std::vector<double>& counts) {
  if (counts.size() != upper_bounds.size() + 1) return std::nullopt;
  std::vector<HistogramBucket> buckets;
  double cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    buckets.push_back({i < upper_bounds.size() ? upper_bounds[i] : INFINITY, cumulative});
  }
  double value = BucketQuantile(std::clamp(quantile, 0.0, 1.0), std::move(buckets));
  if (std::isnan(value)) return std::nullopt;
  return value;
}

std::string LiveFiguresJson(const LiveFigures& figures, const std::string& time_zone,
                            const std::string& currency) {
  JsonWriter json;
  json.BeginObject();
  json.Key("time_ms").Int(figures.time_ms);
  json.Field("clock", FormatLocal(figures.time_ms, "%H:%M:%S"))
      .Field("day", FormatLocal(figures.time_ms, "%Y-%m-%d"))
      .Field("zone", time_zone)
      .Field("currency", currency)
      .Field("since", FormatLocal(figures.counting_since_ms, "%H:%M"))
      .Field("scope", figures.scope);
  json.Key("orders_today").Number(Rounded(figures.orders_today));
  json.Key("gmv_today").Number(Rounded(figures.gmv_today));
  json.Key("orders_per_second").Number(Rounded(figures.orders_per_second));
  json.Key("conversion").Number(Rounded(figures.conversion));
  json.Key("payment_p95_seconds").Number(Rounded(figures.payment_p95_seconds));
  json.Key("chart").BeginObject();
  json.Key("end_second").Int(figures.chart_end_second);
  json.Key("orders");
  WriteNumbers(json, figures.chart_orders);
  json.Key("gmv");
  WriteNumbers(json, figures.chart_gmv);
  json.EndObject();
  json.Key("channels");
  WriteShares(json, figures.channels);
  json.Key("provinces");
  WriteShares(json, figures.provinces);
  json.Key("alerts");
  WriteAlerts(json, figures.alerts);
  json.EndObject();
  return json.Take();
}

LiveBoard::LiveBoard(const MetricStore* store, LiveBoardOptions options, int64_t now_ms)
    : options_(std::move(options)) {
  const LiveMetricNames& names = options_.names;
  orders_created_ = FindMetric(*store, names.orders, MetricType::kCounter);
  orders_paid_ = FindMetric(*store, names.paid_orders, MetricType::kCounter);
  gmv_paid_ = FindMetric(*store, names.gmv, MetricType::kCounter);
  payment_duration_ = FindMetric(*store, names.payment_time, MetricType::kHistogram);
  if (payment_duration_ != nullptr) {
    for (int64_t bound : payment_duration_->spec().bucket_bounds) {
      payment_bounds_seconds_.push_back(MicrosToDouble(bound));
    }
  }
  created_channel_label_ = LabelPosition(orders_created_, names.channel_label);
  created_province_label_ = LabelPosition(orders_created_, names.province_label);
  gmv_channel_label_ = LabelPosition(gmv_paid_, names.channel_label);
  PrepareReadings();
  // Since `now_ms`, not midnight, unless RestoreBaseline says otherwise.
  SetBaseline(LocalMidnightMs(now_ms), now_ms, ReadTotals());
}

LiveBoard::~LiveBoard() { Stop(); }

// The readings' series and the figures' expressions. The names are metric
// names the configuration accepted, so the expressions parse; one that did
// not would leave its figure null.
void LiveBoard::PrepareReadings() {
  const LiveMetricNames& names = options_.names;
  const int64_t keep_ms =
      (int64_t{std::max(options_.chart_seconds, options_.rate_window_seconds)} + 2) * 1000;
  orders_series_ = Labels{{std::string(kMetricNameLabel), names.orders}};
  gmv_series_ = Labels{{std::string(kMetricNameLabel), names.gmv}};
  readings_.Intern(orders_series_, keep_ms);
  readings_.Intern(gmv_series_, keep_ms);
  orders_matcher_ = NameIs(names.orders);
  gmv_matcher_ = NameIs(names.gmv);
  const std::string buckets = names.payment_time + "_bucket";
  for (size_t i = 0; payment_duration_ != nullptr && i <= payment_bounds_seconds_.size(); ++i) {
    const double bound = i < payment_bounds_seconds_.size() ? payment_bounds_seconds_[i] : INFINITY;
    payment_bucket_series_.push_back(
        Labels{{std::string(kMetricNameLabel), buckets}, {"le", FormatFloatShortest(bound)}});
    readings_.Intern(payment_bucket_series_.back(), keep_ms);
  }
  const std::string rate =
      "rate(" + names.orders + "[" + std::to_string(options_.rate_window_seconds) + "s])";
  if (!ParseExpr(rate, &orders_rate_).ok()) orders_rate_.reset();
  if (!ParseExpr("histogram_quantile(0.95, " + buckets + ")", &payment_p95_).ok()) {
    payment_p95_.reset();
  }
}

void LiveBoard::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void LiveBoard::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LiveBoard::Run() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  while (!stopping_) {
    lock.unlock();
    Tick(WallClockMs());
    lock.lock();
    stop_signal_.wait_for(lock, std::chrono::milliseconds(options_.refresh_interval_ms),
                          [this] { return stopping_; });
  }
}

LiveBoard::Totals LiveBoard::ReadTotals() const {
  Totals totals;
  totals.orders = Sum(orders_created_);
  totals.paid = Sum(orders_paid_);
  totals.gmv = Sum(gmv_paid_);
  if (created_channel_label_ >= 0) {
    SumByLabel(*orders_created_, created_channel_label_, &totals.orders_by_channel);
  }
  if (created_province_label_ >= 0) {
    SumByLabel(*orders_created_, created_province_label_, &totals.orders_by_province);
  }
  if (gmv_channel_label_ >= 0) SumByLabel(*gmv_paid_, gmv_channel_label_, &totals.gmv_by_channel);
  if (payment_duration_ != nullptr) totals.payment_buckets = SumBuckets(*payment_duration_);
  return totals;
}

LiveFigures LiveBoard::Tick(int64_t now_ms) {
  Totals totals = ReadTotals();
  StartDayIfNew(now_ms, totals);
  Record(now_ms, totals);
  LiveFigures figures;
  figures.time_ms = now_ms;
  figures.counting_since_ms = counting_since_ms_;
  FillToday(now_ms, totals, &figures);
  FillRate(now_ms, totals, &figures);
  FillChart(now_ms, &figures);
  FillShares(totals, &figures);
  if (options_.alerts) figures.alerts = options_.alerts();
  if (options_.scope) figures.scope = options_.scope();
  Publish(LiveFiguresJson(figures, options_.time_zone, options_.names.currency));
  return figures;
}

void LiveBoard::StartDayIfNew(int64_t now_ms, const Totals& totals) {
  int64_t midnight = LocalMidnightMs(now_ms);
  if (midnight <= day_start_ms_) return;
  SetBaseline(midnight, midnight, totals);
}

void LiveBoard::SetBaseline(int64_t day_start_ms, int64_t counting_since_ms, Totals totals) {
  auto published = std::make_shared<const LiveBaseline>(
      LiveBaseline{day_start_ms, counting_since_ms, NamedValues(totals)});
  day_start_ms_ = day_start_ms;
  counting_since_ms_ = counting_since_ms;
  baseline_ = std::move(totals);
  std::lock_guard<std::mutex> lock(frame_mutex_);
  published_baseline_ = std::move(published);
}

LiveBaseline LiveBoard::Baseline() const {
  std::shared_ptr<const LiveBaseline> baseline;
  {
    std::lock_guard<std::mutex> lock(frame_mutex_);
    baseline = published_baseline_;
  }
  return *baseline;
}

// A baseline of an earlier day is dropped: the board keeps the values it read
// at start, so today counts from the restart and the header says "since" the
// restart's time. Whatever the previous run counted between midnight and its
// last checkpoint is then missing from today. It counted nothing there when
// it was down over midnight (its counters stopped before midnight; the backlog
// is consumed, and counted, after the restart). It did when it ran past
// midnight but its board had not read the new day yet (< one reading
// interval, longer only if its thread stalled): those events are lost for
// today's figures.
bool LiveBoard::RestoreBaseline(const LiveBaseline& saved) {
  if (saved.day_start_ms != day_start_ms_) return false;
  SetBaseline(saved.day_start_ms, saved.counting_since_ms, FromNamedValues(saved.values));
  return true;
}

LiveBaseline::ValueList LiveBoard::NamedValues(const Totals& totals) {
  LiveBaseline::ValueList values;
  AddNamed(&values, kOrdersValue, totals.orders);
  AddNamed(&values, kPaidValue, totals.paid);
  AddNamed(&values, kGmvValue, totals.gmv);
  AddNamed(&values, kOrdersByChannel, totals.orders_by_channel);
  AddNamed(&values, kGmvByChannel, totals.gmv_by_channel);
  AddNamed(&values, kOrdersByProvince, totals.orders_by_province);
  for (size_t i = 0; i < totals.payment_buckets.size(); ++i) {
    values.emplace_back(std::string(kPaymentBucket) + ":" + std::to_string(i),
                        totals.payment_buckets[i]);
  }
  return values;
}

// Names this board does not know (a later version's) are ignored; a total
// missing from `values` counts as 0, as for a metric missing at start.
LiveBoard::Totals LiveBoard::FromNamedValues(const LiveBaseline::ValueList& values) const {
  Totals totals;
  if (payment_duration_ != nullptr) {
    totals.payment_buckets.assign(payment_bounds_seconds_.size() + 1, 0);
  }
  for (const auto& [name, value] : values) {
    const size_t colon = name.find(':');
    const std::string_view part = std::string_view(name).substr(0, colon);
    const std::string key = colon == std::string::npos ? "" : name.substr(colon + 1);
    if (name == kOrdersValue) totals.orders = value;
    if (name == kPaidValue) totals.paid = value;
    if (name == kGmvValue) totals.gmv = value;
    if (part == kOrdersByChannel) totals.orders_by_channel[key] = value;
    if (part == kGmvByChannel) totals.gmv_by_channel[key] = value;
    if (part == kOrdersByProvince) totals.orders_by_province[key] = value;
    if (part == kPaymentBucket) SetBucket(key, value, &totals.payment_buckets);
  }
  return totals;
}

// One reading into the history: the totals as they are, the payment
// buckets as today's part, cumulative as Prometheus's `_bucket` series.
void LiveBoard::Record(int64_t now_ms, const Totals& totals) {
  first_reading_ms_ = std::min(first_reading_ms_, now_ms);
  readings_.Append(orders_series_, now_ms, totals.orders.value_or(0));
  readings_.Append(gmv_series_, now_ms, totals.gmv.value_or(0));
  double cumulative = 0;
  for (size_t i = 0; i < payment_bucket_series_.size() && i < totals.payment_buckets.size(); ++i) {
    const double base = i < baseline_.payment_buckets.size() ? baseline_.payment_buckets[i] : 0;
    cumulative += std::max(0.0, totals.payment_buckets[i] - base);
    readings_.Append(payment_bucket_series_[i], now_ms, cumulative);
  }
}

std::optional<double> LiveBoard::Evaluate(const Expr& expr, int64_t now_ms) const {
  Vector result;
  if (!engine_.EvalVector(expr, now_ms, readings_, &result).ok() || result.empty()) {
    return std::nullopt;
  }
  if (std::isnan(result.front().value)) return std::nullopt;
  return result.front().value;
}

void LiveBoard::FillToday(int64_t now_ms, const Totals& totals, LiveFigures* figures) const {
  figures->orders_today = SinceBaseline(totals.orders, baseline_.orders);
  figures->gmv_today = SinceBaseline(totals.gmv, baseline_.gmv);
  std::optional<double> paid_today = SinceBaseline(totals.paid, baseline_.paid);
  if (figures->orders_today && paid_today && *figures->orders_today > 0) {
    figures->conversion = *paid_today / *figures->orders_today;
  }
  if (payment_p95_ && !payment_bucket_series_.empty()) {
    figures->payment_p95_seconds = Evaluate(*payment_p95_, now_ms);
  }
}

// Orders/s over the rate window, once the readings span a second (a rate
// over the first fraction of a second would be mostly extrapolation).
void LiveBoard::FillRate(int64_t now_ms, const Totals& totals, LiveFigures* figures) const {
  if (!totals.orders || !orders_rate_ || now_ms - first_reading_ms_ < 1000) return;
  figures->orders_per_second = Evaluate(*orders_rate_, now_ms);
}

void LiveBoard::FillChart(int64_t now_ms, LiveFigures* figures) const {
  const size_t length = static_cast<size_t>(std::max(0, options_.chart_seconds));
  const int64_t end = FloorDiv(now_ms, 1000) - 1;
  figures->chart_end_second = end;
  figures->chart_orders.assign(length, 0);
  figures->chart_gmv.assign(length, 0);
  const int64_t first = end - static_cast<int64_t>(length) + 1;
  FillChartOf(orders_matcher_, first, &figures->chart_orders);
  FillChartOf(gmv_matcher_, first, &figures->chart_gmv);
}

// Each complete second gets the growth from its first reading to the next
// second's first reading; a gap between readings (a stalled board) is
// spread evenly over the seconds it spans.
void LiveBoard::FillChartOf(const LabelMatcher& series, int64_t first_second,
                            std::vector<double>* chart) const {
  const int64_t end = first_second + static_cast<int64_t>(chart->size()) - 1;
  readings_.Select(
      std::span<const LabelMatcher>(&series, 1), INT64_MIN, INT64_MAX,
      [&](const Labels&, std::span<const Point> points) {
        const Point* from = nullptr;
        for (const Point& point : points) {
          if (from != nullptr &&
              FloorDiv(point.timestamp_ms, 1000) == FloorDiv(from->timestamp_ms, 1000)) {
            continue;  // not its second's first reading
          }
          if (from != nullptr) {
            const int64_t from_second = FloorDiv(from->timestamp_ms, 1000);
            const int64_t to_second = FloorDiv(point.timestamp_ms, 1000);
            const double per_second = std::max(0.0, point.value - from->value) /
                                      static_cast<double>(to_second - from_second);
            for (int64_t s = std::max(from_second, first_second); s < to_second && s <= end; ++s) {
              (*chart)[static_cast<size_t>(s - first_second)] = per_second;
            }
          }
          from = &point;
        }
      });
}

void LiveBoard::FillShares(const Totals& totals, LiveFigures* figures) const {
  std::map<std::string, LiveShare> channels;
  for (const auto& [name, orders] : totals.orders_by_channel) {
    channels[name].orders = SinceBaseline(baseline_.orders_by_channel, name, orders);
  }
  for (const auto& [name, gmv] : totals.gmv_by_channel) {
    channels[name].gmv = SinceBaseline(baseline_.gmv_by_channel, name, gmv);
  }
  for (auto& [name, share] : channels) {
    share.name = name;
    if (share.orders > 0 || share.gmv.value_or(0) > 0) figures->channels.push_back(share);
  }
  for (const auto& [name, orders] : totals.orders_by_province) {
    double today = SinceBaseline(baseline_.orders_by_province, name, orders);
    if (today > 0) figures->provinces.push_back({name, today, std::nullopt});
  }
  auto by_orders = [](const LiveShare& a, const LiveShare& b) {
    return a.orders != b.orders ? a.orders > b.orders : a.name < b.name;
  };
  std::sort(figures->channels.begin(), figures->channels.end(), by_orders);
  std::sort(figures->provinces.begin(), figures->provinces.end(), by_orders);
  if (figures->provinces.size() > options_.top_provinces) {
    figures->provinces.resize(options_.top_provinces);
  }
}

void LiveBoard::Publish(std::string json) {
  auto shared = std::make_shared<const std::string>(std::move(json));
  {
    std::lock_guard<std::mutex> lock(frame_mutex_);
    ++frame_.number;
    frame_.json = std::move(shared);
  }
  frame_changed_.notify_all();
}

LiveBoard::Frame LiveBoard::LatestFrame() const {
  std::lock_guard<std::mutex> lock(frame_mutex_);
  return frame_;
}

LiveBoard::Frame LiveBoard::WaitForFrame(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(frame_mutex_);
  if (!frame_changed_.wait_for(lock, timeout, [&] { return frame_.number > seen; })) return {};
  return frame_;
}

}  // namespace txmon
