#include "tests/support/binlog_dump.h"

// clang-format off
#include <mysql.h>  // before mariadb_rpl.h, which uses its types
#include <mariadb_rpl.h>
// clang-format on
#include <zlib.h>

#include <cstring>

namespace txmon::test {

namespace {

constexpr size_t kHeaderBytes = 19;
constexpr size_t kChecksumBytes = 4;

uint32_t LittleEndian32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// The event inside the library's raw packet: it may start with the OK byte
// of the network packet. Its length is the header's event_size; the last 4
// bytes are the CRC32 of the rest when they match it (checksums on).
bool ExtractEvent(const MARIADB_RPL_EVENT& event, std::string* out, std::string* error) {
  const unsigned char* data = event.raw_data;
  size_t size = event.raw_data_size;
  if (size > kHeaderBytes && size == LittleEndian32(data + 1 + 9) + 1 && data[0] == 0) {
    ++data;
    --size;
  }
  if (size < kHeaderBytes || LittleEndian32(data + 9) != size) {
    *error = "an event whose size is not its header's event_size";
    return false;
  }
  if (size >= kHeaderBytes + kChecksumBytes) {
    const uint32_t expected = LittleEndian32(data + size - kChecksumBytes);
    const uLong actual = crc32(0L, data, static_cast<uInt>(size - kChecksumBytes));
    if (actual == expected) size -= kChecksumBytes;
  }
  out->assign(reinterpret_cast<const char*>(data), size);
  return true;
}

}  // namespace

bool CurrentBinlogPosition(MariaDbServer& server, BinlogPosition* position, std::string* error) {
  std::unique_ptr<MariaDbConnection> connection = server.Connect("", error);
  if (!connection) return false;
  std::vector<SqlRow> rows;
  if (!connection->Query("SHOW MASTER STATUS", &rows, error)) return false;
  if (rows.empty() || rows[0].size() < 2 || !rows[0][0] || !rows[0][1]) {
    *error = "SHOW MASTER STATUS returned nothing: is the binlog on?";
    return false;
  }
  position->file = *rows[0][0];
  position->position = static_cast<uint32_t>(std::stoul(*rows[0][1]));
  return true;
}

bool ReadBinlogEvents(const MariaDbServer& server, const BinlogPosition& from,
                      std::vector<std::string>* events, std::string* error) {
  std::unique_ptr<MariaDbConnection> connection = server.Connect("", error);
  if (!connection) return false;
  if (!connection->Exec("SET @master_binlog_checksum = @@global.binlog_checksum; "
                        "SET @mariadb_slave_capability = 4",
                        error)) {
    return false;
  }
  MARIADB_RPL* rpl = mariadb_rpl_init(connection->handle());
  if (rpl == nullptr) {
    *error = "mariadb_rpl_init failed";
    return false;
  }
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, from.file.c_str(), from.file.size());
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, static_cast<unsigned long>(from.position));
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, 0u);
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS,
                       static_cast<unsigned int>(MARIADB_RPL_BINLOG_DUMP_NON_BLOCK));
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_VERIFY_CHECKSUM, 1u);
  if (mariadb_rpl_open(rpl) != 0) {
    *error = std::string("mariadb_rpl_open: ") + mysql_error(connection->handle());
    mariadb_rpl_close(rpl);
    return false;
  }
  bool ok = true;
  MARIADB_RPL_EVENT* event = nullptr;
  // On failure the library frees the event it was given: never free it twice.
  while ((event = mariadb_rpl_fetch(rpl, event)) != nullptr) {
    if (!ExtractEvent(*event, &events->emplace_back(), error)) {
      ok = false;
      break;
    }
  }
  if (event) mariadb_free_rpl_event(event);
  if (ok && mysql_errno(connection->handle()) != 0) {
    *error = std::string("mariadb_rpl_fetch: ") + mysql_error(connection->handle());
    ok = false;
  }
  mariadb_rpl_close(rpl);
  return ok;
}

}  // namespace txmon::test
