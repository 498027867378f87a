// What every source hands down the pipeline: the bytes of one message and
// where it came from. The position travels with the event through decode,
// map and store, because checkpoints record state together with positions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace txmon {

// Where a message came from. For Kafka: topic, partition, offset. For a file:
// topic is the file name, partition 0, offset the line number (1-based).
// `topic` points at storage the source keeps for its whole life.
struct SourcePosition {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// The next offset to read in one topic-partition (the last applied + 1):
// what a checkpoint records and a restarted source resumes from.
struct SourceOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  bool operator==(const SourceOffset&) const = default;
};

struct SourceMessage {
  // Valid until the next Source::Poll.
  std::string_view payload;
  SourcePosition position;
};

}  // namespace txmon
