// The txmon subcommands. Each returns the process exit code:
//   0  success
//   1  the agent (or demo) failed while running
//   2  bad usage or a configuration that was refused
#pragma once

#include <string>
#include <vector>

namespace txmon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitUsage = 2;

int RunAgentCommand(const std::vector<std::string>& args);
int RunDemoCommand(const std::vector<std::string>& args);
int RunCheckCommand(const std::vector<std::string>& args);
int RunRetireCommand(const std::vector<std::string>& args);

std::string VersionText();
std::string TopLevelHelp();

// Shared by the agent and demo commands.
class FlagSet;
struct AgentOptions;
class Status;
void AddCommonFlags(FlagSet& flags);  // --web.listen-address, --log.*, --help
// --log.level (default `default_level`) and --log.format, which
// ApplyLogFlags applies.
void AddLogFlags(FlagSet& flags, const char* default_level);
Status ApplyLogFlags(const FlagSet& flags);
// --web.listen-address, --web.external-url and --web.config.file (read and
// validated here, so a bad file is refused before anything starts).
Status ApplyWebFlags(const FlagSet& flags, AgentOptions* options);
// Runs the agent until SIGINT/SIGTERM; returns the exit code.
int RunAgentUntilSignal(AgentOptions options);

}  // namespace txmon
