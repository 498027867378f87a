#include "agent/notify/alertmanager_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "agent/base/json_writer.h"
#include "agent/base/rfc3339.h"

namespace txmon {

namespace {

void WritePairs(JsonWriter& json, const std::vector<std::pair<std::string, std::string>>& pairs) {
  json.BeginObject();
  for (const auto& [name, value] : pairs) json.Field(name, value);
  json.EndObject();
}

size_t KeepBody(char* data, size_t size, size_t count, void* kept) {
  auto* body = static_cast<std::string*>(kept);
  if (body->size() < 512) body->append(data, std::min<size_t>(size * count, 512 - body->size()));
  return size * count;
}

}  // namespace

std::string EncodeAlerts(std::span<const AlertmanagerAlert> alerts) {
  JsonWriter json;
  json.BeginArray();
  for (const AlertmanagerAlert& alert : alerts) {
    json.BeginObject().Key("labels");
    WritePairs(json, alert.labels);
    json.Key("annotations");
    WritePairs(json, alert.annotations);
    if (alert.starts_at_ms != 0) {
      json.Field("startsAt", FormatRfc3339(alert.starts_at_ms, Rfc3339Millis::kFixed));
    }
    if (alert.ends_at_ms != 0) {
      json.Field("endsAt", FormatRfc3339(alert.ends_at_ms, Rfc3339Millis::kFixed));
    }
    json.Field("generatorURL", alert.generator_url).EndObject();
  }
  json.EndArray();
  return json.Take();
}

Status AlertmanagerClient::Create(const std::string& base_url, std::chrono::milliseconds timeout,
                                  std::unique_ptr<AlertmanagerClient>* out) {
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    return Status::Error("alertmanager url \"" + base_url + "\": want http:// or https://");
  }
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<AlertmanagerClient> client(new AlertmanagerClient());
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  client->alerts_url_ = base + "/api/v2/alerts";
  client->timeout_ = timeout;
  client->curl_ = curl_easy_init();
  if (client->curl_ == nullptr) return Status::Error("curl_easy_init failed");
  *out = std::move(client);
  return Status::Ok();
}

AlertmanagerClient::~AlertmanagerClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

AlertmanagerClient::Result AlertmanagerClient::Post(const std::string& body) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  std::string response;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: txmon");
  curl_easy_setopt(curl, CURLOPT_URL, alerts_url_.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, KeepBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    return {Status::Error("POST " + alerts_url_ + ": " + curl_easy_strerror(code)), true};
  }
  if (status / 100 == 2) return {Status::Ok(), true};
  return {
      Status::Error("POST " + alerts_url_ + ": HTTP " + std::to_string(status) + ": " + response),
      status / 100 != 4};
}

}  // namespace txmon
