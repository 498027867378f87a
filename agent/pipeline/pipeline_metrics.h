// txmon's own metrics about the pipeline (txmon_*), registered in the store
// next to the business metrics, with handles resolved up front so the
// pipeline thread updates them without lookups.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/decode/decoder.h"
#include "agent/source/source.h"
#include "agent/store/metric_store.h"

namespace txmon {

class PipelineMetrics {
 public:
  Status Register(MetricStore& store);

  // Counts a message of `type` ("INSERT", "ALTER", ...).
  void CountMessage(std::string_view type) { messages_->Resolve({type})->Add(kOne); }
  // Counts a decoded message of `format` (DecodeResult::format; "" is not
  // counted) in txmon_decoded_messages_total.
  void CountFormat(std::string_view format);
  // kUnknownTable is not an error: CountUnmappedTable counts those.
  void CountDecodeError(DecodeError error) { decode_errors_[static_cast<int>(error)]->Add(kOne); }
  // Counts a message of a table no mapping declares, in
  // txmon_unmapped_table_messages_total{database,table}.
  void CountUnmappedTable(std::string_view database, std::string_view table);
  // Counts a message of a table source.include / source.exclude leave out.
  void CountIgnored() { ignored_->Add(kOne); }
  // A transaction still open when the input ended (its rows never applied).
  void CountIncompleteTransaction() { incomplete_transactions_->Add(kOne); }
  // Counts a row and observes its lag behind the commit.
  void CountRow(const RowChange& row, int64_t now_ms);
  void SetLastEventTime(int64_t commit_time_ms);
  void SetSourceUp(bool up) { source_up_->Set(up ? kOne : 0); }
  void SetConsumerLag(std::string_view topic, int32_t partition, int64_t lag);
  // The binlog replica's metrics (txmon_binlog_*): registered only for a
  // replica source, before a checkpoint is restored so its counters continue.
  Status RegisterReplica(MetricStore& store);
  // Copies a replica source's figures: counters grow by what the source
  // counted since the last call. No-op before RegisterReplica.
  void SetReplicaStats(const ReplicaStats& stats);
  void CountLostMessages(std::string_view topic, int32_t partition, int64_t lost);
  // Folded label values and series per metric, copied from the store's
  // metrics.
  void RefreshFoldedValues(const MetricStore& store);

 private:
  static constexpr int64_t kOne = 1'000'000;  // 1 in micro-units

  Metric* messages_ = nullptr;
  Metric* decoded_messages_ = nullptr;
  std::vector<std::pair<std::string_view, Series*>> format_series_;
  Metric* rows_ = nullptr;
  Metric* unmapped_ = nullptr;
  std::string unmapped_database_, unmapped_table_;  // of unmapped_series_
  Series* unmapped_series_ = nullptr;
  Series* ignored_ = nullptr;
  Series* incomplete_transactions_ = nullptr;
  Metric* consumer_lag_ = nullptr;
  Metric* lost_messages_ = nullptr;
  Metric* folded_ = nullptr;
  Metric* folded_series_ = nullptr;
  Metric* event_lag_ = nullptr;
  Series* event_lag_series_ = nullptr;
  Series* last_event_ = nullptr;
  Series* source_up_ = nullptr;
  std::array<Series*, kDecodeErrorCount> decode_errors_{};

  // txmon_binlog_*: null unless RegisterReplica ran.
  Metric* binlog_events_ = nullptr;
  Series *binlog_heartbeats_ = nullptr, *binlog_reconnects_ = nullptr, *binlog_purged_ = nullptr,
         *binlog_file_ = nullptr, *binlog_position_ = nullptr, *binlog_behind_ = nullptr;
  ReplicaStats last_replica_;

  // Rows come in runs of one table: keep that table's handles at hand.
  std::string cached_database_, cached_table_;
  std::array<Series*, kRowOpCount> cached_rows_{};
  int64_t last_event_ms_ = 0;
};

}  // namespace txmon
