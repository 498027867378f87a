// ConfigReader: reads YAML nodes of a configuration file with errors that
// point at the place — "FILE:LINE:COL: PATH: REASON" — and refuses unknown
// fields. Every helper returns false after recording the first error.
// Shared by every YAML file txmon reads (txmon.yml, the web config).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/base/fixed_point.h"
#include "agent/base/status.h"

namespace txmon {

// The whole file; "PATH: cannot open: REASON" on failure.
Status ReadTextFile(const std::string& path, std::string* text);
// Parses YAML text; a syntax error names `file`, line and column.
Status ParseYaml(const std::string& yaml, const std::string& file, YAML::Node* root);

// Reads YAML nodes with errors that point at the line. Every helper returns
// false after recording the first error.
class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  bool Fail(const YAML::Node& node, const std::string& path, const std::string& reason) {
    if (!error_.empty()) return false;
    std::ostringstream out;
    out << file_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      out << ':' << node.Mark().line + 1 << ':' << node.Mark().column + 1;
    }
    out << ": " << path << ": " << reason;
    error_ = out.str();
    return false;
  }
  const std::string& error() const { return error_; }
  // "FILE:LINE:COL" of `node`, for messages made later than the read.
  std::string Where(const YAML::Node& node) const {
    if (!node.IsDefined() || node.Mark().line < 0) return file_;
    return file_ + ":" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1);
  }
  std::string Origin(const YAML::Node& node) const {
    return file_ + ":" + std::to_string(node.Mark().line + 1);
  }

  bool ExpectMap(const YAML::Node& node, const std::string& path,
                 const std::set<std::string>& allowed) {
    if (!node.IsMap()) return Fail(node, path, "expected a mapping");
    for (const auto& entry : node) {
      std::string key = entry.first.Scalar();
      if (!allowed.count(key)) {
        std::string want;
        for (const std::string& a : allowed) want += (want.empty() ? "" : ", ") + a;
        return Fail(entry.first, path, "unknown field \"" + key + "\" (known: " + want + ")");
      }
    }
    return true;
  }

  bool String(const YAML::Node& node, const std::string& path, std::string* out) {
    if (!node.IsScalar()) return Fail(node, path, "expected a string");
    *out = node.Scalar();
    return true;
  }

  bool StringList(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) {
    out->clear();
    if (node.IsScalar()) {
      out->push_back(node.Scalar());
      return true;
    }
    if (!node.IsSequence()) return Fail(node, path, "expected a string or a list of strings");
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) return Fail(node[i], path, "expected a string");
      out->push_back(node[i].Scalar());
    }
    return true;
  }

  bool Unsigned(const YAML::Node& node, const std::string& path, uint64_t* out) {
    std::optional<int64_t> micros =
        node.IsScalar() ? ParseDecimalMicros(node.Scalar()) : std::nullopt;
    if (!micros || *micros < 0 || *micros % kMicrosPerUnit != 0) {
      return Fail(node, path, "expected a whole number >= 0");
    }
    *out = static_cast<uint64_t>(*micros / kMicrosPerUnit);
    return true;
  }

  bool Uint32(const YAML::Node& node, const std::string& path, uint32_t* out) {
    uint64_t value = 0;
    if (!Unsigned(node, path, &value)) return false;
    if (value > UINT32_MAX) return Fail(node, path, "must be at most 4294967295");
    *out = static_cast<uint32_t>(value);
    return true;
  }

  bool Decimal(const YAML::Node& node, const std::string& path, int64_t* micros) {
    std::optional<int64_t> parsed =
        node.IsScalar() ? ParseDecimalMicros(node.Scalar()) : std::nullopt;
    if (!parsed) return Fail(node, path, "expected a decimal number");
    *micros = *parsed;
    return true;
  }

  bool Bool(const YAML::Node& node, const std::string& path, bool* out) {
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
      *out = node.Scalar() == "true";
      return true;
    }
    return Fail(node, path, "expected true or false");
  }

 private:
  std::string file_;
  std::string error_;
};

}  // namespace txmon
