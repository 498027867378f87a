#include "agent/source/kafka_source.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace txmon {

namespace {

constexpr std::string_view kComponent = "source";

// A monitor wants each change within milliseconds of its commit, and at-least-
// once delivery tied to the pipeline having applied it.
const std::pair<const char*, const char*> kDefaultProperties[] = {
    {"client.id", "txmon"},
    {"enable.auto.commit", "true"},
    {"enable.auto.offset.store", "false"},  // stored only in Acknowledge
    {"auto.commit.interval.ms", "1000"},
    {"fetch.wait.max.ms", "5"},
    {"fetch.error.backoff.ms", "20"},
    {"socket.nagle.disable", "true"},
    {"reconnect.backoff.max.ms", "1000"},
    {"log.connection.close", "false"},  // idle closes are not news
    // librdkafka prefetches up to 64 MiB per consumer by default; a quarter of
    // that still keeps the pipeline fed at over 100,000 messages/s and keeps
    // the agent's memory about its metrics, not about buffered messages.
    {"queued.max.messages.kbytes", "16384"},
};

// While the brokers are unreachable, Poll asks for metadata at most this often.
constexpr auto kBrokerProbeInterval = std::chrono::seconds(2);
constexpr int kBrokerProbeTimeoutMs = 100;

LogRateLimit g_librdkafka_log_limit(10);

Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char reason[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) !=
      RD_KAFKA_CONF_OK) {
    // The value is left out on purpose: it may be a password.
    return Status::Error("kafka property \"" + name + "\": " + reason);
  }
  return Status::Ok();
}

Status CheckOptions(const KafkaSourceOptions& options) {
  if (options.brokers.empty()) return Status::Error("kafka: no brokers configured");
  if (options.topics.empty()) return Status::Error("kafka: no topics configured");
  for (const std::string& topic : options.topics) {
    if (topic.empty()) return Status::Error("kafka: empty topic name");
  }
  if (options.group_id.empty()) return Status::Error("kafka: no consumer group id configured");
  if (options.start_offset != "earliest" && options.start_offset != "latest") {
    return Status::Error("kafka: start offset must be \"earliest\" or \"latest\", not \"" +
                         options.start_offset + "\"");
  }
  return Status::Ok();
}

std::string DescribePartitions(const rd_kafka_topic_partition_list_t* partitions) {
  std::string text;
  for (int i = 0; partitions != nullptr && i < partitions->cnt; ++i) {
    if (!text.empty()) text += ',';
    text += partitions->elems[i].topic;
    text += '/';
    text += std::to_string(partitions->elems[i].partition);
  }
  return text;
}

LogLevel LevelFromSyslog(int level) {
  if (level <= 3) return LogLevel::kError;
  if (level == 4) return LogLevel::kWarn;
  if (level <= 6) return LogLevel::kInfo;
  return LogLevel::kDebug;
}

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// The client properties the hand-over's producer and reader share with the
// consumer: how to reach and authenticate to the brokers.
bool IsConnectionProperty(const std::string& name) {
  for (const char* prefix : {"security.", "sasl.", "ssl.", "socket.", "broker.", "client."}) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

constexpr std::string_view kHandoverHeader = "txmon-handover/1";
// "txmon-retire/1\nmember M\n\n" and the retired agent's checkpoint file.
constexpr std::string_view kRetireHeader = "txmon-retire/1\n";
// "txmon-claim/1\nmember B\nretired M\n": B adopts M's counts if first.
constexpr std::string_view kClaimHeader = "txmon-claim/1\n";
constexpr int kHandoverTimeoutMs = 10000;

}  // namespace

