#include "tests/support/prometheus_server.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <simdjson.h>

#include "tests/support/free_port.h"
#include "tests/support/http_client.h"

namespace txmon::test {

namespace {

constexpr int kStartAttempts = 3;
constexpr std::chrono::milliseconds kPollInterval{50};

std::optional<std::string> MakeTempDirectory(std::string* error) {
  std::string pattern = (std::filesystem::temp_directory_path() / "txmon-prometheus-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    *error = "mkdtemp " + pattern + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return pattern;
}

std::string Duration(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + "ms";
}

std::string ConfigYaml(const PrometheusOptions& options) {
  std::ostringstream yaml;
  yaml << "global:\n"
       << "  scrape_interval: " << Duration(options.scrape_interval) << "\n"
       << "  scrape_timeout: " << Duration(options.scrape_interval) << "\n"
       << "  evaluation_interval: " << Duration(options.scrape_interval) << "\n"
       << "scrape_configs:\n"
       << "  - job_name: \"" << options.job << "\"\n"
       << options.job_config << "    static_configs:\n"
       << "      - targets: [";
  for (size_t i = 0; i < options.targets.size(); ++i) {
    yaml << (i ? ", " : "") << '"' << options.targets[i] << '"';
  }
  yaml << "]\n" << options.extra_config << "\n";
  return yaml.str();
}

bool WriteFile(const std::string& path, const std::string& text, std::string* error) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file.flush()) {
    *error = "write " + path + " failed";
    return false;
  }
  return true;
}

// Prometheus sends sample values as strings ("1", "NaN", "+Inf").
bool ParseSampleValue(simdjson::dom::element pair, double* value) {
  std::string_view text;
  if (pair.at(1).get_string().get(text) != simdjson::SUCCESS) return false;
  std::string copy(text);
  if (copy == "+Inf") copy = "inf";
  if (copy == "-Inf") copy = "-inf";
  char* end = nullptr;
  *value = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

bool ParseVector(simdjson::dom::array result, std::vector<PromSample>* samples) {
  for (simdjson::dom::element item : result) {
    PromSample sample;
    simdjson::dom::object metric;
    if (item["metric"].get_object().get(metric) != simdjson::SUCCESS) return false;
    for (auto field : metric) {
      std::string_view value;
      if (field.value.get_string().get(value) != simdjson::SUCCESS) return false;
      sample.labels[std::string(field.key)] = std::string(value);
    }
    if (!ParseSampleValue(item["value"], &sample.value)) return false;
    samples->push_back(std::move(sample));
  }
  return true;
}

std::string_view StringOr(simdjson::simdjson_result<simdjson::dom::element> field,
                          std::string_view fallback) {
  std::string_view value;
  return field.get_string().get(value) == simdjson::SUCCESS ? value : fallback;
}

std::string Truncated(const std::string& text) {
  constexpr size_t kMax = 2000;
  return text.size() <= kMax ? text : text.substr(0, kMax) + "...";
}

}  // namespace

std::unique_ptr<PrometheusServer> PrometheusServer::Start(const PrometheusOptions& options,
                                                          std::string* error) {
  if (access(options.binary.c_str(), X_OK) != 0) {
    *error =
        options.binary + " is missing: install Debian's prometheus package (scripts/setup.sh does)";
    return nullptr;
  }
  std::unique_ptr<PrometheusServer> server(new PrometheusServer());
  std::optional<std::string> directory = MakeTempDirectory(error);
  if (!directory) return nullptr;
  server->directory_ = *directory;
  if (!WriteFile(server->directory_ + "/prometheus.yml", ConfigYaml(options), error)) {
    return nullptr;
  }
  // The free port may be taken between picking it and Prometheus binding it.
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    if (!server->StartProcess(options, error)) return nullptr;
    if (server->WaitUntilReady(options.start_timeout, error)) return server;
    bool port_taken = server->Log().find("address already in use") != std::string::npos;
    server->process_->Stop();
    if (!port_taken) break;
  }
  return nullptr;
}

