// The deployment files — docker/ (Dockerfile, compose stack and the configs
// it mounts) and deploy/txmon.service — checked without a Docker engine or
// systemd: every mounted host path exists, every config parses and passes its
// own tool (promtool, amtool, txmon check config, systemd-analyze verify),
// and the pieces agree with each other (service names, ports, topic,
// partitions, the shop schema, the binary's runtime libraries).
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "tests/support/process.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = TXMON_SOURCE_DIR;
const fs::path kDocker = kSource / "docker";
const std::string kTxmonBinary = std::string(TXMON_BINARY_DIR) + "/txmon";

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
}

// A fresh directory under the system's temporary one, removed on destruction.
class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (fs::temp_directory_path() / "txmon-deploy-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct CommandResult {
  int exit_code = -1;  // -1: did not start or did not finish
  std::string out;
  std::string err;
};

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args) {
  TempDirectory directory;
  ProcessOptions options;
  options.binary = binary;
  options.args = args;
  options.stdout_path = (directory.path() / "stdout").string();
  options.stderr_path = (directory.path() / "stderr").string();
  CommandResult result;
  std::string error;
  std::unique_ptr<Process> process = Process::Start(options, &error);
  if (!process) {
    result.err = error;
    return result;
  }
  std::optional<int> code = process->Wait(std::chrono::seconds(60));
  if (!code) code = process->Stop();
  result.exit_code = *code;
  result.out = process->Stdout();
  result.err = process->Stderr();
  return result;
}

bool HaveBinary(const std::string& name) {
  return RunCommand("/bin/sh", {"-c", "command -v " + name}).exit_code == 0;
}

// ------------------------------------------------------------------ compose

struct Mount {
  std::string service;
  fs::path host;  // resolved against docker/
  std::string container;
};

YAML::Node Compose() { return YAML::LoadFile((kDocker / "docker-compose.yml").string()); }

// The bind mounts of every service (short "host:container[:mode]" and long
// {type: bind, source, target} syntax); named volumes are left out.
std::vector<Mount> BindMounts(const YAML::Node& compose) {
  std::vector<Mount> mounts;
  for (const auto& service : compose["services"]) {
    const std::string name = service.first.as<std::string>();
    for (const YAML::Node& volume : service.second["volumes"]) {
      std::string host, container;
      if (volume.IsScalar()) {
        const std::string spec = volume.as<std::string>();
        const size_t colon = spec.find(':');
        if (colon == std::string::npos) continue;
        host = spec.substr(0, colon);
        container = spec.substr(colon + 1);
        container = container.substr(0, container.find(':'));
      } else if (volume["type"].as<std::string>("") == "bind") {
        host = volume["source"].as<std::string>("");
        container = volume["target"].as<std::string>("");
      }
      if (host.empty() || (host[0] != '.' && host[0] != '/')) continue;  // a named volume
      mounts.push_back({name, fs::weakly_canonical(kDocker / host), container});
    }
  }
  return mounts;
}

std::optional<Mount> MountOf(const std::vector<Mount>& mounts, const std::string& service,
                             const std::string& container) {
  for (const Mount& mount : mounts) {
    if (mount.service == service && mount.container == container) return mount;
  }
  return std::nullopt;
}

// "KEY = value" lines of a Java properties file (no continuation lines).
std::map<std::string, std::string> ReadProperties(const fs::path& path) {
  std::map<std::string, std::string> properties;
  std::istringstream lines(ReadFile(path));
  std::string line;
  auto trim = [](std::string text) {
    const auto space = [](unsigned char c) { return std::isspace(c); };
    text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), space));
    text.erase(std::find_if_not(text.rbegin(), text.rend(), space).base(), text.end());
    return text;
  };
  while (std::getline(lines, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    const size_t equals = line.find('=');
    if (equals == std::string::npos) {
      ADD_FAILURE() << path << ": not KEY = value: " << line;
      continue;
    }
    properties[trim(line.substr(0, equals))] = trim(line.substr(equals + 1));
  }
  return properties;
}

