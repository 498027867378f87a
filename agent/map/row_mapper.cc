#include "agent/map/row_mapper.h"

#include <algorithm>
#include <cctype>

#include "agent/base/fixed_point.h"

namespace txmon {

namespace {

const ColumnValue kAbsentValue{};

// At most this many series are created at start from `values:` lists.
constexpr size_t kMaxInitialSeries = 1000;

// Concrete tables remembered for pattern mappings: past this many distinct
// database.table names, rows of further tables are not mapped.
constexpr size_t kMaxConcreteTables = 100'000;

// Label columns that read the row's names, not a column: with patterns,
// which shard or database a row came from.
constexpr int kTableSlot = -2;
constexpr int kDatabaseSlot = -3;

std::string_view SkipReason(MappingSkip skip) {
  switch (skip) {
    case MappingSkip::kNullValue:
      return "null_value";
    case MappingSkip::kBadNumber:
      return "bad_number";
    case MappingSkip::kBadDatetime:
      return "bad_datetime";
    case MappingSkip::kNegativeValue:
      return "negative_value";
  }
  return "null_value";
}

std::vector<std::string> LabelNames(const MetricMapping& declared) {
  std::vector<std::string> names;
  for (const LabelMapping& label : declared.labels) names.push_back(label.name);
  return names;
}

bool Contains(const std::vector<std::string>& values, std::string_view text) {
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return v == text; });
}

}  // namespace

Status RowMapper::Compile(const std::vector<MetricMapping>& mappings, MetricStore& store,
                          std::unique_ptr<RowMapper>* out) {
  if (Status s = CompileAll(mappings, store, /*reuse_metrics=*/false, out); !s.ok()) return s;
  (*out)->Activate();
  return Status::Ok();
}

Status RowMapper::CompileForReload(const std::vector<MetricMapping>& mappings, MetricStore& store,
                                   std::unique_ptr<RowMapper>* out) {
  // Checked before anything is added, so a refused reload leaves no trace.
  for (const MetricMapping& declared : mappings) {
    if (Status s = store.CheckDeclare({declared.name,
                                       declared.help,
                                       declared.type,
                                       LabelNames(declared),
                                       {},
                                       declared.bucket_bounds});
        !s.ok()) {
      return Status::Error(declared.origin + ": " + s.message());
    }
  }
  return CompileAll(mappings, store, /*reuse_metrics=*/true, out);
}

Status RowMapper::CompileAll(const std::vector<MetricMapping>& mappings, MetricStore& store,
                             bool reuse_metrics, std::unique_ptr<RowMapper>* out) {
  std::unique_ptr<RowMapper> mapper(new RowMapper());
  Metric*& skipped = mapper->skipped_metric_;
  skipped = store.Find("txmon_mapping_skipped_total");
  if (!skipped) {
    MetricSpec spec{"txmon_mapping_skipped_total",
                    "Row changes a mapping matched but could not count, by metric and reason "
                    "(NULL value, unparsable number or datetime, negative counter increment).",
                    MetricType::kCounter,
                    {"metric", "reason"},
                    {},
                    {}};
    if (Status s = store.Add(std::move(spec), &skipped); !s.ok()) return s;
  }
  Metric*& unknown = mapper->unknown_column_metric_;
  unknown = store.Find("txmon_mapping_unknown_column");
  if (!unknown) {
    MetricSpec spec{"txmon_mapping_unknown_column",
                    "1 for each column a mapping reads that its table does not have (checked "
                    "on the table's first row): the metric never sees a value there.",
                    MetricType::kGauge,
                    {"metric", "table", "column"},
                    {},
                    {}};
    spec.max_series = 1000;
    if (Status s = store.Add(std::move(spec), &unknown); !s.ok()) return s;
  }
  Metric*& unmatched = mapper->unmatched_metric_;
  unmatched = store.Find("txmon_mapping_unmatched");
  if (!unmatched) {
    MetricSpec spec{"txmon_mapping_unmatched",
                    "1 for a mapping that has seen no row of its database and table while "
                    "rows of a table with a near name (near_miss) arrive: a typo in "
                    "database: or table:.",
                    MetricType::kGauge,
                    {"metric", "database", "table", "near_miss"},
                    {},
                    {}};
    spec.max_series = 1000;
    if (Status s = store.Add(std::move(spec), &unmatched); !s.ok()) return s;
  }
  for (const MetricMapping& declared : mappings) {
    if (Status s = mapper->CompileOne(declared, store, reuse_metrics); !s.ok()) {
      return Status::Error(declared.origin + ": " + s.message());
    }
  }
  *out = std::move(mapper);
  return Status::Ok();
}

