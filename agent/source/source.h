// Source: where change messages come from (Kafka, a JSON-lines file, stdin).
// A source knows nothing of decoding or metrics.
//
// Threading: Poll/Acknowledge are called by the one pipeline thread.
// Connected() and VisitPartitionLag() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/source/source_message.h"

namespace txmon {

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
};

}  // namespace txmon