TEST(DeployFilesTest, ComposeHasTheWholeStack) {
  YAML::Node compose = Compose();
  for (const char* service :
       {"mysql", "kafka", "canal", "txmon", "prometheus", "alertmanager", "grafana"}) {
    EXPECT_TRUE(compose["services"][service]) << "no service " << service;
  }
  EXPECT_EQ(compose["services"]["txmon"]["build"]["dockerfile"].as<std::string>(""),
            "docker/Dockerfile");
  EXPECT_EQ(fs::weakly_canonical(
                kDocker / compose["services"]["txmon"]["build"]["context"].as<std::string>("")),
            fs::weakly_canonical(kSource))
      << "the image builds from the repository root";
}

TEST(DeployFilesTest, EveryBindMountedHostPathExists) {
  std::vector<Mount> mounts = BindMounts(Compose());
  ASSERT_FALSE(mounts.empty());
  for (const Mount& mount : mounts) {
    EXPECT_TRUE(fs::exists(mount.host)) << mount.service << " mounts " << mount.host << " at "
                                        << mount.container << ", which does not exist";
  }
  // Mounts the stack cannot work without, whoever writes their files.
  const std::pair<const char*, const char*> required[] = {
      {"txmon", "/etc/txmon/txmon.yml"},
      {"prometheus", "/etc/prometheus/prometheus.yml"},
      {"prometheus", "/etc/prometheus/rules"},
      {"alertmanager", "/etc/alertmanager/alertmanager.yml"},
      {"grafana", "/etc/grafana/provisioning"},
      {"mysql", "/docker-entrypoint-initdb.d/init.sql"},
      {"canal", "/home/admin/canal-server/conf/canal.properties"},
  };
  for (const auto& [service, container] : required) {
    EXPECT_TRUE(MountOf(mounts, service, container)) << service << " does not mount " << container;
  }
  auto rules = MountOf(mounts, "prometheus", "/etc/prometheus/rules");
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->host, fs::weakly_canonical(kSource / "rules"));
  auto alertmanager = MountOf(mounts, "alertmanager", "/etc/alertmanager/alertmanager.yml");
  ASSERT_TRUE(alertmanager);
  EXPECT_EQ(alertmanager->host, fs::weakly_canonical(kSource / "alertmanager/alertmanager.yml"));
}

// Prometheus loads /etc/prometheus/rules/*.yml, the repository's rules/: an
// empty folder (which git does not even keep) would load no rule at all.
TEST(DeployFilesTest, RulesFolderHoldsRuleFiles) {
  const fs::path rules = kSource / "rules";
  int files = 0;
  if (fs::is_directory(rules)) {
    for (const auto& entry : fs::directory_iterator(rules))
      files += entry.path().extension() == ".yml";
  }
  EXPECT_GT(files, 0) << rules << " holds no *.yml rule file for the compose stack's Prometheus";
}

