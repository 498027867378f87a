#include "agent/base/metric_names.h"

namespace txmon {

namespace {

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The first character that breaks [a-zA-Z_(:)][a-zA-Z0-9_(:)]*, or npos.
size_t FirstBadChar(std::string_view name, bool colons) {
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsLetter(c) || (colons && c == ':') || (i > 0 && IsDigit(c));
    if (!ok) return i;
  }
  return std::string_view::npos;
}

std::string BadCharReason(std::string_view name, size_t at, const char* pattern) {
  std::string c(1, name[at]);
  if (at == 0 && IsDigit(name[0])) {
    return "must not start with a digit (names match " + std::string(pattern) + ")";
  }
  return "character '" + c + "' is not allowed (names match " + std::string(pattern) + ")";
}

}  // namespace

std::string MetricNameProblem(std::string_view name) {
  constexpr const char* kPattern = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  if (name.empty()) return "a metric name must not be empty";
  if (size_t at = FirstBadChar(name, /*colons=*/true); at != std::string_view::npos) {
    return BadCharReason(name, at, kPattern);
  }
  if (name.starts_with("__")) return "names starting with \"__\" are reserved for Prometheus";
  return "";
}

std::string LabelNameProblem(std::string_view name) {
  constexpr const char* kPattern = "[a-zA-Z_][a-zA-Z0-9_]*";
  if (name.empty()) return "a label name must not be empty";
  if (size_t at = FirstBadChar(name, /*colons=*/false); at != std::string_view::npos) {
    return BadCharReason(name, at, kPattern);
  }
  if (name.starts_with("__")) return "names starting with \"__\" are reserved for Prometheus";
  if (name == "le") return "\"le\" is reserved for the buckets of histograms";
  if (name == "quantile") return "\"quantile\" is reserved for the quantiles of summaries";
  return "";
}

bool IsValidMetricName(std::string_view name) { return MetricNameProblem(name).empty(); }
bool IsValidLabelName(std::string_view name) { return LabelNameProblem(name).empty(); }

}  // namespace txmon
