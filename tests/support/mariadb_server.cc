#include "tests/support/mariadb_server.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/free_port.h"

namespace txmon::test {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::unique_ptr<MariadbServer> MariadbServer::Start(const std::string& dir, std::string* error,
                                                    MariadbServerOptions options) {
  std::unique_ptr<MariadbServer> server(new MariadbServer());
  server->dir_ = dir;
  server->data_ = dir + "/data";
  server->socket_ = dir + "/mysqld.sock";
  server->options_ = std::move(options);
  std::filesystem::create_directories(server->data_);
  std::string install_error;
  auto install = Process::Start({"mariadb-install-db",
                                 {"--no-defaults", "--user=root", "--datadir=" + server->data_,
                                  "--auth-root-authentication-method=normal", "--skip-test-db"},
                                 "",
                                 dir + "/install.out",
                                 dir + "/install.err",
                                 {}},
                                &install_error);
  if (!install) {
    *error = "mariadb-install-db (Debian's mariadb-server package): " + install_error;
    return nullptr;
  }
  if (install->Wait(std::chrono::seconds(120)).value_or(-1) != 0) {
    *error = "mariadb-install-db failed: " + install->Stderr() + install->Stdout();
    return nullptr;
  }
  server->port_ = FreeLoopbackPort();
  if (!server->Launch(error)) return nullptr;
  return server;
}

MariadbServer::~MariadbServer() {
  root_.reset();
  if (process_) process_->Stop(std::chrono::seconds(10));
}

bool MariadbServer::Launch(std::string* error) {
  std::vector<std::string> args = {"--no-defaults",
                                   "--user=root",
                                   "--datadir=" + data_,
                                   "--socket=" + socket_,
                                   "--port=" + std::to_string(port_),
                                   "--bind-address=127.0.0.1",
                                   "--log-bin=" + data_ + "/bin",
                                   "--binlog-format=ROW",
                                   "--binlog-row-metadata=" + options_.row_metadata,
                                   "--server-id=1",
                                   "--skip-name-resolve",
                                   "--pid-file=" + dir_ + "/mysqld.pid",
                                   "--log-error=" + dir_ + "/mysqld.log",
                                   "--innodb-buffer-pool-size=64M",
                                   "--innodb-log-file-size=48M",
                                   "--innodb-flush-log-at-trx-commit=2",
                                   "--sync-binlog=0"};
  for (const std::string& a : options_.extra_args) args.push_back(a);
  std::string start_error;
  process_ = Process::Start({"mariadbd", args, "", dir_ + "/mysqld.out", dir_ + "/mysqld.err", {}},
                            &start_error);
  if (!process_) {
    *error = "mariadbd (Debian's mariadb-server package): " + start_error;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->Running()) break;
    MysqlError e;
    root_ = MysqlConnection::Open({socket_, "root", "", "", "", "", 2, 0}, &e);
    if (root_) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = "mariadbd did not start: " + Log();
  return false;
}

std::string MariadbServer::Log() const {
  return ReadFile(dir_ + "/mysqld.log") + (process_ ? process_->Stderr() : "");
}

MysqlConnection* MariadbServer::Root(std::string* error) {
  if (!root_) {
    MysqlError e;
    root_ = MysqlConnection::Open({socket_, "root", "", "", "", "", 5, 0}, &e);
    if (!root_ && error) *error = e.message;
  }
  return root_.get();
}

bool MariadbServer::Execute(const std::string& sql, std::string* error) {
  MysqlError e;
  for (int attempt = 0; attempt < 2; ++attempt) {
    MysqlConnection* root = Root(error);
    if (root == nullptr) return false;
    if (root->Query(sql, nullptr, &e)) return true;
    if (!e.transient()) break;
    root_.reset();  // reconnect once after a restart
  }
  if (error) *error = sql + ": " + e.message;
  return false;
}

std::vector<std::vector<std::string>> MariadbServer::Query(const std::string& sql,
                                                           std::string* error) {
  std::vector<std::vector<std::string>> out;
  MysqlConnection* root = Root(error);
  if (root == nullptr) return out;
  std::vector<MysqlRow> rows;
  MysqlError e;
  if (!root->Query(sql, &rows, &e)) {
    if (error) *error = sql + ": " + e.message;
    if (e.transient()) root_.reset();
    return out;
  }
  for (const MysqlRow& row : rows) {
    std::vector<std::string>& line = out.emplace_back();
    for (const auto& value : row) line.push_back(value.value_or("NULL"));
  }
  return out;
}

bool MariadbServer::CreateUser(const std::string& user, const std::string& password,
                               const std::string& grants, std::string* error) {
  if (!Execute("CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'", error))
    return false;
  return grants.empty() || Execute("GRANT " + grants + " ON *.* TO '" + user + "'@'%'", error);
}

bool MariadbServer::Restart(std::string* error, bool kill) {
  root_.reset();
  if (kill) {
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
  } else {
    process_->Stop(std::chrono::seconds(30));
  }
  process_.reset();
  return Launch(error);
}

}  // namespace txmon::test
