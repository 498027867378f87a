// txmon: real-time e-commerce transaction monitoring from the MySQL change
// stream. See `txmon --help`.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/main/commands.h"
#include "agent/main/run_signals.h"

namespace {

// glibc gives threads up to 8 malloc arenas per core, and the web server
// runs about 530 threads: each arena keeps the memory its threads freed, so
// a burst of large requests left RSS at its peak. The hot loop allocates
// nothing per row, so a few arenas cost no contention that matters.
// MALLOC_ARENA_MAX in the environment still decides, as glibc documents.
void LimitMallocArenas() {
#ifdef M_ARENA_MAX
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 4);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  LimitMallocArenas();
  txmon::InstallStopSignalHandling();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    const std::string& first = args.front();
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (first == "demo") return txmon::RunDemoCommand(rest);
    if (first == "check") return txmon::RunCheckCommand(rest);
    if (first == "retire") return txmon::RunRetireCommand(rest);
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
