// SqlShop: the simulated shop writing its orders, payments, refunds and
// users into a real MariaDB as SQL transactions (one per Canal message the
// simulator produces: the rows one commit changed), following the wall
// clock. `txmon demo --source=binlog` reads them back from the binlog, so
// the whole pipeline runs from a real COMMIT.
//
// Threading: Start/Stop from one thread; the writes run on a thread of its
// own with its own connection.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/base/status.h"
#include "agent/demo/shop_simulator.h"

namespace txmon {

// The SQL statements of one Canal flat message (INSERT/UPDATE/DELETE rows
// keyed by `id`, or the DDL itself), values quoted by `quote`.
Status CanalMessageToSql(std::string_view json,
                         const std::function<std::string(std::string_view)>& quote,
                         std::vector<std::string>* statements);

struct SqlShopOptions {
  std::string socket_path;  // root over the server's unix socket
  ShopSimulatorOptions simulator;
};

class SqlShop {
 public:
  explicit SqlShop(SqlShopOptions options) : options_(std::move(options)) {}
  ~SqlShop() { Stop(); }
  SqlShop(const SqlShop&) = delete;
  SqlShop& operator=(const SqlShop&) = delete;

  // Connects and starts writing what the shop commits from now on.
  Status Start();
  void Stop();

 private:
  void Run();

  SqlShopOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace txmon