bool PrometheusServer::StartProcess(const PrometheusOptions& options, std::string* error) {
  port_ = FreeLoopbackPort();
  ProcessOptions process;
  process.binary = options.binary;
  process.args = {"--config.file=" + directory_ + "/prometheus.yml",
                  "--storage.tsdb.path=" +
                      (options.tsdb_path.empty() ? directory_ + "/data" : options.tsdb_path),
                  "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
  process.args.insert(process.args.end(), options.extra_args.begin(), options.extra_args.end());
  process.working_directory = directory_;
  process.stdout_path = directory_ + "/prometheus.stdout";
  process.stderr_path = directory_ + "/prometheus.log";
  process_options_ = process;
  start_timeout_ = options.start_timeout;
  process_ = Process::Start(process, error);
  return process_ != nullptr;
}

void PrometheusServer::Stop() {
  if (process_) process_->Stop();
}

bool PrometheusServer::Restart(std::string* error) {
  Stop();
  process_ = Process::Start(process_options_, error);
  return process_ != nullptr && WaitUntilReady(start_timeout_, error);
}

bool PrometheusServer::WaitUntilReady(std::chrono::milliseconds timeout, std::string* error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpClientOptions client;
  client.timeout = std::chrono::milliseconds(1000);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->Running()) {
      *error = "prometheus exited before it was ready; its log:\n" + Log();
      return false;
    }
    if (HttpGet(url() + "/-/ready", client).status == 200) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  *error =
      "prometheus not ready after " + std::to_string(timeout.count()) + " ms; its log:\n" + Log();
  return false;
}

PrometheusServer::~PrometheusServer() {
  if (process_) process_->Stop();
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

std::string PrometheusServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string PrometheusServer::Log() const { return process_ ? process_->Stderr() : ""; }

bool PrometheusServer::Query(const std::string& expr, std::vector<PromSample>* samples,
                             std::string* error) const {
  return QueryInstant(url(), expr, std::nullopt, samples, error);
}

bool QueryInstant(const std::string& base_url, const std::string& expr,
                  std::optional<double> time_seconds, std::vector<PromSample>* samples,
                  std::string* error) {
  samples->clear();
  std::string request = base_url + "/api/v1/query?query=" + UrlEncode(expr);
  if (time_seconds) {
    char time[32];
    snprintf(time, sizeof time, "%.3f", *time_seconds);
    request += std::string("&time=") + time;
  }
  HttpResponse response = HttpGet(request);
  if (response.status == 0) {
    *error = "query " + expr + ": " + response.error;
    return false;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element document;
  if (parser.parse(response.body).get(document) != simdjson::SUCCESS) {
    *error = "query " + expr + ": status " + std::to_string(response.status) +
             ", not JSON: " + Truncated(response.body);
    return false;
  }
  std::string_view status;
  if (document["status"].get_string().get(status) != simdjson::SUCCESS || status != "success") {
    *error = "query " + expr + ": " + std::string(StringOr(document["error"], "unknown error"));
    return false;
  }
  std::string_view result_type;
  simdjson::dom::element result;
  if (document["data"]["resultType"].get_string().get(result_type) != simdjson::SUCCESS ||
      document["data"]["result"].get(result) != simdjson::SUCCESS) {
    *error = "query " + expr + ": unexpected response " + Truncated(response.body);
    return false;
  }
  bool parsed = false;
  if (result_type == "vector") {
    simdjson::dom::array vector;
    parsed = result.get_array().get(vector) == simdjson::SUCCESS && ParseVector(vector, samples);
  } else if (result_type == "scalar") {
    samples->emplace_back();
    parsed = ParseSampleValue(result, &samples->back().value);
  }
  if (!parsed) {
    *error = "query " + expr + ": cannot read a " + std::string(result_type) + " result from " +
             Truncated(response.body);
    return false;
  }
  return true;
}

bool PrometheusServer::WaitForScrapes(const std::string& target, int count,
                                      std::chrono::milliseconds timeout, std::string* error) const {
  // Every successful scrape writes up=1, so the sum counts them exactly.
  const std::string expr = "sum_over_time(up{instance=\"" + target + "\"}[1d])";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  double scrapes = 0;
  for (;;) {
    std::vector<PromSample> samples;
    if (!Query(expr, &samples, error)) return false;
    scrapes = samples.empty() ? 0 : samples.front().value;
    if (scrapes >= count) return true;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  *error = "target " + target + ": " + std::to_string(static_cast<int>(scrapes)) + " of " +
           std::to_string(count) + " scrapes succeeded within " + std::to_string(timeout.count()) +
           " ms; " + TargetHealth(target);
  return false;
}

// The target's state from /api/v1/targets, for error messages.
std::string PrometheusServer::TargetHealth(const std::string& target) const {
  HttpResponse response = HttpGet(url() + "/api/v1/targets");
  simdjson::dom::parser parser;
  simdjson::dom::array targets;
  simdjson::dom::element document;
  if (parser.parse(response.body).get(document) != simdjson::SUCCESS ||
      document["data"]["activeTargets"].get_array().get(targets) != simdjson::SUCCESS) {
    return "cannot read /api/v1/targets: " + Truncated(response.body);
  }
  for (simdjson::dom::element active : targets) {
    if (StringOr(active["labels"]["instance"], "") != target) continue;
    return "health=" + std::string(StringOr(active["health"], "")) + " lastError=\"" +
           std::string(StringOr(active["lastError"], "")) + "\"";
  }
  return "Prometheus has no such target";
}

}  // namespace txmon::test
