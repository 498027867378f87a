// PromQL parser for txmon's subset (see promql_ast.h): text in, syntax tree
// out; it never evaluates. Type checks are Prometheus's (argument types,
// bool only on comparisons, no vector matching with scalars, ...).
//
// Anything outside the subset is refused with the unsupported part named,
// e.g. `1:1: function "label_replace" is not supported`; positions are
// line:column, 1-based. Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "agent/base/status.h"
#include "agent/rules/promql_ast.h"

namespace txmon {

Status ParseExpr(std::string_view text, ExprPtr* out);

// A Prometheus duration: "250ms", "5m", "1h30m", "1d", "1w", "1y" ("0" is 0).
Status ParseDuration(std::string_view text, int64_t* ms);

}  // namespace txmon
