// Checkpoint files: the whole metric state together with the source
// positions it reflects, so a restarted agent continues exactly where the
// state was taken — counters do not reset and no event counts twice.
//
// Format (little-endian): magic "TXMONCKP", u32 format version, u64 payload
// length, u32 CRC-32 of the payload, payload. A write goes to PATH.tmp, is
// fsynced, the previous file becomes PATH.prev, PATH.tmp becomes PATH, and
// the folder is fsynced: a crash at any moment leaves a complete file at
// PATH or PATH.prev.
//
// Threading: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/source/source_message.h"
#include "agent/store/metric_store.h"

namespace txmon {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

struct Checkpoint {
  int64_t written_at_ms = 0;
  std::vector<SourceOffset> offsets;
  StoreSnapshot store;
};

// Encodes and decodes the payload (no header), for tests and fuzzing.
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
Status DecodeCheckpoint(std::string_view payload, Checkpoint* checkpoint);

Status WriteCheckpointFile(const std::string& path, const Checkpoint& checkpoint);

// Reads PATH, or PATH.prev when PATH does not exist (a crash between the two
// renames). `found` is false when neither exists (a first start). A file
// that is not a txmon checkpoint, has another format version or fails its
// checksum is refused with a message saying which and what to do.
Status ReadCheckpointFile(const std::string& path, Checkpoint* checkpoint, bool* found,
                          std::string* read_from);

}  // namespace txmon
