// SIGINT and SIGTERM ask the running agent to stop: it finishes the batch in
// hand, commits what was applied and exits 0. A second signal exits at once.
// SIGHUP asks it to reload its configuration (Prometheus semantics).
#pragma once

#include <functional>

namespace txmon {

// Blocks SIGINT, SIGTERM and SIGHUP and starts the thread that waits for them. Call
// first thing in main, before any thread exists, so that every later thread
// inherits the mask and no signal kills the process mid-batch.
void InstallStopSignalHandling();

// Sets what a stop signal does (called on the signal thread, not in a
// signal handler); null: a signal exits at once with status 1.
void StopOnSignals(std::function<void()> on_stop);

// Sets what SIGHUP does (called on the signal thread, which waits for it
// to return); null: SIGHUP is logged and ignored.
void ReloadOnSignal(std::function<void()> on_reload);

}  // namespace txmon
