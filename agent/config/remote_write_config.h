// RemoteWriteConfig: one entry of `remote_write:` in txmon.yml, with
// Prometheus' own keys (url, remote_timeout, headers, basic_auth,
// authorization, tls_config, queue_config). Secrets given as files
// (password_file, credentials_file) are read at load, so `txmon check config`
// reports what the start would.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace txmon {

class ConfigReader;

struct RemoteWriteConfig {
  std::string name;                    // remote_write[i].name; default: the url
  std::string url;                     // http:// or https://
  int64_t remote_timeout_ms = 30'000;  // per request, as Prometheus
  std::vector<std::pair<std::string, std::string>> headers;
  std::string basic_auth_username, basic_auth_password;  // password or password_file
  std::string authorization_type;         // authorization.type; "Bearer" when credentials are set
  std::string authorization_credentials;  // credentials or credentials_file
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
  bool tls_insecure_skip_verify = false;
  // queue_config. capacity counts samples waiting to be sent (past it the
  // oldest go, counted); the deadline is how long a partial batch waits.
  size_t capacity = 500'000;
  size_t max_samples_per_send = 2'000;
  int64_t batch_send_deadline_ms = 100;
  int64_t min_backoff_ms = 30;
  int64_t max_backoff_ms = 5'000;
  bool operator==(const RemoteWriteConfig&) const = default;
};

// Reads `remote_write:` (a list) into `out`; false after recording the
// first error in `r`. Relative files resolve against the config's folder.
bool ReadRemoteWrite(ConfigReader& r, const YAML::Node& node, const std::string& config_file,
                     std::vector<RemoteWriteConfig>* out);

}  // namespace txmon