Status KafkaSource::Create(const KafkaSourceOptions& options, std::unique_ptr<KafkaSource>* out) {
  Status checked = CheckOptions(options);
  if (!checked.ok()) return checked;
  std::unique_ptr<KafkaSource> source(new KafkaSource());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Status status = Status::Ok();
  for (const auto& [name, value] : kDefaultProperties) {
    if (status.ok()) status = SetProperty(conf, name, value);
  }
  if (status.ok()) status = SetProperty(conf, "bootstrap.servers", options.brokers);
  if (status.ok()) status = SetProperty(conf, "group.id", options.group_id);
  if (status.ok()) status = SetProperty(conf, "auto.offset.reset", options.start_offset);
  for (const auto& [name, value] : options.properties) {
    if (status.ok()) status = SetProperty(conf, name, value);
    if (name == "partition.assignment.strategy") {
      source->cooperative_sticky_ = value.find("cooperative-sticky") != std::string::npos;
    }
    if (name == "session.timeout.ms") {
      source->stall_limit_ = std::chrono::milliseconds(std::atoll(value.c_str()) / 2);
    }
  }
  // With a hand-over the start of a partition comes from the hand-over
  // topic; group commits would only be a second, diverging truth.
  if (status.ok() && !options.handover_topic.empty()) {
    status = SetProperty(conf, "enable.auto.commit", "false");
  }
  if (!status.ok()) {
    rd_kafka_conf_destroy(conf);
    return status;
  }
  rd_kafka_conf_set_opaque(conf, source.get());
  rd_kafka_conf_set_rebalance_cb(conf, &KafkaSource::OnRebalance);
  rd_kafka_conf_set_error_cb(conf, &KafkaSource::OnError);
  rd_kafka_conf_set_log_cb(conf, &KafkaSource::OnLog);

  char reason[512];
  source->consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
  if (source->consumer_ == nullptr) {
    rd_kafka_conf_destroy(conf);  // still ours when rd_kafka_new fails
    return Status::Error(std::string("kafka: cannot create consumer: ") + reason);
  }
  // Serve rebalance/error events from rd_kafka_consumer_poll.
  rd_kafka_poll_set_consumer(source->consumer_);
  if (!options.handover_topic.empty()) {
    if (Status s = source->CreateHandoverClients(options); !s.ok()) return s;
  }

  rd_kafka_topic_partition_list_t* subscription =
      rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size()));
  for (const std::string& topic : options.topics) {
    rd_kafka_topic_partition_list_add(subscription, topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t subscribed = rd_kafka_subscribe(source->consumer_, subscription);
  rd_kafka_topic_partition_list_destroy(subscription);
  if (subscribed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Error(std::string("kafka: cannot subscribe: ") + rd_kafka_err2str(subscribed));
  }
  Log(LogLevel::kInfo, kComponent, "kafka consumer subscribed",
      {{"brokers", options.brokers},
       {"group", options.group_id},
       {"topics", std::to_string(options.topics.size())},
       {"start_offset", options.start_offset}});
  *out = std::move(source);
  return Status::Ok();
}

Status KafkaSource::CreateHandoverOnly(const KafkaSourceOptions& options,
                                       std::unique_ptr<KafkaSource>* out) {
  if (options.brokers.empty()) return Status::Error("kafka: no brokers configured");
  if (options.group_id.empty()) return Status::Error("kafka: no consumer group id configured");
  if (options.handover_topic.empty()) {
    return Status::Error("kafka: no source.kafka.handover_topic configured");
  }
  std::unique_ptr<KafkaSource> source(new KafkaSource());
  if (Status s = source->CreateHandoverClients(options); !s.ok()) return s;
  source->closed_ = true;  // no consumer: nothing to poll or close
  *out = std::move(source);
  return Status::Ok();
}

KafkaSource::~KafkaSource() {
  if (consumer_ != nullptr) {
    Close();  // its revoke may still publish a hand-over
    // librdkafka before 2.3.0 asserts when a cooperative-sticky consumer that
    // joined but was never assigned is destroyed (librdkafka issue #4312):
    // leave that one to the exiting process rather than abort.
    if (ever_assigned_ || !cooperative_sticky_) rd_kafka_destroy(consumer_);
  }
  if (handover_reader_ != nullptr) {
    rd_kafka_consumer_close(handover_reader_);
    rd_kafka_destroy(handover_reader_);
  }
  if (handover_producer_ != nullptr) {
    rd_kafka_flush(handover_producer_, 5000);
    rd_kafka_destroy(handover_producer_);
  }
}

Status KafkaSource::Poll(std::vector<SourceMessage>& batch, size_t max_messages,
                         std::chrono::milliseconds timeout) {
  ReleaseHeldMessages();
  batch.clear();
  if (closed_) return Status::Error("kafka: poll after close");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!connected_.load(std::memory_order_relaxed)) ProbeBrokers(RemainingMs(deadline));
  const uint64_t revokes_before = revokes_;
  NoteStall();
  while (batch.size() < max_messages) {
    // Wait only for the first message; then take what is already here.
    const int wait_ms = batch.empty() ? RemainingMs(deadline) : 0;
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, wait_ms);
    if (fatal_.load(std::memory_order_relaxed)) {
      if (message != nullptr) rd_kafka_message_destroy(message);
      return FatalStatus();
    }
    if (message == nullptr) {
      if (wait_ms == 0) break;
      continue;  // woken early (e.g. by a rebalance); wait out the rest
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      HandleMessageError(*message);
      rd_kafka_message_destroy(message);
      continue;
    }
    held_messages_.push_back(message);
    SourceMessage& out = batch.emplace_back();
    out.payload = std::string_view(static_cast<const char*>(message->payload), message->len);
    out.position.topic = InternTopic(rd_kafka_topic_name(message->rkt));
    CheckContinuity(out.position.topic, message->partition, message->offset);
    out.position.partition = message->partition;
    out.position.offset = message->offset;
  }
  // Polled before a revoke served in this call: their partition's next
  // owner starts at the position published before the revoke.
  if (revokes_ != revokes_before && HandsOver()) DropRevokedMessages(batch);
  if (!batch.empty()) MarkConnected();
  return Status::Ok();
}

