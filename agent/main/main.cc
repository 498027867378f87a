// txmon: real-time e-commerce transaction monitoring from the MySQL change
// stream. See `txmon --help`.
#include <cstdio>
#include <string>
#include <vector>

#include "agent/main/commands.h"
#include "agent/main/run_signals.h"

int main(int argc, char** argv) {
  txmon::InstallStopSignalHandling();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    const std::string& first = args.front();
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (first == "demo") return txmon::RunDemoCommand(rest);
    if (first == "check") return txmon::RunCheckCommand(rest);
    if (first == "help") {
      fputs(txmon::TopLevelHelp().c_str(), stdout);
      return txmon::kExitOk;
    }
    if (first == "--version" || first == "version") {
      fputs(txmon::VersionText().c_str(), stdout);
      return txmon::kExitOk;
    }
  }
  return txmon::RunAgentCommand(args);
}
