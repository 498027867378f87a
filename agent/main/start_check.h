// The start's verdict on a configuration, without starting anything: what
// `txmon check config` prints and the first thing Agent::Create does, so
// the check never passes a config the start then refuses.
//
// It runs every check that needs no network and no state: the file itself
// (names, time zone, fields, with FILE:LINE:COL), the configured source
// (unless --source.file replaces it), the mappings compiled into a scratch
// store, the decoder for source.format, and the rule files. Warnings are
// for what works but is most likely a mistake: a rule_files pattern that
// matches nothing, a rule selecting a metric nothing produces.
// Pure: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/config/agent_config.h"

namespace txmon {

struct StartCheck {
  size_t rule_groups = 0;
  // rule_files patterns that match no file (the rule manager logs these
  // itself at start).
  std::vector<std::string> unmatched_rule_files;
  std::vector<std::string> warnings;  // one line each, FILE:LINE first
};

// `source_file_given`: the agent reads --source.file instead of the
// configured source, which then need not be there.
Status CheckStart(const AgentConfig& config, bool source_file_given, StartCheck* result);

}  // namespace txmon
