#include "agent/demo/sql_shop.h"

#include <simdjson.h>

#include <chrono>

#include "agent/base/log.h"
#include "agent/base/wall_clock.h"
#include "agent/source/mysql_connection.h"

namespace txmon {

namespace {

std::string Value(simdjson::dom::element value,
                  const std::function<std::string(std::string_view)>& quote) {
  if (value.is_null()) return "NULL";
  std::string_view text;
  if (value.get(text) == simdjson::SUCCESS) return quote(text);
  return quote(simdjson::minify(value));
}

std::string Insert(const std::string& table, simdjson::dom::object row,
                   const std::function<std::string(std::string_view)>& quote) {
  std::string columns, values;
  for (auto field : row) {
    columns += (columns.empty() ? "`" : ", `") + std::string(field.key) + "`";
    values += (values.empty() ? "" : ", ") + Value(field.value, quote);
  }
  return "INSERT INTO " + table + " (" + columns + ") VALUES (" + values + ")";
}

std::string Update(const std::string& table, simdjson::dom::object row,
                   const std::function<std::string(std::string_view)>& quote) {
  std::string set, id;
  for (auto field : row) {
    if (field.key == "id") {
      id = Value(field.value, quote);
      continue;
    }
    set +=
        (set.empty() ? "`" : ", `") + std::string(field.key) + "` = " + Value(field.value, quote);
  }
  return "UPDATE " + table + " SET " + set + " WHERE id = " + id;
}

}  // namespace

Status CanalMessageToSql(std::string_view json,
                         const std::function<std::string(std::string_view)>& quote,
                         std::vector<std::string>* statements) {
  statements->clear();
  simdjson::dom::parser parser;
  simdjson::dom::element message;
  if (parser.parse(json.data(), json.size()).get(message) != simdjson::SUCCESS) {
    return Status::Error("not JSON");
  }
  std::string_view database, table, type;
  bool ddl = false;
  if (message["database"].get(database) || message["table"].get(table) ||
      message["type"].get(type)) {
    return Status::Error("missing database, table or type");
  }
  if (message["isDdl"].get(ddl) != simdjson::SUCCESS) ddl = false;
  if (ddl) {
    std::string_view sql;
    if (message["sql"].get(sql) == simdjson::SUCCESS && !sql.empty()) {
      statements->push_back("USE `" + std::string(database) + "`");
      statements->emplace_back(sql);
    }
    return Status::Ok();
  }
  const std::string name = "`" + std::string(database) + "`.`" + std::string(table) + "`";
  simdjson::dom::array rows;
  if (message["data"].get(rows)) return Status::Error("missing data");
  for (simdjson::dom::element row : rows) {
    simdjson::dom::object object;
    if (row.get(object)) return Status::Error("a data row is not an object");
    if (type == "INSERT") {
      statements->push_back(Insert(name, object, quote));
    } else if (type == "UPDATE") {
      statements->push_back(Update(name, object, quote));
    } else if (type == "DELETE") {
      statements->push_back("DELETE FROM " + name + " WHERE id = " + Value(object["id"], quote));
    }
  }
  return Status::Ok();
}

Status SqlShop::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void SqlShop::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SqlShop::Run() {
  ShopSimulatorOptions simulator_options = options_.simulator;
  simulator_options.start_time_ms = WallClockMs();
  // A warm shop's first UPDATEs are of orders it never emitted; as SQL they
  // would change no row, so the binlog would miss them. Start empty.
  simulator_options.warm_up_ms = 0;
  ShopSimulator simulator(simulator_options);
  std::unique_ptr<MysqlConnection> connection;
  std::vector<CanalMessageOut> messages;
  std::vector<std::string> statements;
  LogRateLimit errors(1);
  while (!stop_.load()) {
    MysqlError error;
    if (!connection)
      connection =
          MysqlConnection::Open({options_.socket_path, "root", "", "", "", "", 5, 0}, &error);
    if (!connection) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    messages.clear();
    simulator.AdvanceTo(WallClockMs(), messages);
    auto quote = [&](std::string_view text) { return connection->Quote(text); };
    for (const CanalMessageOut& m : messages) {
      if (Status s = CanalMessageToSql(m.json, quote, &statements); !s.ok()) continue;
      bool ok = connection->Query("BEGIN", nullptr, &error);
      for (size_t i = 0; ok && i < statements.size(); ++i) {
        ok = connection->Query(statements[i], nullptr, &error);
      }
      if (ok) ok = connection->Query("COMMIT", nullptr, &error);
      uint64_t suppressed = 0;
      if (!ok && errors.Allow(&suppressed)) {
        Log(LogLevel::kWarn, "demo", "the shop's SQL transaction failed", {{"err", error.message}});
        connection->Query("ROLLBACK", nullptr, &error);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace txmon
