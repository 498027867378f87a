// Pipeline: the one thread that moves data the one way DESIGN.md draws it —
// source → decode → map → store — and acknowledges positions to the source
// only after the batch they belong to is in the store.
//
// A message that cannot be decoded is counted, logged (rate-limited) with
// its position and skipped; it never stops the stream.
//
// Threading: Run and ProcessBatch on one thread; Reconfigure from any
// thread; everything else the pipeline touches is safe to read from other
// threads (see MetricStore).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "agent/base/log.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/decode/decoder.h"
#include "agent/decode/name_pattern.h"
#include "agent/map/row_mapper.h"
#include "agent/pipeline/pipeline_metrics.h"
#include "agent/source/source.h"
#include "agent/store/metric_store.h"

namespace txmon {

struct PipelineOptions {
  size_t max_batch = 2048;
  std::chrono::milliseconds poll_timeout{50};
  // How often source health, consumer lag and folded-label counts are copied
  // into the self-metrics.
  std::chrono::milliseconds refresh_interval{1000};
  // Wall clock in ms since the epoch, for event lag; tests replace it.
  std::function<int64_t()> now_ms;
  // Where to checkpoint state + positions (empty: never), how often, and
  // once more when the pipeline stops.
  std::string checkpoint_path;
  std::chrono::milliseconds checkpoint_interval{1000};
  // The rules' alert state to write with each checkpoint (empty: none).
  // Called on the pipeline thread.
  std::function<std::vector<AlertCheckpoint>()> save_alerts;
  // The live board's baseline to write with each checkpoint (empty or
  // nullopt: none). Called on the pipeline thread, once per checkpoint.
  std::function<std::optional<DayBaselineCheckpoint>()> save_day_baseline;
  // source.include / source.exclude ("database.table" patterns, already
  // validated by the config): rows of other tables are ignored.
  std::vector<std::string> include_tables, exclude_tables;
};

// Which tables source.include / source.exclude let through, with the last
// table's verdict kept (messages come in runs of one table).
class TableFilter {
 public:
  TableFilter() = default;
  TableFilter(const std::vector<std::string>& include, const std::vector<std::string>& exclude);
  bool empty() const { return include_.empty() && exclude_.empty(); }
  bool Ignores(std::string_view database, std::string_view table);

 private:
  std::vector<NamePattern> include_, exclude_;
  std::string last_name_;
  bool last_known_ = false, last_ignored_ = false;
};

// The next offset of every topic-partition the pipeline has applied
// messages from. A handful of partitions: a vector with a last-hit cache.
class AppliedPositions {
 public:
  void Seed(const std::vector<SourceOffset>& offsets) { offsets_ = offsets; }
  void Record(const SourcePosition& position);
  const std::vector<SourceOffset>& offsets() const { return offsets_; }

 private:
  std::vector<SourceOffset> offsets_;
  size_t last_ = 0;
};

// Decode → map → store for one message: the hot path, without the source
// loop, so benchmarks measure exactly what the pipeline runs.
class MessageProcessor {
 public:
  MessageProcessor(Decoder& decoder, RowMapper& mapper, PipelineMetrics& metrics,
                   TableFilter filter = {})
      : decoder_(&decoder), mapper_(&mapper), metrics_(metrics), filter_(std::move(filter)) {}

  // `now_ms` is the wall clock for event lag, read once per batch. Returns
  // true while the decoder holds an open transaction (this message's rows
  // are applied only with the message that commits it).
  bool Process(const SourceMessage& message, int64_t now_ms);

  // Switches to another decoder and mapper (a config reload), between
  // messages. Both must outlive their use.
  void Use(Decoder& decoder, RowMapper& mapper) {
    decoder_ = &decoder;
    mapper_ = &mapper;
    logged_unmapped_.clear();  // the new mappings look at every table afresh
  }

 private:
  void ReportDecodeError(const SourceMessage& message, const DecodeResult& result);
  void NoteUnmappedTable(const DecodeResult& result);
  // Logs the rows RowMapper skipped in row `row` of `message`, with their
  // position and primary key.
  void ReportSkippedRows(const SourceMessage& message, size_t row);
  // Logs each column RowMapper found missing, with the table's columns.
  void ReportUnknownColumns();
  // Logs each mapping RowMapper found near a table of the stream.
  void ReportNearMisses();

  static constexpr size_t kMaxLoggedUnmappedTables = 1000;

