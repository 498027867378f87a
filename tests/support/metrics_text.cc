#include "tests/support/metrics_text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <gtest/gtest.h>

#include "tests/support/http_client.h"

namespace txmon::test {

namespace {

bool IsNameChar(char c, bool first) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return letter || (!first && c >= '0' && c <= '9');
}

void SkipSpaces(std::string_view text, size_t* position) {
  while (*position < text.size() && (text[*position] == ' ' || text[*position] == '\t')) {
    ++*position;
  }
}

std::optional<std::string> ReadName(std::string_view text, size_t* position) {
  size_t begin = *position;
  while (*position < text.size() && IsNameChar(text[*position], *position == begin)) ++*position;
  if (*position == begin) return std::nullopt;
  return std::string(text.substr(begin, *position - begin));
}

// A quoted label value with the exposition's escapes (\\, \", \n) undone.
std::optional<std::string> ReadQuoted(std::string_view text, size_t* position) {
  if (*position >= text.size() || text[*position] != '"') return std::nullopt;
  std::string value;
  for (size_t i = *position + 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      *position = i + 1;
      return value;
    }
    if (c == '\\' && i + 1 < text.size()) {
      char escaped = text[++i];
      value += escaped == 'n' ? '\n' : escaped;
    } else {
      value += c;
    }
  }
  return std::nullopt;
}

std::optional<Labels> ReadLabels(std::string_view text, size_t* position) {
  Labels labels;
  if (*position >= text.size() || text[*position] != '{') return labels;
  ++*position;
  for (;;) {
    SkipSpaces(text, position);
    if (*position < text.size() && text[*position] == '}') break;
    std::optional<std::string> name = ReadName(text, position);
    if (!name || *position >= text.size() || text[*position] != '=') return std::nullopt;
    ++*position;
    std::optional<std::string> value = ReadQuoted(text, position);
    if (!value) return std::nullopt;
    labels[*name] = *value;
    SkipSpaces(text, position);
    if (*position < text.size() && text[*position] == ',') ++*position;
  }
  ++*position;
  return labels;
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

void AppendEscaped(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"') {
      *out += '\\';
      *out += c;
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
}

bool Includes(const Labels& labels, const Labels& matching) {
  for (const auto& [name, value] : matching) {
    auto found = labels.find(name);
    if (found == labels.end() || found->second != value) return false;
  }
  return true;
}

}  // namespace

std::string SeriesKey(std::string_view name, const Labels& labels) {
  std::string key(name);
  if (labels.empty()) return key;
  key += '{';
  bool first = true;
  for (const auto& [label, value] : labels) {
    if (!first) key += ',';
    first = false;
    key += label;
    key += "=\"";
    AppendEscaped(&key, value);
    key += '"';
  }
  key += '}';
  return key;
}

MetricsText MetricsText::Parse(std::string_view text) {
  MetricsText metrics;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (!metrics.ParseLine(line)) {
      std::string error = "line " + std::to_string(line_number) + ": " + std::string(line);
      ADD_FAILURE() << "malformed exposition " << error;
      metrics.errors_.push_back(std::move(error));
    }
  }
  return metrics;
}

bool MetricsText::ParseLine(std::string_view line) {
  size_t position = 0;
  SkipSpaces(line, &position);
  if (position == line.size() || line[position] == '#') return true;
  std::optional<std::string> name = ReadName(line, &position);
  if (!name) return false;
  std::optional<Labels> labels = ReadLabels(line, &position);
  if (!labels) return false;
  SkipSpaces(line, &position);
  size_t value_end = line.find_first_of(" \t\r", position);
  std::optional<double> value = ParseValue(line.substr(position, value_end - position));
  if (!value) return false;
  series_[SeriesKey(*name, *labels)] = *value;
  samples_.push_back({std::move(*name), std::move(*labels), *value});
  return true;
}

MetricsText MetricsText::Fetch(const std::string& url) {
  HttpResponse response = HttpGet(url);
  if (response.status != 200) {
    ADD_FAILURE() << "GET " << url << ": status " << response.status << " " << response.error
                  << response.body;
    return MetricsText();
  }
  return Parse(response.body);
}

MetricsText MetricsText::SumOf(const std::vector<MetricsText>& parts,
                               const std::vector<std::string>& min_of) {
  MetricsText sum;
  std::map<std::string, size_t> at;  // series key -> index in samples_
  for (const MetricsText& part : parts) {
    for (const Sample& sample : part.samples_) {
      const std::string key = SeriesKey(sample.name, sample.labels);
      auto [found, added] = at.emplace(key, sum.samples_.size());
      if (added) {
        sum.samples_.push_back(sample);
        continue;
      }
      double& value = sum.samples_[found->second].value;
      const bool min = std::find(min_of.begin(), min_of.end(), sample.name) != min_of.end();
      if (min) {
        value = std::min(value, sample.value);
      } else if (std::isfinite(value) && std::isfinite(sample.value)) {
        // txmon's values are exact decimals of micro-units: add them as such,
        // so that a sum of money is the decimal one agent would show.
        value =
            static_cast<double>(std::llround(value * 1e6) + std::llround(sample.value * 1e6)) / 1e6;
      } else {
        value += sample.value;
      }
    }
  }
  for (const Sample& sample : sum.samples_) {
    sum.series_[SeriesKey(sample.name, sample.labels)] = sample.value;
  }
  return sum;
}

std::optional<double> MetricsText::Find(std::string_view name, const Labels& labels) const {
  auto found = series_.find(SeriesKey(name, labels));
  if (found == series_.end()) return std::nullopt;
  return found->second;
}

bool MetricsText::Has(std::string_view name, const Labels& labels) const {
  return Find(name, labels).has_value();
}

double MetricsText::Value(std::string_view name, const Labels& labels) const {
  if (std::optional<double> value = Find(name, labels)) return *value;
  std::string present;
  for (const Sample& sample : samples_) {
    if (sample.name == name) present += "\n  " + SeriesKey(sample.name, sample.labels);
  }
  ADD_FAILURE() << "no series " << SeriesKey(name, labels)
                << (present.empty() ? " (and none of that name)" : "; of that name there are:")
                << present;
  return std::numeric_limits<double>::quiet_NaN();
}

double MetricsText::Sum(std::string_view name, const Labels& matching) const {
  double sum = 0;
  for (const Sample& sample : samples_) {
    if (sample.name == name && Includes(sample.labels, matching)) sum += sample.value;
  }
  return sum;
}

}  // namespace txmon::test
