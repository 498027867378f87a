#include "agent/main/handover_checkpoint.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace txmon {

Status FindPublishedCheckpoint(const std::string& path, Source& source, PublishedCheckpoint* out) {
  *out = PublishedCheckpoint();
  Checkpoint files[2];
  bool present[2] = {false, false};
  const std::string names[2] = {path, path + ".prev"};
  for (int i = 0; i < 2; ++i) {
    if (Status s = ReadOneCheckpointFile(names[i], &files[i], &present[i]); !s.ok()) {
      if (i == 0) return s;
      present[i] = false;  // PATH is there; an unreadable .prev only matters if PATH is not it
    }
  }
  out->member = present[0] ? files[0].member : present[1] ? files[1].member : "";
  if (!out->member.empty()) {
    Status s = Status::Ok();
    for (int attempt = 0; attempt < 6; ++attempt) {
      s = source.LatestHandoverSeq(out->member, &out->published_seq, &out->has_published);
      if (s.ok()) break;
    }
    if (!s.ok()) return s;
  }
  for (int i = 0; i < 2 && out->has_published; ++i) {
    if (present[i] && files[i].member == out->member &&
        files[i].handover_seq == out->published_seq) {
      out->pick = i;
      out->exact = true;
    }
  }
  if (out->pick < 0 && (present[0] || present[1])) out->pick = present[0] ? 0 : 1;
  out->last_seq = out->published_seq;
  for (int i = 0; i < 2; ++i) {
    if (present[i]) out->last_seq = std::max(out->last_seq, files[i].handover_seq);
  }
  if (out->pick >= 0) {
    out->checkpoint = std::move(files[out->pick]);
    out->file = names[out->pick];
  }
  return Status::Ok();
}

Status LockCheckpoint(const std::string& path, int* fd) {
  const std::string lock = path + ".lock";
  *fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (*fd < 0) return Status::Error("open " + lock + ": " + strerror(errno));
  if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    close(*fd);
    *fd = -1;
    if (saved == EWOULDBLOCK) {
      return Status::Error("another txmon process uses " + path + " (it holds " + lock + ")");
    }
    return Status::Error("lock " + lock + ": " + strerror(saved));
  }
  return Status::Ok();
}

}  // namespace txmon
