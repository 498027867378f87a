#include "agent/web/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>

namespace txmon {

namespace {

int ProtocolVersion(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// Go's crypto/tls semantics for each client_auth_type.
int VerifyMode(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNoClientCert:
      return SSL_VERIFY_NONE;
    case ClientAuth::kRequestClientCert:
    case ClientAuth::kVerifyClientCertIfGiven:
      return SSL_VERIFY_PEER;
    case ClientAuth::kRequireAnyClientCert:
    case ClientAuth::kRequireAndVerifyClientCert:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_NONE;
}

// "Request" and "RequireAny" take any certificate, verified or not.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) { return 1; }

bool Fail(std::string* error, const std::string& what) {
  *error = what + ": " + TakeOpenSslError();
  return false;
}

bool UsePemCertificateChain(SSL_CTX* context, const std::string& pem, std::string* error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), (int)pem.size()),
                                                &BIO_free);
  X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr || SSL_CTX_use_certificate(context, leaf) != 1) {
    X509_free(leaf);
    return Fail(error, "cert");
  }
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add_extra_chain_cert(context, extra) != 1) {  // takes ownership on success
      X509_free(extra);
      return Fail(error, "cert");
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return true;
}

bool UsePemPrivateKey(SSL_CTX* context, const std::string& pem, std::string* error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), (int)pem.size()),
                                                &BIO_free);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  bool ok = key != nullptr && SSL_CTX_use_PrivateKey(context, key) == 1;
  EVP_PKEY_free(key);
  return ok || Fail(error, "key");
}

bool LoadCertificateAndKey(SSL_CTX* context, const TlsServerConfig& tls, std::string* error) {
  if (!tls.cert_pem.empty()) {
    if (!UsePemCertificateChain(context, tls.cert_pem, error)) return false;
  } else if (SSL_CTX_use_certificate_chain_file(context, tls.cert_file.c_str()) != 1) {
    return Fail(error, "cert_file " + tls.cert_file);
  }
  if (!tls.key_pem.empty()) {
    if (!UsePemPrivateKey(context, tls.key_pem, error)) return false;
  } else if (SSL_CTX_use_PrivateKey_file(context, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Fail(error, "key_file " + tls.key_file);
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return Fail(error, "the key does not match the certificate");
  }
  return true;
}

bool ConfigureClientCertificates(SSL_CTX* context, const TlsServerConfig& tls, std::string* error) {
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, tls.client_ca_file.c_str(), nullptr) != 1) {
      return Fail(error, "client_ca_file " + tls.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(context, names);
  }
  bool verify = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  SSL_CTX_set_verify(context, VerifyMode(tls.client_auth), verify ? nullptr : AcceptAnyCertificate);
  return true;
}

// TLS 1.2 and older: the configured suites, else only forward-secret AEAD
// ones (OpenSSL's default also takes static-RSA suites like AES128-SHA).
bool ConfigureCiphers(SSL_CTX* context, const TlsServerConfig& tls, std::string* error) {
  std::string list;
  for (const std::string& go_name : tls.cipher_suites) {
    std::optional<std::string> name = OpenSslCipherName(go_name);
    if (!name) {
      *error = "cipher_suites: unknown cipher suite " + go_name;
      return false;
    }
    if (!name->empty()) list += (list.empty() ? "" : ":") + *name;
  }
  // Only TLS 1.3 suites named: TLS 1.2 gets the defaults, as in Go.
  if (list.empty()) list = kDefaultTls12Ciphers;
  if (SSL_CTX_set_cipher_list(context, list.c_str()) != 1) {
    return Fail(error, "cipher_suites " + list);
  }
  // The server's order wins, as with Go (whose clients' preferences do not).
  SSL_CTX_set_options(context, SSL_OP_CIPHER_SERVER_PREFERENCE);
  return true;
}

}  // namespace

std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  std::string text = "unknown TLS error";
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

bool ConfigureTlsContext(SSL_CTX* context, const TlsServerConfig& tls, std::string* error) {
  if (SSL_CTX_set_min_proto_version(context, ProtocolVersion(tls.min_version)) != 1 ||
      (tls.max_version &&
       SSL_CTX_set_max_proto_version(context, ProtocolVersion(*tls.max_version)) != 1)) {
    return Fail(error, "protocol versions");
  }
  return ConfigureCiphers(context, tls, error) && LoadCertificateAndKey(context, tls, error) &&
         ConfigureClientCertificates(context, tls, error);
}

}  // namespace txmon
