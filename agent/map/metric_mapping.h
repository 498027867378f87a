// MetricMapping: what a user declares in the `metrics:` section of txmon.yml
// — which row changes count, how, and under which labels. Plain data; the
// config stage fills it from YAML (and has already validated it), RowMapper
// compiles it into handles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/decode/decoder.h"
#include "agent/decode/row_change.h"
#include "agent/store/metric_store.h"

namespace txmon {

// Which image of the row a column is read from. kDefault: the after image,
// or the before image for deletes.
enum class RowImage : uint8_t { kDefault, kBefore, kAfter };

struct ColumnRef {
  std::string column;
  RowImage image = RowImage::kDefault;
  // What the mapping knows of the column's encoding (`scale:`, `epoch:`),
  // for messages that do not say it (Debezium without its schema).
  ColumnHint hint;
};

// A condition on one column: value in `any_of` (or not in it, if `negate`),
// or, with `is_null` set, NULL-ness.
struct ColumnFilter {
  ColumnRef ref;
  std::vector<std::string> any_of;
  bool negate = false;
  std::optional<bool> is_null;
};

// An UPDATE that changed `column` from one of `from` to one of `to` (an
// empty list accepts any value). Only rows where the column changed match.
struct StatusTransition {
  std::string column;
  std::vector<std::string> from;
  std::vector<std::string> to;
};

struct LabelMapping {
  std::string name;
  ColumnRef ref;
  uint32_t max_values = 0;  // 0: unlimited
  std::string null_value;   // label value used when the column is NULL
  // `values:`: the values the label is known to take. When every label of a
  // metric lists them, each combination is created at 0 at start, as
  // Prometheus' client libraries advise, so increase() sees the first event.
  std::vector<std::string> values;
};

struct ValueMapping {
  enum class Kind : uint8_t { kOne, kConstant, kColumn, kSecondsBetween };
  Kind kind = Kind::kOne;
  int64_t constant_micros = 1'000'000;
  ColumnRef column;                    // kColumn
  ColumnRef start_column, end_column;  // kSecondsBetween: end - start
};

// The default for `max_series` (global.max_series overrides it): roomy for
// business labels, small enough that a column of unique ids cannot exhaust
// memory.
inline constexpr uint32_t kDefaultMaxSeries = 10'000;

enum class GaugeAction : uint8_t { kSet, kAdd, kSubtract };

struct MetricMapping {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::string database;  // empty: any database
  std::vector<std::string> tables;
  uint8_t ops_mask = 0;  // bit (1 << RowOp)
  std::vector<ColumnFilter> filters;
  std::optional<StatusTransition> transition;
  std::vector<LabelMapping> labels;
  ValueMapping value;
  std::vector<int64_t> bucket_bounds;  // histograms, micros
  GaugeAction gauge_action = GaugeAction::kSet;
  // Series kept before further label-value combinations fold into the
  // overflow series (every label "other"); 0: unlimited.
  uint32_t max_series = kDefaultMaxSeries;
  // Count Maxwell `bootstrap-insert` rows as inserts (`bootstrap_inserts`).
  bool bootstrap_inserts = false;
  // Where it was declared, for messages: "txmon.yml:23".
  std::string origin;
};

}  // namespace txmon
