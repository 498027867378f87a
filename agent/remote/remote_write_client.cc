#include "agent/remote/remote_write_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "agent/base/build_info.h"

namespace txmon {

namespace {

size_t KeepBody(char* data, size_t size, size_t count, void* kept) {
  auto* body = static_cast<std::string*>(kept);
  if (body->size() < 512) body->append(data, std::min<size_t>(size * count, 512 - body->size()));
  return size * count;
}

// libcurl calls it at least once a second while a transfer runs.
int AbortIfCancelled(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

}  // namespace

Status RemoteWriteClient::Create(RemoteWriteEndpoint endpoint,
                                 std::unique_ptr<RemoteWriteClient>* out) {
  if (!endpoint.url.starts_with("http://") && !endpoint.url.starts_with("https://")) {
    return Status::Error("remote write url \"" + endpoint.url + "\": want http:// or https://");
  }
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<RemoteWriteClient> client(new RemoteWriteClient());
  client->endpoint_ = std::move(endpoint);
  client->curl_ = curl_easy_init();
  if (client->curl_ == nullptr) return Status::Error("curl_easy_init failed");
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Encoding: snappy");
  headers = curl_slist_append(headers, "Content-Type: application/x-protobuf");
  headers = curl_slist_append(headers, ("User-Agent: txmon/" + std::string(kVersion)).c_str());
  headers = curl_slist_append(headers, "X-Prometheus-Remote-Write-Version: 0.1.0");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : client->endpoint_.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  const RemoteWriteEndpoint& e = client->endpoint_;
  if (!e.authorization_type.empty()) {
    headers = curl_slist_append(
        headers,
        ("Authorization: " + e.authorization_type + " " + e.authorization_credentials).c_str());
  }
  client->headers_ = headers;
  client->request_url_ = e.url;
  if (!e.tls_server_name.empty()) {
    // tls_config.server_name: curl checks the certificate (and sends SNI)
    // for the URL's host, so the request names server_name and CONNECT_TO
    // sends it to the URL's real host and port.
    CURLU* parsed = curl_url();
    char* host = nullptr;
    char* port = nullptr;
    bool ok = curl_url_set(parsed, CURLUPART_URL, e.url.c_str(), 0) == CURLUE_OK &&
              curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
              curl_url_set(parsed, CURLUPART_HOST, e.tls_server_name.c_str(), 0) == CURLUE_OK;
    char* renamed = nullptr;
    if (ok) ok = curl_url_get(parsed, CURLUPART_URL, &renamed, 0) == CURLUE_OK;
    if (ok) {
      client->request_url_ = renamed;
      client->connect_to_ = curl_slist_append(
          nullptr, (e.tls_server_name + ":" + port + ":" + host + ":" + port).c_str());
    }
    curl_free(renamed);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(parsed);
    if (!ok) return Status::Error("remote write url \"" + e.url + "\": cannot parse its host");
  }
  *out = std::move(client);
  return Status::Ok();
}

RemoteWriteClient::~RemoteWriteClient() {
  if (headers_ != nullptr) curl_slist_free_all(static_cast<curl_slist*>(headers_));
  if (connect_to_ != nullptr) curl_slist_free_all(static_cast<curl_slist*>(connect_to_));
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

RemoteWriteClient::Result RemoteWriteClient::Post(const std::string& compressed_body,
                                                  const std::atomic<bool>* cancel) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  const RemoteWriteEndpoint& e = endpoint_;
  std::string response;
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers_));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, compressed_body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(compressed_body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(e.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, KeepBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  if (cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortIfCancelled);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(cancel));
  }
  if (!e.basic_auth_username.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(curl, CURLOPT_USERNAME, e.basic_auth_username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, e.basic_auth_password.c_str());
  }
  if (!e.tls_ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, e.tls_ca_file.c_str());
  if (!e.tls_cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, e.tls_cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, e.tls_key_file.c_str());
  }
  if (e.tls_insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(curl, CURLOPT_URL, request_url_.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, static_cast<curl_slist*>(connect_to_));
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (code != CURLE_OK) {
    return {Status::Error("POST " + e.url + ": " + curl_easy_strerror(code)), true, 0};
  }
  if (status / 100 == 2) return {Status::Ok(), true, status};
  while (!response.empty() && (response.back() == '\n' || response.back() == '\r')) {
    response.pop_back();
  }
  const bool retryable = status / 100 == 5 || status == 429;
  curl_off_t retry_after = 0;  // libcurl turns an HTTP date into seconds from now
  if (!retryable || curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) != CURLE_OK) {
    retry_after = 0;
  }
  return {Status::Error("POST " + e.url + ": HTTP " + std::to_string(status) + ": " + response),
          retryable, status, std::chrono::seconds(std::max<curl_off_t>(0, retry_after))};
}

}  // namespace txmon