void KafkaSource::DropRevokedMessages(std::vector<SourceMessage>& batch) {
  std::erase_if(batch, [&](const SourceMessage& m) {
    return std::none_of(owned_.begin(), owned_.end(), [&](const SourceOffset& o) {
      return o.partition == m.position.partition && o.topic == m.position.topic;
    });
  });
}

void KafkaSource::Acknowledge(const std::vector<SourceMessage>& batch) {
  if (batch.empty() || closed_) return;
  struct NextOffset {
    std::string_view topic;
    int32_t partition;
    int64_t offset;
  };
  std::vector<NextOffset> next_offsets;
  for (const SourceMessage& message : batch) {
    const SourcePosition& position = message.position;
    auto same_partition = [&](const NextOffset& entry) {
      return entry.partition == position.partition && entry.topic == position.topic;
    };
    auto found = std::find_if(next_offsets.begin(), next_offsets.end(), same_partition);
    if (found == next_offsets.end()) {
      next_offsets.push_back({position.topic, position.partition, position.offset + 1});
    } else {
      found->offset = std::max(found->offset, position.offset + 1);
    }
  }
  for (const NextOffset& entry : next_offsets) {
    for (SourceOffset& owned : owned_) {
      if (owned.partition == entry.partition && owned.topic == entry.topic) {
        owned.next_offset = entry.offset;
      }
    }
  }
  rd_kafka_topic_partition_list_t* offsets =
      rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
  for (const NextOffset& entry : next_offsets) {
    rd_kafka_topic_partition_list_add(offsets, std::string(entry.topic).c_str(), entry.partition)
        ->offset = entry.offset;
  }
  rd_kafka_resp_err_t stored = rd_kafka_offsets_store(consumer_, offsets);
  // Partitions revoked since the batch was polled refuse the store; their new
  // owner reads those messages again.
  uint64_t suppressed = 0;
  if (stored != RD_KAFKA_RESP_ERR_NO_ERROR && error_log_limit_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, kComponent, "kafka offsets not stored",
        {{"partitions", DescribePartitions(offsets)},
         {"err", rd_kafka_err2str(stored)},
         {"suppressed", std::to_string(suppressed)}});
  }
  rd_kafka_topic_partition_list_destroy(offsets);
}

void KafkaSource::VisitPartitionLag(const LagVisitor& visit) const {
  std::vector<AssignedPartition> assigned;
  {
    std::lock_guard<std::mutex> lock(assignment_mutex_);
    assigned = assignment_;
  }
  if (assigned.empty()) return;
  rd_kafka_topic_partition_list_t* positions =
      rd_kafka_topic_partition_list_new(static_cast<int>(assigned.size()));
  for (const AssignedPartition& entry : assigned) {
    rd_kafka_topic_partition_list_add(positions, entry.topic.c_str(), entry.partition);
  }
  // Both calls read librdkafka's local state: no broker round trip.
  rd_kafka_position(consumer_, positions);
  for (int i = 0; i < positions->cnt; ++i) {
    const rd_kafka_topic_partition_t& entry = positions->elems[i];
    int64_t low = RD_KAFKA_OFFSET_INVALID;
    int64_t high = RD_KAFKA_OFFSET_INVALID;
    rd_kafka_get_watermark_offsets(consumer_, entry.topic, entry.partition, &low, &high);
    // Until the first fetch of a partition returns, its end or our position is
    // unknown: report 0 rather than a guess.
    int64_t lag = 0;
    if (high >= 0 && entry.offset >= 0) lag = std::max<int64_t>(0, high - entry.offset);
    visit(entry.topic, entry.partition, lag);
  }
  rd_kafka_topic_partition_list_destroy(positions);
}

void KafkaSource::Close() {
  if (closed_ || consumer_ == nullptr) return;
  ReleaseHeldMessages();
  CommitStoredOffsets("close");
  // Leaves the group; the revoke is served from inside this call.
  rd_kafka_resp_err_t closed = rd_kafka_consumer_close(consumer_);
  closed_ = true;
  connected_.store(false, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(assignment_mutex_);
    assignment_.clear();
  }
  Log(closed == RD_KAFKA_RESP_ERR_NO_ERROR ? LogLevel::kInfo : LogLevel::kWarn, kComponent,
      "kafka consumer closed", {{"err", rd_kafka_err2str(closed)}});
}

void KafkaSource::OnRebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t reason,
                              rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  const char* protocol = rd_kafka_rebalance_protocol(consumer);
  const bool cooperative = protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
  switch (reason) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
      self->Assign(partitions, cooperative);
      break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
      self->Revoke(partitions, cooperative);
      break;
    default:
      Log(LogLevel::kError, kComponent, "kafka rebalance failed",
          {{"err", rd_kafka_err2str(reason)}});
      rd_kafka_assign(consumer, nullptr);  // resynchronises librdkafka's state
      self->UpdateAssignment(nullptr, /*add=*/false, /*replace=*/true);
      break;
  }
}

