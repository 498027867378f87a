#include "agent/demo/embedded_mariadb.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "agent/source/mysql_connection.h"

namespace txmon {

namespace {

const char* const kSchema[] = {
    "CREATE DATABASE shop",
    "CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, order_no VARCHAR(32), user_id BIGINT, "
    "channel VARCHAR(16), province VARCHAR(32), payment_method VARCHAR(16) NULL, amount "
    "DECIMAL(12,2), status VARCHAR(16), created_at DATETIME, paid_at DATETIME NULL, updated_at "
    "DATETIME) ENGINE=InnoDB",
    "CREATE TABLE shop.payments (id BIGINT PRIMARY KEY, order_id BIGINT, method VARCHAR(16), "
    "amount DECIMAL(12,2), result VARCHAR(16), created_at DATETIME) ENGINE=InnoDB",
    "CREATE TABLE shop.refunds (id BIGINT PRIMARY KEY, order_id BIGINT, amount DECIMAL(12,2), "
    "reason VARCHAR(32), created_at DATETIME) ENGINE=InnoDB",
    "CREATE TABLE shop.users (id BIGINT PRIMARY KEY, channel VARCHAR(16), province VARCHAR(32), "
    "created_at DATETIME) ENGINE=InnoDB",
};

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Runs `args` with stdout and stderr to `log`; its pid, or -1.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);
  FILE* out = freopen(log.c_str(), "a", stdout);
  if (out != nullptr) dup2(fileno(stdout), STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  _exit(127);
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace

Status EmbeddedMariadb::Start(std::unique_ptr<EmbeddedMariadb>* out) {
  std::unique_ptr<EmbeddedMariadb> server(new EmbeddedMariadb());
  std::string pattern = (std::filesystem::temp_directory_path() / "txmon-demo-mariadb-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::Error("cannot create a temporary folder");
  }
  server->dir_ = pattern;
  server->socket_ = server->dir_ + "/mysqld.sock";
  const std::string log = server->dir_ + "/install.log";
  const pid_t install = Spawn(
      {"mariadb-install-db", "--no-defaults", "--user=root", "--datadir=" + server->dir_ + "/data",
       "--auth-root-authentication-method=normal", "--skip-test-db"},
      log);
  int status = 0;
  if (install < 0 || waitpid(install, &status, 0) != install || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return Status::Error(
        "mariadb-install-db failed (is Debian's mariadb-server installed? scripts/setup.sh "
        "installs it): " +
        ReadLog(log));
  }
  if (Status launched = server->Launch(); !launched.ok()) return launched;
  if (Status created = server->CreateSchema(); !created.ok()) return created;
  *out = std::move(server);
  return Status::Ok();
}

Status EmbeddedMariadb::Launch() {
  port_ = FreePort();
  const std::string data = dir_ + "/data";
  const std::string log = dir_ + "/mysqld.log";
  pid_ =
      Spawn({"mariadbd", "--no-defaults", "--user=root", "--datadir=" + data, "--socket=" + socket_,
             "--port=" + std::to_string(port_), "--bind-address=127.0.0.1",
             "--log-bin=" + data + "/bin", "--binlog-format=ROW", "--binlog-row-metadata=FULL",
             "--server-id=1", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
             "--innodb-flush-log-at-trx-commit=2", "--pid-file=" + dir_ + "/mysqld.pid"},
            log);
  if (pid_ < 0) return Status::Error("cannot start mariadbd");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    MysqlError e;
    if (MysqlConnection::Open({socket_, "root", "", "", "", "", 2, 0}, &e)) return Status::Ok();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Error("mariadbd did not start: " + ReadLog(log));
}

Status EmbeddedMariadb::CreateSchema() {
  MysqlError e;
  auto root = MysqlConnection::Open({socket_, "root", "", "", "", "", 5, 0}, &e);
  if (!root) return Status::Error("mariadbd: " + e.message);
  const std::string user = std::string("'") + kUser + "'@'%'";
  const std::vector<std::string> statements = {
      "CREATE USER " + user + " IDENTIFIED BY '" + kPassword + "'",
      "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO " + user};
  for (const std::string& sql : statements) {
    if (!root->Query(sql, nullptr, &e)) return Status::Error(sql + ": " + e.message);
  }
  for (const char* sql : kSchema) {
    if (!root->Query(sql, nullptr, &e)) return Status::Error(std::string(sql) + ": " + e.message);
  }
  return Status::Ok();
}

void EmbeddedMariadb::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
  }
}

EmbeddedMariadb::~EmbeddedMariadb() { Stop(); }

}  // namespace txmon
