#include "agent/config/remote_write_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <set>

#include "agent/base/duration.h"
#include "agent/config/config_reader.h"

namespace txmon {

namespace {

std::string FromFolderOf(const std::string& config_file, const std::string& path) {
  const std::filesystem::path base = std::filesystem::path(config_file).parent_path();
  if (path.empty() || std::filesystem::path(path).is_absolute() || base.empty()) return path;
  return (base / path).string();
}

// Headers the remote write protocol or the client sets itself; Prometheus
// refuses the same list in `headers`.
bool IsReservedHeader(std::string name) {
  static const std::set<std::string> kReserved = {"authorization",
                                                  "host",
                                                  "content-encoding",
                                                  "content-length",
                                                  "content-type",
                                                  "user-agent",
                                                  "connection",
                                                  "keep-alive",
                                                  "proxy-authenticate",
                                                  "proxy-authorization",
                                                  "www-authenticate",
                                                  "accept-encoding",
                                                  "x-prometheus-remote-write-version",
                                                  "x-prometheus-remote-read-version",
                                                  "x-prometheus-scrape-timeout-seconds"};
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kReserved.count(name) > 0;
}

bool Duration(ConfigReader& r, const YAML::Node& node, const std::string& path, int64_t* out) {
  std::optional<std::chrono::milliseconds> ms =
      node.IsScalar() ? ParseDuration(node.Scalar()) : std::nullopt;
  if (!ms || ms->count() <= 0)
    return r.Fail(node, path, "expected a duration such as 30s or 100ms");
  *out = ms->count();
  return true;
}

bool Positive(ConfigReader& r, const YAML::Node& node, const std::string& path, size_t* out) {
  uint64_t value = 0;
  if (!r.Unsigned(node, path, &value)) return false;
  if (value == 0) return r.Fail(node, path, "must be > 0");
  *out = value;
  return true;
}

// `inline_key` or `file_key` (read now, trailing newline dropped as
// Prometheus does), not both.
bool Secret(ConfigReader& r, const YAML::Node& node, const std::string& path,
            const char* inline_key, const char* file_key, const std::string& config_file,
            std::string* out) {
  if (node[inline_key] && node[file_key]) {
    return r.Fail(node[file_key], path,
                  std::string("give either ") + inline_key + " or " + file_key);
  }
  if (node[inline_key]) return r.String(node[inline_key], path + "." + inline_key, out);
  if (!node[file_key]) return true;
  std::string file;
  if (!r.String(node[file_key], path + "." + file_key, &file)) return false;
  if (Status s = ReadTextFile(FromFolderOf(config_file, file), out); !s.ok()) {
    return r.Fail(node[file_key], path + "." + file_key, s.message());
  }
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  return true;
}

bool ReadFileKey(ConfigReader& r, const YAML::Node& node, const std::string& path, const char* key,
                 const std::string& config_file, std::string* out) {
  if (!node[key]) return true;
  if (!r.String(node[key], path + "." + key, out)) return false;
  *out = FromFolderOf(config_file, *out);
  std::string text;
  if (Status s = ReadTextFile(*out, &text); !s.ok()) {
    return r.Fail(node[key], path + "." + key, s.message());
  }
  return true;
}

bool ReadTls(ConfigReader& r, const YAML::Node& node, const std::string& path,
             const std::string& config_file, RemoteWriteConfig* out) {
  if (!r.ExpectMap(node, path,
                   {"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"})) {
    return false;
  }
  if (!ReadFileKey(r, node, path, "ca_file", config_file, &out->tls_ca_file) ||
      !ReadFileKey(r, node, path, "cert_file", config_file, &out->tls_cert_file) ||
      !ReadFileKey(r, node, path, "key_file", config_file, &out->tls_key_file)) {
    return false;
  }
  if (out->tls_cert_file.empty() != out->tls_key_file.empty()) {
    return r.Fail(node, path, "cert_file and key_file go together");
  }
  if (node["server_name"] &&
      !r.String(node["server_name"], path + ".server_name", &out->tls_server_name)) {
    return false;
  }
  return !node["insecure_skip_verify"] ||
         r.Bool(node["insecure_skip_verify"], path + ".insecure_skip_verify",
                &out->tls_insecure_skip_verify);
}

bool ReadQueue(ConfigReader& r, const YAML::Node& node, const std::string& path,
               RemoteWriteConfig* out) {
  if (!r.ExpectMap(node, path,
                   {"capacity", "max_samples_per_send", "batch_send_deadline", "min_backoff",
                    "max_backoff"})) {
    return false;
  }
  if ((node["capacity"] && !Positive(r, node["capacity"], path + ".capacity", &out->capacity)) ||
      (node["max_samples_per_send"] &&
       !Positive(r, node["max_samples_per_send"], path + ".max_samples_per_send",
                 &out->max_samples_per_send)) ||
      (node["batch_send_deadline"] &&
       !Duration(r, node["batch_send_deadline"], path + ".batch_send_deadline",
                 &out->batch_send_deadline_ms)) ||
      (node["min_backoff"] &&
       !Duration(r, node["min_backoff"], path + ".min_backoff", &out->min_backoff_ms)) ||
      (node["max_backoff"] &&
       !Duration(r, node["max_backoff"], path + ".max_backoff", &out->max_backoff_ms))) {
    return false;
  }
  if (out->max_samples_per_send > out->capacity) {
    return r.Fail(node["max_samples_per_send"] ? node["max_samples_per_send"] : node,
                  path + ".max_samples_per_send", "must be at most capacity");
  }
  if (out->min_backoff_ms > out->max_backoff_ms) {
    return r.Fail(node["min_backoff"] ? node["min_backoff"] : node, path + ".min_backoff",
                  "must be at most max_backoff");
  }
  return true;
}

bool ReadAuth(ConfigReader& r, const YAML::Node& node, const std::string& path,
              const std::string& config_file, RemoteWriteConfig* out) {
  if (node["basic_auth"] && node["authorization"]) {
    return r.Fail(node["authorization"], path,
                  "at most one of basic_auth and authorization must be configured");
  }
  if (const YAML::Node basic = node["basic_auth"]) {
    const std::string at = path + ".basic_auth";
    if (!r.ExpectMap(basic, at, {"username", "password", "password_file"})) return false;
    if (!basic["username"]) return r.Fail(basic, at, "username is required");
    if (!r.String(basic["username"], at + ".username", &out->basic_auth_username)) return false;
    return Secret(r, basic, at, "password", "password_file", config_file,
                  &out->basic_auth_password);
  }
  if (const YAML::Node auth = node["authorization"]) {
    const std::string at = path + ".authorization";
    if (!r.ExpectMap(auth, at, {"type", "credentials", "credentials_file"})) return false;
    out->authorization_type = "Bearer";
    if (auth["type"] && !r.String(auth["type"], at + ".type", &out->authorization_type)) {
      return false;
    }
    std::string lower = out->authorization_type;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "basic") {
      return r.Fail(auth["type"], at + ".type",
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
    }
    return Secret(r, auth, at, "credentials", "credentials_file", config_file,
                  &out->authorization_credentials);
  }
  return true;
}

bool ReadOne(ConfigReader& r, const YAML::Node& node, const std::string& path,
             const std::string& config_file, RemoteWriteConfig* out) {
  if (node.IsMap() && node["write_relabel_configs"]) {
    return r.Fail(node["write_relabel_configs"], path + ".write_relabel_configs",
                  "not supported yet: every series is sent");
  }
  if (!r.ExpectMap(node, path,
                   {"name", "url", "remote_timeout", "headers", "basic_auth", "authorization",
                    "tls_config", "queue_config"})) {
    return false;
  }
  if (!node["url"]) return r.Fail(node, path, "url is required");
  if (!r.String(node["url"], path + ".url", &out->url)) return false;
  if (!out->url.starts_with("http://") && !out->url.starts_with("https://")) {
    return r.Fail(node["url"], path + ".url",
                  "\"" + out->url + "\" is not an http:// or https:// URL");
  }
  out->name = out->url;
  if (node["name"] && !r.String(node["name"], path + ".name", &out->name)) return false;
  if (node["remote_timeout"] &&
      !Duration(r, node["remote_timeout"], path + ".remote_timeout", &out->remote_timeout_ms)) {
    return false;
  }
  if (const YAML::Node headers = node["headers"]) {
    if (!headers.IsMap()) return r.Fail(headers, path + ".headers", "expected a mapping");
    for (const auto& entry : headers) {
      const std::string name = entry.first.Scalar();
      if (IsReservedHeader(name)) {
        return r.Fail(entry.first, path + ".headers",
                      name + " is a reserved header. It must not be changed");
      }
      std::string value;
      if (!r.String(entry.second, path + ".headers." + name, &value)) return false;
      out->headers.emplace_back(name, value);
    }
  }
  if (!ReadAuth(r, node, path, config_file, out)) return false;
  if (node["tls_config"] &&
      !ReadTls(r, node["tls_config"], path + ".tls_config", config_file, out)) {
    return false;
  }
  return !node["queue_config"] || ReadQueue(r, node["queue_config"], path + ".queue_config", out);
}

}  // namespace

bool ReadRemoteWrite(ConfigReader& r, const YAML::Node& node, const std::string& config_file,
                     std::vector<RemoteWriteConfig>* out) {
  if (!node.IsSequence()) return r.Fail(node, "remote_write", "expected a list");
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = "remote_write[" + std::to_string(i) + "]";
    RemoteWriteConfig& config = out->emplace_back();
    if (!ReadOne(r, node[i], path, config_file, &config)) return false;
    if (!names.insert(config.name).second) {
      return r.Fail(node[i]["name"] ? node[i]["name"] : node[i]["url"], path,
                    "two remote_write entries are named \"" + config.name +
                        "\" (give each a distinct name or url)");
    }
  }
  return true;
}

}  // namespace txmon
