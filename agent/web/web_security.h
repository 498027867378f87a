// WebSecurity: who may talk to the agent's HTTP server and how — TLS and
// HTTP basic auth, as Prometheus' exporter-toolkit web config file describes
// them (`--web.config.file`). The file is read by agent/config; this header
// holds what WebServer needs, so the web stage never parses YAML.
//
// BasicAuthenticator checks an Authorization header against bcrypt hashes.
// bcrypt is slow on purpose (tens of ms at cost 10), so, as exporter-toolkit
// does, verdicts are cached by a SHA-256 of user, hash and password: a
// scraper sending the same credentials every few seconds pays the cost once.
//
// Threading: BasicAuthenticator::Check is safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace txmon {

// exporter-toolkit's client_auth_type values.
enum class ClientAuth : uint8_t {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

// TLS protocol versions as exporter-toolkit names them (TLS10 ... TLS13).
enum class TlsVersion : uint8_t { kTls10, kTls11, kTls12, kTls13 };

struct TlsServerConfig {
  // PEM files (paths already resolved against the web config's folder), or
  // the PEM text itself in cert/key when the file gave it inline.
  std::string cert_file;
  std::string key_file;
  std::string cert_pem;
  std::string key_pem;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::string client_ca_file;
  TlsVersion min_version = TlsVersion::kTls12;
  std::optional<TlsVersion> max_version;
  // exporter-toolkit's cipher_suites, by Go's names
  // ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), for TLS 1.2 and older. Empty:
  // kDefaultTls12Ciphers. As in Go, TLS 1.3 suites are not configurable.
  std::vector<std::string> cipher_suites;
};

// The TLS 1.2 suites offered unless cipher_suites says otherwise, in
// OpenSSL's names: ECDHE key exchange (forward secrecy) with AEAD ciphers
// only, the suites Go's crypto/tls prefers.
inline constexpr char kDefaultTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's name of a cipher suite Go's crypto/tls names `go_name`; "" for
// a TLS 1.3 suite (always enabled); nullopt for a name Go does not know.
std::optional<std::string> OpenSslCipherName(std::string_view go_name);

struct WebSecurity {
  std::optional<TlsServerConfig> tls;          // unset: plain HTTP
  std::map<std::string, std::string> users;    // user -> bcrypt hash; empty: no auth
  std::map<std::string, std::string> headers;  // added to every response
  std::string file;                            // where it was read from, for logs
};

// True for the bcrypt forms htpasswd and Go's bcrypt write: $2a$, $2b$, $2y$.
bool IsBcryptHash(std::string_view hash);

class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }
  // True if `authorization` ("Basic base64(user:password)") names a known
  // user with the right password.
  bool Check(std::string_view authorization);

 private:
  bool Verify(const std::string& user, const std::string& password);

  static constexpr size_t kMaxCachedVerdicts = 1024;
  const std::map<std::string, std::string> users_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, bool> verdicts_;  // SHA-256 hex -> verdict
};

}  // namespace txmon
