#include "agent/pipeline/pipeline.h"

#include <algorithm>
#include <functional>
#include <string>

#include "agent/base/wall_clock.h"
#include "agent/checkpoint/checkpoint_file.h"

namespace txmon {

Pipeline::Pipeline(Source& source, Decoder& decoder, RowMapper& mapper, MetricStore& store,
                   PipelineMetrics& metrics, PipelineOptions options)
    : source_(source),
      processor_(decoder, mapper, metrics,
                 TableFilter(options.include_tables, options.exclude_tables)),
      store_(store),
      metrics_(metrics),
      options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = WallClockMs;
}

Status Pipeline::Run(const std::atomic<bool>& stop) {
  std::vector<SourceMessage> batch;
  batch.reserve(options_.max_batch);
  auto next_refresh = std::chrono::steady_clock::now();
  const bool hands_over = source_.HandsOver() && !options_.checkpoint_path.empty();
  if (hands_over) {
    // Publishes this run's first sequence before any partition is owned, and
    // checkpoints before every revoke.
    MaybeCheckpoint(/*force=*/true);
    source_.SetBeforeRevoke([this] { MaybeCheckpoint(/*force=*/true); });
  }
  while (!stop.load(std::memory_order_relaxed)) {
    // Not while the brokers are away: the read would only wait out its timeout.
    if (hands_over && source_.Connected() &&
        std::chrono::steady_clock::now() >= next_retire_scan_) {
      next_retire_scan_ = std::chrono::steady_clock::now() +
                          std::max<std::chrono::milliseconds>(options_.checkpoint_interval,
                                                              std::chrono::seconds(1));
      if (Status s = AdoptRetired(); !s.ok()) {
        if (s.message().starts_with("retired:")) return s;
        Log(LogLevel::kWarn, "checkpoint", "cannot read or adopt retired agents yet",
            {{"err", s.message()}});
      }
    }
    // A decoder holding an open transaction is not swapped: its rows would go.
    if (held_positions_.empty() && config_pending_.load(std::memory_order_acquire)) {
      SwitchToPendingConfig();
    }
    if (std::chrono::steady_clock::now() >= next_refresh) {
      RefreshSourceMetrics();
      next_refresh = std::chrono::steady_clock::now() + options_.refresh_interval;
    }
    if (Status s = source_.Poll(batch, options_.max_batch, options_.poll_timeout); !s.ok()) {
      return s;
    }
    if (batch.empty()) {
      if (source_.Finished()) {
        ReportIncompleteTransaction();
        break;
      }
      continue;
    }
    const size_t applied = ProcessBatch(batch);
    if (applied == batch.size()) {
      source_.Acknowledge(batch);
    } else if (applied > 0) {
      source_.Acknowledge(std::vector<SourceMessage>(batch.begin(), batch.begin() + applied));
    }
    MaybeCheckpoint(/*force=*/false);
  }
  RefreshSourceMetrics();
  MaybeCheckpoint(/*force=*/true);
  // Everything applied is published: a revoke while closing has nothing
  // more to hand over.
  if (hands_over) source_.SetBeforeRevoke(nullptr);
  return Status::Ok();
}

// The input ended inside a transaction (Maxwell rows of an xid whose
// commit row never came): its rows stay unapplied — half a transaction
// would break the whole-transaction rule — and the positions stay unrecorded,
// so a checkpoint does not pass them. Said in the log and counted.
void Pipeline::ReportIncompleteTransaction() {
  if (held_positions_.empty()) return;
  metrics_.CountIncompleteTransaction();
  const SourcePosition& first = held_positions_.front();
  const SourcePosition& last = held_positions_.back();
  Log(LogLevel::kWarn, "pipeline",
      "the input ended inside a transaction whose commit never came: its rows are not applied",
      {{"held_messages", std::to_string(held_positions_.size())},
       {"topic", std::string(first.topic)},
       {"partition", std::to_string(first.partition)},
       {"first_offset", std::to_string(first.offset)},
       {"last_offset", std::to_string(last.offset)}});
}

void Pipeline::Reconfigure(std::unique_ptr<Decoder> decoder, std::unique_ptr<RowMapper> mapper) {
  std::lock_guard lock(pending_mutex_);
  pending_decoder_ = std::move(decoder);
  pending_mapper_ = std::move(mapper);
  config_pending_.store(true, std::memory_order_release);
}