  Decoder* decoder_;
  RowMapper* mapper_;
  PipelineMetrics& metrics_;
  LogRateLimit error_log_limit_{10};
  TableFilter filter_;
  std::unordered_set<std::string> logged_unmapped_;  // "database.table"
};

class Pipeline {
 public:
  Pipeline(Source& source, Decoder& decoder, RowMapper& mapper, MetricStore& store,
           PipelineMetrics& metrics, PipelineOptions options);

  // Runs until `stop` is set, the source is finished, or it fails.
  Status Run(const std::atomic<bool>& stop);

  // Decodes, maps and stores every message of `batch` (no acknowledgement).
  // Returns how many of its first messages are applied: the rest belong to
  // a transaction still open (Maxwell's xid without its commit yet), whose
  // positions are recorded — and may be acknowledged — only once it commits,
  // so a checkpoint never lands inside a transaction.
  size_t ProcessBatch(const std::vector<SourceMessage>& batch);

  uint64_t messages_processed() const { return messages_processed_; }
  AppliedPositions& positions() { return positions_; }

  // Writes state and positions to options.checkpoint_path now; with a
  // source that hands over (Source::HandsOver), then publishes the positions
  // under the next sequence number. A publish that fails is retried before
  // any later checkpoint is written, so the newest published sequence is
  // always that of PATH or PATH.prev.
  Status WriteCheckpoint();

  // The name and the last sequence number used for the hand-over, from the
  // restored checkpoint (Agent chooses which file). Before Run.
  void SetHandover(std::string member, uint64_t last_seq, std::vector<std::string> adopted = {}) {
    handover_member_ = std::move(member);
    handover_seq_ = last_seq;
    adopted_ = std::move(adopted);
  }
  // The retired agents whose counts this state holds (checkpointed).
  const std::vector<std::string>& adopted() const { return adopted_; }

  // Adoption of retired agents (`txmon retire`): reads the hand-over topic;
  // claims every retired agent nobody has claimed yet; merges into the
  // store the checkpoint of each one this agent's claim won and its state
  // does not hold yet (with, transitively, the ones that agent had won but
  // not yet merged when it was retired), and checkpoints and publishes at
  // once. A restart from a checkpoint without them merges them again: the
  // published checkpoint and the adopted list are one file. An error if
  // this agent itself was retired (it must not run). Pipeline thread; Run
  // calls it every checkpoint interval.
  Status AdoptRetired();
  const std::string& handover_member() const { return handover_member_; }

  // Hands over a decoder and a mapper compiled from a reloaded config
  // (RowMapper::CompileForReload). Run switches to them before its next
  // poll, so no batch sees two configs and the hot path takes no lock.
  // Any thread; a newer hand-over replaces one not yet taken.
  void Reconfigure(std::unique_ptr<Decoder> decoder, std::unique_ptr<RowMapper> mapper);

 private:
  void RefreshSourceMetrics();
  void MaybeCheckpoint(bool force);
  // Takes a pending Reconfigure: activates the mapper and switches to it.
  void SwitchToPendingConfig();
  void ReportIncompleteTransaction();  // at the end of the input

  Source& source_;
  MessageProcessor processor_;
  MetricStore& store_;
  PipelineMetrics& metrics_;
  PipelineOptions options_;
  uint64_t messages_processed_ = 0;
  AppliedPositions positions_;
  // Positions of the messages of the open transaction, in order.
  std::vector<SourcePosition> held_positions_;
  std::chrono::steady_clock::time_point next_checkpoint_{};
  uint64_t checkpointed_messages_ = 0;
  std::string handover_member_;
  uint64_t handover_seq_ = 0;
  std::vector<std::string> adopted_;
  std::vector<std::string> claimed_;     // claims published by this process
  std::vector<std::string> unreadable_;  // retire records whose state did not decode
  std::chrono::steady_clock::time_point next_retire_scan_{};
  // A checkpoint written whose positions are not yet published.
  struct PendingHandover {
    uint64_t seq = 0;
    std::vector<SourceOffset> positions;
  };
  std::optional<PendingHandover> pending_handover_;

  // Reconfigure's hand-over: the flag is the only thing Run reads per poll.
  std::atomic<bool> config_pending_{false};
  std::mutex pending_mutex_;
  std::unique_ptr<Decoder> pending_decoder_;
  std::unique_ptr<RowMapper> pending_mapper_;
  // The decoder and mapper in use since the last switch (the first ones
  // belong to the caller).
  std::unique_ptr<Decoder> active_decoder_;
  std::unique_ptr<RowMapper> active_mapper_;
};

}  // namespace txmon
