#include "tests/support/shop_truth_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

namespace txmon::test {

namespace {

// Each series' value is an exact decimal, but summing several as doubles
// rounds in the last bit: totals of money are compared in whole cents.
int64_t Cents(double yuan) { return std::llround(yuan * 100); }

// Cumulative bucket counts of histogram `name`, summed over its other
// labels, keyed by upper bound (+Inf as infinity).
std::map<double, double> Buckets(const MetricsText& metrics, const std::string& name) {
  std::map<double, double> out;
  const std::string prefix = name + "_bucket{";
  for (const auto& [key, value] : metrics.series()) {
    if (!key.starts_with(prefix)) continue;
    size_t at = key.find("le=\"");
    if (at == std::string::npos) continue;
    std::string le = key.substr(at + 4, key.find('"', at + 4) - at - 4);
    double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
    out[bound] += value;
  }
  return out;
}

// What the cumulative buckets must be for these observations.
std::map<double, double> ExpectedBuckets(const std::vector<int64_t>& bounds_micros,
                                         const std::vector<double>& observations) {
  std::map<double, double> out;
  for (int64_t bound : bounds_micros) out[bound / 1e6] = 0;
  out[INFINITY] = 0;
  for (double value : observations) {
    for (auto& [bound, count] : out) {
      if (value <= bound) ++count;
    }
  }
  return out;
}

const MetricMapping& MappingNamed(const AgentConfig& config, const std::string& name) {
  for (const MetricMapping& m : config.metrics) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no mapping " << name;
  return config.metrics.front();
}

}  // namespace

void ExpectMetricsMatchTruth(const MetricsText& metrics, const ShopTruth& truth,
                             const AgentConfig& config, std::string_view format) {
  EXPECT_EQ(metrics.Sum("txmon_decode_errors_total"), 0);
  EXPECT_EQ(metrics.Sum("txmon_mapping_skipped_total"), 0);
  EXPECT_EQ(metrics.Value("txmon_source_up"), 1);
  // Every message by the type its format gives it (DDL included), and read
  // as the format the shop wrote.
  EXPECT_EQ(metrics.Sum("txmon_messages_total"), truth.messages);
  for (const auto& [type, count] : truth.messages_by_type) {
    EXPECT_EQ(metrics.Value("txmon_messages_total", {{"type", type}}), count) << type;
  }
  EXPECT_EQ(metrics.Value("txmon_decoded_messages_total", {{"format", std::string(format)}}),
            truth.messages)
      << format;
  EXPECT_EQ(metrics.Sum("txmon_decoded_messages_total"), truth.messages);
  for (const auto& [key, count] : truth.rows) {
    const auto& [table, type] = key;
    std::string op = type == "INSERT" ? "insert" : type == "UPDATE" ? "update" : "delete";
    EXPECT_EQ(metrics.Value("txmon_row_events_total",
                            {{"database", "shop"}, {"table", table}, {"type", op}}),
              count)
        << table << " " << type;
  }
  EXPECT_EQ(metrics.Value("txmon_event_lag_seconds_count"), truth.rows_total);

  for (const auto& [key, count] : truth.orders_created) {
    EXPECT_EQ(metrics.Value("shop_orders_created_total",
                            {{"channel", key.first}, {"province", key.second}}),
              count);
  }
  EXPECT_EQ(metrics.Sum("shop_orders_created_total"), TotalOf(truth.orders_created));
  for (const auto& [key, count] : truth.orders_paid) {
    Labels labels{{"channel", key.first}, {"payment_method", key.second}};
    EXPECT_EQ(metrics.Value("shop_orders_paid_total", labels), count);
    // Exact: the sum of decimal strings, not of floats.
    EXPECT_EQ(metrics.Value("shop_gmv_paid_total", labels),
              static_cast<double>(truth.paid_amount_cents.at(key)) / 100.0);
  }
  EXPECT_EQ(metrics.Sum("shop_orders_paid_total"), TotalOf(truth.orders_paid));
  for (const auto& [key, count] : truth.status_transitions) {
    EXPECT_EQ(metrics.Value("shop_order_status_transitions_total",
                            {{"from", key.first}, {"to", key.second}}),
              count);
  }
  for (const auto& [channel, count] : truth.orders_cancelled) {
    EXPECT_EQ(metrics.Value("shop_orders_cancelled_total", {{"channel", channel}}), count);
  }
  EXPECT_EQ(metrics.Sum("shop_refunds_total"), truth.refunds);
  EXPECT_EQ(Cents(metrics.Sum("shop_refund_amount_total")), truth.refund_amount_cents);
  for (const auto& [channel, count] : truth.user_registrations) {
    EXPECT_EQ(metrics.Value("shop_user_registrations_total", {{"channel", channel}}), count);
  }
  for (const auto& [method, count] : truth.payments_failed) {
    EXPECT_EQ(
        metrics.Value("shop_payment_attempts_total", {{"method", method}, {"result", "failed"}}),
        count);
  }
  for (const auto& [method, count] : truth.payments_succeeded) {
    EXPECT_EQ(
        metrics.Value("shop_payment_attempts_total", {{"method", method}, {"result", "success"}}),
        count);
  }

  // Histograms: every bucket, the count and the sumetrics.
  std::vector<double> amounts;
  int64_t amount_cents = 0;
  for (int64_t cents : truth.order_amounts_cents) {
    amounts.push_back(cents / 100.0);
    amount_cents += cents;
  }
  EXPECT_EQ(Buckets(metrics, "shop_order_amount_yuan"),
            ExpectedBuckets(MappingNamed(config, "shop_order_amount_yuan").bucket_bounds, amounts));
  EXPECT_EQ(metrics.Sum("shop_order_amount_yuan_count"), amounts.size());
  EXPECT_EQ(Cents(metrics.Sum("shop_order_amount_yuan_sum")), amount_cents);

  std::vector<double> delays(truth.payment_delays_seconds.begin(),
                             truth.payment_delays_seconds.end());
  int64_t delay_total = 0;
  for (int64_t d : truth.payment_delays_seconds) delay_total += d;
  EXPECT_EQ(
      Buckets(metrics, "shop_payment_duration_seconds"),
      ExpectedBuckets(MappingNamed(config, "shop_payment_duration_seconds").bucket_bounds, delays));
  EXPECT_EQ(metrics.Value("shop_payment_duration_seconds_sum"), static_cast<double>(delay_total));
}

}  // namespace txmon::test