void KafkaSource::ResumeFrom(const std::vector<SourceOffset>& offsets) {
  // With a hand-over the group's records say where partitions start: a
  // position this agent had before others took the partition is stale.
  if (HandsOver()) return;
  resume_offsets_ = offsets;
}

void KafkaSource::Assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
  // A checkpoint's position wins over the group's committed offset: the
  // restored state counts exactly the messages before it.
  // Each is used once: if the partition comes back later in this process,
  // the offset committed on its revoke is the right place to continue.
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& p = partitions->elems[i];
    std::erase_if(resume_offsets_, [&](const SourceOffset& offset) {
      if (offset.partition != p.partition || offset.topic != p.topic) return false;
      p.offset = offset.next_offset;
      return true;
    });
  }
  if (HandsOver()) {
    // The latest published record that lists a partition is where the state
    // counting it ends, whoever's it is.
    if (Status s = ScanHandover(); !s.ok()) {
      fatal_reason_ =
          "kafka hand-over: cannot read where assigned partitions start: " + s.message();
      fatal_.store(true, std::memory_order_relaxed);
      return;
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& p = partitions->elems[i];
      for (const Mention& m : latest_mentions_) {
        if (m.partition == p.partition && m.topic == p.topic) p.offset = m.next_offset;
      }
      if (!cooperative && i == 0) owned_.clear();
      std::erase_if(owned_, [&](const SourceOffset& o) {
        return o.partition == p.partition && o.topic == p.topic;
      });
      owned_.push_back({p.topic, p.partition, p.offset >= 0 ? p.offset : -1});
    }
  }
  std::string failure;
  if (cooperative) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_assign(consumer_, partitions)) {
      failure = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, partitions);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) failure = rd_kafka_err2str(err);
  }
  if (!failure.empty()) {
    Log(LogLevel::kError, kComponent, "kafka assign failed",
        {{"partitions", DescribePartitions(partitions)}, {"err", failure}});
    return;
  }
  UpdateAssignment(partitions, /*add=*/true, /*replace=*/!cooperative);
  ever_assigned_ = true;
  ExpectOffsets(partitions);
  MarkConnected();
  CountTotalPartitions();
  Log(LogLevel::kInfo, kComponent, "kafka partitions assigned",
      {{"partitions", DescribePartitions(partitions)},
       {"protocol", cooperative ? "cooperative" : "eager"}});
}

void KafkaSource::Revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
  const bool lost = rd_kafka_assignment_lost(consumer_) != 0;
  // A lost assignment already belongs to someone else: committing would fail.
  if (!lost) CommitStoredOffsets("revoke");
  if (HandsOver()) {
    ++revokes_;
    if (lost) {
      // The next owners start at this agent's last published positions while
      // its memory counts past them: only a restart from the checkpoint
      // stays exact.
      fatal_reason_ =
          "kafka hand-over: partitions lost to the group (session timed out); exiting so that a "
          "restart from the checkpoint does not count their latest messages twice";
      fatal_.store(true, std::memory_order_relaxed);
    } else if (before_revoke_ && !fatal_.load(std::memory_order_relaxed)) {
      const uint64_t published = publishes_;
      before_revoke_();
      if (publishes_ == published) {
        // The next owners would start before what this state counts.
        fatal_reason_ =
            "kafka hand-over: could not checkpoint and publish before giving partitions up; "
            "exiting so that a restart from the last published checkpoint stays exact";
        fatal_.store(true, std::memory_order_relaxed);
      }
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = partitions->elems[i];
      std::erase_if(owned_, [&](const SourceOffset& o) {
        return o.partition == p.partition && o.topic == p.topic;
      });
    }
  }
  std::string failure;
  if (cooperative) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(consumer_, partitions)) {
      failure = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, nullptr);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) failure = rd_kafka_err2str(err);
  }
  if (!failure.empty()) {
    Log(LogLevel::kError, kComponent, "kafka unassign failed", {{"err", failure}});
  }
  UpdateAssignment(partitions, /*add=*/false, /*replace=*/!cooperative);
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = partitions->elems[i];
    std::erase_if(expected_, [&](const ExpectedOffset& e) {
      return e.partition == p.partition && e.topic == p.topic;
    });
  }
  Log(lost ? LogLevel::kWarn : LogLevel::kInfo, kComponent,
      lost ? "kafka partitions lost" : "kafka partitions revoked",
      {{"partitions", DescribePartitions(partitions)},
       {"protocol", cooperative ? "cooperative" : "eager"}});
}

// Eager protocols replace the whole assignment (revoke clears it); cooperative
// ones add or remove just the listed partitions.
void KafkaSource::UpdateAssignment(const rd_kafka_topic_partition_list_t* partitions, bool add,
                                   bool replace) {
  std::lock_guard<std::mutex> lock(assignment_mutex_);
  if (replace) assignment_.clear();
  for (int i = 0; partitions != nullptr && i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& entry = partitions->elems[i];
    auto same = [&](const AssignedPartition& assigned) {
      return assigned.partition == entry.partition && assigned.topic == entry.topic;
    };
    auto found = std::find_if(assignment_.begin(), assignment_.end(), same);
    if (add && found == assignment_.end()) {
      assignment_.push_back({entry.topic, entry.partition});
    } else if (!add && found != assignment_.end()) {
      assignment_.erase(found);
    }
  }
}

