// RowMapper: applies the user's metric mappings to each RowChange, updating
// the store. Compiled once from MetricMapping declarations: columns become
// slots, metrics without labels become fixed Series handles, so applying a
// row does no allocation and no string lookup beyond resolving label values.
//
// Threading: Apply and Activate run on the pipeline thread only. Compile
// does both at once, so it belongs to the thread that will apply rows;
// CompileForReload may run on any thread while the pipeline runs.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "agent/base/civil_time.h"
#include "agent/base/log.h"
#include "agent/base/status.h"
#include "agent/decode/decoder.h"
#include "agent/decode/name_pattern.h"
#include "agent/map/metric_mapping.h"
#include "agent/store/metric_store.h"

namespace txmon {

// Why a mapping skipped a row: the label of txmon_mapping_skipped_total.
enum class MappingSkip : uint8_t { kNullValue = 0, kBadNumber, kBadDatetime, kNegativeValue };
inline constexpr int kMappingSkipCount = 4;

// What a table really has: every column in table order, asked by Apply on
// the first row of each mapped table (the pipeline answers from the
// decoder's TableColumns). Empty when the stream does not tell.
class TableColumnLookup {
 public:
  virtual std::vector<std::string> Columns(std::string_view database, std::string_view table) = 0;

 protected:
  ~TableColumnLookup() = default;
};

class RowMapper {
 public:
  // Registers every mapping's metric in `store` (and
  // txmon_mapping_skipped_total) and numbers the columns they read.
  static Status Compile(const std::vector<MetricMapping>& mappings, MetricStore& store,
                        std::unique_ptr<RowMapper>* out);
  // For a config reload: metrics already in `store` with the same name,
  // type, labels and buckets are reused with their series (a metric whose
  // type, labels or buckets changed is refused); new ones are added. The
  // result applies no row until Activate.
  static Status CompileForReload(const std::vector<MetricMapping>& mappings, MetricStore& store,
                                 std::unique_ptr<RowMapper>* out);
  // Applies the declared limits to the metrics and resolves the series of
  // metrics without labels. Pipeline thread, before the first Apply.
  void Activate();

  // The tables and columns the decoder must extract.
  const DecodeSchema& decode_schema() const { return schema_; }

  // Updates every metric whose mapping matches `row`. On the first row of
  // each table (insert, update or delete) the columns the mappings read are
  // checked against `columns`' answer, the table's own column list, so a
  // column merely absent from one row image (binlog_row_image=MINIMAL,
  // Canal's partial updates) is never taken for a typo. Without a lookup or
  // an answer, the check waits for the table's first INSERT and reads its
  // row image.
  void Apply(const RowChange& row, TableColumnLookup* columns = nullptr);

  // A column a mapping reads that its table does not have: the metric reads
  // NULL there for ever. Each is set to 1 in
  // txmon_mapping_unknown_column{metric,table,column} and queued here for
  // the pipeline to log once with the table's real columns.
  struct UnknownColumn {
    std::string metric, database, table, column;
    std::string table_columns;  // "id,amount,status"; empty when not known
  };
  bool has_unknown_columns() const { return !unknown_columns_.empty(); }
  std::vector<UnknownColumn> TakeUnknownColumns() { return std::move(unknown_columns_); }

  // A mapping that has seen no row of its table while rows of a table with
  // a near name arrive (a typo in `database:` or `table:`): a table within
  // a small edit distance, or the same table in another database. Noted by
  // NoteUnmappedTable, once per mapping: set to 1 in
  // txmon_mapping_unmatched{metric,database,table,near_miss} and queued
  // here for the pipeline to log. Back to 0 once the mapping's table shows.
  struct NearMiss {
    std::string metric, origin, database, table;  // what the mapping asks for
    std::string seen_database, seen_table;        // what the stream has
  };
  // A table no mapping declares, seen in the stream (once per table: the
  // pipeline remembers which it has told).
  void NoteUnmappedTable(std::string_view database, std::string_view table);
  bool has_near_misses() const { return !near_misses_.empty(); }
  std::vector<NearMiss> TakeNearMisses() { return std::move(near_misses_); }

  // A row a mapping matched but could not count (the reason of
  // txmon_mapping_skipped_total), queued for the pipeline to log with the
  // row's position and primary key. Rate-limited: a few a second, the rest
  // counted in `suppressed` of the next one.
  struct SkippedRow {
    std::string metric;
    std::string_view reason;  // static text
    std::string column;       // the value column(s) read
    std::string value;        // as the row had it ("" when NULL)
    uint64_t suppressed = 0;
  };
  bool has_skipped_rows() const { return !skipped_rows_.empty(); }
  std::vector<SkippedRow> TakeSkippedRows() { return std::move(skipped_rows_); }

  RowMapper(const RowMapper&) = delete;
  RowMapper& operator=(const RowMapper&) = delete;

