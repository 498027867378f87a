// `txmon demo`: the whole pipeline on one machine with nothing else running.
// An embedded Kafka (librdkafka's mock cluster, a real Kafka-protocol broker
// on loopback), a simulated shop writing Canal messages into it, and the
// agent consuming them through the same KafkaSource production uses.
// With --source=binlog: a private mariadbd instead, the shop writing SQL
// transactions into it, and the agent reading its binlog as a replica.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/base/log.h"
#include "agent/demo/demo_shop.h"
#include "agent/demo/embedded_kafka.h"
#include "agent/demo/embedded_mariadb.h"
#include "agent/demo/sql_shop.h"
#include "agent/main/agent.h"
#include "agent/main/commands.h"
#include "agent/main/embedded_config.h"
#include "agent/main/flags.h"

namespace txmon {

namespace {

// "%g" of a default, so --help shows "20", not "20.000000".
std::string Text(double value) {
  char buffer[32];
  snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string Seconds(int64_t ms) { return Text(static_cast<double>(ms) / 1000); }

void AddDemoFlags(FlagSet& flags) {
  const ShopSimulatorOptions scenario = DemoScenario();
  flags.AddString("config.file", "",
                  "txmon configuration to run the demo with; its source.kafka section is "
                  "replaced by the embedded Kafka. Default: the shipped txmon.yml, compiled in.");
  flags.AddString("rate", Text(scenario.orders_per_second), "Orders per second outside the surge.");
  flags.AddString("surge", Text(scenario.surge_multiplier),
                  "\"Double 11\" surge: the order rate is multiplied by this.");
  flags.AddString("surge.start", Seconds(scenario.surge_start_ms),
                  "Seconds after the start when the surge begins.");
  flags.AddString("surge.duration", Seconds(scenario.surge_duration_ms),
                  "How many seconds the surge lasts (0: no surge).");
  flags.AddString("outage.start", Seconds(scenario.payment_outage_start_ms),
                  "A staged incident: seconds after the start when every payment begins to fail. "
                  "The shop is healthy otherwise; the outage makes the page alert "
                  "ShopPaymentFailureRatioHigh fire about 80 s after it begins and resolve "
                  "about 100 s after it ends, as the live screen shows.");
  flags.AddString("outage.duration", Seconds(scenario.payment_outage_duration_ms),
                  "How many seconds the payment outage lasts (0: no incident).");
  flags.AddString("time-scale", Text(scenario.time_scale),
                  "Speeds up each order's life (payment, shipping, refunds) by this factor, so "
                  "every status shows within a minute or two.");
  flags.AddString("partitions", "6", "Partitions of the embedded topic.");
  flags.AddString("source", "kafka",
                  "kafka: the shop writes Canal messages into an embedded Kafka; binlog: the "
                  "shop writes SQL into a private mariadbd (Debian's mariadb-server) and txmon "
                  "reads its binlog as a replica.");
  flags.AddString("format", "canal",
                  "What the shop writes into the embedded Kafka, and source.format reads: canal "
                  "(flat messages), debezium (Kafka Connect JsonConverter with the schema "
                  "envelope; DECIMAL in precise mode) or maxwell (one message per row, xid and "
                  "commit). Only with --source=kafka.");
  flags.AddString("seed", "1", "Random seed of the simulated shop.");
  AddCommonFlags(flags);
}

bool ParseNumber(const FlagSet& flags, const std::string& name, double min, double* out) {
  char* end = nullptr;
  const std::string& text = flags.Get(name);
  double value = strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || value < min) {
    fprintf(stderr, "txmon demo: --%s must be a number >= %g, not \"%s\"\n", name.c_str(), min,
            text.c_str());
    return false;
  }
  *out = value;
  return true;
}

bool ReadShopOptions(const FlagSet& flags, DemoShopOptions* shop) {
  double rate, surge, surge_start, surge_duration, outage_start, outage_duration, time_scale,
      partitions, seed;
  if (!ParseNumber(flags, "rate", 0.001, &rate) || !ParseNumber(flags, "surge", 1, &surge) ||
      !ParseNumber(flags, "surge.start", 0, &surge_start) ||
      !ParseNumber(flags, "surge.duration", 0, &surge_duration) ||
      !ParseNumber(flags, "outage.start", 0, &outage_start) ||
      !ParseNumber(flags, "outage.duration", 0, &outage_duration) ||
      !ParseNumber(flags, "time-scale", 0.001, &time_scale) ||
      !ParseNumber(flags, "partitions", 1, &partitions) || !ParseNumber(flags, "seed", 0, &seed)) {
    return false;
  }
  shop->partitions = static_cast<int>(partitions);
  shop->simulator = DemoScenario();
  shop->simulator.seed = static_cast<uint64_t>(seed);
  shop->simulator.orders_per_second = rate;
  shop->simulator.surge_multiplier = surge;
  shop->simulator.surge_start_ms = static_cast<int64_t>(surge_start * 1000);
  shop->simulator.surge_duration_ms = static_cast<int64_t>(surge_duration * 1000);
  shop->simulator.payment_outage_start_ms = static_cast<int64_t>(outage_start * 1000);
  shop->simulator.payment_outage_duration_ms = static_cast<int64_t>(outage_duration * 1000);
  shop->simulator.time_scale = time_scale;
  // Debezium without its envelope needs `scale:`/`epoch:` in the mappings,
  // which the shipped ones do not have: not offered here.
  const std::string& format = flags.Get("format");
  if (format == "debezium-noschema" || !ParseShopFormat(format, &shop->simulator.format)) {
    fprintf(stderr, "txmon demo: --format must be canal, debezium or maxwell, not \"%s\"\n",
            format.c_str());
    return false;
  }
  return true;
}

// The demo's configuration: --config.file, or the compiled-in txmon.yml
// (empty `file`). Reloads read it the same way: there may be no file.
Status LoadDemoConfig(const std::string& file, AgentConfig* config) {
  if (!file.empty()) return LoadConfigFile(file, config);
  return ParseConfig(std::string(kEmbeddedConfig), "txmon.yml (embedded)", config);
}

// Points the config's Kafka source at the embedded broker and topic, read
// in the format the shop writes.
void UseEmbeddedKafka(const std::string& brokers, const std::string& topic, ShopFormat format,
                      AgentConfig* config) {
  config->source.has_kafka = true;
  config->source.format = std::string(SourceFormatOf(format));
  KafkaConfig& source = config->source.kafka;
  source.brokers = brokers;
  source.topics = {topic};
  source.group_id = "txmon-demo";
  source.start_offset = "earliest";
}

// Points the config's source at the private MariaDB's binlog instead.
void UseEmbeddedMariadb(const std::string& address, AgentConfig* config) {
  SourceConfig& source = config->source;
  source.has_kafka = false;
  source.has_binlog = true;
  source.binlog = BinlogConfig();
  source.binlog.address = address;
  source.binlog.user = EmbeddedMariadb::kUser;
  source.binlog.password = EmbeddedMariadb::kPassword;
  source.binlog.server_id = 4242;
  source.binlog.start = "earliest";
  source.binlog.databases = {"shop"};
}

void PrintIncident(const FlagSet& flags, const DemoShopOptions& shop_options) {
  if (shop_options.simulator.payment_outage_duration_ms <= 0) return;
  printf(
      "txmon demo: staged incident: payments fail from %ss for %ss (--outage.duration=0: none)\n",
      flags.Get("outage.start").c_str(), flags.Get("outage.duration").c_str());
}

// The demo from a real COMMIT: mariadbd, the shop as SQL, the binlog source.
int RunBinlogDemo(const FlagSet& flags, const std::string& config_file,
                  const DemoShopOptions& shop_options, AgentOptions options) {
  std::unique_ptr<EmbeddedMariadb> server;
  if (Status started = EmbeddedMariadb::Start(&server); !started.ok()) {
    Log(LogLevel::kError, "demo", "cannot start the private MariaDB server",
        {{"err", started.message()}});
    return kExitRuntimeError;
  }
  SqlShop shop({server->socket_path(), shop_options.simulator});
  if (Status s = shop.Start(); !s.ok()) {
    Log(LogLevel::kError, "demo", "cannot start the simulated shop", {{"err", s.message()}});
    return kExitRuntimeError;
  }
  printf("txmon demo: private MariaDB at %s (socket %s), database shop, %s orders/s, surge x%s\n",
         server->address().c_str(), server->socket_path().c_str(), flags.Get("rate").c_str(),
         flags.Get("surge").c_str());
  PrintIncident(flags, shop_options);
  fflush(stdout);
  const std::string address = server->address();
  UseEmbeddedMariadb(address, &options.config);
  options.load_config = [config_file, address](AgentConfig* config) {
    if (Status s = LoadDemoConfig(config_file, config); !s.ok()) return s;
    UseEmbeddedMariadb(address, config);
    return Status::Ok();
  };
  if (Status s = ApplyWebFlags(flags, &options); !s.ok()) {
    Log(LogLevel::kError, "config", "refused the web configuration", {{"err", s.message()}});
    return kExitUsage;
  }
  int exit_code = RunAgentUntilSignal(std::move(options));
  shop.Stop();
  server->Stop();
  return exit_code;
}

}  // namespace

int RunDemoCommand(const std::vector<std::string>& args) {
  FlagSet flags(
      "Usage: txmon demo [flags]\n\n"
      "Runs a simulated shop into an embedded Kafka (a real Kafka-protocol broker on\n"
      "loopback) and the agent on it, until Ctrl-C. Point Prometheus or a browser at the\n"
      "printed /metrics address. The shop is calm but for one staged payment outage\n"
      "(--outage.start, --outage.duration), so an alert fires and resolves.");
  AddDemoFlags(flags);
  if (Status s = flags.Parse(args); !s.ok()) {
    fprintf(stderr, "txmon demo: %s\n", s.message().c_str());
    return kExitUsage;
  }
  if (flags.GetBool("help")) {
    fputs(flags.Help().c_str(), stdout);
    return kExitOk;
  }
  DemoShopOptions shop_options;
  if (!ReadShopOptions(flags, &shop_options)) return kExitUsage;
  if (Status s = ApplyLogFlags(flags); !s.ok()) {
    fprintf(stderr, "txmon demo: %s\n", s.message().c_str());
    return kExitUsage;
  }
  AgentOptions options;
  const std::string config_file = flags.WasSet("config.file") ? flags.Get("config.file") : "";
  if (Status s = LoadDemoConfig(config_file, &options.config); !s.ok()) {
    Log(LogLevel::kError, "config", "refused the configuration", {{"err", s.message()}});
    return kExitUsage;
  }
  // DATETIME text is written in the configured zone, as the shop's MySQL would.
  if (Status s = LocalZone::Use(options.config.time_zone); !s.ok()) {
    Log(LogLevel::kError, "config", "refused the configuration", {{"err", s.message()}});
    return kExitUsage;
  }

  if (flags.Get("source") == "binlog")
    return RunBinlogDemo(flags, config_file, shop_options, std::move(options));
  if (flags.Get("source") != "kafka") {
    fprintf(stderr, "txmon demo: --source must be kafka or binlog, not \"%s\"\n",
            flags.Get("source").c_str());
    return kExitUsage;
  }
  std::unique_ptr<EmbeddedKafka> kafka;
  if (Status started = EmbeddedKafka::Start({}, &kafka); !started.ok()) {
    Log(LogLevel::kError, "demo", "cannot start the embedded Kafka", {{"err", started.message()}});
    return kExitRuntimeError;
  }
  DemoShop shop(kafka.get(), shop_options);
  if (Status s = shop.Start(); !s.ok()) {
    Log(LogLevel::kError, "demo", "cannot start the simulated shop", {{"err", s.message()}});
    return kExitRuntimeError;
  }
  printf(
      "txmon demo: embedded Kafka at %s, topic %s (%d partitions, %s messages), %s orders/s, "
      "surge x%s\n",
      kafka->bootstrap_servers().c_str(), shop_options.topic.c_str(), shop_options.partitions,
      flags.Get("format").c_str(), flags.Get("rate").c_str(), flags.Get("surge").c_str());
  PrintIncident(flags, shop_options);
  fflush(stdout);

  const std::string brokers = kafka->bootstrap_servers();
  const std::string topic = shop_options.topic;
  const ShopFormat format = shop_options.simulator.format;
  UseEmbeddedKafka(brokers, topic, format, &options.config);
  // SIGHUP and POST /-/reload re-read what the demo started with, so that
  // a reload neither fails for want of a file nor moves the source.
  options.load_config = [config_file, brokers, topic, format](AgentConfig* config) {
    if (Status s = LoadDemoConfig(config_file, config); !s.ok()) return s;
    UseEmbeddedKafka(brokers, topic, format, config);
    return Status::Ok();
  };
  if (Status s = ApplyWebFlags(flags, &options); !s.ok()) {
    Log(LogLevel::kError, "config", "refused the web configuration", {{"err", s.message()}});
    shop.Stop();
    return kExitUsage;
  }
  int exit_code = RunAgentUntilSignal(std::move(options));
  shop.Stop();
  return exit_code;
}

}  // namespace txmon