void KafkaSource::CommitStoredOffsets(const char* why) {
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer_, nullptr, /*async=*/0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  Log(LogLevel::kWarn, kComponent, "kafka offset commit failed",
      {{"during", why}, {"err", rd_kafka_err2str(err)}});
}

void KafkaSource::ExpectOffsets(const rd_kafka_topic_partition_list_t* partitions) {
  rd_kafka_topic_partition_list_t* starts = rd_kafka_topic_partition_list_copy(partitions);
  // Partitions without a checkpoint position start at the group's commit;
  // ask for it (one round trip per assignment) so that a commit already
  // deleted by retention is seen as a loss too. A group with no commit
  // starts at auto.offset.reset: nothing to miss.
  bool ask_group = false;
  for (int i = 0; i < starts->cnt; ++i) ask_group |= starts->elems[i].offset < 0;
  if (ask_group) {
    rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_copy(partitions);
    if (rd_kafka_committed(consumer_, committed, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < starts->cnt; ++i) {
        if (starts->elems[i].offset < 0) starts->elems[i].offset = committed->elems[i].offset;
      }
    }
    rd_kafka_topic_partition_list_destroy(committed);
  }
  for (int i = 0; i < starts->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = starts->elems[i];
    std::erase_if(expected_, [&](const ExpectedOffset& e) {
      return e.partition == p.partition && e.topic == p.topic;
    });
    if (p.offset >= 0) expected_.push_back({p.topic, p.partition, p.offset});
  }
  rd_kafka_topic_partition_list_destroy(starts);
}

void KafkaSource::CheckContinuity(std::string_view topic, int32_t partition, int64_t offset) {
  for (ExpectedOffset& expected : expected_) {
    if (expected.partition != partition || expected.topic != topic) continue;
    if (offset > expected.next) CountLoss(topic, partition, expected.next, offset);
    expected.next = offset + 1;
    return;
  }
}

void KafkaSource::CountLoss(std::string_view topic, int32_t partition, int64_t from, int64_t to) {
  // A gap is a loss only where the broker no longer holds the offsets: below
  // its low watermark. Transaction markers leave gaps above it.
  int64_t low = RD_KAFKA_OFFSET_INVALID;
  int64_t high = RD_KAFKA_OFFSET_INVALID;
  const std::string topic_text(topic);
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(consumer_, topic_text.c_str(), partition, &low, &high, 5000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Log(LogLevel::kError, kComponent, "kafka offsets skipped; cannot tell whether they were lost",
        {{"topic", topic_text},
         {"partition", std::to_string(partition)},
         {"from_offset", std::to_string(from)},
         {"to_offset", std::to_string(to)},
         {"err", rd_kafka_err2str(err)}});
    return;
  }
  const int64_t gone_until = std::min(to, low);
  if (gone_until <= from) return;
  losses_.push_back({topic_text, partition, gone_until - from});
  Log(LogLevel::kError, kComponent, "kafka messages lost: deleted by retention before being read",
      {{"topic", topic_text},
       {"partition", std::to_string(partition)},
       {"from_offset", std::to_string(from)},
       {"to_offset", std::to_string(gone_until)},
       {"lost_messages", std::to_string(gone_until - from)}});
}

void KafkaSource::TakeLostMessages(const LossVisitor& visit) {
  for (const Loss& loss : losses_) visit(loss.topic, loss.partition, loss.messages);
  losses_.clear();
}

void KafkaSource::HandleMessageError(const rd_kafka_message_t& message) {
  const char* topic = message.rkt != nullptr ? rd_kafka_topic_name(message.rkt) : "";
  if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    MarkConnected();  // a fetch answered
    Log(LogLevel::kDebug, kComponent, "kafka partition end reached",
        {{"topic", topic},
         {"partition", std::to_string(message.partition)},
         {"offset", std::to_string(message.offset)}});
    return;
  }
  uint64_t suppressed = 0;
  if (!error_log_limit_.Allow(&suppressed)) return;
  Log(LogLevel::kWarn, kComponent, "kafka consumer error",
      {{"topic", topic},
       {"partition", std::to_string(message.partition)},
       {"err", rd_kafka_message_errstr(&message)},
       {"suppressed", std::to_string(suppressed)}});
}

