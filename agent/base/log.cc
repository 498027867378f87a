#include "agent/base/log.h"

#include "agent/base/json_text.h"
#include "agent/base/json_writer.h"
#include "agent/base/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace txmon {

namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatRfc3339(std::chrono::duration_cast<std::chrono::milliseconds>(now).count(),
                       Rfc3339Millis::kFixed);
}

bool NeedsQuotes(std::string_view text) {
  if (text.empty()) return true;
  for (char c : text) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

// key=value, the value quoted (JSON escapes) when it needs to be.
void AppendLogfmtField(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  if (NeedsQuotes(value)) {
    AppendJsonString(out, value);
  } else {
    out += value;
  }
}

}  // namespace

bool SetLogLevel(std::string_view level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (level == LevelName(l)) {
      g_min_level = static_cast<int>(l);
      return true;
    }
  }
  return false;
}

bool SetLogFormat(std::string_view format) {
  if (format == "logfmt") {
    g_format = LogFormat::kLogfmt;
  } else if (format == "json") {
    g_format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void Log(LogLevel level, std::string_view component, std::string_view message,
         std::span<const LogField> fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  const std::string ts = Timestamp();
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    JsonWriter json;
    json.BeginObject()
        .Field("ts", ts)
        .Field("level", LevelName(level))
        .Field("component", component)
        .Field("msg", message);
    for (const auto& [key, value] : fields) json.Field(key, value);
    json.EndObject();
    line = json.Take();
  } else {
    line.reserve(128);
    AppendLogfmtField(line, "ts", ts);
    AppendLogfmtField(line, "level", LevelName(level));
    AppendLogfmtField(line, "component", component);
    AppendLogfmtField(line, "msg", message);
    for (const auto& [key, value] : fields) AppendLogfmtField(line, key, value);
  }
  line += '\n';
  fwrite(line.data(), 1, line.size(), stderr);
}

bool LogRateLimit::Allow(uint64_t* suppressed) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t window = window_second_.load(std::memory_order_relaxed);
  if (window != now && window_second_.compare_exchange_strong(window, now)) {
    in_window_ = 0;
  }
  if (in_window_.fetch_add(1, std::memory_order_relaxed) < per_second_) {
    *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace txmon