void RowMapper::Activate() {
  for (const std::unique_ptr<Mapping>& mapping : mappings_) {
    mapping->metric->SetLimits(mapping->label_value_limits, mapping->max_series);
    if (mapping->labels.empty()) mapping->fixed_series = mapping->metric->Resolve({});
    CreateInitialSeries(*mapping);
  }
}

void RowMapper::CreateInitialSeries(Mapping& mapping) {
  // The skip counters a mapping can raise exist from the start at 0, so a
  // rule on them sees the first skip as an increase.
  std::vector<MappingSkip> reasons;
  if (mapping.value_kind == ValueMapping::Kind::kColumn) {
    reasons = {MappingSkip::kNullValue, MappingSkip::kBadNumber};
  } else if (mapping.value_kind == ValueMapping::Kind::kSecondsBetween) {
    reasons = {MappingSkip::kNullValue, MappingSkip::kBadDatetime};
  }
  if (!reasons.empty() && mapping.metric->spec().type != MetricType::kGauge) {
    reasons.push_back(MappingSkip::kNegativeValue);
  }
  for (MappingSkip skip : reasons) {
    Series*& series = mapping.skipped[static_cast<int>(skip)];
    if (!series) {
      series = skipped_metric_->Resolve(
          {std::string_view(mapping.metric->spec().name), SkipReason(skip)});
    }
  }
  // `values:` on every label: each combination, within max_series.
  if (mapping.labels.empty()) return;
  size_t combinations = 1;
  for (const Label& label : mapping.labels) {
    if (label.values.empty()) return;
    combinations *= label.values.size();
    if (combinations > kMaxInitialSeries) return;
  }
  std::array<std::string_view, Metric::kMaxLabels> values;
  for (size_t n = 0; n < combinations; ++n) {
    size_t rest = n;
    for (size_t i = mapping.labels.size(); i-- > 0;) {
      const std::vector<std::string>& known = mapping.labels[i].values;
      values[i] = known[rest % known.size()];
      rest /= known.size();
    }
    mapping.metric->Resolve(
        std::span<const std::string_view>(values.data(), mapping.labels.size()));
  }
}

RowMapper::Column RowMapper::CompileColumn(const ColumnRef& ref) {
  if (ref.column == "$table") return Column{kTableSlot, ref.image};
  if (ref.column == "$database") return Column{kDatabaseSlot, ref.image};
  int slot = schema_.columns.Add(ref.column);
  if (slot < 0) too_many_columns_ = true;
  if (slot >= 0 && ref.hint != ColumnHint{}) {
    if (schema_.hints.size() <= static_cast<size_t>(slot)) schema_.hints.resize(slot + 1);
    ColumnHint& hint = schema_.hints[slot];
    if (hint != ColumnHint{} && hint != ref.hint) conflicting_hint_ = ref.column;
    hint = ref.hint;
  }
  return Column{slot, ref.image};
}

Status RowMapper::CompilePatterns(const MetricMapping& declared, Mapping* mapping) {
  if (Status s = NamePattern::Compile(declared.database, &mapping->database_pattern); !s.ok()) {
    return Status::Error("database: " + s.message());
  }
  mapping->patterned = mapping->database_pattern.is_pattern();
  for (const std::string& table : declared.tables) {
    NamePattern& pattern = mapping->table_patterns.emplace_back();
    if (Status s = NamePattern::Compile(table, &pattern); !s.ok()) {
      return Status::Error("table: " + s.message());
    }
    mapping->patterned = mapping->patterned || pattern.is_pattern();
  }
  // The concrete tables match the database: Matches need not.
  if (mapping->patterned) mapping->database.clear();
  return Status::Ok();
}

