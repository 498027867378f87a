// Source: where change messages come from (Kafka, a JSON-lines file, stdin).
// A source knows nothing of decoding or metrics.
//
// Threading: Poll/Acknowledge are called by the one pipeline thread.
// Connected(), VisitPartitionLag() and GetReplicaStats() may be called from
// any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/source/source_message.h"

namespace txmon {

// A replica source's own figures (the binlog source's), for self-metrics.
// Counters are totals since the source was created; the pipeline adds their
// growth to its counters, so a restored checkpoint keeps them growing.
struct ReplicaStats {
  std::vector<std::pair<std::string, uint64_t>> events_by_type;  // "WRITE_ROWS", ...
  uint64_t heartbeats = 0;
  uint64_t reconnects = 0;
  uint64_t purged_positions = 0;  // resumes whose position the server had purged
  uint32_t file_sequence = 0;     // the applied position: mysql-bin.000042 → 42
  uint64_t position = 0;          // ... and the byte in that file
  double seconds_behind = 0;      // server time minus the newest event's time; 0 caught up
};

// An agent retired for good (`txmon retire`), as the hand-over topic holds
// it: its last published checkpoint, and which live agent adopts it.
struct RetireRecord {
  std::string member;  // the retired agent's name in the group
  std::string state;   // its checkpoint file's bytes (opaque to the source)
  // The first claimant in topic order that had not retired itself before
  // claiming; empty while nobody has claimed.
  std::string winner;
};

class Source {
 public:
  virtual ~Source() = default;

  // Replaces `batch` with the next messages (at most `max_messages`),
  // waiting at most `timeout` for the first one. An empty batch is a timeout.
  // Payloads stay valid until the next Poll. A non-OK status is fatal.
  virtual Status Poll(std::vector<SourceMessage>& batch, size_t max_messages,
                      std::chrono::milliseconds timeout) = 0;

  // The pipeline has applied every message of the last batch to the store:
  // the source may now commit their positions (Kafka: store offsets for the
  // next auto-commit). Positions are never committed before this call.
  virtual void Acknowledge(const std::vector<SourceMessage>& batch) = 0;

  // True once the source has reached its broker or opened its file.
  virtual bool Connected() const = 0;

  // True when no more messages will ever come (end of a file). Kafka: never.
  virtual bool Finished() const = 0;

  // Calls `visit` once per assigned partition with how many messages are
  // behind the partition's end (high watermark - next offset to read).
  using LagVisitor =
      std::function<void(std::string_view topic, int32_t partition, int64_t lag_messages)>;
  virtual void VisitPartitionLag(const LagVisitor& visit) const { (void)visit; }

  // Fills `stats` and returns true if this is a replica source.
  virtual bool GetReplicaStats(ReplicaStats* stats) const {
    (void)stats;
    return false;
  }

  // Calls `visit` once per partition where messages were lost since the
  // last call (Kafka: offsets below the low watermark when the consumer
  // reached them: deleted by retention before they were read), with how
  // many; then forgets them. Pipeline thread, between Polls: the messages
  // lost before a batch are reported before the batch is applied, so a
  // checkpoint never holds the positions after a gap without its count.
  using LossVisitor =
      std::function<void(std::string_view topic, int32_t partition, int64_t lost_messages)>;
  virtual void TakeLostMessages(const LossVisitor& visit) { (void)visit; }

  // Resume each listed partition at its offset instead of where the source
  // would start otherwise (Kafka: the group's committed offset). Called once,
  // before the first Poll, with the positions of a restored checkpoint.
  virtual void ResumeFrom(const std::vector<SourceOffset>& offsets) = 0;

  // Flushes what was acknowledged (Kafka: synchronous commit) before exit.
  virtual void Close() {}

  // Exact hand-over between the agents of one consumer group (Kafka with a
  // hand-over topic; see KafkaSource). Other sources say false and ignore
  // the rest.
  virtual bool HandsOver() const { return false; }
  // The next offset of every partition this source owns now and has a
  // concrete position for: what a checkpoint taken now counts up to.
  virtual std::vector<SourceOffset> OwnedPositions() const { return {}; }
  // Publishes that `member`'s checkpoint number `seq` counts `positions`,
  // and waits until the brokers hold it. Pipeline thread.
  virtual Status PublishHandover(const std::string& member, uint64_t seq,
                                 const std::vector<SourceOffset>& positions) {
    (void)member, (void)seq, (void)positions;
    return Status::Ok();
  }
  // The highest sequence `member` has published (`found` false: none).
  virtual Status LatestHandoverSeq(const std::string& member, uint64_t* seq, bool* found) {
    (void)member;
    *seq = 0;
    *found = false;
    return Status::Ok();
  }
  // How many partitions this agent reads and how many the stream has (0:
  // not known yet). False for sources without partitions. Any thread.
  virtual bool CountPartitions(size_t* owned, size_t* total) const {
    (void)owned, (void)total;
    return false;
  }
  // Called inside Poll before partitions are given up, so that the state
  // counting them is checkpointed and published first.
  virtual void SetBeforeRevoke(std::function<void()> hook) { (void)hook; }
  // Retiring (hand-over sources only): publishes that `member` leaves the
  // group for good with the checkpoint `state`, or that `member` claims the
  // counts of the retired agent `retired`; each waits until the brokers
  // hold it. ReadRetires reads the hand-over topic to its end and lists
  // every retired agent, first retire record of each, in topic order.
  virtual Status PublishRetire(const std::string& member, const std::string& state) {
    (void)member, (void)state;
    return Status::Error("this source does not hand over");
  }
  virtual Status PublishClaim(const std::string& member, const std::string& retired) {
    (void)member, (void)retired;
    return Status::Error("this source does not hand over");
  }
  virtual Status ReadRetires(std::vector<RetireRecord>* retires) {
    retires->clear();
    return Status::Ok();
  }
};

}  // namespace txmon
