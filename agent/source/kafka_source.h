// KafkaSource: reads change messages from Kafka topics as a member of a
// consumer group (librdkafka's high-level consumer).
//
// Delivery is at-least-once: offsets are stored only in Acknowledge (after the
// pipeline applied the batch) and librdkafka's auto-commit then commits the
// stored offsets; a revoke and Close() commit them synchronously. Messages
// polled but never acknowledged come again to whoever owns the partition next.
//
// Exact hand-over (KafkaSourceOptions::handover_topic set): several agents
// in one group count every message exactly once between them. Each agent's
// checkpoint file holds its state with a member name and a sequence number;
// after writing a checkpoint the pipeline publishes one record to the
// hand-over topic (one partition), "member M's checkpoint S counts partition
// p up to offset o, ...", listing the partitions it owns. A partition's next
// owner starts at the offset of the latest record that lists it (not at the
// group's committed offset), and a restarted agent restores whichever of its
// two checkpoint files (PATH, PATH.prev) has the latest sequence it
// published. Before a revoke the pipeline checkpoints and publishes (the
// hook); messages of revoked partitions still in the batch are dropped; a
// lost assignment is fatal, since the in-memory state then counts messages
// the next owner also counts, and a restart from the checkpoint does not;
// so is a pipeline that stood still for half of session.timeout.ms before it
// publishes (it may have been dropped from the group unnoticed).
//
// Connected() turns true when a broker answers (a metadata probe, an
// assignment, a fetched message) and false when librdkafka reports all
// brokers down. Lag comes from librdkafka's cached high watermarks: no broker
// round trip. Defaults suit a monitor (fetch.wait.max.ms=5, Nagle off,
// fetch.error.backoff.ms=20, reconnect.backoff.max.ms=1000,
// auto.commit.interval.ms=1000); KafkaSourceOptions::properties override them.
//
// Threading: as Source says. Poll/Acknowledge/Close run on the pipeline
// thread (librdkafka serves its rebalance and error callbacks inside Poll).
// Connected() and VisitPartitionLag() may be called from any thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/base/log.h"
#include "agent/base/status.h"
#include "agent/source/source.h"

namespace txmon {

struct KafkaSourceOptions {
  std::string brokers;              // bootstrap.servers
  std::vector<std::string> topics;  // a name starting with '^' is a regex subscription
  std::string group_id;
  std::string start_offset = "latest";  // "earliest" | "latest": auto.offset.reset
  // Any librdkafka property (security.protocol, sasl.*, ssl.*, ...). Applied
  // after txmon's defaults, so these override them.
  std::vector<std::pair<std::string, std::string>> properties;
  // Exact hand-over between the agents of the group (empty: off, plain
  // at-least-once). A topic with one partition, not compacted.
  std::string handover_topic;
};

class KafkaSource : public Source {
 public:
  // Creates the consumer and subscribes, into `out`. An error for a missing
  // broker/topic/group or a property librdkafka refuses (the message names
  // the property and carries librdkafka's reason).
  static Status Create(const KafkaSourceOptions& options, std::unique_ptr<KafkaSource>* out);
  // Only the hand-over topic's producer and reader, no group membership:
  // for `txmon retire`, which must not join the group. Poll is not for it.
  static Status CreateHandoverOnly(const KafkaSourceOptions& options,
                                   std::unique_ptr<KafkaSource>* out);
  ~KafkaSource() override;

  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  Status Poll(std::vector<SourceMessage>& batch, size_t max_messages,
              std::chrono::milliseconds timeout) override;
  void Acknowledge(const std::vector<SourceMessage>& batch) override;
  bool Connected() const override { return connected_.load(std::memory_order_acquire); }
  bool Finished() const override { return false; }
  void VisitPartitionLag(const LagVisitor& visit) const override;
  // Offsets skipped because retention deleted them before they were read:
  // a partition resumed (from a checkpoint or the group's commit) below
  // its low watermark, or reset there after offset-out-of-range. Offsets
  // the broker holds but never delivers (transaction markers) are not.
  void TakeLostMessages(const LossVisitor& visit) override;
  // Commits stored offsets, leaves the group. The destructor calls it too.
  void Close() override;
  void ResumeFrom(const std::vector<SourceOffset>& offsets) override;

  bool HandsOver() const override { return handover_producer_ != nullptr; }
  std::vector<SourceOffset> OwnedPositions() const override;
  Status PublishHandover(const std::string& member, uint64_t seq,
                         const std::vector<SourceOffset>& positions) override;
  Status LatestHandoverSeq(const std::string& member, uint64_t* seq, bool* found) override;
  void SetBeforeRevoke(std::function<void()> hook) override { before_revoke_ = std::move(hook); }
  Status PublishRetire(const std::string& member, const std::string& state) override;
  Status PublishClaim(const std::string& member, const std::string& retired) override;
  Status ReadRetires(std::vector<RetireRecord>* retires) override;

