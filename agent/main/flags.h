// Command-line flags in the Prometheus style: `--name=value` or
// `--name value`, booleans as `--name` or `--name=false`. Every flag has a
// help line; `--help` prints them all.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/base/status.h"

namespace txmon {

class FlagSet {
 public:
  explicit FlagSet(std::string usage) : usage_(std::move(usage)) {}

  void AddString(std::string name, std::string default_value, std::string help);
  void AddBool(std::string name, std::string help);

  // Parses `args` (without the program and command names). Non-flag words
  // are collected as positional arguments.
  Status Parse(const std::vector<std::string>& args);

  const std::string& Get(const std::string& name) const { return flags_.at(name).value; }
  bool GetBool(const std::string& name) const { return flags_.at(name).value == "true"; }
  bool WasSet(const std::string& name) const { return flags_.at(name).set; }
  const std::vector<std::string>& positional() const { return positional_; }

  std::string Help() const;

 private:
  struct Flag {
    std::string value;
    std::string default_value;
    std::string help;
    bool is_bool = false;
    bool set = false;
  };
  std::string usage_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
};

}  // namespace txmon