TEST(DeployFilesTest, YamlFilesParse) {
  std::vector<fs::path> files = {kDocker / "docker-compose.yml", kDocker / "prometheus.yml",
                                 kDocker / "txmon.yml", kSource / "alertmanager/alertmanager.yml"};
  for (const fs::path& folder : {kSource / "rules", kSource / "grafana/provisioning"}) {
    if (!fs::exists(folder)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (entry.path().extension() == ".yml" || entry.path().extension() == ".yaml") {
        files.push_back(entry.path());
      }
    }
  }
  for (const fs::path& file : files) {
    if (!fs::exists(file)) continue;  // EveryBindMountedHostPathExists reports it
    try {
      YAML::Node node = YAML::LoadFile(file.string());
      EXPECT_TRUE(node.IsMap()) << file << ": not a mapping at top level";
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
}

// ------------------------------------------------------------------ prometheus

// promtool resolves rule_files as Prometheus in the container would: the
// container paths of the prometheus service's mounts are mapped back to the
// host paths (so /etc/prometheus/rules/*.yml checks the repository's rules/).
TEST(DeployFilesTest, PromtoolAcceptsThePrometheusConfig) {
  ASSERT_TRUE(fs::exists("/usr/bin/promtool")) << "scripts/setup.sh installs prometheus";
  std::vector<Mount> mounts = BindMounts(Compose());
  YAML::Node config = YAML::LoadFile((kDocker / "prometheus.yml").string());
  ASSERT_TRUE(config["rule_files"]) << "no rule_files: the rules in rules/ would not be loaded";
  YAML::Node rule_files(YAML::NodeType::Sequence);
  for (const YAML::Node& pattern : config["rule_files"]) {
    std::string path = pattern.as<std::string>();
    for (const Mount& mount : mounts) {
      if (mount.service == "prometheus" && path.starts_with(mount.container + "/")) {
        path = mount.host.string() + path.substr(mount.container.size());
      }
    }
    EXPECT_TRUE(path.starts_with(kSource.string()))
        << pattern << " is outside every mount of the prometheus service";
    rule_files.push_back(path);
  }
  config["rule_files"] = rule_files;
  TempDirectory directory;
  const fs::path copy = directory.path() / "prometheus.yml";
  YAML::Emitter out;
  out << config;
  WriteFile(copy, out.c_str());
  CommandResult result = RunCommand("/usr/bin/promtool", {"check", "config", copy.string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("SUCCESS"), std::string::npos) << result.out << result.err;
}

TEST(DeployFilesTest, PrometheusScrapesTxmonAndAlertsAlertmanager) {
  YAML::Node compose = Compose();
  YAML::Node config = YAML::LoadFile((kDocker / "prometheus.yml").string());
  std::set<std::string> targets;
  for (const YAML::Node& job : config["scrape_configs"]) {
    for (const YAML::Node& group : job["static_configs"]) {
      for (const YAML::Node& target : group["targets"]) targets.insert(target.as<std::string>());
    }
  }
  EXPECT_TRUE(targets.count("txmon:9464")) << "no scrape job for txmon:9464";
  std::set<std::string> alertmanagers;
  for (const YAML::Node& am : config["alerting"]["alertmanagers"]) {
    for (const YAML::Node& group : am["static_configs"]) {
      for (const YAML::Node& target : group["targets"]) {
        alertmanagers.insert(target.as<std::string>());
      }
    }
  }
  EXPECT_TRUE(alertmanagers.count("alertmanager:9093"));
  // Grafana's $__rate_interval assumes the datasource's timeInterval is the
  // scrape interval: Prometheus' for txmon-prometheus, the agent's
  // history.resolution for txmon-live (the agent itself).
  YAML::Node datasources =
      YAML::LoadFile((kSource / "grafana/provisioning/datasources/datasources.yml").string());
  YAML::Node agent = YAML::LoadFile((kSource / "docker/txmon.yml").string());
  for (const YAML::Node& datasource : datasources["datasources"]) {
    if (datasource["type"].as<std::string>("") != "prometheus") continue;
    const bool live = datasource["uid"].as<std::string>("") == "txmon-live";
    EXPECT_EQ(datasource["jsonData"]["timeInterval"].as<std::string>(""),
              live ? agent["history"]["resolution"].as<std::string>("1s")
                   : config["global"]["scrape_interval"].as<std::string>(""));
  }
}

TEST(DeployFilesTest, AmtoolAcceptsTheAlertmanagerConfig) {
  const fs::path config = kSource / "alertmanager/alertmanager.yml";
  ASSERT_TRUE(fs::exists(config)) << config << " (the compose stack mounts it)";
  ASSERT_TRUE(fs::exists("/usr/bin/amtool")) << "scripts/setup.sh installs prometheus-alertmanager";
  CommandResult result = RunCommand("/usr/bin/amtool", {"check-config", config.string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

// ------------------------------------------------------------------ txmon

TEST(DeployFilesTest, TxmonAcceptsItsComposeConfig) {
  CommandResult result =
      RunCommand(kTxmonBinary, {"check", "config", (kDocker / "txmon.yml").string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("SUCCESS"), std::string::npos) << result.out;
}

TEST(DeployFilesTest, ComposeConfigHasTheShippedMetrics) {
  YAML::Node docker = YAML::LoadFile((kDocker / "txmon.yml").string());
  YAML::Node shipped = YAML::LoadFile((kSource / "txmon.yml").string());
  EXPECT_EQ(YAML::Dump(docker["metrics"]), YAML::Dump(shipped["metrics"]))
      << "docker/txmon.yml's metrics differ from txmon.yml's";
  EXPECT_EQ(YAML::Dump(docker["global"]), YAML::Dump(shipped["global"]));
  EXPECT_EQ(docker["source"]["kafka"]["brokers"].as<std::string>(""), "kafka:9092");
}

// Canal publishes flat messages to the topic txmon reads, hashed over as many
// partitions as the topic has, from the MySQL service as the init.sql user.
TEST(DeployFilesTest, CanalPublishesWhatTxmonReads) {
  YAML::Node compose = Compose();
  YAML::Node txmon = YAML::LoadFile((kDocker / "txmon.yml").string());
  auto server = ReadProperties(kDocker / "canal/canal.properties");
  auto instance = ReadProperties(kDocker / "canal/instance.properties");

  EXPECT_EQ(server["canal.serverMode"], "kafka");
  EXPECT_EQ(server["canal.mq.flatMessage"], "true");
  EXPECT_EQ(server["kafka.bootstrap.servers"], "kafka:9092");
  EXPECT_EQ(server["canal.instance.binlog.format"], "ROW");
  EXPECT_EQ(server["canal.instance.binlog.image"], "FULL");
  EXPECT_EQ(txmon["source"]["format"].as<std::string>(""), "canal");

  // The instance file is mounted in the folder of the one destination.
  const std::string destination = server["canal.destinations"];
  EXPECT_TRUE(MountOf(BindMounts(compose), "canal",
                      "/home/admin/canal-server/conf/" + destination + "/instance.properties"))
      << "instance.properties is not mounted for destination " << destination;

  const std::string topic = instance["canal.mq.topic"];
  ASSERT_TRUE(txmon["source"]["kafka"]["topics"].IsSequence());
  EXPECT_EQ(txmon["source"]["kafka"]["topics"][0].as<std::string>(""), topic);
  EXPECT_EQ(txmon["source"]["kafka"]["topics"].size(), 1u);

  const std::string partitions = instance["canal.mq.partitionsNum"];
  EXPECT_EQ(compose["services"]["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"].as<std::string>(""),
            partitions);
  std::set<std::string> init_args;
  for (const YAML::Node& arg : compose["services"]["kafka-init"]["command"]) {
    init_args.insert(arg.as<std::string>());
  }
  EXPECT_TRUE(init_args.count("--topic=" + topic)) << "kafka-init does not create " << topic;
  EXPECT_TRUE(init_args.count("--partitions=" + partitions));

  const std::string hash = instance["canal.mq.partitionHash"];
  for (const char* table : {"shop.orders:id", "shop.payments:order_id", "shop.refunds:order_id"}) {
    EXPECT_NE(hash.find(table), std::string::npos) << "partitionHash lacks " << table;
  }
  EXPECT_EQ(instance["canal.instance.master.address"], "mysql:3306");
  const std::string init_sql = ReadFile(kDocker / "mysql/init.sql");
  EXPECT_NE(init_sql.find("CREATE USER '" + instance["canal.instance.dbUsername"] + "'"),
            std::string::npos);
  EXPECT_NE(init_sql.find("BY '" + instance["canal.instance.dbPassword"] + "'"), std::string::npos);
  EXPECT_NE(init_sql.find("REPLICATION SLAVE"), std::string::npos);

  std::set<std::string> mysql_args;
  for (const YAML::Node& arg : compose["services"]["mysql"]["command"]) {
    mysql_args.insert(arg.as<std::string>());
  }
  EXPECT_TRUE(mysql_args.count("--binlog-format=ROW"));
  EXPECT_TRUE(mysql_args.count("--binlog-row-image=FULL"));
}

// ------------------------------------------------------------------ schema

using Columns = std::map<std::string, std::string>;  // column -> type, upper case

std::string Normalized(std::string type) {
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return c == ' '; }),
             type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return type;
}

// The table of docs/demo-shop-schema.md: | `orders` | `id` BIGINT PK, ... |
std::map<std::string, Columns> DocumentedSchema() {
  std::map<std::string, Columns> tables;
  static const std::regex kRow(R"(^\| `(\w+)` \| (.+) \|$)");
  static const std::regex kColumn(R"(`(\w+)` (\w+(?:\(\d+(?:,\d+)?\))?))");
  std::istringstream lines(ReadFile(kSource / "docs/demo-shop-schema.md"));
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch row;
    if (!std::regex_match(line, row, kRow)) continue;
    const std::string columns = row[2].str();
    Columns& table = tables[row[1].str()];
    for (auto it = std::sregex_iterator(columns.begin(), columns.end(), kColumn);
         it != std::sregex_iterator(); ++it) {
      table[(*it)[1].str()] = Normalized((*it)[2].str());
    }
  }
  return tables;
}

// The CREATE TABLE statements of docker/mysql/init.sql.
std::map<std::string, Columns> InitSqlSchema() {
  std::map<std::string, Columns> tables;
  static const std::regex kTable(R"(CREATE TABLE (\w+) \(([^;]*)\)[^;]*;)");
  static const std::regex kColumn(R"(^\s*(\w+)\s+(\w+(?:\(\d+(?:,\d+)?\))?))");
  const std::string sql = ReadFile(kDocker / "mysql/init.sql");
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), kTable); it != std::sregex_iterator();
       ++it) {
    Columns& table = tables[(*it)[1].str()];
    std::istringstream lines((*it)[2].str());
    std::string line;
    while (std::getline(lines, line)) {
      std::smatch column;
      if (!std::regex_search(line, column, kColumn)) continue;
      const std::string name = column[1].str();
      if (name == "PRIMARY" || name == "KEY" || name == "UNIQUE" || name == "INDEX") continue;
      table[name] = Normalized(column[2].str());
    }
  }
  return tables;
}

TEST(DeployFilesTest, MysqlSchemaIsTheDocumentedShopSchema) {
  std::map<std::string, Columns> documented = DocumentedSchema();
  ASSERT_EQ(documented.size(), 4u) << "cannot read docs/demo-shop-schema.md's table";
  EXPECT_EQ(InitSqlSchema(), documented);
}

// Every table and column docker/txmon.yml's mappings read exists in init.sql.
TEST(DeployFilesTest, MappingsReadColumnsOfTheMysqlSchema) {
  std::map<std::string, Columns> schema = InitSqlSchema();
  YAML::Node config = YAML::LoadFile((kDocker / "txmon.yml").string());
  for (const YAML::Node& metric : config["metrics"]) {
    const std::string name = metric["name"].as<std::string>("");
    const std::string table = metric["table"].as<std::string>("");
    ASSERT_TRUE(schema.count(table)) << name << ": no table " << table;
    std::vector<std::string> columns;
    for (const YAML::Node& label : metric["labels"]) {
      columns.push_back(label["column"].as<std::string>(label["name"].as<std::string>("")));
    }
    const YAML::Node transition = metric["transition"];
    const YAML::Node value = metric["value"];
    if (transition) columns.push_back(transition["column"].as<std::string>(""));
    if (value && value["column"]) columns.push_back(value["column"].as<std::string>());
    if (value && value["seconds_between"]) {
      columns.push_back(value["seconds_between"]["start"].as<std::string>(""));
      columns.push_back(value["seconds_between"]["end"].as<std::string>(""));
    }
    for (const std::string& column : columns) {
      EXPECT_TRUE(schema[table].count(column)) << name << ": no column " << table << "." << column;
    }
  }
}

// ------------------------------------------------------------------ Dockerfile

struct Stage {
  std::string from;
  std::vector<std::string> instructions;  // continuation lines joined
};

std::vector<Stage> DockerfileStages() {
  std::vector<Stage> stages;
  std::istringstream lines(ReadFile(kDocker / "Dockerfile"));
  std::string line, instruction;
  while (std::getline(lines, line)) {
    if (instruction.empty() && (line.empty() || line[0] == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      instruction += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    instruction += line;
    if (instruction.starts_with("FROM ")) {
      stages.push_back({instruction.substr(5), {}});
    } else if (!stages.empty()) {
      stages.back().instructions.push_back(instruction);
    }
    instruction.clear();
  }
  return stages;
}

bool HasInstruction(const Stage& stage, const std::string& text) {
  return std::any_of(stage.instructions.begin(), stage.instructions.end(),
                     [&](const std::string& i) { return i.find(text) != std::string::npos; });
}

TEST(DeployFilesTest, DockerfileBuildsInStagesAndRunsAsTxmon) {
  std::vector<Stage> stages = DockerfileStages();
  ASSERT_GE(stages.size(), 2u) << "not a multi-stage build";
  for (const Stage& stage : stages) {
    EXPECT_TRUE(stage.from.starts_with("debian:12")) << "FROM " << stage.from;
  }
  const Stage& build = stages.front();
  EXPECT_TRUE(HasInstruction(build, "scripts/setup.sh")) << "the builder installs with setup.sh";
  EXPECT_TRUE(HasInstruction(build, "cmake --build"));
  const Stage& runtime = stages.back();
  EXPECT_TRUE(HasInstruction(runtime, "COPY --from="));
  EXPECT_TRUE(HasInstruction(runtime, "useradd --system"));
  EXPECT_TRUE(std::count(runtime.instructions.begin(), runtime.instructions.end(), "USER txmon"))
      << "the runtime stage must run as txmon";
  EXPECT_TRUE(std::count(runtime.instructions.begin(), runtime.instructions.end(), "EXPOSE 9464"));
  EXPECT_TRUE(std::count(
      runtime.instructions.begin(), runtime.instructions.end(),
      R"(ENTRYPOINT ["/usr/local/bin/txmon", "--config.file=/etc/txmon/txmon.yml", "--checkpoint.file=/var/lib/txmon/checkpoint"])"));
  EXPECT_FALSE(HasInstruction(runtime, "build-essential")) << "no toolchain at run time";
  // The compose stack mounts its config where the entrypoint reads it.
  EXPECT_TRUE(MountOf(BindMounts(Compose()), "txmon", "/etc/txmon/txmon.yml"));
}

// The packages installed in the runtime stage.
std::set<std::string> RuntimePackages() {
  std::set<std::string> packages;
  const Stage runtime = DockerfileStages().back();
  for (const std::string& instruction : runtime.instructions) {
    size_t install = instruction.find("apt-get install");
    if (install == std::string::npos) continue;
    std::istringstream words(instruction.substr(install + 15));
    std::string word;
    while (words >> word && word != "&&") {
      if (word[0] != '-') packages.insert(word);
    }
  }
  return packages;
}

// Every shared library the txmon binary links directly (its NEEDED entries)
// comes from a package the runtime stage installs: the image can run it.
TEST(DeployFilesTest, RuntimeStageInstallsTheLibrariesOfTheBinary) {
  ASSERT_TRUE(HaveBinary("readelf") && HaveBinary("dpkg")) << "needs readelf and dpkg";
  CommandResult elf = RunCommand("readelf", {"-d", kTxmonBinary});
  ASSERT_EQ(elf.exit_code, 0) << elf.err;
  static const std::regex kNeeded(R"(\(NEEDED\)\s+Shared library: \[(\S+)\])");
  std::vector<std::string> sonames, patterns;
  for (auto it = std::sregex_iterator(elf.out.begin(), elf.out.end(), kNeeded);
       it != std::sregex_iterator(); ++it) {
    sonames.push_back((*it)[1].str());
    patterns.push_back("*/" + sonames.back());
  }
  // The directory the loader takes each library from, e.g. x86_64-linux-gnu
  // (dpkg also knows the lib32 copies of some).
  CommandResult ldd = RunCommand("ldd", {kTxmonBinary});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  std::map<std::string, std::string> loaded_from;  // soname -> directory name
  static const std::regex kLdd(R"((\S+) => (\S+))");
  for (auto it = std::sregex_iterator(ldd.out.begin(), ldd.out.end(), kLdd);
       it != std::sregex_iterator(); ++it) {
    loaded_from[(*it)[1].str()] = fs::path((*it)[2].str()).parent_path().filename().string();
  }
  // One query for all: "package:arch: /usr/lib/x86_64-linux-gnu/libfoo.so.1"
  // per file (the soname link ships in the library's runtime package).
  std::vector<std::string> args = {"-S"};
  args.insert(args.end(), patterns.begin(), patterns.end());
  CommandResult owners = RunCommand("dpkg", args);
  ASSERT_EQ(owners.exit_code, 0) << owners.out << owners.err;
  std::map<std::string, std::string> package_of;  // soname -> package
  std::istringstream lines(owners.out);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t at = line.find(": /");
    if (at == std::string::npos) continue;
    const fs::path file = line.substr(at + 2);
    const std::string soname = file.filename().string();
    if (file.parent_path().filename() != loaded_from[soname]) continue;
    package_of[soname] = line.substr(0, line.find_first_of(":,"));
  }
  const std::set<std::string> installed = RuntimePackages();
  for (const std::string& soname : sonames) {
    ASSERT_TRUE(package_of.count(soname)) << "no package holds " << soname << ":\n" << owners.out;
    EXPECT_TRUE(installed.count(package_of[soname]))
        << soname << " comes from " << package_of[soname]
        << ", which docker/Dockerfile's runtime stage does not install";
  }
  const size_t needed = sonames.size();
  EXPECT_GT(needed, 3u);
}

// ------------------------------------------------------------------ systemd

using Ini = std::map<std::string, std::multimap<std::string, std::string>>;

Ini ReadUnit(const fs::path& path) {
  Ini ini;
  std::istringstream lines(ReadFile(path));
  std::string line, section;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      EXPECT_EQ(line.back(), ']') << line;
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const size_t equals = line.find('=');
    if (equals == std::string::npos || section.empty()) {
      ADD_FAILURE() << path << ": not KEY=value in a section: " << line;
      continue;
    }
    ini[section].emplace(line.substr(0, equals), line.substr(equals + 1));
  }
  return ini;
}

std::string Value(const Ini& ini, const std::string& section, const std::string& key) {
  auto s = ini.find(section);
  if (s == ini.end()) return "";
  auto k = s->second.find(key);
  return k == s->second.end() ? "" : k->second;
}

TEST(DeployFilesTest, SystemdUnitHasTheRequiredSettings) {
  const Ini unit = ReadUnit(kSource / "deploy/txmon.service");
  EXPECT_EQ(Value(unit, "Service", "ExecStart"),
            "/usr/local/bin/txmon --config.file=/etc/txmon/txmon.yml "
            "--checkpoint.file=/var/lib/txmon/checkpoint");
  EXPECT_EQ(Value(unit, "Service", "User"), "txmon");
  EXPECT_EQ(Value(unit, "Service", "Restart"), "on-failure");
  EXPECT_EQ(Value(unit, "Service", "NoNewPrivileges"), "yes");
  EXPECT_EQ(Value(unit, "Service", "ProtectSystem"), "strict");
  EXPECT_EQ(Value(unit, "Install", "WantedBy"), "multi-user.target");
  EXPECT_FALSE(Value(unit, "Unit", "Description").empty());
  // SIGHUP reloads the configuration.
  EXPECT_EQ(Value(unit, "Service", "ExecReload"), "/bin/kill -HUP $MAINPID");
}

// systemd-analyze verify, with the binary paths pointed at the built txmon
// (verify insists that they exist). It reports unknown keys and bad values
// on stderr but still exits 0, so any output is a failure.
TEST(DeployFilesTest, SystemdAnalyzeVerifiesTheUnit) {
  ASSERT_TRUE(HaveBinary("systemd-analyze")) << "scripts/setup.sh installs systemd";
  std::string text = ReadFile(kSource / "deploy/txmon.service");
  const std::string installed = "/usr/local/bin/txmon";
  for (size_t at = text.find(installed); at != std::string::npos;
       at = text.find(installed, at + kTxmonBinary.size())) {
    text.replace(at, installed.size(), kTxmonBinary);
  }
  TempDirectory directory;
  const fs::path copy = directory.path() / "txmon.service";
  WriteFile(copy, text);
  CommandResult result = RunCommand("systemd-analyze", {"verify", "--man=no", copy.string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out, "");
}

}  // namespace
}  // namespace txmon::test