void Pipeline::SwitchToPendingConfig() {
  std::lock_guard lock(pending_mutex_);
  config_pending_.store(false, std::memory_order_relaxed);
  if (!pending_decoder_ || !pending_mapper_) return;
  pending_mapper_->Activate();
  processor_.Use(*pending_decoder_, *pending_mapper_);
  // The previous ones are no longer used by anyone: free them here.
  active_decoder_ = std::move(pending_decoder_);
  active_mapper_ = std::move(pending_mapper_);
  Log(LogLevel::kInfo, "pipeline", "switched to the reloaded mappings");
}

TableFilter::TableFilter(const std::vector<std::string>& include,
                         const std::vector<std::string>& exclude) {
  for (const auto& [names, patterns] : {std::pair{&include, &include_}, {&exclude, &exclude_}}) {
    for (const std::string& name : *names) {
      NamePattern pattern;
      if (NamePattern::Compile(name, &pattern).ok()) patterns->push_back(std::move(pattern));
    }
  }
}

bool TableFilter::Ignores(std::string_view database, std::string_view table) {
  const size_t size = database.size() + 1 + table.size();
  if (last_known_ && last_name_.size() == size && last_name_.starts_with(database) &&
      last_name_[database.size()] == '.' && std::string_view(last_name_).ends_with(table)) {
    return last_ignored_;
  }
  last_name_.assign(database);
  last_name_ += '.';
  last_name_.append(table);
  auto any = [&](const std::vector<NamePattern>& patterns) {
    for (const NamePattern& p : patterns) {
      if (p.Matches(last_name_)) return true;
    }
    return false;
  };
  last_ignored_ = (!include_.empty() && !any(include_)) || any(exclude_);
  last_known_ = true;
  return last_ignored_;
}

void AppliedPositions::Record(const SourcePosition& position) {
  if (last_ < offsets_.size()) {
    SourceOffset& o = offsets_[last_];
    if (o.partition == position.partition && o.topic == position.topic) {
      o.next_offset = position.offset + 1;
      return;
    }
  }
  for (size_t i = 0; i < offsets_.size(); ++i) {
    if (offsets_[i].partition == position.partition && offsets_[i].topic == position.topic) {
      offsets_[i].next_offset = position.offset + 1;
      last_ = i;
      return;
    }
  }
  offsets_.push_back({std::string(position.topic), position.partition, position.offset + 1});
  last_ = offsets_.size() - 1;
}

void Pipeline::MaybeCheckpoint(bool force) {
  if (options_.checkpoint_path.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now < next_checkpoint_) return;
  next_checkpoint_ = now + options_.checkpoint_interval;
  if (messages_processed_ == checkpointed_messages_ && !force) return;
  if (Status s = WriteCheckpoint(); !s.ok()) {
    Log(LogLevel::kError, "checkpoint", "cannot write the checkpoint", {{"err", s.message()}});
  }
}

Status Pipeline::WriteCheckpoint() {
  const bool hands_over = source_.HandsOver();
  if (pending_handover_) {
    if (Status s = source_.PublishHandover(handover_member_, pending_handover_->seq,
                                           pending_handover_->positions);
        !s.ok()) {
      return s;
    }
    pending_handover_.reset();
  }
  Checkpoint checkpoint;
  checkpoint.written_at_ms = options_.now_ms();
  checkpoint.offsets = positions_.offsets();
  std::vector<SourceOffset> owned;
  if (hands_over) {
    owned = source_.OwnedPositions();
    checkpoint.member = handover_member_;
    checkpoint.handover_seq = ++handover_seq_;
    checkpoint.adopted = adopted_;
  }
  checkpoint.store = store_.Snapshot();
  if (options_.save_alerts) checkpoint.alerts = options_.save_alerts();
  if (options_.save_day_baseline) checkpoint.day_baseline = options_.save_day_baseline();
  if (Status s = WriteCheckpointFile(options_.checkpoint_path, checkpoint); !s.ok()) return s;
  checkpointed_messages_ = messages_processed_;
  if (!hands_over) return Status::Ok();
  if (Status s = source_.PublishHandover(handover_member_, handover_seq_, owned); !s.ok()) {
    pending_handover_ = PendingHandover{handover_seq_, std::move(owned)};
    return s;
  }
  return Status::Ok();
}

namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Status Pipeline::AdoptRetired() {
  std::vector<RetireRecord> retires;
  if (Status s = source_.ReadRetires(&retires); !s.ok()) return s;
  bool claimed = false;
  for (const RetireRecord& r : retires) {
    if (r.member == handover_member_) {
      return Status::Error("retired: agent " + handover_member_ +
                           " was retired (txmon retire) and another agent adopted its counts; "
                           "it must not run again: exiting");
    }
    if (!r.winner.empty() || Contains(claimed_, r.member) || Contains(adopted_, r.member)) {
      continue;
    }
    if (Status s = source_.PublishClaim(handover_member_, r.member); !s.ok()) return s;
    claimed_.push_back(r.member);
    claimed = true;
  }
  if (claimed) {
    if (Status s = source_.ReadRetires(&retires); !s.ok()) return s;
  }
  // What to merge: the retired agents this one won, and (transitively) those
  // each of them had won without its retired state holding them yet.
  std::vector<std::string> names;
  std::vector<Checkpoint> states;
  std::function<void(const RetireRecord&)> take = [&](const RetireRecord& r) {
    if (Contains(adopted_, r.member) || Contains(names, r.member) ||
        Contains(unreadable_, r.member)) {
      return;
    }
    Checkpoint state;
    if (Status s = DecodeCheckpointFile("retire record of " + r.member, r.state, &state); !s.ok()) {
      unreadable_.push_back(r.member);
      Log(LogLevel::kError, "checkpoint",
          "cannot adopt a retired agent: its retire record does not decode",
          {{"retired", r.member}, {"err", s.message()}});
      return;
    }
    names.push_back(r.member);
    states.push_back(std::move(state));
    const std::vector<std::string> held = states.back().adopted;
    for (const RetireRecord& won : retires) {
      if (won.winner == r.member && !Contains(held, won.member)) take(won);
    }
  };
  for (const RetireRecord& r : retires) {
    if (r.winner == handover_member_) take(r);
  }
  if (names.empty()) return Status::Ok();
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<std::string> skipped, notes;
    store_.Merge(states[i].store, &skipped, &notes);
    for (const std::string& note : notes) {
      Log(LogLevel::kWarn, "checkpoint", "a retired agent's metric does not match the config",
          {{"retired", names[i]}, {"change", note}});
    }
    adopted_.push_back(names[i]);
    Log(LogLevel::kInfo, "checkpoint", "adopted the counts of a retired agent",
        {{"retired", names[i]},
         {"retired_seq", std::to_string(states[i].handover_seq)},
         {"metrics", std::to_string(states[i].store.metrics.size())}});
  }
  // Until this is published a restart merges them again from the topic.
  return WriteCheckpoint();
}

size_t Pipeline::ProcessBatch(const std::vector<SourceMessage>& batch) {
  source_.TakeLostMessages([&](std::string_view topic, int32_t partition, int64_t lost) {
    metrics_.CountLostMessages(topic, partition, lost);
  });
  const int64_t now_ms = options_.now_ms();
  for (const SourceMessage& message : batch) {
    if (processor_.Process(message, now_ms)) {
      held_positions_.push_back(message.position);
      continue;
    }
    for (const SourcePosition& held : held_positions_) positions_.Record(held);
    held_positions_.clear();
    positions_.Record(message.position);
  }
  messages_processed_ += batch.size();
  // The held messages are the last ones, some maybe from earlier batches.
  return batch.size() - std::min(held_positions_.size(), batch.size());
}

namespace {

// The mapper's question about a table's columns, answered by the decoder
// from the message that gave the table's first row.
class MessageColumns final : public TableColumnLookup {
 public:
  MessageColumns(Decoder& decoder, const SourceMessage& message)
      : decoder_(decoder), message_(message) {}
  std::vector<std::string> Columns(std::string_view database, std::string_view table) override {
    return decoder_.TableColumns(message_, database, table);
  }

 private:
  Decoder& decoder_;
  const SourceMessage& message_;
};

}  // namespace

bool MessageProcessor::Process(const SourceMessage& message, int64_t now_ms) {
  DecodeResult result = decoder_->Decode(message);
  // Every message read is counted, whatever becomes of it.
  metrics_.CountMessage(result.message_type.empty() ? std::string_view("unknown")
                                                    : result.message_type);
  if (result.error == DecodeError::kUnknownTable) {
    metrics_.CountFormat(result.format);
    if (!filter_.empty() && filter_.Ignores(result.database, result.table)) {
      metrics_.CountIgnored();
    } else {
      NoteUnmappedTable(result);
    }
  } else if (result.error != DecodeError::kNone) {
    ReportDecodeError(message, result);
  } else {
    metrics_.CountFormat(result.format);
  }
  // Even a message in error may release the rows of the transaction it
  // ends (Maxwell's commit on a row txmon cannot use): those still count.
  bool ignored = false;
  MessageColumns columns(*decoder_, message);
  for (size_t i = 0; i < result.rows.size(); ++i) {
    const RowChange& row = result.rows[i];
    if (!filter_.empty() && filter_.Ignores(row.database, row.table)) {
      ignored = true;
      continue;
    }
    mapper_->Apply(row, &columns);
    metrics_.CountRow(row, now_ms);
    if (mapper_->has_skipped_rows()) ReportSkippedRows(message, i);
  }
  if (ignored) metrics_.CountIgnored();
  if (mapper_->has_unknown_columns()) ReportUnknownColumns();
  if (!result.rows.empty()) metrics_.SetLastEventTime(result.rows.back().commit_time_ms);
  return result.transaction_open;
}

