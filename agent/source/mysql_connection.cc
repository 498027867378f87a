#include "agent/source/mysql_connection.h"

#include <errmsg.h>
#include <sys/socket.h>

#include <charconv>

namespace txmon {

namespace {

// "host:port" → host and port; a path (starting with '/') is a socket.
void SplitAddress(const std::string& address, std::string* host, unsigned* port,
                  std::string* socket_path) {
  if (address.starts_with('/')) {
    *socket_path = address;
    *host = "localhost";
    return;
  }
  const size_t colon = address.rfind(':');
  *port = 3306;
  if (colon == std::string::npos) {
    *host = address;
    return;
  }
  *host = address.substr(0, colon);
  std::from_chars(address.data() + colon + 1, address.data() + address.size(), *port);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);  // [::1]:3306
  }
}

void SetTls(MYSQL* mysql, const MysqlEndpoint& endpoint) {
  if (endpoint.tls_ca_file.empty() && endpoint.tls_cert_file.empty()) return;
  if (!endpoint.tls_ca_file.empty()) {
    mysql_optionsv(mysql, MYSQL_OPT_SSL_CA, endpoint.tls_ca_file.c_str());
    const my_bool verify = 1;
    mysql_optionsv(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  }
  if (!endpoint.tls_cert_file.empty())
    mysql_optionsv(mysql, MYSQL_OPT_SSL_CERT, endpoint.tls_cert_file.c_str());
  if (!endpoint.tls_key_file.empty())
    mysql_optionsv(mysql, MYSQL_OPT_SSL_KEY, endpoint.tls_key_file.c_str());
  const my_bool enforce = 1;
  mysql_optionsv(mysql, MYSQL_OPT_SSL_ENFORCE, &enforce);
}

}  // namespace

bool MysqlError::transient() const {
  switch (code) {
    case CR_CONNECTION_ERROR:      // 2002
    case CR_CONN_HOST_ERROR:       // 2003
    case CR_UNKNOWN_HOST:          // 2005
    case CR_SERVER_GONE_ERROR:     // 2006
    case CR_SERVER_LOST:           // 2013
    case CR_SERVER_LOST_EXTENDED:  // 2055
    case 1040:                     // too many connections
    case 1053:                     // server shutdown in progress
    case 1077:                     // normal shutdown
    case 1079:                     // shutdown complete
    case 1152:                     // aborted connection
    case 1158:                     // got an error reading communication packets
    case 1159:                     // got timeout reading communication packets
    case 1161:                     // got timeout writing communication packets
    case 1927:                     // connection was killed
    case 4031:                     // disconnected by the server for inactivity
      return true;
    default:
      return false;
  }
}

std::unique_ptr<MysqlConnection> MysqlConnection::Open(const MysqlEndpoint& endpoint,
                                                       MysqlError* error) {
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) {
    *error = {CR_OUT_OF_MEMORY, "mysql_init failed"};
    return nullptr;
  }
  std::string host, socket_path;
  unsigned port = 0;
  SplitAddress(endpoint.address, &host, &port, &socket_path);
  mysql_optionsv(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &endpoint.connect_timeout_seconds);
  if (endpoint.read_timeout_seconds > 0) {
    mysql_optionsv(mysql, MYSQL_OPT_READ_TIMEOUT, &endpoint.read_timeout_seconds);
  }
  const unsigned protocol = socket_path.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_optionsv(mysql, MYSQL_OPT_PROTOCOL, &protocol);
  SetTls(mysql, endpoint);
  if (mysql_real_connect(mysql, host.c_str(), endpoint.user.c_str(), endpoint.password.c_str(),
                         nullptr, port, socket_path.empty() ? nullptr : socket_path.c_str(),
                         0) == nullptr) {
    *error = {mysql_errno(mysql), mysql_error(mysql)};
    mysql_close(mysql);
    return nullptr;
  }
  std::unique_ptr<MysqlConnection> connection(new MysqlConnection(mysql));
  connection->socket_.store(mysql_get_socket(mysql));
  return connection;
}

MysqlConnection::~MysqlConnection() {
  socket_.store(-1);
  mysql_close(mysql_);
}

MysqlError MysqlConnection::LastError() { return {mysql_errno(mysql_), mysql_error(mysql_)}; }

void MysqlConnection::Interrupt() {
  const int fd = socket_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

std::string MysqlConnection::Quote(std::string_view value) {
  std::string out(value.size() * 2 + 3, '\0');
  out[0] = '\'';
  const unsigned long n = mysql_real_escape_string(mysql_, out.data() + 1, value.data(),
                                                   static_cast<unsigned long>(value.size()));
  out.resize(n + 1);
  out += '\'';
  return out;
}

bool MysqlConnection::Query(std::string_view sql, std::vector<MysqlRow>* rows, MysqlError* error) {
  if (mysql_real_query(mysql_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    *error = LastError();
    return false;
  }
  MYSQL_RES* result = mysql_store_result(mysql_);
  if (result == nullptr) {
    if (mysql_field_count(mysql_) != 0) {
      *error = LastError();
      return false;
    }
    if (rows) rows->clear();
    return true;
  }
  if (rows) {
    rows->clear();
    const unsigned fields = mysql_num_fields(result);
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
      const unsigned long* lengths = mysql_fetch_lengths(result);
      MysqlRow& out = rows->emplace_back(fields);
      for (unsigned i = 0; i < fields; ++i) {
        if (row[i] != nullptr) out[i].emplace(row[i], lengths[i]);
      }
    }
  }
  mysql_free_result(result);
  return true;
}

}  // namespace txmon
