// The rules' alert state in checkpoints: conversions between the alerts an
// AlertingRule keeps and the checkpoint's plain AlertCheckpoint records, so
// neither the checkpoint nor the rules stage needs to know the other.
//
// Threading: SaveAlertState from any thread (it reads the rules' state under
// their locks); RestoreAlertState before the rule manager starts.
#pragma once

#include <vector>

#include "agent/checkpoint/checkpoint_file.h"
#include "agent/rules/rule_manager.h"

namespace txmon {

AlertCheckpoint ToAlertCheckpoint(const RuleManager::RuleAlert& alert);
RuleManager::RuleAlert FromAlertCheckpoint(const AlertCheckpoint& saved);

std::vector<AlertCheckpoint> SaveAlertState(const RuleManager& rules);
// Returns how many alerts found their rule again.
size_t RestoreAlertState(const std::vector<AlertCheckpoint>& saved, RuleManager& rules);

}  // namespace txmon