  // How many partitions this agent owns, and how many the subscribed topics
  // have (0 until the first assignment). Any thread.
  bool CountPartitions(size_t* owned, size_t* total) const override;

 private:
  struct AssignedPartition {
    std::string topic;
    int32_t partition = 0;
  };

  KafkaSource() = default;

  static void OnRebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t reason,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void OnError(rd_kafka_t* consumer, int code, const char* reason, void* opaque);
  static void OnLog(const rd_kafka_t* client, int level, const char* facility, const char* message);

  void Assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative);
  void Revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative);
  void UpdateAssignment(const rd_kafka_topic_partition_list_t* partitions, bool add, bool replace);
  void CommitStoredOffsets(const char* why);
  void MarkConnected();
  void ProbeBrokers(int timeout_ms);
  void HandleMessageError(const rd_kafka_message_t& message);
  // Where the next message of each partition is due, to see gaps.
  void ExpectOffsets(const rd_kafka_topic_partition_list_t* partitions);
  void CheckContinuity(std::string_view topic, int32_t partition, int64_t offset);
  void CountLoss(std::string_view topic, int32_t partition, int64_t from, int64_t to);
  Status FatalStatus();
  Status CreateHandoverClients(const KafkaSourceOptions& options);
  // Reads the hand-over topic from where the last scan ended to its end.
  Status ScanHandover();
  void ApplyHandoverRecord(std::string_view text);
  void ApplyRetireRecord(std::string_view text, bool claim);
  // Produces one record to the hand-over topic and waits for the brokers.
  Status ProduceHandover(const std::string& key, const std::string& value);
  void DropRevokedMessages(std::vector<SourceMessage>& batch);
  static void OnHandoverDelivery(rd_kafka_t* producer, const rd_kafka_message_t* message,
                                 void* opaque);
  void ReleaseHeldMessages();
  std::string_view InternTopic(const char* name);

  rd_kafka_t* consumer_ = nullptr;
  bool closed_ = false;
  bool ever_assigned_ = false;       // an Assign callback ran
  bool cooperative_sticky_ = false;  // partition.assignment.strategy names it
  std::atomic<bool> connected_{false};
  std::atomic<bool> fatal_{false};
  std::chrono::steady_clock::time_point last_broker_probe_{};

  // The messages of the last batch: payload views point into them.
  std::vector<rd_kafka_message_t*> held_messages_;
  // Stable storage for SourcePosition::topic (std::set nodes never move).
  std::set<std::string, std::less<>> topic_names_;
  std::string_view last_topic_;

  // Checkpoint positions, applied to partitions as they are assigned.
  std::vector<SourceOffset> resume_offsets_;

  mutable std::mutex assignment_mutex_;
  std::vector<AssignedPartition> assignment_;  // guarded by assignment_mutex_

  // Pipeline thread only (rebalances run inside Poll).
  struct ExpectedOffset {
    std::string topic;
    int32_t partition = 0;
    int64_t next = 0;
  };
  std::vector<ExpectedOffset> expected_;
  struct Loss {
    std::string topic;
    int32_t partition = 0;
    int64_t messages = 0;
  };
  std::vector<Loss> losses_;

  LogRateLimit error_log_limit_{5};

  // Exact hand-over (all null/empty when off). Pipeline thread.
  std::string handover_topic_;
  rd_kafka_t* handover_producer_ = nullptr;
  rd_kafka_t* handover_reader_ = nullptr;
  int64_t handover_next_ = 0;  // the reader's next offset
  struct Mention {
    std::string topic;
    int32_t partition = 0;
    int64_t next_offset = 0;
  };
  std::vector<Mention> latest_mentions_;  // per partition, the latest record's offset
  std::vector<std::pair<std::string, uint64_t>> latest_seqs_;  // per member
  std::vector<RetireRecord> retires_;                          // in topic order
  std::vector<SourceOffset> owned_;                            // next_offset < 0: not known yet
  std::function<void()> before_revoke_;
  uint64_t revokes_ = 0;
  uint64_t publishes_ = 0;  // hand-over records the brokers acknowledged
  std::string fatal_reason_;
  std::atomic<size_t> total_partitions_{0};
  // Zombie guard (see NoteStall): the pipeline's last sign of life.
  void NoteStall();
  std::chrono::steady_clock::time_point last_tick_{};
  std::chrono::milliseconds stall_limit_{45000 / 2};  // half of session.timeout.ms
  bool stalled_ = false;
  void CountTotalPartitions();
};

}  // namespace txmon
