// RemoteWriteClient: POSTs snappy-compressed WriteRequests to one remote
// write endpoint over libcurl, with the four headers the 1.0 spec requires
// (Content-Encoding: snappy, Content-Type: application/x-protobuf,
// User-Agent, X-Prometheus-Remote-Write-Version: 0.1.0), the configured
// extra headers, basic auth or an Authorization header, and TLS options.
// It keeps one connection open between posts.
//
// Threading: one thread at a time per client (the writer's sender owns it).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"

namespace txmon {

struct RemoteWriteEndpoint {
  std::string url;
  std::chrono::milliseconds timeout{30'000};
  std::vector<std::pair<std::string, std::string>> headers;
  std::string basic_auth_username, basic_auth_password;
  std::string authorization_type, authorization_credentials;  // type "Bearer" etc.
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
  bool tls_insecure_skip_verify = false;
};

class RemoteWriteClient {
 public:
  static Status Create(RemoteWriteEndpoint endpoint, std::unique_ptr<RemoteWriteClient>* out);
  ~RemoteWriteClient();
  RemoteWriteClient(const RemoteWriteClient&) = delete;
  RemoteWriteClient& operator=(const RemoteWriteClient&) = delete;

  // What the spec makes of an answer: 2xx delivered; 5xx, 429 and transport
  // errors are worth retrying; any other status is refused for good.
  struct Result {
    Status status;
    bool retryable = true;
    long http_status = 0;  // 0 for a transport error
    // A 429's or 5xx's Retry-After (seconds or an HTTP date), 0 if none.
    std::chrono::milliseconds retry_after{0};
  };
  // `cancel`, when set (from another thread), aborts the request in flight
  // within about a second (a transport error) instead of at the timeout.
  Result Post(const std::string& compressed_body, const std::atomic<bool>* cancel = nullptr);

  const std::string& url() const { return endpoint_.url; }

 private:
  RemoteWriteClient() = default;
  RemoteWriteEndpoint endpoint_;
  void* curl_ = nullptr;        // CURL*, kept for connection reuse
  void* headers_ = nullptr;     // curl_slist*, built once
  void* connect_to_ = nullptr;  // curl_slist* for tls_server_name, or null
  std::string request_url_;     // the url, its host replaced by tls_server_name if set
};

}  // namespace txmon
