#include "agent/web/web_security.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace txmon {

namespace {

// A valid bcrypt hash of a random password, checked when the user is unknown
// so that a wrong user name costs as much time as a wrong password.
constexpr char kDummyHash[] = "$2y$10$QOauhQNbBCuQDKes6eFzPeyR5HyZ4iAN.tXQxVDwlMTKIYdPI712y";

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3);
  int length = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                               static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  return std::string(out.begin(), out.begin() + (length - static_cast<int>(padding)));
}

std::string Sha256Hex(std::string_view a, std::string_view b, std::string_view c) {
  std::string input;
  input.reserve(a.size() + b.size() + c.size() + 2);
  input.append(a).push_back('\0');
  input.append(b).push_back('\0');
  input.append(c);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on a worker's stack
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (computed == nullptr || computed[0] == '*') return false;
  std::string_view result(computed);
  return result.size() == hash.size() &&
         CRYPTO_memcmp(result.data(), hash.data(), hash.size()) == 0;
}

}  // namespace

std::optional<std::string> OpenSslCipherName(std::string_view go_name) {
  // Go's crypto/tls names (tls.CipherSuites and tls.InsecureCipherSuites).
  static const std::map<std::string_view, std::string_view> kNames = {
      {"TLS_AES_128_GCM_SHA256", ""},
      {"TLS_AES_256_GCM_SHA384", ""},
      {"TLS_CHACHA20_POLY1305_SHA256", ""},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
      {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
      {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
      {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
      {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
  };
  auto found = kNames.find(go_name);
  if (found == kNames.end()) return std::nullopt;
  return std::string(found->second);
}

bool IsBcryptHash(std::string_view hash) {
  // "$2y$" cost(2 digits) "$" then 53 characters of salt and digest.
  if (hash.size() != 60) return false;
  if (!(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))) {
    return false;
  }
  return std::isdigit(static_cast<unsigned char>(hash[4])) &&
         std::isdigit(static_cast<unsigned char>(hash[5])) && hash[6] == '$';
}

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

bool BasicAuthenticator::Check(std::string_view authorization) {
  constexpr std::string_view kScheme = "Basic ";
  if (authorization.size() <= kScheme.size()) return false;
  // The scheme is case-insensitive (RFC 7617).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return false;
    }
  }
  std::optional<std::string> decoded = DecodeBase64(authorization.substr(kScheme.size()));
  // crypt() reads the password as a C string: a NUL would cut it short, so
  // "secret\0anything" would pass as "secret". No valid credential has one.
  if (!decoded || decoded->find('\0') != std::string::npos) return false;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  return Verify(decoded->substr(0, colon), decoded->substr(colon + 1));
}

bool BasicAuthenticator::Verify(const std::string& user, const std::string& password) {
  auto found = users_.find(user);
  const std::string hash = found != users_.end() ? found->second : kDummyHash;
  const std::string key = Sha256Hex(user, hash, password);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto cached = verdicts_.find(key); cached != verdicts_.end()) return cached->second;
  }
  bool ok = BcryptMatches(password, hash) && found != users_.end();
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (verdicts_.size() >= kMaxCachedVerdicts) verdicts_.clear();
  verdicts_[key] = ok;
  return ok;
}

}  // namespace txmon
