// The checkpoint file an agent of an exact hand-over group continues from
// (the one whose sequence the hand-over topic last heard from it), and the
// lock that keeps one process at a time on a checkpoint: shared by the
// agent's start and `txmon retire`.
#pragma once

#include <cstdint>
#include <string>

#include "agent/base/status.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/source/source.h"

namespace txmon {

struct PublishedCheckpoint {
  std::string member;  // from the files; empty when there is none
  uint64_t published_seq = 0;
  bool has_published = false;  // the topic holds a record of `member`
  uint64_t last_seq = 0;       // the highest sequence used, file or record
  int pick = -1;               // 0: PATH, 1: PATH.prev, -1: neither exists
  bool exact = false;          // the picked file holds `published_seq`
  Checkpoint checkpoint;       // the picked file's contents
  std::string file;            // the picked file's name
};

// Reads PATH and PATH.prev and the hand-over topic (through `source`);
// picks the file with the published sequence, else PATH, else PATH.prev.
Status FindPublishedCheckpoint(const std::string& path, Source& source, PublishedCheckpoint* out);

// Takes PATH.lock (flock, released when the process ends, even by
// SIGKILL); an error naming the path if another process holds it. `fd`
// stays open for as long as the lock is wanted.
Status LockCheckpoint(const std::string& path, int* fd);

}  // namespace txmon
