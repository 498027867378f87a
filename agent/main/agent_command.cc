// `txmon [flags]` (run the agent) and `txmon check config FILE...`.
#include <csignal>
#include <cstdio>

#include "agent/base/build_info.h"
#include "agent/base/duration.h"
#include "agent/base/large_stack.h"
#include "agent/base/log.h"
#include "agent/config/web_config.h"
#include "agent/main/agent.h"
#include "agent/main/commands.h"
#include "agent/main/flags.h"
#include "agent/main/run_signals.h"
#include "agent/main/start_check.h"
#include "agent/rules/rule_file.h"

namespace txmon {

std::string VersionText() {
  return "txmon, version " + std::string(kVersion) + " (revision: " + std::string(kRevision) +
         ")\n";
}

std::string TopLevelHelp() {
  return "txmon: real-time e-commerce transaction monitoring.\n"
         "Follows the shop's MySQL change stream (Canal flat messages on Kafka, or a JSON-lines\n"
         "file), turns it into Prometheus metrics and serves them on /metrics.\n\n"
         "Commands:\n"
         "  txmon [flags]                 run the agent (txmon --help lists the flags)\n"
         "  txmon demo [flags]            run a simulated shop into an embedded Kafka and the\n"
         "                                agent on it (txmon demo --help)\n"
         "  txmon check config FILE...    validate configuration files and exit\n"
         "  txmon check web-config FILE... validate web config files (TLS, basic auth)\n"
         "  txmon retire [flags]          take a stopped agent out of its consumer group for\n"
         "                                good; another agent adopts its counts (txmon retire\n"
         "                                --help)\n"
         "  txmon --version               print the version\n\n"
         "Exit codes: 0 success, 1 failure while running, 2 bad usage or refused config.\n";
}

// Flags shared by the agent and the demo.
void AddCommonFlags(FlagSet& flags) {
  flags.AddString("web.listen-address", ":9464",
                  "Address to serve /metrics, /-/healthy and /-/ready on (host:port, port 0 "
                  "picks a free one).");
  flags.AddString("web.config.file", "",
                  "Web config file enabling TLS and basic auth on every endpoint, in the format "
                  "of Prometheus' exporter-toolkit (tls_server_config, basic_auth_users, "
                  "http_server_config.headers). Empty: plain HTTP, no auth.");
  flags.AddBool("web.enable-lifecycle",
                "Enable POST /-/reload (reload the configuration and rule files, as SIGHUP "
                "does), as Prometheus' flag of that name does.");
  flags.AddString("web.external-url", "",
                  "URL under which txmon is reached by users, used in alerts' generatorURL "
                  "(default: http://HOSTNAME:PORT).");
  AddLogFlags(flags, "info");
  flags.AddBool("help", "Show this help and exit.");
}

void AddLogFlags(FlagSet& flags, const char* default_level) {
  flags.AddString("log.level", default_level,
                  "Only log messages of this level or above: debug, "
                  "info, warn, error.");
  flags.AddString("log.format", "logfmt", "Log line format: logfmt or json.");
}

Status ApplyLogFlags(const FlagSet& flags) {
  if (!SetLogLevel(flags.Get("log.level"))) {
    return Status::Error("--log.level: unknown level \"" + flags.Get("log.level") + "\"");
  }
  if (!SetLogFormat(flags.Get("log.format"))) {
    return Status::Error("--log.format: unknown format \"" + flags.Get("log.format") + "\"");
  }
  return Status::Ok();
}

Status ApplyWebFlags(const FlagSet& flags, AgentOptions* options) {
  options->web_listen_address = flags.Get("web.listen-address");
  options->web_external_url = flags.Get("web.external-url");
  options->web_enable_lifecycle = flags.GetBool("web.enable-lifecycle");
  const std::string& web_config = flags.Get("web.config.file");
  if (web_config.empty()) return Status::Ok();
  return LoadWebConfigFile(web_config, &options->web_security);
}

int RunAgentUntilSignal(AgentOptions options) {
  std::unique_ptr<Agent> agent;
  if (Status s = Agent::Create(std::move(options), &agent); !s.ok()) {
    Log(LogLevel::kError, "main", "cannot start", {{"err", s.message()}});
    return kExitUsage;
  }
  printf("txmon: serving %s://127.0.0.1:%d/metrics (listening on %s)\n", agent->web_scheme(),
         agent->web_port(), agent->web_address().c_str());
  fflush(stdout);
  StopOnSignals([&agent] { agent->RequestStop(); });
  // Reload logs a refusal itself, with the reason.
  ReloadOnSignal([&agent] { RunOnLargeStack([&agent] { static_cast<void>(agent->Reload()); }); });
  Status status = agent->Run();
  ReloadOnSignal(nullptr);
  StopOnSignals(nullptr);
  if (!status.ok()) {
    Log(LogLevel::kError, "main", "stopped on an error", {{"err", status.message()}});
    return kExitRuntimeError;
  }
  return kExitOk;
}

// --one-shot: the file replayed, the final metrics on standard output.
int RunOneShot(AgentOptions options) {
  options.web_listen_address = "127.0.0.1:0";  // nothing to serve; any free port
  std::unique_ptr<Agent> agent;
  if (Status s = Agent::Create(std::move(options), &agent); !s.ok()) {
    Log(LogLevel::kError, "main", "cannot start", {{"err", s.message()}});
    return kExitUsage;
  }
  if (Status s = agent->Run(); !s.ok()) {
    Log(LogLevel::kError, "main", "stopped on an error", {{"err", s.message()}});
    return kExitRuntimeError;
  }
  const std::string text = agent->MetricsText();
  fwrite(text.data(), 1, text.size(), stdout);
  fflush(stdout);
  return kExitOk;
}

int RunAgentCommand(const std::vector<std::string>& args) {
  FlagSet flags(TopLevelHelp() + "\nUsage: txmon [flags]");
  flags.AddString("config.file", "txmon.yml", "txmon configuration file (YAML).");
  flags.AddString("source.file", "",
                  "Replay Canal messages from this JSON-lines file (one message per line; - "
                  "for standard input) instead of consuming Kafka. Exits at the end of the file.");
  flags.AddBool("one-shot",
                "With --source.file: replay the file, print the final metrics in the Prometheus "
                "text format to standard output and exit (as mtail's --one_shot).");
  flags.AddString("checkpoint.file", "",
                  "Checkpoint the whole metric state with the source positions to this file, and "
                  "resume from it at start, so restarts and crashes neither reset nor double-count "
                  "(empty: no checkpoints).");
  flags.AddString("checkpoint.interval", "1s", "How often to checkpoint (also at shutdown).");
  AddCommonFlags(flags);
  if (Status s = flags.Parse(args); !s.ok()) {
    fprintf(stderr, "txmon: %s\n", s.message().c_str());
    return kExitUsage;
  }
  if (flags.GetBool("help")) {
    fputs(flags.Help().c_str(), stdout);
    return kExitOk;
  }
  if (!flags.positional().empty()) {
    fprintf(stderr, "txmon: unexpected argument \"%s\" (see --help)\n",
            flags.positional()[0].c_str());
    return kExitUsage;
  }
  if (Status s = ApplyLogFlags(flags); !s.ok()) {
    fprintf(stderr, "txmon: %s\n", s.message().c_str());
    return kExitUsage;
  }
  AgentOptions options;
  if (Status s = LoadConfigFile(flags.Get("config.file"), &options.config); !s.ok()) {
    Log(LogLevel::kError, "config", "refused the configuration", {{"err", s.message()}});
    return kExitUsage;
  }
  options.source_file = flags.Get("source.file");
  options.pipeline.checkpoint_path = flags.Get("checkpoint.file");
  std::optional<std::chrono::milliseconds> interval =
      ParseDuration(flags.Get("checkpoint.interval"));
  if (!interval || interval->count() <= 0) {
    fprintf(stderr, "txmon: --checkpoint.interval: not a duration: \"%s\"\n",
            flags.Get("checkpoint.interval").c_str());
    return kExitUsage;
  }
  options.pipeline.checkpoint_interval = *interval;
  if (Status s = ApplyWebFlags(flags, &options); !s.ok()) {
    Log(LogLevel::kError, "config", "refused the web configuration", {{"err", s.message()}});
    return kExitUsage;
  }
  if (flags.GetBool("one-shot")) {
    if (options.source_file.empty()) {
      fprintf(stderr, "txmon: --one-shot needs --source.file\n");
      return kExitUsage;
    }
    return RunOneShot(std::move(options));
  }
  Log(LogLevel::kInfo, "main", "starting txmon",
      {{"version", std::string(kVersion)}, {"config", flags.Get("config.file")}});
  return RunAgentUntilSignal(std::move(options));
}

namespace {

constexpr char kCheckUsage[] =
    "Usage: txmon check config [--source.file=FILE] FILE...\n"
    "                                        validate txmon configuration files (and the rule\n"
    "                                        files they name) as the agent's start does;\n"
    "                                        --source.file: for a run that replays a file, so\n"
    "                                        the config needs no source\n"
    "       txmon check web-config FILE...   validate web config files (--web.config.file)\n"
    "Exit code 0 if all are valid, 2 if any is refused.\n";

// Loads one file of the kind `what` names; a summary of it on success.
Status CheckOneFile(const std::string& what, const std::string& path, bool source_file_given,
                    std::string* summary) {
  if (what == "web-config") {
    WebSecurity security;
    if (Status s = LoadWebConfigFile(path, &security); !s.ok()) return s;
    *summary = std::string(security.tls ? "TLS" : "plain HTTP") + ", " +
               std::to_string(security.users.size()) + " basic auth users";
    return Status::Ok();
  }
  AgentConfig config;
  if (Status s = LoadConfigFile(path, &config); !s.ok()) return s;
  StartCheck check;  // rule files are part of the config, as in promtool
  if (Status s = CheckStart(config, source_file_given, &check); !s.ok()) return s;
  *summary = std::to_string(config.metrics.size()) + " metrics, " +
             std::to_string(check.rule_groups) + " rule groups found";
  for (const std::string& pattern : check.unmatched_rule_files) {
    *summary += "\n  WARNING: rule_files: \"" + pattern + "\" matches no file";
  }
  for (const std::string& warning : check.warnings) *summary += "\n  WARNING: " + warning;
  return Status::Ok();
}

}  // namespace

int RunCheckCommand(const std::vector<std::string>& args) {
  bool known = !args.empty() && (args[0] == "config" || args[0] == "web-config");
  if (args.size() < 2 || !known) {
    bool asked = args.size() == 1 && args[0] == "--help";
    fputs(kCheckUsage, asked ? stdout : stderr);
    return asked ? kExitOk : kExitUsage;
  }
  bool source_file_given = false;
  std::vector<std::string> files;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[0] == "config" && args[i].starts_with("--source.file=")) {
      source_file_given = true;
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) {
    fputs(kCheckUsage, stderr);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  for (const std::string& file : files) {
    std::string summary;
    Status s = CheckOneFile(args[0], file, source_file_given, &summary);
    if (s.ok()) {
      printf("Checking %s\n  SUCCESS: %s\n", file.c_str(), summary.c_str());
    } else {
      printf("Checking %s\n  FAILED: %s\n", file.c_str(), s.message().c_str());
      exit_code = kExitUsage;
    }
  }
  return exit_code;
}

}  // namespace txmon