void MessageProcessor::ReportSkippedRows(const SourceMessage& message, size_t row) {
  const std::string key = decoder_->RowKey(message, row);
  for (const RowMapper::SkippedRow& skipped : mapper_->TakeSkippedRows()) {
    Log(LogLevel::kWarn, "map", "skipped a row the mapping could not count",
        {{"metric", skipped.metric},
         {"reason", std::string(skipped.reason)},
         {"column", skipped.column},
         {"value", skipped.value},
         {"topic", std::string(message.position.topic)},
         {"partition", std::to_string(message.position.partition)},
         {"offset", std::to_string(message.position.offset)},
         {"row", std::to_string(row)},
         {"primary_key", key},
         {"suppressed_since_last", std::to_string(skipped.suppressed)}});
  }
}

void MessageProcessor::ReportUnknownColumns() {
  for (const RowMapper::UnknownColumn& unknown : mapper_->TakeUnknownColumns()) {
    Log(LogLevel::kError, "map", "a mapping reads a column its table does not have",
        {{"metric", unknown.metric},
         {"database", unknown.database},
         {"table", unknown.table},
         {"column", unknown.column},
         {"table_columns", unknown.table_columns}});
  }
}

void MessageProcessor::ReportNearMisses() {
  for (const RowMapper::NearMiss& miss : mapper_->TakeNearMisses()) {
    Log(LogLevel::kWarn, "map",
        "a mapping has seen no row of its table, and the stream has a table of a near name",
        {{"metric", miss.metric},
         {"mapping", miss.origin},
         {"database", miss.database},
         {"table", miss.table},
         {"seen_database", miss.seen_database},
         {"seen_table", miss.seen_table}});
  }
}

void MessageProcessor::NoteUnmappedTable(const DecodeResult& result) {
  metrics_.CountUnmappedTable(result.database, result.table);
  // Normal, so said once per table (at info): which tables the stream has
  // beyond the mapped ones is worth knowing when writing mappings.
  if (logged_unmapped_.size() >= kMaxLoggedUnmappedTables) return;
  std::string key = std::string(result.database) + "." + std::string(result.table);
  if (!logged_unmapped_.insert(std::move(key)).second) return;
  mapper_->NoteUnmappedTable(result.database, result.table);
  if (mapper_->has_near_misses()) ReportNearMisses();
  Log(LogLevel::kInfo, "decode", "ignoring the rows of a table no mapping declares",
      {{"database", std::string(result.database)}, {"table", std::string(result.table)}});
}

void MessageProcessor::ReportDecodeError(const SourceMessage& message, const DecodeResult& result) {
  metrics_.CountDecodeError(result.error);
  uint64_t suppressed = 0;
  if (!error_log_limit_.Allow(&suppressed)) return;
  std::vector<LogField> fields = {{"reason", std::string(DecodeErrorReason(result.error))},
                                  {"detail", std::string(result.detail)},
                                  {"topic", std::string(message.position.topic)},
                                  {"partition", std::to_string(message.position.partition)},
                                  {"offset", std::to_string(message.position.offset)},
                                  {"bytes", std::to_string(message.payload.size())}};
  // Where the CDC tool read it in the MySQL binlog, when the message said.
  if (!result.format.empty()) fields.emplace_back("format", std::string(result.format));
  if (!result.binlog_file.empty()) {
    fields.emplace_back("binlog_file", std::string(result.binlog_file));
  }
  if (result.binlog_pos >= 0) fields.emplace_back("binlog_pos", std::to_string(result.binlog_pos));
  if (!result.gtid.empty()) fields.emplace_back("gtid", std::string(result.gtid));
  fields.emplace_back("suppressed_since_last", std::to_string(suppressed));
  Log(LogLevel::kWarn, "decode", "skipped a message that cannot be decoded", fields);
}

void Pipeline::RefreshSourceMetrics() {
  metrics_.SetSourceUp(source_.Connected());
  source_.VisitPartitionLag([&](std::string_view topic, int32_t partition, int64_t lag) {
    metrics_.SetConsumerLag(topic, partition, lag);
  });
  if (ReplicaStats stats; source_.GetReplicaStats(&stats)) metrics_.SetReplicaStats(stats);
  metrics_.RefreshFoldedValues(store_);
}

}  // namespace txmon