Status RowMapper::CompileOne(const MetricMapping& declared, MetricStore& store, bool reuse_metric) {
  MetricSpec spec;
  spec.name = declared.name;
  spec.help = declared.help;
  spec.type = declared.type;
  spec.bucket_bounds = declared.bucket_bounds;
  spec.max_series = declared.max_series;
  spec.label_names = LabelNames(declared);
  for (const LabelMapping& label : declared.labels) {
    spec.label_value_limits.push_back(label.max_values);
  }
  auto mapping = std::make_unique<Mapping>();
  mapping->label_value_limits = spec.label_value_limits;
  mapping->max_series = spec.max_series;
  Status added = reuse_metric ? store.Declare(std::move(spec), &mapping->metric)
                              : store.Add(std::move(spec), &mapping->metric);
  if (!added.ok()) return added;

  mapping->database = declared.database;
  mapping->declared_database = declared.database;
  mapping->tables = declared.tables;
  mapping->origin = declared.origin;
  mapping->ops_mask = declared.ops_mask;
  mapping->bootstrap_inserts = declared.bootstrap_inserts;
  auto reads = [&](const std::string& column, int slot) {
    for (const auto& [known_slot, name] : mapping->read_columns) {
      if (known_slot == slot) return;
    }
    if (slot >= 0) mapping->read_columns.emplace_back(slot, column);
  };
  for (const ColumnFilter& f : declared.filters) {
    mapping->filters.push_back(
        {CompileColumn(f.ref), f.any_of, f.negate, f.is_null ? int(*f.is_null) : -1});
    reads(f.ref.column, mapping->filters.back().column.slot);
  }
  if (declared.transition) {
    mapping->has_transition = true;
    mapping->transition = {
        CompileColumn({declared.transition->column, RowImage::kDefault, {}}).slot,
        declared.transition->from, declared.transition->to};
    reads(declared.transition->column, mapping->transition.slot);
  }
  for (const LabelMapping& label : declared.labels) {
    mapping->labels.push_back({CompileColumn(label.ref), label.null_value, label.values});
    reads(label.ref.column, mapping->labels.back().column.slot);
  }
  mapping->value_kind = declared.value.kind;
  mapping->constant_micros = declared.value.kind == ValueMapping::Kind::kOne
                                 ? kMicrosPerUnit
                                 : declared.value.constant_micros;
  if (declared.value.kind == ValueMapping::Kind::kColumn) {
    mapping->value_columns = declared.value.column.column;
    mapping->value_column = CompileColumn(declared.value.column);
    reads(declared.value.column.column, mapping->value_column.slot);
  } else if (declared.value.kind == ValueMapping::Kind::kSecondsBetween) {
    mapping->value_columns =
        declared.value.start_column.column + "," + declared.value.end_column.column;
    mapping->start_column = CompileColumn(declared.value.start_column);
    mapping->end_column = CompileColumn(declared.value.end_column);
    reads(declared.value.start_column.column, mapping->start_column.slot);
    reads(declared.value.end_column.column, mapping->end_column.slot);
  }
  if (too_many_columns_) {
    return Status::Error("the mappings read more than 64 distinct columns");
  }
  if (!conflicting_hint_.empty()) {
    return Status::Error(declared.origin + ": column \"" + conflicting_hint_ +
                         "\" has a different scale or epoch in another mapping");
  }
  mapping->gauge_action = declared.gauge_action;
  if (Status s = CompilePatterns(declared, mapping.get()); !s.ok()) return s;
  if (mapping->patterned) {
    for (const NamePattern& table : mapping->table_patterns) {
      schema_.pattern_tables.push_back({mapping->database_pattern, table});
    }
    pattern_mappings_.push_back(mapping.get());
    mappings_.push_back(std::move(mapping));
    concrete_.clear();
    last_table_ = nullptr;
    return Status::Ok();
  }
  for (const std::string& table_name : declared.tables) {
    auto it = std::find_if(tables_.begin(), tables_.end(),
                           [&](const Table& t) { return t.table == table_name; });
    if (it == tables_.end()) {
      tables_.push_back({table_name, {}, {}});
      it = tables_.end() - 1;
    }
    it->mappings.push_back(mapping.get());
    schema_.tables.push_back({declared.database, table_name});
  }
  mappings_.push_back(std::move(mapping));
  last_table_ = nullptr;  // tables_ may have moved
  return Status::Ok();
}

