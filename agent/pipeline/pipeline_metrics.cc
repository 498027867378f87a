#include "agent/pipeline/pipeline_metrics.h"

#include <algorithm>

#include "agent/base/build_info.h"

namespace txmon {

namespace {

// Event lag buckets: sub-second resolution where the goal is (< 1 s), then
// coarse steps to show how far behind a backlog is.
const std::vector<int64_t> kLagBounds = {5'000,      10'000,     25'000,     50'000,     100'000,
                                         250'000,    500'000,    1'000'000,  2'000'000,  5'000'000,
                                         10'000'000, 30'000'000, 60'000'000, 300'000'000};

// A commit time the lag and timestamp metrics can use: after 1970 and before
// 9999-12-31 (a message may carry any number in `es`; beyond this range the
// micro-unit arithmetic would overflow).
bool IsPlausibleTime(int64_t ms) { return ms > 0 && ms < 253'402'300'800'000; }

Status AddMetric(MetricStore& store, MetricSpec spec, Metric** out) {
  return store.Add(std::move(spec), out);
}

}  // namespace

Status PipelineMetrics::Register(MetricStore& store) {
  Metric *errors, *build, *last, *up, *ignored, *incomplete;
  Status s;
  if (!(s = AddMetric(store,
                      {"txmon_messages_total",
                       "Messages read from the source, by the type the format gives them "
                       "(INSERT, UPDATE, DELETE, DDL types, ...).",
                       MetricType::kCounter,
                       {"type"},
                       {64},
                       {}},
                      &messages_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_decoded_messages_total",
                       "Messages decoded, by the wire format they were read as (canal, "
                       "debezium, maxwell, binlog): with source.format auto, the formats "
                       "the topic carries.",
                       MetricType::kCounter,
                       {"format"},
                       {8},
                       {}},
                      &decoded_messages_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_row_events_total",
                       "Row changes decoded, by database, table and change type.",
                       MetricType::kCounter,
                       {"database", "table", "type"},
                       {64, 256, 3},
                       {}},
                      &rows_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_unmapped_table_messages_total",
                       "Messages of tables no mapping declares, by database and table: read "
                       "and ignored (a topic carries every table of the shop), not errors.",
                       MetricType::kCounter,
                       {"database", "table"},
                       {64, 1024},
                       {}},
                      &unmapped_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_ignored_messages_total",
                       "Messages of tables that source.include or source.exclude leave out.",
                       MetricType::kCounter,
                       {},
                       {},
                       {}},
                      &ignored))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_decode_errors_total",
                       "Messages skipped because they could not be decoded, by reason.",
                       MetricType::kCounter,
                       {"reason"},
                       {},
                       {}},
                      &errors))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_event_lag_seconds",
                       "Time from a row's commit in the database (Canal es, 1 s resolution) to "
                       "its application to txmon's metrics.",
                       MetricType::kHistogram,
                       {},
                       {},
                       kLagBounds},
                      &event_lag_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_last_event_timestamp_seconds",
                       "Commit time of the newest row change applied, seconds since the epoch.",
                       MetricType::kGauge,
                       {},
                       {},
                       {}},
                      &last))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_source_up",
                       "1 if the source is connected, else 0.",
                       MetricType::kGauge,
                       {},
                       {},
                       {}},
                      &up))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_kafka_consumer_lag_messages",
                       "Messages behind the end of each assigned partition.",
                       MetricType::kGauge,
                       {"topic", "partition"},
                       {},
                       {}},
                      &consumer_lag_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_source_lost_messages_total",
                       "Messages the source could not read because they were gone when it "
                       "reached them (Kafka: deleted by retention), by topic and partition.",
                       MetricType::kCounter,
                       {"topic", "partition"},
                       {},
                       {}},
                      &lost_messages_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_label_values_folded_total",
                       "Label values folded into \"other\" because a label reached its "
                       "max_values, by metric.",
                       MetricType::kCounter,
                       {"metric"},
                       {},
                       {}},
                      &folded_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_series_folded_total",
                       "Label-value combinations folded into the overflow series (every label "
                       "\"other\") because a metric reached its max_series, by metric.",
                       MetricType::kCounter,
                       {"metric"},
                       {},
                       {}},
                      &folded_series_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_incomplete_transactions_total",
                       "Transactions the input ended inside (a Maxwell xid whose commit row "
                       "never came before the end of a replayed file): their rows were held, "
                       "never applied.",
                       MetricType::kCounter,
                       {},
                       {},
                       {}},
                      &incomplete))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_build_info",
                       "A metric with a constant 1 labelled by the version and revision txmon "
                       "was built from.",
                       MetricType::kGauge,
                       {"version", "revision"},
                       {},
                       {}},
                      &build))
           .ok()) {
    return s;
  }
  for (int e = 1; e < kDecodeErrorCount; ++e) {
    if (static_cast<DecodeError>(e) == DecodeError::kUnknownTable) continue;
    decode_errors_[e] = errors->Resolve({DecodeErrorReason(static_cast<DecodeError>(e))});
  }
  // Never counted as errors: kNone, and kUnknownTable (CountUnmappedTable).
  decode_errors_[0] = decode_errors_[1];
  decode_errors_[static_cast<int>(DecodeError::kUnknownTable)] = decode_errors_[1];
  event_lag_series_ = event_lag_->Resolve({});
  ignored_ = ignored->Resolve({});
  incomplete_transactions_ = incomplete->Resolve({});
  last_event_ = last->Resolve({});
  source_up_ = up->Resolve({});
  build->Resolve({kVersion, kRevision})->Set(kOne);
  return Status::Ok();
}

