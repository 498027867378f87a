#include "agent/main/flags.h"

namespace txmon {

void FlagSet::AddString(std::string name, std::string default_value, std::string help) {
  order_.push_back(name);
  flags_[name] = Flag{default_value, default_value, std::move(help), false, false};
}

void FlagSet::AddBool(std::string name, std::string help) {
  order_.push_back(name);
  flags_[name] = Flag{"false", "false", std::move(help), true, false};
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!arg.starts_with("-") || arg == "-") {
      positional_.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg.starts_with("--") ? 2 : 1);
    std::string name = body, value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) return Status::Error("unknown flag --" + name + " (see --help)");
    Flag& flag = it->second;
    if (flag.is_bool) {
      if (has_value && value != "true" && value != "false") {
        return Status::Error("flag --" + name + " takes true or false, not \"" + value + "\"");
      }
      flag.value = has_value ? value : "true";
    } else {
      if (!has_value) {
        if (i + 1 >= args.size()) return Status::Error("flag --" + name + " needs a value");
        value = args[++i];
      }
      flag.value = value;
    }
    flag.set = true;
  }
  return Status::Ok();
}

std::string FlagSet::Help() const {
  std::string out = usage_ + "\n\nFlags:\n";
  for (const std::string& name : order_) {
    const Flag& flag = flags_.at(name);
    std::string head = "  --" + name + (flag.is_bool ? "" : "=VALUE");
    out += head + "\n      " + flag.help;
    if (!flag.is_bool && !flag.default_value.empty()) {
      out += " (default: " + flag.default_value + ")";
    }
    out += "\n";
  }
  return out;
}

}  // namespace txmon
