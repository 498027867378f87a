#include "bench/support/shop_backlog.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "agent/base/civil_time.h"
#include "agent/demo/shop_simulator.h"
#include "tests/support/free_port.h"

namespace txmon::bench {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Replace(std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
}

}  // namespace

std::vector<std::string> GenerateShopMessages(int seconds, size_t* rows) {
  ShopSimulatorOptions options;
  options.seed = 11;
  options.orders_per_second = 1200;
  options.time_scale = 30;
  options.initial_users = 12000;  // ~12,000 buyers: the per-user series
  options.record_each_order = false;
  ShopSimulator simulator(options);
  std::vector<CanalMessageOut> out;
  simulator.AdvanceTo(options.start_time_ms + seconds * 1000LL, out);
  std::vector<std::string> messages;
  messages.reserve(out.size());
  for (CanalMessageOut& m : out) messages.push_back(std::move(m.json));
  *rows = simulator.truth().rows_total;
  return messages;
}

std::unique_ptr<EmbeddedKafka> StartShopBacklog(int shop_seconds, const std::string& topic,
                                                int partitions, std::vector<std::string>* messages,
                                                size_t* rows) {
  if (!LocalZone::Use("Asia/Shanghai").ok()) return nullptr;  // the simulator's zone
  std::unique_ptr<EmbeddedKafka> kafka;
  Status status = EmbeddedKafka::Start({}, &kafka);
  if (status.ok()) status = kafka->CreateTopic(topic, partitions);
  if (!status.ok()) {
    fprintf(stderr, "embedded kafka: %s\n", status.message().c_str());
    return nullptr;
  }
  *messages = GenerateShopMessages(shop_seconds, rows);
  for (size_t i = 0; i < messages->size(); ++i) {
    Status s = kafka->Produce(topic, static_cast<int32_t>(i % partitions), (*messages)[i]);
    if (!s.ok()) {
      fprintf(stderr, "produce: %s\n", s.message().c_str());
      return nullptr;
    }
  }
  if (!kafka->Flush(std::chrono::seconds(60)).ok()) return nullptr;
  return kafka;
}

std::string WriteBenchConfig(const std::string& dir, const std::string& brokers,
                             const std::string& group, const std::string& start_offset,
                             bool per_user_series) {
  std::string config = ReadFile(std::string(TXMON_SOURCE_DIR) + "/txmon.yml");
  Replace(config, "brokers: 127.0.0.1:9092", "brokers: " + brokers);
  Replace(config, "group_id: txmon", "group_id: bench-" + group);
  Replace(config, "start_offset: earliest", "start_offset: " + start_offset);
  if (per_user_series) {
    config +=
        "\n  - name: bench_orders_by_user_total\n"
        "    help: Orders by user, to hold many active series.\n"
        "    type: counter\n"
        "    table: orders\n"
        "    on: insert\n"
        "    max_series: 100000\n"
        "    labels:\n"
        "      - {name: user_id, max_values: 100000}\n";
  }
  std::string path = dir + "/txmon-" + group + ".yml";
  std::ofstream(path) << config;
  return path;
}

std::unique_ptr<test::Process> StartBenchAgent(const std::string& dir, const std::string& config,
                                               const std::string& name, std::string* metrics_url) {
  const int port = test::FreeLoopbackPort();
  *metrics_url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  test::ProcessOptions options{
      std::string(TXMON_BINARY_DIR) + "/txmon",
      {"--config.file=" + config, "--web.listen-address=127.0.0.1:" + std::to_string(port),
       "--log.level=warn"},
      "",
      dir + "/stdout-" + name,
      dir + "/stderr-" + name,
      {}};
  std::string error;
  auto agent = test::Process::Start(options, &error);
  if (!agent) fprintf(stderr, "txmon: %s\n", error.c_str());
  return agent;
}

double SumOf(const std::string& text, const std::string& name) {
  double total = 0;
  size_t at = 0;
  while ((at = text.find("\n" + name, at)) != std::string::npos) {
    at += 1;
    char next = text[at + name.size()];
    if (next != '{' && next != ' ') continue;
    size_t line_end = text.find('\n', at);
    size_t space = text.rfind(' ', line_end);
    total += strtod(text.c_str() + space + 1, nullptr);
  }
  return total;
}

size_t CountSeries(const std::string& text) {
  size_t series = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (end > at && text[at] != '#') ++series;
    at = end + 1;
  }
  return series;
}

long RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

}  // namespace txmon::bench