void PipelineMetrics::CountFormat(std::string_view format) {
  if (format.empty()) return;
  for (const auto& [name, series] : format_series_) {
    if (name == format) {
      series->Add(kOne);
      return;
    }
  }
  // Formats are static text from the decoders: a handful of entries.
  Series* series = decoded_messages_->Resolve({format});
  format_series_.emplace_back(format, series);
  series->Add(kOne);
}

void PipelineMetrics::CountUnmappedTable(std::string_view database, std::string_view table) {
  if (unmapped_series_ == nullptr || table != unmapped_table_ || database != unmapped_database_) {
    unmapped_database_.assign(database);
    unmapped_table_.assign(table);
    unmapped_series_ = unmapped_->Resolve({database, table});
  }
  unmapped_series_->Add(kOne);
}

void PipelineMetrics::CountRow(const RowChange& row, int64_t now_ms) {
  if (row.table != cached_table_ || row.database != cached_database_) {
    cached_database_.assign(row.database);
    cached_table_.assign(row.table);
    for (int op = 0; op < kRowOpCount; ++op) {
      cached_rows_[op] =
          rows_->Resolve({row.database, row.table, RowOpName(static_cast<RowOp>(op))});
    }
  }
  cached_rows_[static_cast<int>(row.op)]->Add(kOne);
  if (IsPlausibleTime(row.commit_time_ms)) {
    // Negative when the two hosts' clocks disagree: count it as no lag.
    const int64_t lag_micros = std::max<int64_t>(0, now_ms - row.commit_time_ms) * 1000;
    event_lag_series_->Observe(event_lag_->BucketFor(lag_micros), lag_micros);
  }
}

void PipelineMetrics::SetLastEventTime(int64_t commit_time_ms) {
  if (!IsPlausibleTime(commit_time_ms) || commit_time_ms <= last_event_ms_) return;
  last_event_ms_ = commit_time_ms;
  last_event_->Set(commit_time_ms * 1000);
}

void PipelineMetrics::CountLostMessages(std::string_view topic, int32_t partition, int64_t lost) {
  const std::string partition_text = std::to_string(partition);
  lost_messages_->Resolve({topic, std::string_view(partition_text)})->Add(lost * kOne);
}

void PipelineMetrics::SetConsumerLag(std::string_view topic, int32_t partition, int64_t lag) {
  std::string partition_text = std::to_string(partition);
  consumer_lag_->Resolve({topic, std::string_view(partition_text)})->Set(lag * kOne);
}

