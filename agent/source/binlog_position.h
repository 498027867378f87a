// Binlog positions as the pipeline and the checkpoint carry them.
//
// The pipeline records, per (topic, partition), next_offset = offset + 1 of
// the last message it applied, and the checkpoint stores that list. A binlog
// position is a file and a byte offset in it; a MariaDB GTID is
// domain-server-sequence. Both fit that shape without changing the structs:
//
//   file position:  topic "binlog:<base>" (the file name without its
//                   ".NNNNNN" suffix, e.g. "binlog:mysql-bin"), partition 0,
//                   offset = (file sequence << 32) | (end position - 1), so
//                   next_offset = (sequence << 32) | end position: the place
//                   a dump resumes from. Positions in COM_BINLOG_DUMP are 4
//                   bytes, so the position always fits the low 32 bits, and
//                   the value only grows, across rotations too: one entry,
//                   whatever the number of files.
//   MariaDB GTID:   topic "binlog-gtid:<domain>", partition = server id,
//                   offset = sequence - 1 (next_offset = the sequence of the
//                   last applied transaction's GTID). One entry per domain
//                   and originating server; a resume takes, per domain, the
//                   highest sequence.
//
// Threading: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/source/source_message.h"

namespace txmon {

// A place in the binlog: the next byte to read in `file`.
struct BinlogFilePosition {
  std::string file;  // "mysql-bin.000042"
  uint32_t position = 4;
  bool operator==(const BinlogFilePosition&) const = default;
};

// One MariaDB GTID: domain-server-sequence.
struct BinlogGtid {
  uint32_t domain = 0;
  uint32_t server_id = 0;
  uint64_t sequence = 0;
  bool operator==(const BinlogGtid&) const = default;
  std::string ToString() const;  // "0-1-100"
};

// Parses "D-S-N"; nullopt if it is not one.
std::optional<BinlogGtid> ParseBinlogGtid(std::string_view text);

// "mysql-bin.000042" -> base "mysql-bin", sequence 42. False for a name
// without a numeric suffix.
bool SplitBinlogFileName(std::string_view file, std::string* base, uint32_t* sequence);
// The inverse: base + "." + the sequence on at least 6 digits, as servers
// name their files.
std::string BinlogFileName(std::string_view base, uint32_t sequence);

inline constexpr std::string_view kBinlogTopicPrefix = "binlog:";
inline constexpr std::string_view kBinlogGtidTopicPrefix = "binlog-gtid:";

// The topic for the files of `file`'s base name ("binlog:mysql-bin").
std::string BinlogTopicFor(std::string_view file);
// The offset of a message whose transaction ends at `end` (see above).
// False if the file name has no numeric suffix.
bool BinlogOffsetFor(const BinlogFilePosition& end, int64_t* offset);
// The topic and offset of a GTID message.
std::string BinlogGtidTopic(uint32_t domain);
int64_t BinlogGtidOffset(const BinlogGtid& gtid);

// Where a checkpoint says to resume: the file position (the highest over
// every "binlog:" entry) and the last GTID of each domain. Other entries
// (Kafka topics, files) are ignored.
struct BinlogResumePoint {
  std::optional<BinlogFilePosition> file_position;
  std::vector<BinlogGtid> gtids;  // one per domain
  // "0-1-100,1-2-7": the value of @slave_connect_state.
  std::string GtidState() const;
};
BinlogResumePoint BinlogResumePointFrom(const std::vector<SourceOffset>& offsets);

}  // namespace txmon
