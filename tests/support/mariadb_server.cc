#include "tests/support/mariadb_server.h"

#include <mysql.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/free_port.h"

namespace txmon::test {

namespace {

constexpr int kStartAttempts = 3;
constexpr std::chrono::milliseconds kPollInterval{50};

std::string ReadTail(const std::string& path, size_t max_bytes) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  std::string all = text.str();
  return all.size() <= max_bytes ? all : all.substr(all.size() - max_bytes);
}

bool MakeTempDirectory(std::string* path, std::string* error) {
  std::string pattern = (std::filesystem::temp_directory_path() / "txmon-mariadb-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    *error = "mkdtemp " + pattern + ": " + std::strerror(errno);
    return false;
  }
  *path = pattern;
  return true;
}

}  // namespace

std::unique_ptr<MariaDbServer> MariaDbServer::Start(const MariaDbOptions& options,
                                                    std::string* error) {
  for (const std::string& binary : {options.mariadbd, options.install_db}) {
    if (access(binary.c_str(), X_OK) != 0) {
      *error = binary + " is missing: install Debian's mariadb-server (scripts/setup.sh does)";
      return nullptr;
    }
  }
  std::unique_ptr<MariaDbServer> server(new MariaDbServer(options));
  if (!MakeTempDirectory(&server->directory_, error)) return nullptr;
  server->data_directory_ = server->directory_ + "/data";
  server->socket_ = server->directory_ + "/mariadb.sock";
  if (!server->InstallDatabase(error)) return nullptr;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    server->port_ = FreeLoopbackPort();
    if (server->StartProcess(error) && server->WaitUntilReady(error)) return server;
    server->Stop(std::chrono::seconds(2));  // another process took the port: try another
  }
  return nullptr;
}

MariaDbServer::~MariaDbServer() {
  admin_.reset();
  Stop(std::chrono::seconds(10));
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

bool MariaDbServer::InstallDatabase(std::string* error) {
  ProcessOptions install;
  install.binary = options_.install_db;
  // A private tmpdir: two installs sharing /tmp collide on temporary tables.
  std::filesystem::create_directories(directory_ + "/tmp");
  install.args = {"--no-defaults",
                  "--user=root",
                  "--datadir=" + data_directory_,
                  "--auth-root-authentication-method=normal",
                  "--skip-test-db",
                  "--tmpdir=" + directory_ + "/tmp"};
  install.stdout_path = directory_ + "/install.log";
  install.stderr_path = directory_ + "/install.log";
  std::unique_ptr<Process> process = Process::Start(install, error);
  if (!process) return false;
  std::optional<int> code = process->Wait(std::chrono::seconds(120));
  if (code != 0) {
    *error = "mariadb-install-db failed: " + ReadTail(directory_ + "/install.log", 4000);
    return false;
  }
  return true;
}

bool MariaDbServer::StartProcess(std::string* error) {
  ProcessOptions server;
  server.binary = options_.mariadbd;
  server.args = {"--no-defaults",
                 "--user=root",
                 "--datadir=" + data_directory_,
                 "--socket=" + socket_,
                 "--port=" + std::to_string(port_),
                 "--bind-address=127.0.0.1",
                 "--skip-name-resolve",
                 "--server-id=" + std::to_string(options_.server_id),
                 "--pid-file=" + directory_ + "/mariadbd.pid",
                 "--tmpdir=" + directory_ + "/tmp",
                 "--innodb-buffer-pool-size=32M",
                 "--innodb-log-file-size=16M"};
  if (options_.log_bin) {
    server.args.push_back("--log-bin=" + data_directory_ + "/binlog");
    server.args.push_back("--binlog-format=" + options_.binlog_format);
    server.args.push_back("--binlog-row-metadata=" + options_.binlog_row_metadata);
    server.args.push_back("--binlog-row-image=" + options_.binlog_row_image);
  }
  if (!options_.time_zone.empty())
    server.args.push_back("--default-time-zone=" + options_.time_zone);
  server.args.insert(server.args.end(), options_.extra_args.begin(), options_.extra_args.end());
  server.stdout_path = directory_ + "/mariadbd.out";
  server.stderr_path = directory_ + "/mariadbd.log";
  process_ = Process::Start(server, error);
  return process_ != nullptr;
}

bool MariaDbServer::WaitUntilReady(std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->Running()) {
      *error = "mariadbd exited: " + Log(4000);
      return false;
    }
    admin_ = Connect("", &last_error);
    if (admin_) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  *error = "mariadbd did not accept connections: " + last_error + "\n" + Log(4000);
  return false;
}

