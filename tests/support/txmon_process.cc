#include "tests/support/txmon_process.h"

#include <thread>

namespace txmon::test {

TxmonProcess StartTxmon(const std::vector<std::string>& args, const std::string& log_prefix,
                        std::string* error, std::chrono::milliseconds timeout) {
  ProcessOptions options{std::string(TXMON_BINARY_DIR) + "/txmon",
                         args,
                         "",
                         log_prefix + ".out",
                         log_prefix + ".err",
                         {}};
  options.args.push_back("--web.listen-address=127.0.0.1:0");
  TxmonProcess txmon;
  txmon.process = Process::Start(options, error);
  if (!txmon.process) return txmon;
  const std::string marker = "serving http://";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = txmon.process->Stdout();
    if (size_t at = out.find(marker); at != std::string::npos) {
      size_t start = at + marker.size() - 7;  // keep "http://"
      txmon.metrics_url = out.substr(start, out.find(' ', start) - start);
      return txmon;
    }
    if (!txmon.process->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = "txmon did not start serving:\n" + txmon.process->Stderr();
  txmon.process.reset();
  return txmon;
}

}  // namespace txmon::test
