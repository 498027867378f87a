// A private MariaDB server (/usr/sbin/mariadbd) for tests: a fresh data
// directory under a temporary folder (mariadb-install-db), the server on a
// free loopback port and a unix socket there, the binlog on in ROW format.
// The destructor stops it and removes the folder; Restart() keeps the data.
// Missing binaries are an error (tests FAIL, never skip): scripts/setup.sh
// installs Debian's mariadb-server.
//
// MariaDbConnection is a plain client connection (MariaDB Connector/C) with
// helpers to run SQL and read results as text, exactly as the mysql client
// shows them (NULL as nullopt).
// Threading: one owner each; a connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

struct st_mysql;  // MYSQL, from <mysql.h>

namespace txmon::test {

struct MariaDbOptions {
  std::string mariadbd = "/usr/sbin/mariadbd";
  std::string install_db = "/usr/bin/mariadb-install-db";
  bool log_bin = true;
  std::string binlog_format = "ROW";
  std::string binlog_row_metadata = "FULL";  // FULL sends column names, MINIMAL does not
  std::string binlog_row_image = "FULL";     // the server default; sessions may change it
  int server_id = 1;
  std::string time_zone;                // --default-time-zone, e.g. "+00:00"; empty: system
  std::vector<std::string> extra_args;  // more mariadbd flags
  std::chrono::milliseconds start_timeout{60000};
};

class MariaDbConnection;

class MariaDbServer {
 public:
  // Initialises the data directory and starts the server; waits until it
  // accepts connections. Null with `error` (and the server log) otherwise.
  static std::unique_ptr<MariaDbServer> Start(const MariaDbOptions& options, std::string* error);
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& socket_path() const { return socket_; }
  const std::string& directory() const { return directory_; }
  const std::string& data_directory() const { return data_directory_; }
  const MariaDbOptions& options() const { return options_; }

  // Stops the server (SIGTERM, then SIGKILL after `grace`); Start again with
  // Restart(), on the same port and data.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  // SIGKILL, as a crash would.
  void Kill();
  bool Restart(std::string* error);
  bool Running();

  // A new connection as root over TCP (database may be empty).
  std::unique_ptr<MariaDbConnection> Connect(const std::string& database, std::string* error) const;
  // Runs statements on a connection kept by the server object; false with
  // `error` on the first failure.
  bool Exec(const std::string& sql, std::string* error);

  // The server's error log (its stderr), at most the last `max_bytes`.
  std::string Log(size_t max_bytes = 16 * 1024) const;

 private:
  explicit MariaDbServer(MariaDbOptions options) : options_(std::move(options)) {}
  bool InstallDatabase(std::string* error);
  bool StartProcess(std::string* error);
  bool WaitUntilReady(std::string* error);

  const MariaDbOptions options_;
  std::string directory_;
  std::string data_directory_;
  std::string socket_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  std::unique_ptr<MariaDbConnection> admin_;
};

using SqlRow = std::vector<std::optional<std::string>>;

class MariaDbConnection {
 public:
  // Connects to host:port (or a unix socket when `socket` is not empty).
  static std::unique_ptr<MariaDbConnection> Open(const std::string& host, int port,
                                                 const std::string& socket, const std::string& user,
                                                 const std::string& password,
                                                 const std::string& database, std::string* error);
  ~MariaDbConnection();
  MariaDbConnection(const MariaDbConnection&) = delete;
  MariaDbConnection& operator=(const MariaDbConnection&) = delete;

  // Runs one or more statements (multi-statements are on), discarding
  // results. False with the server's error.
  bool Exec(const std::string& sql, std::string* error);
  // Runs one statement and returns its rows as text.
  bool Query(const std::string& sql, std::vector<SqlRow>* rows, std::string* error);
  // The first column of the first row, or nullopt (error set) when none.
  std::optional<std::string> QueryValue(const std::string& sql, std::string* error);

  st_mysql* handle() { return mysql_; }

 private:
  explicit MariaDbConnection(st_mysql* mysql) : mysql_(mysql) {}
  std::string Error() const;

  st_mysql* mysql_;
};

}  // namespace txmon::test
