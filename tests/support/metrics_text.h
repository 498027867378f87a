// The samples of a Prometheus text exposition (what /metrics serves), keyed by
// series: the metric name and its labels sorted by name, values quoted and
// escaped as in the exposition, e.g.
//   shop_orders_created_total{channel="app",province="Beijing"}
// Comments and timestamps are dropped. Immutable after Parse: thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txmon::test {

using Labels = std::map<std::string, std::string>;

// The series key of `name` with `labels`, as used by MetricsText.
std::string SeriesKey(std::string_view name, const Labels& labels = {});

class MetricsText {
 public:
  // Adds a test failure for each malformed line (and skips that line).
  static MetricsText Parse(std::string_view text);
  // GETs `url` and parses the body; a failed request or a non-200 status is
  // a test failure and gives an empty MetricsText.
  static MetricsText Fetch(const std::string& url);
  // What Prometheus' `sum without(instance)` shows over several agents'
  // scrapes: every series summed, except those named in `min_of`, which
  // take the smallest value (txmon_source_up: 1 when every agent is up).
  static MetricsText SumOf(const std::vector<MetricsText>& parts,
                           const std::vector<std::string>& min_of = {});

  // The value of one series; if absent, adds a test failure listing the
  // series of that name and returns NaN.
  double Value(std::string_view name, const Labels& labels = {}) const;
  std::optional<double> Find(std::string_view name, const Labels& labels = {}) const;
  bool Has(std::string_view name, const Labels& labels = {}) const;
  // The sum over the series named `name` whose labels include all of
  // `matching` (other labels may differ); 0 if none match.
  double Sum(std::string_view name, const Labels& matching = {}) const;

  const std::map<std::string, double>& series() const { return series_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
  };

  bool ParseLine(std::string_view line);

  std::map<std::string, double> series_;
  std::vector<Sample> samples_;
  std::vector<std::string> errors_;
};

}  // namespace txmon::test