Status PipelineMetrics::RegisterReplica(MetricStore& store) {
  Metric *heartbeats, *reconnects, *purged, *file, *position, *behind;
  const auto gauge = MetricType::kGauge;
  const auto counter = MetricType::kCounter;
  Status s;
  if (!(s = AddMetric(store,
                      {"txmon_binlog_events_total",
                       "Binlog events received from the server, by event type.",
                       counter,
                       {"type"},
                       {64},
                       {}},
                      &binlog_events_))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_binlog_heartbeats_total",
                       "Heartbeats received from the server while the binlog was idle.",
                       counter,
                       {},
                       {},
                       {}},
                      &heartbeats))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_binlog_reconnects_total",
                       "Times the binlog connection was lost and opened again.",
                       counter,
                       {},
                       {},
                       {}},
                      &reconnects))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_binlog_purged_positions_total",
                       "Resumes whose binlog position the server had purged: txmon continued at "
                       "the oldest binlog left, and the changes in between were not counted.",
                       counter,
                       {},
                       {},
                       {}},
                      &purged))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_binlog_file_number",
                       "Sequence number of the binlog file applied up to (mysql-bin.000042: 42).",
                       gauge,
                       {},
                       {},
                       {}},
                      &file))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_binlog_position_bytes",
                       "Position in that binlog file after the last applied transaction.",
                       gauge,
                       {},
                       {},
                       {}},
                      &position))
           .ok() ||
      !(s = AddMetric(store,
                      {"txmon_binlog_seconds_behind_server",
                       "Server time minus the time of the newest binlog event received; 0 once "
                       "caught up (a heartbeat came).",
                       gauge,
                       {},
                       {},
                       {}},
                      &behind))
           .ok()) {
    return s;
  }
  binlog_heartbeats_ = heartbeats->Resolve({});
  binlog_reconnects_ = reconnects->Resolve({});
  binlog_purged_ = purged->Resolve({});
  binlog_file_ = file->Resolve({});
  binlog_position_ = position->Resolve({});
  binlog_behind_ = behind->Resolve({});
  return Status::Ok();
}

void PipelineMetrics::SetReplicaStats(const ReplicaStats& stats) {
  if (binlog_events_ == nullptr) return;
  auto grow = [](Series* series, uint64_t now, uint64_t before) {
    if (now > before) series->Add(static_cast<int64_t>(now - before) * kOne);
  };
  for (const auto& [type, count] : stats.events_by_type) {
    uint64_t before = 0;
    for (const auto& [old_type, old_count] : last_replica_.events_by_type) {
      if (old_type == type) before = old_count;
    }
    grow(binlog_events_->Resolve({std::string_view(type)}), count, before);
  }
  grow(binlog_heartbeats_, stats.heartbeats, last_replica_.heartbeats);
  grow(binlog_reconnects_, stats.reconnects, last_replica_.reconnects);
  grow(binlog_purged_, stats.purged_positions, last_replica_.purged_positions);
  if (stats.file_sequence > 0) {
    binlog_file_->Set(static_cast<int64_t>(stats.file_sequence) * kOne);
    binlog_position_->Set(static_cast<int64_t>(stats.position) * kOne);
  }
  binlog_behind_->Set(static_cast<int64_t>(stats.seconds_behind * 1e6));
  last_replica_ = stats;
}

void PipelineMetrics::RefreshFoldedValues(const MetricStore& store) {
  struct Folded {
    std::string metric;
    uint64_t values, series;
  };
  std::vector<Folded> folded;
  // The mappings' metrics with labels have both counters from the start (at
  // 0), so a rule sees their first fold; txmon's own only once they fold.
  store.VisitMetrics([&](const Metric& metric) {
    const bool mapped =
        !metric.spec().label_names.empty() && !metric.spec().name.starts_with("txmon_");
    if (mapped || metric.folded_values() > 0 || metric.folded_series() > 0) {
      folded.push_back({metric.spec().name, metric.folded_values(), metric.folded_series()});
    }
  });
  // Resolved outside VisitMetrics: the self-metrics are in the same store.
  for (const Folded& f : folded) {
    const std::string_view name = f.metric;
    folded_->Resolve({name})->Set(static_cast<int64_t>(f.values) * kOne);
    folded_series_->Resolve({name})->Set(static_cast<int64_t>(f.series) * kOne);
  }
}

}  // namespace txmon