const RowMapper::Table* RowMapper::FindTable(const RowChange& row) {
  if (!pattern_mappings_.empty()) return FindConcreteTable(row);
  // Consecutive rows are usually of one table: check the last one first.
  auto matches = [&](const Table& t) { return t.table == row.table; };
  if (last_table_ && matches(*last_table_)) return last_table_;
  for (const Table& table : tables_) {
    if (matches(table)) return last_table_ = &table;
  }
  return nullptr;
}

const RowMapper::Table* RowMapper::FindConcreteTable(const RowChange& row) {
  auto matches = [&](const Table& t) { return t.table == row.table && t.database == row.database; };
  if (last_table_ && matches(*last_table_)) {
    return last_table_->mappings.empty() ? nullptr : last_table_;
  }
  const Table* found = nullptr;
  for (const Table& table : concrete_) {
    if (matches(table)) {
      found = &table;
      break;
    }
  }
  if (found == nullptr) {
    // First row of this database and table: every literal mapping of the
    // table name, and every pattern mapping that matches both names.
    if (concrete_.size() >= kMaxConcreteTables) return nullptr;
    Table& table = concrete_.emplace_back();
    table.table.assign(row.table);
    table.database.assign(row.database);
    for (const Table& literal : tables_) {
      if (literal.table == row.table) table.mappings = literal.mappings;
    }
    for (const Mapping* mapping : pattern_mappings_) {
      if (!mapping->database_pattern.Matches(row.database)) continue;
      for (const NamePattern& pattern : mapping->table_patterns) {
        if (pattern.Matches(row.table)) {
          table.mappings.push_back(mapping);
          break;
        }
      }
    }
    found = &table;
  }
  last_table_ = found;
  return found->mappings.empty() ? nullptr : found;
}

namespace {

const ColumnValue& Read(const RowChange& row, int slot, RowImage image) {
  std::span<const ColumnValue> values;
  switch (image) {
    case RowImage::kBefore:
      values = row.before;
      break;
    case RowImage::kAfter:
      values = row.after;
      break;
    case RowImage::kDefault:
      values = row.op == RowOp::kDelete ? row.before : row.after;
      break;
  }
  if (slot < 0 || static_cast<size_t>(slot) >= values.size()) return kAbsentValue;
  return values[slot];
}

}  // namespace

bool RowMapper::Matches(const Mapping& mapping, const RowChange& row) const {
  if (!(mapping.ops_mask & (1u << static_cast<int>(row.op)))) return false;
  if (row.bootstrap && !mapping.bootstrap_inserts) return false;
  if (!mapping.database.empty() && mapping.database != row.database) return false;
  if (mapping.has_transition) {
    const Transition& t = mapping.transition;
    if (row.op != RowOp::kUpdate || !(row.changed_slots & (uint64_t{1} << t.slot))) return false;
    const ColumnValue& before = Read(row, t.slot, RowImage::kBefore);
    const ColumnValue& after = Read(row, t.slot, RowImage::kAfter);
    if (!t.from.empty() && !(before.has_text() && Contains(t.from, before.text))) return false;
    if (!t.to.empty() && !(after.has_text() && Contains(t.to, after.text))) return false;
  }
  for (const Filter& f : mapping.filters) {
    const ColumnValue& value = Read(row, f.column.slot, f.column.image);
    if (value.is_absent()) return false;
    if (f.is_null >= 0) {
      if (value.is_null() != (f.is_null == 1)) return false;
      continue;
    }
    bool in = value.has_text() && Contains(f.any_of, value.text);
    if (in == f.negate) return false;
  }
  return true;
}

