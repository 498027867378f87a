// Reads a MariaDB server's binlog through the replication protocol (MariaDB
// Connector/C's mariadb_rpl_* dump API) and returns each event's raw bytes
// as the binlog source hands them to the decoder: the 19-byte header and the
// body, with the CRC32 checksum verified and removed.
// Threading: a plain function; each call opens its own connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/mariadb_server.h"

namespace txmon::test {

struct BinlogPosition {
  std::string file;
  uint32_t position = 4;
};

// The server's current binlog end (SHOW MASTER STATUS).
bool CurrentBinlogPosition(MariaDbServer& server, BinlogPosition* position, std::string* error);

// Every event from `from` to the binlog's current end (the dump stops there:
// server_id 0 asks for a non-blocking dump). Includes the artificial ROTATE
// and FORMAT_DESCRIPTION events the server sends first.
bool ReadBinlogEvents(const MariaDbServer& server, const BinlogPosition& from,
                      std::vector<std::string>* events, std::string* error);

}  // namespace txmon::test
