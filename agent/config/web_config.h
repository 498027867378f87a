// The web config file (`--web.config.file`), in the format of Prometheus'
// exporter-toolkit, so one file can serve Prometheus, its exporters and
// txmon alike:
//
//   tls_server_config:          # absent: plain HTTP
//     cert_file: server.crt     # or cert: inline PEM
//     key_file: server.key      # or key: inline PEM
//     client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12        # TLS10..TLS13, default TLS12
//     max_version: TLS13
//     cipher_suites:            # TLS 1.2 suites by Go's names; default: ECDHE + AEAD only
//       - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
//   http_server_config:
//     headers: {Strict-Transport-Security: max-age=31536000}
//   basic_auth_users:           # absent or empty: no authentication
//     prometheus: $2y$10$...    # bcrypt, e.g. from `htpasswd -nBC 10 prometheus`
//
// Relative paths are resolved against the file's folder. Options this
// server cannot honour (curve_preferences, client_allowed_sans, ...) are
// refused rather than ignored, with the file, line and reason.
#pragma once

#include <string>

#include "agent/base/status.h"
#include "agent/web/web_security.h"

namespace txmon {

Status LoadWebConfigFile(const std::string& path, WebSecurity* security);
// Parses YAML text; `file` names it in messages and anchors relative paths.
Status ParseWebConfig(const std::string& yaml, const std::string& file, WebSecurity* security);

}  // namespace txmon
