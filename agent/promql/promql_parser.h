// PromQL parser for txmon's subset (see promql_ast.h): text in, syntax tree
// out; it never evaluates. Type checks are Prometheus's (argument types,
// bool only on comparisons, no vector matching with scalars, ...).
//
// Anything outside the subset is refused with the unsupported part named,
// e.g. `1:1: function "label_replace" is not supported`; positions are
// line:column, 1-based. Pure functions: thread-safe.
//
// Limits: an expression longer than kMaxExprBytes, or whose tree is deeper
// than kMaxExprDepth (parentheses, unary signs, function arguments and
// operator chains such as `a or b or c` all count), is refused like any
// syntax error. The parser, the engine and the printer recurse once per
// level, so the depth limit is what keeps any input from overflowing the
// stack: at about 3 KiB per level, 256 levels fit an 8 MiB stack
// (base/large_stack.h) many times over. Run them on such a stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/base/status.h"
#include "agent/promql/promql_ast.h"

namespace txmon {

inline constexpr size_t kMaxExprBytes = 64 * 1024;
inline constexpr int kMaxExprDepth = 256;

Status ParseExpr(std::string_view text, ExprPtr* out);

// A Prometheus duration: "250ms", "5m", "1h30m", "1d", "1w", "1y" ("0" is 0).
Status ParseDuration(std::string_view text, int64_t* ms);

}  // namespace txmon