void KafkaSource::OnError(rd_kafka_t* consumer, int code, const char* reason, void* opaque) {
  (void)consumer;
  auto* self = static_cast<KafkaSource*>(opaque);
  const auto err = static_cast<rd_kafka_resp_err_t>(code);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    self->fatal_.store(true, std::memory_order_relaxed);
    Log(LogLevel::kError, kComponent, "kafka fatal error", {{"reason", reason}});
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    self->connected_.store(false, std::memory_order_release);
  }
  uint64_t suppressed = 0;
  if (!self->error_log_limit_.Allow(&suppressed)) return;
  Log(LogLevel::kWarn, kComponent, "kafka client error",
      {{"err", rd_kafka_err2name(err)},
       {"reason", reason},
       {"suppressed", std::to_string(suppressed)}});
}

void KafkaSource::OnLog(const rd_kafka_t* client, int level, const char* facility,
                        const char* message) {
  (void)client;
  uint64_t suppressed = 0;
  if (!g_librdkafka_log_limit.Allow(&suppressed)) return;
  Log(LevelFromSyslog(level), "kafka", message,
      {{"facility", facility}, {"suppressed", std::to_string(suppressed)}});
}

void KafkaSource::MarkConnected() {
  if (connected_.exchange(true, std::memory_order_acq_rel)) return;
  Log(LogLevel::kInfo, kComponent, "kafka brokers reachable");
}

// An idle consumer fetches nothing new after the brokers come back, so ask
// for metadata now and then until one answers.
void KafkaSource::ProbeBrokers(int timeout_ms) {
  const auto now = std::chrono::steady_clock::now();
  if (timeout_ms <= 0 || now - last_broker_probe_ < kBrokerProbeInterval) return;
  last_broker_probe_ = now;
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(consumer_, /*all_topics=*/0, nullptr, &metadata,
                                              std::min(timeout_ms, kBrokerProbeTimeoutMs));
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) MarkConnected();
}

Status KafkaSource::FatalStatus() {
  if (!fatal_reason_.empty()) return Status::Error(fatal_reason_);
  char reason[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(consumer_, reason, sizeof reason);
  return Status::Error(std::string("kafka fatal error ") + rd_kafka_err2name(err) + ": " + reason);
}

void KafkaSource::ReleaseHeldMessages() {
  for (rd_kafka_message_t* message : held_messages_) rd_kafka_message_destroy(message);
  held_messages_.clear();
}

std::string_view KafkaSource::InternTopic(const char* name) {
  if (last_topic_ == name) return last_topic_;
  auto found = topic_names_.find(std::string_view(name));
  if (found == topic_names_.end()) found = topic_names_.emplace(name).first;
  last_topic_ = *found;
  return last_topic_;
}

Status KafkaSource::CreateHandoverClients(const KafkaSourceOptions& options) {
  handover_topic_ = options.handover_topic;
  auto make = [&](rd_kafka_type_t type, rd_kafka_t** out) -> Status {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::vector<std::pair<std::string, std::string>> properties = {
        {"bootstrap.servers", options.brokers},
        {"socket.nagle.disable", "true"},
        {"reconnect.backoff.max.ms", "1000"},
        {"log.connection.close", "false"}};
    if (type == RD_KAFKA_PRODUCER) {
      properties.insert(properties.end(), {{"acks", "all"},
                                           {"linger.ms", "0"},
                                           {"enable.idempotence", "true"},
                                           {"message.timeout.ms", "10000"}});
    } else {
      properties.insert(properties.end(), {{"group.id", options.group_id + ".handover-reader"},
                                           {"enable.auto.commit", "false"},
                                           {"fetch.wait.max.ms", "5"},
                                           {"auto.offset.reset", "earliest"}});
    }
    for (const auto& [name, value] : options.properties) {
      if (IsConnectionProperty(name)) properties.emplace_back(name, value);
    }
    Status status = Status::Ok();
    for (const auto& [name, value] : properties) {
      if (status.ok()) status = SetProperty(conf, name, value);
    }
    if (!status.ok()) {
      rd_kafka_conf_destroy(conf);
      return status;
    }
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, &OnHandoverDelivery);
    rd_kafka_conf_set_log_cb(conf, &KafkaSource::OnLog);
    char reason[512];
    *out = rd_kafka_new(type, conf, reason, sizeof reason);
    if (*out == nullptr) {
      rd_kafka_conf_destroy(conf);
      return Status::Error(std::string("kafka hand-over: cannot create client: ") + reason);
    }
    return Status::Ok();
  };
  if (Status s = make(RD_KAFKA_PRODUCER, &handover_producer_); !s.ok()) return s;
  if (Status s = make(RD_KAFKA_CONSUMER, &handover_reader_); !s.ok()) return s;
  rd_kafka_poll_set_consumer(handover_reader_);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, handover_topic_.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t err = rd_kafka_assign(handover_reader_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Error(std::string("kafka hand-over: cannot read ") + handover_topic_ + ": " +
                         rd_kafka_err2str(err));
  }
  Log(LogLevel::kInfo, kComponent, "kafka exact hand-over between the group's agents",
      {{"handover_topic", handover_topic_}});
  return Status::Ok();
}

