// A child process for tests: a real server (prometheus, alertmanager,
// mariadbd, the txmon binary) started with arguments, its stdout and stderr
// written to files so a failing test can show them.
//
// The child runs in its own process group, and the whole group is signalled,
// so helpers it starts die with it. It is also killed if the thread that
// started it exits (PR_SET_PDEATHSIG), so a crashed test leaves no server
// listening. The destructor stops the child (SIGTERM, then SIGKILL).
// Threading: one owner; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace txmon::test {

struct ProcessOptions {
  std::string binary;  // a path, or a name looked up in PATH
  std::vector<std::string> args;
  std::string working_directory;         // empty: the current one
  std::string stdout_path;               // empty: /dev/null
  std::string stderr_path;               // empty: /dev/null
  std::vector<std::string> environment;  // "NAME=value", added to the inherited one
};

class Process {
 public:
  // Returns null and sets `error` if the binary is missing or cannot be run.
  static std::unique_ptr<Process> Start(const ProcessOptions& options, std::string* error);

  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const ProcessOptions& options() const { return options_; }

  // True until the child has exited (reaps it if it has).
  bool Running();
  // Sends `signal` to the child's process group.
  void Signal(int signal);
  // Waits for the child to exit; its exit code (128 + signal if killed), or
  // nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit code.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // The captured output so far; at most the last `max_bytes`.
  std::string Stdout(size_t max_bytes = 64 * 1024) const;
  std::string Stderr(size_t max_bytes = 64 * 1024) const;

 private:
  Process(ProcessOptions options, pid_t pid) : options_(std::move(options)), pid_(pid) {}

  const ProcessOptions options_;
  const pid_t pid_;
  std::optional<int> exit_code_;
};

}  // namespace txmon::test