bool RowMapper::ComputeValue(const Mapping& mapping, const RowChange& row, int64_t* micros) {
  MappingSkip skip = MappingSkip::kNullValue;
  std::string_view value;  // what was read, for the skipped-row log
  switch (mapping.value_kind) {
    case ValueMapping::Kind::kOne:
    case ValueMapping::Kind::kConstant:
      *micros = mapping.constant_micros;
      return true;
    case ValueMapping::Kind::kColumn: {
      const ColumnValue& v = Read(row, mapping.value_column.slot, mapping.value_column.image);
      if (!v.has_text()) {
        skip = MappingSkip::kNullValue;
        break;
      }
      value = v.text;
      std::optional<int64_t> parsed = ParseDecimalMicros(v.text);
      if (!parsed) {
        skip = MappingSkip::kBadNumber;
        break;
      }
      if (*parsed < 0 && mapping.metric->spec().type != MetricType::kGauge) {
        // A counter never goes down, nor does a histogram's _sum (rate()
        // would read a drop as a reset).
        skip = MappingSkip::kNegativeValue;
        break;
      }
      *micros = *parsed;
      return true;
    }
    case ValueMapping::Kind::kSecondsBetween: {
      const ColumnValue& start = Read(row, mapping.start_column.slot, mapping.start_column.image);
      const ColumnValue& end = Read(row, mapping.end_column.slot, mapping.end_column.image);
      if (!start.has_text() || !end.has_text()) {
        skip = MappingSkip::kNullValue;
        break;
      }
      value = end.text;
      std::optional<int64_t> start_us = zone_.ToEpochMicros(start.text);
      std::optional<int64_t> end_us = zone_.ToEpochMicros(end.text);
      if (!start_us || !end_us) {
        skip = MappingSkip::kBadDatetime;
        break;
      }
      // Clock skew or an ambiguous DST hour: skipped as for a value column.
      if (*end_us < *start_us && mapping.metric->spec().type != MetricType::kGauge) {
        skip = MappingSkip::kNegativeValue;
        break;
      }
      *micros = *end_us - *start_us;  // microseconds == micro-units of seconds
      return true;
    }
  }
  CountSkip(mapping, skip, value);
  return false;
}

void RowMapper::CountSkip(const Mapping& mapping, MappingSkip skip, std::string_view value) {
  Series*& series = mapping.skipped[static_cast<int>(skip)];
  if (!series) {
    series =
        skipped_metric_->Resolve({std::string_view(mapping.metric->spec().name), SkipReason(skip)});
  }
  series->Add(kMicrosPerUnit);
  uint64_t suppressed = 0;
  if (!skip_log_limit_.Allow(&suppressed)) return;
  skipped_rows_.push_back({mapping.metric->spec().name, SkipReason(skip), mapping.value_columns,
                           std::string(value), suppressed});
}

Series* RowMapper::ResolveSeries(const Mapping& mapping, const RowChange& row) {
  if (mapping.fixed_series) return mapping.fixed_series;
  std::array<std::string_view, Metric::kMaxLabels> values;
  for (size_t i = 0; i < mapping.labels.size(); ++i) {
    const Label& label = mapping.labels[i];
    if (label.column.slot == kTableSlot) {
      values[i] = row.table;
      continue;
    }
    if (label.column.slot == kDatabaseSlot) {
      values[i] = row.database;
      continue;
    }
    const ColumnValue& v = Read(row, label.column.slot, label.column.image);
    values[i] = v.has_text() ? v.text : std::string_view(label.null_value);
  }
  return mapping.metric->Resolve(
      std::span<const std::string_view>(values.data(), mapping.labels.size()));
}

void RowMapper::Update(const Mapping& mapping, Series* series, int64_t micros) {
  switch (mapping.metric->spec().type) {
    case MetricType::kCounter:
      series->Add(micros);
      break;
    case MetricType::kHistogram:
      series->Observe(mapping.metric->BucketFor(micros), micros);
      break;
    case MetricType::kGauge:
      switch (mapping.gauge_action) {
        case GaugeAction::kSet:
          series->Set(micros);
          break;
        case GaugeAction::kAdd:
          series->Add(micros);
          break;
        case GaugeAction::kSubtract:
          series->Add(-micros);
          break;
      }
      break;
  }
}

void RowMapper::FirstRowOf(const Table& table, const RowChange& row, TableColumnLookup* columns) {
  ResetUnmatched();
  for (const Mapping* mapping : table.mappings) {
    if (mapping->seen_table) continue;
    if (!mapping->database.empty() && mapping->database != row.database) continue;
    mapping->seen_table = true;
    if (mapping->unmatched) mapping->unmatched->Set(0);
  }
  std::vector<std::string> table_columns;
  if (columns != nullptr) table_columns = columns->Columns(row.database, row.table);
  if (table_columns.empty() && row.op != RowOp::kInsert) {
    // Only an INSERT's image is known to hold every column (and with
    // binlog_row_image=MINIMAL not even that, but then the stream says).
    table.column_check = ColumnCheck::kOnInsert;
    return;
  }
  table.column_check = ColumnCheck::kDone;
  CheckColumns(table, row, table_columns);
}