Status KafkaSource::ScanHandover() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kHandoverTimeoutMs);
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      handover_reader_, handover_topic_.c_str(), 0, &low, &high, kHandoverTimeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Error(handover_topic_ + ": " + rd_kafka_err2str(err));
  }
  if (handover_next_ < low && handover_next_ < high) {
    Log(LogLevel::kWarn, kComponent,
        "kafka hand-over records deleted before they were read: keep the hand-over topic's "
        "retention unlimited",
        {{"topic", handover_topic_},
         {"from_offset", std::to_string(handover_next_)},
         {"to_offset", std::to_string(low)}});
  }
  while (handover_next_ < high) {
    const int wait_ms = RemainingMs(deadline);
    if (wait_ms <= 0) {
      return Status::Error(handover_topic_ + ": timed out reading to offset " +
                           std::to_string(high) + " (at " + std::to_string(handover_next_) + ")");
    }
    rd_kafka_message_t* message = rd_kafka_consumer_poll(handover_reader_, wait_ms);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ApplyHandoverRecord(
          std::string_view(static_cast<const char*>(message->payload), message->len));
      handover_next_ = message->offset + 1;
    } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      Log(LogLevel::kWarn, kComponent, "kafka hand-over read error",
          {{"err", rd_kafka_message_errstr(message)}});
    }
    rd_kafka_message_destroy(message);
  }
  return Status::Ok();
}

// "txmon-handover/1\nmember M\nseq S\nTOPIC PARTITION NEXT_OFFSET\n..."
void KafkaSource::ApplyHandoverRecord(std::string_view text) {
  if (text.starts_with(kRetireHeader) || text.starts_with(kClaimHeader)) {
    ApplyRetireRecord(text, text.starts_with(kClaimHeader));
    return;
  }
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  if (lines.size() < 3 || lines[0] != kHandoverHeader || !lines[1].starts_with("member ") ||
      !lines[2].starts_with("seq ")) {
    Log(LogLevel::kWarn, kComponent, "kafka hand-over record not understood: skipped");
    return;
  }
  const std::string member(lines[1].substr(7));
  const uint64_t seq = std::strtoull(std::string(lines[2].substr(4)).c_str(), nullptr, 10);
  auto found = std::find_if(latest_seqs_.begin(), latest_seqs_.end(),
                            [&](const auto& entry) { return entry.first == member; });
  if (found == latest_seqs_.end()) {
    latest_seqs_.emplace_back(member, seq);
  } else {
    found->second = std::max(found->second, seq);
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    const std::string line(lines[i]);
    char topic[256];
    int partition = 0;
    long long offset = 0;
    if (std::sscanf(line.c_str(), "%255s %d %lld", topic, &partition, &offset) != 3) continue;
    auto same = [&](const Mention& m) { return m.partition == partition && m.topic == topic; };
    auto mention = std::find_if(latest_mentions_.begin(), latest_mentions_.end(), same);
    if (mention == latest_mentions_.end()) {
      latest_mentions_.push_back({topic, partition, offset});
    } else {
      mention->next_offset = offset;
    }
  }
}

// The ledger of retired agents. A retire record counts once per member (a
// second one, e.g. a retry whose first attempt did land, changes nothing);
// a claim wins if it is the first for that retired agent and its claimant
// had not retired itself before it (a claim still in flight when its agent
// was retired is void: the retired state does not hold those counts).
void KafkaSource::ApplyRetireRecord(std::string_view text, bool claim) {
  auto line = [&](std::string_view prefix, std::string* value) {
    if (!text.starts_with(prefix)) return false;
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) return false;
    value->assign(text.substr(prefix.size(), end - prefix.size()));
    text.remove_prefix(end + 1);
    return !value->empty();
  };
  auto retired = [&](const std::string& member) {
    return std::find_if(retires_.begin(), retires_.end(),
                        [&](const RetireRecord& r) { return r.member == member; });
  };
  text.remove_prefix(claim ? kClaimHeader.size() : kRetireHeader.size());
  std::string member, of;
  if (!line("member ", &member) || (claim && !line("retired ", &of)) ||
      (!claim && !text.starts_with("\n"))) {
    Log(LogLevel::kWarn, kComponent, "kafka hand-over retire record not understood: skipped");
    return;
  }
  if (!claim) {
    if (retired(member) != retires_.end()) return;
    retires_.push_back({member, std::string(text.substr(1)), ""});
    return;
  }
  auto target = retired(of);
  if (target == retires_.end() || !target->winner.empty() || retired(member) != retires_.end()) {
    return;
  }
  target->winner = member;
}

