// A private MariaDB server for tests: mariadb-install-db into a folder, then
// mariadbd on a free loopback port with the binlog on (ROW format), never a
// packaged service. A missing mariadbd fails the test that asked for it.
//
// Threading: one owner; not thread-safe. Connections it opens are its own.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/source/mysql_connection.h"
#include "tests/support/process.h"

namespace txmon::test {

struct MariadbServerOptions {
  // binlog_row_metadata: FULL sends column names in TABLE_MAP events.
  std::string row_metadata = "FULL";
  std::vector<std::string> extra_args;  // more mariadbd flags
};

class MariadbServer {
 public:
  // Installs a data folder under `dir` (created) and starts the server.
  // Null and `error` (with the server's log) on failure.
  static std::unique_ptr<MariadbServer> Start(const std::string& dir, std::string* error,
                                              MariadbServerOptions options = {});
  ~MariadbServer();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& socket_path() const { return socket_; }

  // Runs SQL as root (over the socket); false and `error` on failure. Several
  // statements separated by ';' are not allowed: one per call.
  bool Execute(const std::string& sql, std::string* error = nullptr);
  // One query's rows as text (NULL as "NULL").
  std::vector<std::vector<std::string>> Query(const std::string& sql, std::string* error = nullptr);

  // A user for the agent: txmon_user@'%' with `grants` on *.* (e.g.
  // "REPLICATION SLAVE, REPLICATION CLIENT, SELECT"), or none if empty.
  bool CreateUser(const std::string& user, const std::string& password, const std::string& grants,
                  std::string* error = nullptr);

  // SIGKILL (or a clean stop) and start again on the same port and data.
  bool Restart(std::string* error, bool kill = false);
  // The server's log so far (for failures).
  std::string Log() const;

 private:
  MariadbServer() = default;
  bool Launch(std::string* error);
  MysqlConnection* Root(std::string* error);

  std::string dir_, data_, socket_;
  int port_ = 0;
  MariadbServerOptions options_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<MysqlConnection> root_;
};

}  // namespace txmon::test
