#include "agent/main/run_signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/base/log.h"

namespace txmon {

namespace {

std::mutex g_mutex;
std::function<void()> g_on_stop;
std::function<void()> g_on_reload;
std::once_flag g_thread_started;

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// Runs the reload callback on the signal thread; a stop signal waits for it.
void ReloadOnSighup() {
  std::lock_guard lock(g_mutex);
  if (!g_on_reload) {
    Log(LogLevel::kInfo, "main", "received SIGHUP before the agent runs: ignored");
    return;
  }
  Log(LogLevel::kInfo, "main", "received SIGHUP: reloading the configuration");
  g_on_reload();
}

// Blocks the signals in every thread and waits for them on one thread, so
// the callbacks run in normal context (sigwait) rather than in a handler.
void WaitForSignals() {
  const sigset_t set = HandledSignals();
  int received = 0;
  std::optional<std::chrono::steady_clock::time_point> first;
  while (sigwait(&set, &received) == 0) {
    if (received == SIGHUP) {
      ReloadOnSighup();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    // The same signal often arrives twice at once (sent to the process and to
    // its group): only a second one a moment later means "stop now".
    if (first && now - *first < std::chrono::seconds(1)) continue;
    if (first) {
      Log(LogLevel::kWarn, "main", "second signal: exiting now");
      std::_Exit(1);
    }
    first = now;
    Log(LogLevel::kInfo, "main", "received a stop signal: finishing the current batch",
        {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
    std::lock_guard lock(g_mutex);
    if (!g_on_stop) std::_Exit(1);
    g_on_stop();
  }
}

}  // namespace

void StopOnSignals(std::function<void()> on_stop) {
  std::lock_guard lock(g_mutex);
  g_on_stop = std::move(on_stop);
}

void ReloadOnSignal(std::function<void()> on_reload) {
  std::lock_guard lock(g_mutex);
  g_on_reload = std::move(on_reload);
}

void InstallStopSignalHandling() {
  std::call_once(g_thread_started, [] {
    const sigset_t set = HandledSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(WaitForSignals).detach();
  });
}

}  // namespace txmon
