// EmbeddedMariadb: a private MariaDB server for `txmon demo --source=binlog`:
// mariadb-install-db into a temporary folder, then mariadbd on a free
// loopback port with the binlog on (ROW format, full row metadata), a user
// `txmon` with the replica grants, and the demo shop's schema
// (docs/demo-shop-schema.md). Never a packaged service; the folder is
// removed when it stops.
//
// Threading: one owner. The server dies with the demo (SIGTERM at Stop or
// destruction; the parent's death kills it too).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "agent/base/status.h"

namespace txmon {

class EmbeddedMariadb {
 public:
  // An error (with the server's log) when Debian's mariadb-server is missing
  // or the server does not start.
  static Status Start(std::unique_ptr<EmbeddedMariadb>* out);
  ~EmbeddedMariadb();
  EmbeddedMariadb(const EmbeddedMariadb&) = delete;
  EmbeddedMariadb& operator=(const EmbeddedMariadb&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& socket_path() const { return socket_; }
  static constexpr const char* kUser = "txmon";
  static constexpr const char* kPassword = "txmon-demo";

  void Stop();

 private:
  EmbeddedMariadb() = default;
  Status Launch();
  Status CreateSchema();

  std::string dir_;
  std::string socket_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace txmon