void MariaDbServer::Stop(std::chrono::milliseconds grace) {
  admin_.reset();
  if (process_) process_->Stop(grace);
  process_.reset();
}

void MariaDbServer::Kill() {
  admin_.reset();
  if (process_) {
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
  }
  process_.reset();
}

bool MariaDbServer::Restart(std::string* error) {
  Stop();
  return StartProcess(error) && WaitUntilReady(error);
}

bool MariaDbServer::Running() { return process_ && process_->Running(); }

std::unique_ptr<MariaDbConnection> MariaDbServer::Connect(const std::string& database,
                                                          std::string* error) const {
  return MariaDbConnection::Open("127.0.0.1", port_, "", "root", "", database, error);
}

bool MariaDbServer::Exec(const std::string& sql, std::string* error) {
  if (!admin_) {
    admin_ = Connect("", error);
    if (!admin_) return false;
  }
  return admin_->Exec(sql, error);
}

std::string MariaDbServer::Log(size_t max_bytes) const {
  return ReadTail(directory_ + "/mariadbd.log", max_bytes);
}

std::unique_ptr<MariaDbConnection> MariaDbConnection::Open(
    const std::string& host, int port, const std::string& socket, const std::string& user,
    const std::string& password, const std::string& database, std::string* error) {
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) {
    *error = "mysql_init failed";
    return nullptr;
  }
  const unsigned int timeout = 10;
  mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const unsigned long flags = CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS;
  if (mysql_real_connect(mysql, socket.empty() ? host.c_str() : nullptr, user.c_str(),
                         password.c_str(), database.empty() ? nullptr : database.c_str(),
                         static_cast<unsigned int>(port), socket.empty() ? nullptr : socket.c_str(),
                         flags) == nullptr) {
    *error = std::string("connect: ") + mysql_error(mysql);
    mysql_close(mysql);
    return nullptr;
  }
  return std::unique_ptr<MariaDbConnection>(new MariaDbConnection(mysql));
}

MariaDbConnection::~MariaDbConnection() { mysql_close(mysql_); }

std::string MariaDbConnection::Error() const {
  return std::to_string(mysql_errno(mysql_)) + " " + mysql_error(mysql_);
}

bool MariaDbConnection::Exec(const std::string& sql, std::string* error) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    *error = Error() + " in: " + sql.substr(0, 300);
    return false;
  }
  // Drain every result of a multi-statement; an error may come with any.
  for (;;) {
    MYSQL_RES* result = mysql_store_result(mysql_);
    if (result) mysql_free_result(result);
    const int next = mysql_next_result(mysql_);
    if (next == -1) return true;
    if (next > 0) {
      *error = Error() + " in: " + sql.substr(0, 300);
      return false;
    }
  }
}

bool MariaDbConnection::Query(const std::string& sql, std::vector<SqlRow>* rows,
                              std::string* error) {
  rows->clear();
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    *error = Error() + " in: " + sql.substr(0, 300);
    return false;
  }
  MYSQL_RES* result = mysql_store_result(mysql_);
  if (result == nullptr) {
    if (mysql_field_count(mysql_) == 0) return true;
    *error = Error();
    return false;
  }
  const unsigned int fields = mysql_num_fields(result);
  while (MYSQL_ROW row = mysql_fetch_row(result)) {
    const unsigned long* lengths = mysql_fetch_lengths(result);
    SqlRow& out = rows->emplace_back();
    for (unsigned int i = 0; i < fields; ++i) {
      if (row[i] == nullptr) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::string(row[i], lengths[i]));
      }
    }
  }
  mysql_free_result(result);
  return true;
}

std::optional<std::string> MariaDbConnection::QueryValue(const std::string& sql,
                                                         std::string* error) {
  std::vector<SqlRow> rows;
  if (!Query(sql, &rows, error)) return std::nullopt;
  if (rows.empty() || rows[0].empty()) {
    *error = "no rows from: " + sql;
    return std::nullopt;
  }
  return rows[0][0];
}

}  // namespace txmon::test
