#include "agent/config/web_config.h"

#include <unistd.h>

#include <filesystem>
#include <map>

#include "agent/config/config_reader.h"

namespace txmon {

namespace {

// exporter-toolkit accepts only these response headers.
const std::set<std::string> kSettableHeaders = {"Strict-Transport-Security",
                                                "X-Content-Type-Options", "X-Frame-Options",
                                                "X-XSS-Protection", "Content-Security-Policy"};

const std::map<std::string, ClientAuth> kClientAuthTypes = {
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
};

const std::map<std::string, TlsVersion> kTlsVersions = {
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
};

template <typename T>
bool ReadEnum(ConfigReader& r, const YAML::Node& node, const std::string& path,
              const std::map<std::string, T>& names, T* out) {
  std::string text;
  if (!r.String(node, path, &text)) return false;
  auto found = names.find(text);
  if (found == names.end()) {
    std::string want;
    for (const auto& [name, value] : names) want += (want.empty() ? "" : ", ") + name;
    return r.Fail(node, path, "unknown value \"" + text + "\" (want " + want + ")");
  }
  *out = found->second;
  return true;
}

// A path from the file, resolved against the file's folder and readable now.
bool ReadFilePath(ConfigReader& r, const YAML::Node& node, const std::string& path,
                  const std::filesystem::path& base, std::string* out) {
  std::string text;
  if (!r.String(node, path, &text)) return false;
  std::filesystem::path file(text);
  if (file.is_relative()) file = base / file;
  *out = file.string();
  if (access(out->c_str(), R_OK) != 0) return r.Fail(node, path, "cannot read " + *out);
  return true;
}

// Exactly one of `file_key` (a path) and `inline_key` (PEM text).
bool ReadPem(ConfigReader& r, const YAML::Node& tls, const std::string& path,
             const std::string& file_key, const std::string& inline_key,
             const std::filesystem::path& base, std::string* file, std::string* pem) {
  const YAML::Node by_file = tls[file_key];
  const YAML::Node by_text = tls[inline_key];
  if (by_file && by_text) {
    return r.Fail(by_text, path + "." + inline_key,
                  "set either " + file_key + " or " + inline_key + ", not both");
  }
  if (by_text) return r.String(by_text, path + "." + inline_key, pem);
  if (!by_file) return r.Fail(tls, path, "missing \"" + file_key + "\" (or " + inline_key + ")");
  return ReadFilePath(r, by_file, path + "." + file_key, base, file);
}

bool ReadClientAuth(ConfigReader& r, const YAML::Node& tls, const std::string& path,
                    const std::filesystem::path& base, TlsServerConfig* out) {
  if (tls["client_auth_type"] && !ReadEnum(r, tls["client_auth_type"], path + ".client_auth_type",
                                           kClientAuthTypes, &out->client_auth)) {
    return false;
  }
  if (tls["client_ca_file"] && !ReadFilePath(r, tls["client_ca_file"], path + ".client_ca_file",
                                             base, &out->client_ca_file)) {
    return false;
  }
  bool verifies = out->client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                  out->client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && out->client_ca_file.empty()) {
    return r.Fail(tls, path, "client_auth_type verifies certificates: set client_ca_file");
  }
  if (!verifies && !out->client_ca_file.empty()) {
    return r.Fail(tls["client_ca_file"], path + ".client_ca_file",
                  "client_ca_file is unused unless client_auth_type verifies certificates");
  }
  return true;
}

bool ReadVersions(ConfigReader& r, const YAML::Node& tls, const std::string& path,
                  TlsServerConfig* out) {
  if (tls["min_version"] &&
      !ReadEnum(r, tls["min_version"], path + ".min_version", kTlsVersions, &out->min_version)) {
    return false;
  }
  if (tls["max_version"]) {
    TlsVersion max;
    if (!ReadEnum(r, tls["max_version"], path + ".max_version", kTlsVersions, &max)) return false;
    if (max < out->min_version) {
      return r.Fail(tls["max_version"], path + ".max_version", "is below min_version");
    }
    out->max_version = max;
  }
  return true;
}

// cipher_suites: Go's names, as exporter-toolkit takes them.
bool ReadCipherSuites(ConfigReader& r, const YAML::Node& tls, const std::string& path,
                      TlsServerConfig* out) {
  const YAML::Node node = tls["cipher_suites"];
  if (!node) return true;
  if (!r.StringList(node, path + ".cipher_suites", &out->cipher_suites)) return false;
  for (size_t i = 0; i < out->cipher_suites.size(); ++i) {
    if (!OpenSslCipherName(out->cipher_suites[i])) {
      return r.Fail(node[i], path + ".cipher_suites",
                    "unknown cipher suite \"" + out->cipher_suites[i] +
                        "\" (want Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    }
  }
  return true;
}

bool ReadTls(ConfigReader& r, const YAML::Node& tls, const std::filesystem::path& base,
             std::optional<TlsServerConfig>* out) {
  const std::string path = "tls_server_config";
  if (!r.ExpectMap(tls, path,
                   {"cert_file", "key_file", "cert", "key", "client_auth_type", "client_ca_file",
                    "min_version", "max_version", "cipher_suites"})) {
    return false;
  }
  TlsServerConfig config;
  if (!ReadPem(r, tls, path, "cert_file", "cert", base, &config.cert_file, &config.cert_pem) ||
      !ReadPem(r, tls, path, "key_file", "key", base, &config.key_file, &config.key_pem) ||
      !ReadClientAuth(r, tls, path, base, &config) || !ReadVersions(r, tls, path, &config) ||
      !ReadCipherSuites(r, tls, path, &config)) {
    return false;
  }
  *out = std::move(config);
  return true;
}

bool ReadHttpServer(ConfigReader& r, const YAML::Node& http, WebSecurity* out) {
  const std::string path = "http_server_config";
  if (!r.ExpectMap(http, path, {"http2", "headers"})) return false;
  bool http2 = true;  // accepted for compatibility; CivetWeb serves HTTP/1.1
  if (http["http2"] && !r.Bool(http["http2"], path + ".http2", &http2)) return false;
  const YAML::Node headers = http["headers"];
  if (!headers) return true;
  if (!r.ExpectMap(headers, path + ".headers", kSettableHeaders)) return false;
  for (const auto& entry : headers) {
    std::string name = entry.first.Scalar();
    if (!r.String(entry.second, path + ".headers." + name, &out->headers[name])) return false;
  }
  return true;
}

bool ReadUsers(ConfigReader& r, const YAML::Node& users, WebSecurity* out) {
  const std::string path = "basic_auth_users";
  if (users.IsNull()) return true;
  if (!users.IsMap()) return r.Fail(users, path, "expected a mapping of user: bcrypt hash");
  for (const auto& entry : users) {
    std::string user = entry.first.Scalar();
    std::string hash;
    if (!r.String(entry.second, path + "." + user, &hash)) return false;
    if (user.empty() || user.find(':') != std::string::npos) {
      return r.Fail(entry.first, path, "user names must be non-empty and without ':'");
    }
    if (!IsBcryptHash(hash)) {
      return r.Fail(entry.second, path + "." + user,
                    "not a bcrypt hash (want $2y$..., e.g. from htpasswd -nBC 10 USER)");
    }
    out->users[user] = hash;
  }
  return true;
}

}  // namespace

Status ParseWebConfig(const std::string& yaml, const std::string& file, WebSecurity* security) {
  *security = WebSecurity();
  security->file = file;
  YAML::Node root;
  if (Status s = ParseYaml(yaml, file, &root); !s.ok()) return s;
  if (root.IsNull()) return Status::Ok();  // an empty file: plain HTTP, no auth
  ConfigReader r(file);
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  bool ok =
      r.ExpectMap(root, "web config",
                  {"tls_server_config", "http_server_config", "basic_auth_users"}) &&
      (!root["tls_server_config"] || ReadTls(r, root["tls_server_config"], base, &security->tls)) &&
      (!root["http_server_config"] || ReadHttpServer(r, root["http_server_config"], security)) &&
      (!root["basic_auth_users"] || ReadUsers(r, root["basic_auth_users"], security));
  return ok ? Status::Ok() : Status::Error(r.error());
}

Status LoadWebConfigFile(const std::string& path, WebSecurity* security) {
  std::string text;
  if (Status s = ReadTextFile(path, &text); !s.ok()) return s;
  return ParseWebConfig(text, path, security);
}

}  // namespace txmon
