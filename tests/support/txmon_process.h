// The txmon binary as a child process, on a port it picks itself (":0"), so
// parallel tests never race for a port: the URL comes from the line txmon
// prints once it serves ("txmon: serving http://127.0.0.1:PORT/metrics").
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace txmon::test {

struct TxmonProcess {
  std::unique_ptr<Process> process;
  std::string metrics_url;  // http://127.0.0.1:PORT/metrics
};

// Starts build/txmon with `args` plus --web.listen-address=127.0.0.1:0,
// logging to `log_prefix`.out/.err, and waits until it serves. On failure
// `process` is null and `error` says why (with txmon's stderr).
TxmonProcess StartTxmon(const std::vector<std::string>& args, const std::string& log_prefix,
                        std::string* error,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace txmon::test
