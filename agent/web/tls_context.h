// Sets up the OpenSSL server context CivetWeb creates for a TLS port from a
// TlsServerConfig: certificate chain and key (files or inline PEM), protocol
// versions, and client certificates as exporter-toolkit's client_auth_type
// asks. CivetWeb calls this from its init_ssl callback, once per start.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "agent/web/web_security.h"

namespace txmon {

// False with the reason in `error` (e.g. "key_file /x.pem: no such file").
bool ConfigureTlsContext(SSL_CTX* context, const TlsServerConfig& tls, std::string* error);

// The text of OpenSSL's most recent error on this thread, and clears them.
std::string TakeOpenSslError();

}  // namespace txmon
