#include "tests/support/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace txmon::test {

namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t count, void* response) {
  static_cast<HttpResponse*>(response)->body.append(data, size * count);
  return size * count;
}

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// Called once per header line, including the status line and the blank end.
size_t AppendHeader(char* data, size_t size, size_t count, void* response) {
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = Trim(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static_cast<HttpResponse*>(response)->headers[name] = Trim(line.substr(colon + 1));
  }
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

HttpResponse HttpSend(const std::string& method, const std::string& url, const std::string& body,
                      const std::string& content_type, const HttpClientOptions& options) {
  InitCurlOnce();
  HttpResponse response;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  curl_slist* raw_headers = nullptr;
  for (const std::string& header : options.headers) {
    raw_headers = curl_slist_append(raw_headers, header.c_str());
  }
  if (!content_type.empty()) {
    raw_headers = curl_slist_append(raw_headers, ("Content-Type: " + content_type).c_str());
  }
  std::unique_ptr<curl_slist, HeaderListDeleter> headers(raw_headers);

  CURL* handle = curl.get();
  char error_buffer[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  // Tests talk to loopback only; a proxy from the environment must not interfere.
  curl_easy_setopt(handle, CURLOPT_NOPROXY, "*");
  if (method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (!options.user_password.empty()) {
    curl_easy_setopt(handle, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(handle, CURLOPT_USERPWD, options.user_password.c_str());
  }
  if (!options.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
  if (!options.tls12_ciphers.empty()) {
    curl_easy_setopt(handle, CURLOPT_SSL_CIPHER_LIST, options.tls12_ciphers.c_str());
  }
  if (options.max_tls_version == "1.2") {
    curl_easy_setopt(handle, CURLOPT_SSLVERSION,
                     static_cast<long>(CURL_SSLVERSION_TLSv1_2) |
                         static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
  }
  if (!options.client_cert_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_SSLCERT, options.client_cert_file.c_str());
    curl_easy_setopt(handle, CURLOPT_SSLKEY, options.client_key_file.c_str());
  }
  if (options.accept_gzip) curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "gzip");

  CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    response.status = 0;
    response.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    return response;
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  char* type = nullptr;
  curl_easy_getinfo(handle, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) response.content_type = type;
  return response;
}

HttpResponse HttpGet(const std::string& url, const HttpClientOptions& options) {
  return HttpSend("GET", url, "", "", options);
}

HttpResponse HttpPost(const std::string& url, const std::string& body,
                      const std::string& content_type, const HttpClientOptions& options) {
  return HttpSend("POST", url, body, content_type, options);
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return encoded;
}

}  // namespace txmon::test