Status KafkaSource::ProduceHandover(const std::string& key, const std::string& value) {
  rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      handover_producer_, RD_KAFKA_V_TOPIC(handover_topic_.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),  // copied (F_COPY)
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Error("kafka hand-over: cannot publish: " + std::string(rd_kafka_err2str(err)));
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kHandoverTimeoutMs + 2000);
  while (delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS && RemainingMs(deadline) > 0) {
    rd_kafka_poll(handover_producer_, std::min(100, RemainingMs(deadline)));
  }
  if (delivered != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Still in flight at the deadline: wait it out here, so that the
    // opaque it writes to outlives it.
    if (delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS) rd_kafka_flush(handover_producer_, 60000);
    return Status::Error("kafka hand-over: publish failed: " +
                         std::string(rd_kafka_err2str(delivered)));
  }
  return Status::Ok();
}

Status KafkaSource::PublishRetire(const std::string& member, const std::string& state) {
  if (!HandsOver()) return Status::Error("kafka: no hand-over topic");
  std::string text(kRetireHeader);
  text += "member " + member + "\n\n";
  text += state;
  return ProduceHandover(member, text);
}

Status KafkaSource::PublishClaim(const std::string& member, const std::string& retired) {
  if (!HandsOver()) return Status::Error("kafka: no hand-over topic");
  std::string text(kClaimHeader);
  text += "member " + member + "\nretired " + retired + "\n";
  return ProduceHandover(member, text);
}

Status KafkaSource::ReadRetires(std::vector<RetireRecord>* retires) {
  retires->clear();
  if (!HandsOver()) return Status::Ok();
  if (Status s = ScanHandover(); !s.ok()) return Status::Error("kafka hand-over: " + s.message());
  *retires = retires_;
  return Status::Ok();
}

std::vector<SourceOffset> KafkaSource::OwnedPositions() const {
  std::vector<SourceOffset> known;
  for (const SourceOffset& o : owned_) {
    if (o.next_offset >= 0) known.push_back(o);
  }
  return known;
}

// A thread that stood still for half a session may have been dropped from
// the group without librdkafka having noticed yet; publishing its positions
// then would overrule the partitions' next owners (a zombie). Exiting is
// always safe: a restart resumes from the last published checkpoint.
void KafkaSource::NoteStall() {
  const auto now = std::chrono::steady_clock::now();
  if (last_tick_ != std::chrono::steady_clock::time_point{} && now - last_tick_ > stall_limit_) {
    stalled_ = true;
  }
  last_tick_ = now;
}

Status KafkaSource::PublishHandover(const std::string& member, uint64_t seq,
                                    const std::vector<SourceOffset>& positions) {
  NoteStall();
  if (stalled_ && !positions.empty()) {
    fatal_reason_ =
        "kafka hand-over: the agent stood still for over half of session.timeout.ms and may "
        "have left the group unnoticed; exiting rather than publish positions others may own "
        "(a restart resumes from the checkpoint)";
    fatal_.store(true, std::memory_order_relaxed);
    return Status::Error(fatal_reason_);
  }
  std::string text(kHandoverHeader);
  text += "\nmember " + member + "\nseq " + std::to_string(seq) + "\n";
  for (const SourceOffset& o : positions) {
    text +=
        o.topic + " " + std::to_string(o.partition) + " " + std::to_string(o.next_offset) + "\n";
  }
  if (Status s = ProduceHandover(member, text); !s.ok()) return s;
  ++publishes_;
  return Status::Ok();
}

void KafkaSource::OnHandoverDelivery(rd_kafka_t* producer, const rd_kafka_message_t* message,
                                     void* opaque) {
  (void)producer, (void)opaque;
  *static_cast<rd_kafka_resp_err_t*>(message->_private) = message->err;
}

Status KafkaSource::LatestHandoverSeq(const std::string& member, uint64_t* seq, bool* found) {
  *seq = 0;
  *found = false;
  if (!HandsOver()) return Status::Ok();
  if (Status s = ScanHandover(); !s.ok()) return Status::Error("kafka hand-over: " + s.message());
  for (const auto& [name, latest] : latest_seqs_) {
    if (name != member) continue;
    *seq = latest;
    *found = true;
  }
  return Status::Ok();
}

bool KafkaSource::CountPartitions(size_t* owned, size_t* total) const {
  {
    std::lock_guard<std::mutex> lock(assignment_mutex_);
    *owned = assignment_.size();
  }
  *total = total_partitions_.load(std::memory_order_relaxed);
  return true;
}

// The subscribed topics' partitions, for "3 of 16 partitions": from the
// metadata librdkafka already holds for the subscription.
void KafkaSource::CountTotalPartitions() {
  rd_kafka_topic_partition_list_t* subscription = nullptr;
  if (rd_kafka_subscription(consumer_, &subscription) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(consumer_, /*all_topics=*/0, nullptr, &metadata, 2000) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    size_t total = 0;
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      for (int i = 0; i < subscription->cnt; ++i) {
        if (std::strcmp(subscription->elems[i].topic, metadata->topics[t].topic) == 0) {
          total += static_cast<size_t>(metadata->topics[t].partition_cnt);
        }
      }
    }
    if (total > 0) total_partitions_.store(total, std::memory_order_relaxed);
  }
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_partition_list_destroy(subscription);
}

}  // namespace txmon
