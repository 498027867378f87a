// Structured logs in the Prometheus style: one line per event on stderr,
// logfmt (`ts=... level=info component=source msg="..." key=value`) or JSON
// (`--log.format=json`). Thread-safe: each line is written with one call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace txmon {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<std::string_view, std::string>;

// Sets the minimum level and the format; parses flag values ("info",
// "logfmt"). Returns false for an unknown value.
bool SetLogLevel(std::string_view level);
bool SetLogFormat(std::string_view format);

void Log(LogLevel level, std::string_view component, std::string_view message,
         std::span<const LogField> fields);
inline void Log(LogLevel level, std::string_view component, std::string_view message,
                std::initializer_list<LogField> fields = {}) {
  Log(level, component, message, std::span<const LogField>(fields.begin(), fields.size()));
}

// Lets at most `per_second` lines through each second and counts the rest, so
// a flood of bad messages cannot flood the log. Thread-safe.
class LogRateLimit {
 public:
  explicit LogRateLimit(int per_second) : per_second_(per_second) {}
  // True if this line may be written. `suppressed` receives how many lines
  // were dropped since the last one that was allowed.
  bool Allow(uint64_t* suppressed);

 private:
  const int per_second_;
  std::atomic<int64_t> window_second_{0};
  std::atomic<int> in_window_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace txmon
