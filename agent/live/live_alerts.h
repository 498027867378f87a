// The alerts the live order screen shows, read from a RuleManager: every
// pending or firing alert of its alerting rules, firing first.
// Threading: the returned source is thread-safe; `rules` must outlive it.
#pragma once

#include "agent/live/live_board.h"
#include "agent/rules/rule_manager.h"

namespace txmon {

LiveAlertSource LiveAlertsFrom(const RuleManager* rules);

}  // namespace txmon