 private:
  struct Column {
    int slot = -1;
    RowImage image = RowImage::kDefault;
  };
  struct Filter {
    Column column;
    std::vector<std::string> any_of;
    bool negate = false;
    int is_null = -1;  // -1: not a null test; 0/1: must (not) be NULL
  };
  struct Transition {
    int slot = -1;
    std::vector<std::string> from, to;
  };
  struct Label {
    Column column;
    std::string null_value;
    std::vector<std::string> values;  // created at 0 by Activate
  };
  struct Mapping {
    Metric* metric = nullptr;
    std::vector<uint32_t> label_value_limits;  // applied by Activate
    uint32_t max_series = 0;
    std::string database;            // empty: any
    Series* fixed_series = nullptr;  // when there are no labels
    uint8_t ops_mask = 0;
    bool bootstrap_inserts = false;
    std::vector<Filter> filters;
    bool has_transition = false;
    Transition transition;
    std::vector<Label> labels;
    ValueMapping::Kind value_kind = ValueMapping::Kind::kOne;
    int64_t constant_micros = 0;
    Column value_column, start_column, end_column;
    GaugeAction gauge_action = GaugeAction::kSet;
    // `database` or a table is a pattern: the mapping is found through
    // concrete_ entries, which match both.
    bool patterned = false;
    NamePattern database_pattern;
    std::vector<NamePattern> table_patterns;
    // Resolved on first use: most mappings never skip a row.
    mutable std::array<Series*, kMappingSkipCount> skipped{};
    // Every column the mapping reads, by slot, for the unknown-column check.
    std::vector<std::pair<int, std::string>> read_columns;
    std::string value_columns;  // for skipped-row logs: "amount", "created_at,paid_at"
    // As declared, for the near-miss check (literal names only).
    std::vector<std::string> tables;
    std::string declared_database, origin;
    // A row of its table has been seen; a near miss was reported (its
    // series in txmon_mapping_unmatched).
    mutable bool seen_table = false;
    mutable Series* unmatched = nullptr;
  };
  enum class ColumnCheck : uint8_t { kPending, kOnInsert, kDone };
  struct Table {
    std::string table;
    std::vector<const Mapping*> mappings;
    std::string database;  // concrete entries of pattern mappings only
    // Whether the table's columns have been checked against its mappings:
    // kOnInsert when the stream did not say them and an INSERT's row image
    // must.
    mutable ColumnCheck column_check = ColumnCheck::kPending;
  };

  RowMapper() = default;
  static Status CompileAll(const std::vector<MetricMapping>& mappings, MetricStore& store,
                           bool reuse_metrics, std::unique_ptr<RowMapper>* out);
  Status CompileOne(const MetricMapping& declared, MetricStore& store, bool reuse_metric);
  void CountSkip(const Mapping& mapping, MappingSkip skip, std::string_view value);
  // Creates the series Activate makes exist from the start.
  void CreateInitialSeries(Mapping& mapping);
  Column CompileColumn(const ColumnRef& ref);
  Status CompilePatterns(const MetricMapping& declared, Mapping* mapping);
  const Table* FindTable(const RowChange& row);
  const Table* FindConcreteTable(const RowChange& row);
  bool Matches(const Mapping& mapping, const RowChange& row) const;
  bool ComputeValue(const Mapping& mapping, const RowChange& row, int64_t* micros);
  Series* ResolveSeries(const Mapping& mapping, const RowChange& row);
  void Update(const Mapping& mapping, Series* series, int64_t micros);
  // The first row of `table` (or, with kOnInsert, its first INSERT).
  void FirstRowOf(const Table& table, const RowChange& row, TableColumnLookup* columns);
  void CheckColumns(const Table& table, const RowChange& row,
                    const std::vector<std::string>& table_columns);
  // Sets every series of txmon_mapping_unmatched to 0 (verdicts from a
  // checkpoint or an earlier config), once, before the first new one.
  void ResetUnmatched();

  DecodeSchema schema_;
  std::vector<std::unique_ptr<Mapping>> mappings_;
  std::vector<Table> tables_;
  // Mappings with a pattern, and the tables they were matched against: one
  // entry per database and table seen, with every mapping that applies.
  std::vector<const Mapping*> pattern_mappings_;
  std::deque<Table> concrete_;
  const Table* last_table_ = nullptr;
  Metric* skipped_metric_ = nullptr;
  Metric* unknown_column_metric_ = nullptr;
  std::vector<UnknownColumn> unknown_columns_;
  Metric* unmatched_metric_ = nullptr;
  bool unmatched_reset_ = false;
  std::vector<NearMiss> near_misses_;
  std::vector<SkippedRow> skipped_rows_;
  LogRateLimit skip_log_limit_{5};
  LocalZone zone_;
  bool too_many_columns_ = false;
  std::string conflicting_hint_;  // a column given two different hints
};

}  // namespace txmon
