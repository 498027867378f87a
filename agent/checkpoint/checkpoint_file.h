// Checkpoint files: the whole metric state together with the source
// positions it reflects, so a restarted agent continues exactly where the
// state was taken — counters do not reset and no event counts twice.
//
// Format (little-endian): magic "TXMONCKP", u32 format version, u64 payload
// length, u32 CRC-32 of the payload, payload. Version 2 appends the alert
// states and the day baseline to version 1's payload; version 3 appends the
// group member name and hand-over sequence (see Checkpoint); version 4 the
// names of the retired agents whose counts this state adopted; older files
// are still read (without what they lack). A write goes to PATH.tmp, is
// fsynced, the previous file becomes PATH.prev, PATH.tmp becomes PATH, and
// the folder is fsynced: a crash at any moment leaves a complete file at
// PATH or PATH.prev.
//
// Threading: free functions without shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/source/source_message.h"
#include "agent/store/metric_store.h"

namespace txmon {

inline constexpr uint32_t kCheckpointFormatVersion = 4;
inline constexpr uint32_t kOldestReadableCheckpointVersion = 1;

// One alert as its alerting rule keeps it (pending, firing, or resolved and
// still due for delivery), so a restart continues its `for:` and neither
// fires it again nor resolves it spuriously. Plain data: the checkpoint does
// not know the rules stage; agent/main converts.
struct AlertCheckpoint {
  using LabelList = std::vector<std::pair<std::string, std::string>>;
  std::string group_file;  // the rule's group: file and name
  std::string group_name;
  std::string rule;  // the alert name
  LabelList labels;
  LabelList annotations;
  uint8_t state = 0;  // AlertState: 0 inactive (resolved), 1 pending, 2 firing
  double value = 0;
  int64_t active_at_ms = 0;
  int64_t fired_at_ms = 0;
  int64_t resolved_at_ms = 0;
  int64_t last_sent_at_ms = -1;
  int64_t valid_until_ms = 0;
  int64_t keep_firing_since_ms = 0;
  bool operator==(const AlertCheckpoint&) const = default;
};

// Totals taken at the start of a local day (or at a later start), which
// "today" figures count from, so a restart the same day continues them.
// Plain data: the checkpoint does not know who keeps them; agent/main
// converts.
struct DayBaselineCheckpoint {
  using ValueList = std::vector<std::pair<std::string, double>>;
  int64_t day_start_ms = 0;  // local midnight of the day they belong to
  int64_t since_ms = 0;      // when they were taken: day_start_ms or later
  ValueList values;          // named totals
  bool operator==(const DayBaselineCheckpoint&) const = default;
};

struct Checkpoint {
  int64_t written_at_ms = 0;
  std::vector<SourceOffset> offsets;
  StoreSnapshot store;
  std::vector<AlertCheckpoint> alerts;                // empty in version 1 files
  std::optional<DayBaselineCheckpoint> day_baseline;  // absent in version 1 files
  // Exact hand-over between the agents of one Kafka consumer group: the
  // agent's stable name in the group's hand-over topic and the sequence
  // number of the record that publishes this checkpoint's positions (see
  // KafkaSource). Empty and 0 in older files and for other sources.
  std::string member;
  uint64_t handover_seq = 0;
  // The retired members (`txmon retire`) whose counts `store` includes
  // because this agent adopted them, so a restart neither adopts them again
  // nor forgets them. Empty before version 4.
  std::vector<std::string> adopted;
};

// Encodes and decodes the payload (no header), for tests and fuzzing.
// Encoding always writes the current version.
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
Status DecodeCheckpoint(std::string_view payload, Checkpoint* checkpoint,
                        uint32_t version = kCheckpointFormatVersion);

Status WriteCheckpointFile(const std::string& path, const Checkpoint& checkpoint);

// A whole checkpoint file's bytes (header, checksum, payload) and back: a
// retire record carries them to the agent that adopts the counts.
// `name` says where the bytes came from, in errors.
std::string EncodeCheckpointFile(const Checkpoint& checkpoint);
Status DecodeCheckpointFile(const std::string& name, std::string_view bytes,
                            Checkpoint* checkpoint);

// Reads PATH, or PATH.prev when PATH does not exist (a crash between the two
// renames). `found` is false when neither exists (a first start). A file
// that is not a txmon checkpoint, has another format version or fails its
// checksum is refused with a message saying which and what to do.
Status ReadCheckpointFile(const std::string& path, Checkpoint* checkpoint, bool* found,
                          std::string* read_from);

// Reads exactly `file` (no .prev fallback); `found` is false if it does not
// exist. For the hand-over, which chooses between PATH and PATH.prev itself.
Status ReadOneCheckpointFile(const std::string& file, Checkpoint* checkpoint, bool* found);

}  // namespace txmon