void RowMapper::CheckColumns(const Table& table, const RowChange& row,
                             const std::vector<std::string>& table_columns) {
  // Earlier verdicts on this table (a checkpoint, a reload) are replaced.
  unknown_column_metric_->VisitSeries([&](const Series& series) {
    const std::vector<std::string>& values = series.label_values();
    if (values.size() != 3 || values[1] != row.table) return;
    for (const Mapping* mapping : table.mappings) {
      if (values[0] == mapping->metric->spec().name) const_cast<Series&>(series).Set(0);
    }
  });
  std::string listed;
  for (const std::string& column : table_columns) {
    if (!listed.empty()) listed += ',';
    listed += column;
  }
  for (const Mapping* mapping : table.mappings) {
    if (!mapping->database.empty() && mapping->database != row.database) continue;
    for (const auto& [slot, column] : mapping->read_columns) {
      const bool has = table_columns.empty() ? !Read(row, slot, RowImage::kAfter).is_absent()
                                             : std::find(table_columns.begin(), table_columns.end(),
                                                         column) != table_columns.end();
      if (has) continue;
      const std::string& metric = mapping->metric->spec().name;
      unknown_column_metric_->Resolve({std::string_view(metric), row.table, column})
          ->Set(kMicrosPerUnit);
      unknown_columns_.push_back(
          {metric, std::string(row.database), std::string(row.table), column, listed});
    }
  }
}

void RowMapper::ResetUnmatched() {
  if (unmatched_reset_) return;
  unmatched_reset_ = true;
  unmatched_metric_->VisitSeries([](const Series& series) { const_cast<Series&>(series).Set(0); });
}

namespace {

// Damerau-Levenshtein distance (optimal string alignment), for short names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[b.size()];
}

// A name one typo away (two for names of 8 characters or more), or the same
// name in other letter case.
bool NearName(std::string_view seen, std::string_view wanted) {
  if (seen == wanted || seen.empty() || wanted.empty()) return false;
  const size_t allowed = wanted.size() >= 8 ? 2 : 1;
  const size_t longer = std::max(seen.size(), wanted.size());
  const size_t shorter = std::min(seen.size(), wanted.size());
  if (longer - shorter > allowed) return false;
  std::string lower_seen(seen), lower_wanted(wanted);
  for (char& c : lower_seen) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : lower_wanted) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower_seen == lower_wanted || EditDistance(seen, wanted) <= allowed;
}

}  // namespace

void RowMapper::NoteUnmappedTable(std::string_view database, std::string_view table) {
  ResetUnmatched();
  for (const std::unique_ptr<Mapping>& owned : mappings_) {
    const Mapping& mapping = *owned;
    if (mapping.seen_table || mapping.unmatched != nullptr || mapping.patterned) continue;
    const std::string& wanted_database = mapping.declared_database;
    for (const std::string& wanted_table : mapping.tables) {
      // The same table in another database, or a near table where the
      // database is right (or near, or any).
      const bool near = table == wanted_table
                            ? !wanted_database.empty() && database != wanted_database
                            : NearName(table, wanted_table) &&
                                  (wanted_database.empty() || database == wanted_database ||
                                   NearName(database, wanted_database));
      if (!near) continue;
      const std::string seen = std::string(database) + "." + std::string(table);
      mapping.unmatched = unmatched_metric_->Resolve(
          {std::string_view(mapping.metric->spec().name), std::string_view(wanted_database),
           std::string_view(wanted_table), std::string_view(seen)});
      mapping.unmatched->Set(kMicrosPerUnit);
      near_misses_.push_back({mapping.metric->spec().name, mapping.origin, wanted_database,
                              wanted_table, std::string(database), std::string(table)});
      break;
    }
  }
}

void RowMapper::Apply(const RowChange& row, TableColumnLookup* columns) {
  const Table* table = FindTable(row);
  if (!table) return;
  if (table->column_check != ColumnCheck::kDone &&
      (table->column_check == ColumnCheck::kPending || row.op == RowOp::kInsert)) {
    FirstRowOf(*table, row, columns);
  }
  for (const Mapping* mapping : table->mappings) {
    if (!Matches(*mapping, row)) continue;
    int64_t micros;
    if (!ComputeValue(*mapping, row, &micros)) continue;
    Update(*mapping, ResolveSeries(*mapping, row), micros);
  }
}

}  // namespace txmon
