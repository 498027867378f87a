// MysqlConnection: one client connection to MySQL/MariaDB through MariaDB
// Connector/C (the libmysqlclient API), for the binlog source's checks, its
// replica dump and the column-name look-ups.
//
// Threading: one connection per thread; Interrupt() may be called from any
// thread to wake a blocked read (it shuts the socket down).
#pragma once

#include <mysql.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txmon {

struct MysqlEndpoint {
  std::string address;  // "host:port" (default port 3306) or a unix socket path
  std::string user;
  std::string password;
  // TLS: with a CA file the server's certificate is verified.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  unsigned connect_timeout_seconds = 5;
  unsigned read_timeout_seconds = 0;  // 0: none
};

// A failed call: the server's or the client's error number and text.
struct MysqlError {
  unsigned code = 0;
  std::string message;
  // Client errors that mean "the server is not reachable now" (refused,
  // lost, gone away, timed out): worth retrying.
  bool transient() const;
};

using MysqlRow = std::vector<std::optional<std::string>>;

class MysqlConnection {
 public:
  // Connects and authenticates; null and `error` on failure.
  static std::unique_ptr<MysqlConnection> Open(const MysqlEndpoint& endpoint, MysqlError* error);
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Runs `sql`; `rows` (optional) receives the result set.
  bool Query(std::string_view sql, std::vector<MysqlRow>* rows, MysqlError* error);
  // `value` as a quoted SQL string literal.
  std::string Quote(std::string_view value);
  // The connector's handle (for mariadb_rpl_init) and its last error.
  MYSQL* handle() { return mysql_; }
  MysqlError LastError();
  // Wakes a read blocked in another thread: it fails with a lost connection.
  void Interrupt();

 private:
  explicit MysqlConnection(MYSQL* mysql) : mysql_(mysql) {}
  MYSQL* mysql_;
  std::atomic<int> socket_{-1};
};

}  // namespace txmon
