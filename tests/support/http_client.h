// Blocking HTTP client for tests (libcurl). Every call has a timeout, so a
// hung server fails a test instead of hanging it. A transport failure
// (refused, timeout) gives status 0 and the reason in `error`.
// Thread-safe: each call uses its own curl handle.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace txmon::test {

struct HttpResponse {
  long status = 0;  // 0 when no response arrived; see error
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // names in lower case; last one wins
  std::string error;                           // empty when a response arrived
};

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10000};
  std::vector<std::string> headers;  // "Name: value"
  std::string user_password;         // "user:password" for basic auth; empty: none
  std::string ca_file;               // PEM file trusted for https; empty: the system's
  std::string client_cert_file;      // PEM client certificate for https; empty: none
  std::string client_key_file;       // its private key
  std::string max_tls_version;       // "1.2" caps the client at TLS 1.2; empty: no cap
  std::string tls12_ciphers;         // OpenSSL cipher list the client offers; empty: curl's
  bool accept_gzip = false;          // send Accept-Encoding: gzip and decode the body
};

HttpResponse HttpGet(const std::string& url, const HttpClientOptions& options = {});
HttpResponse HttpPost(const std::string& url, const std::string& body,
                      const std::string& content_type, const HttpClientOptions& options = {});
// Any method ("PUT", "DELETE", ...); an empty body sends none.
HttpResponse HttpSend(const std::string& method, const std::string& url, const std::string& body,
                      const std::string& content_type, const HttpClientOptions& options = {});

// Percent-encodes `text` for a query string value (e.g. a PromQL expression).
std::string UrlEncode(std::string_view text);

}  // namespace txmon::test
