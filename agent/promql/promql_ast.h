// The syntax tree of txmon's PromQL subset, as promql_parser.h builds it and
// promql_engine.h evaluates it. A tree is immutable once parsed, so one tree
// may be evaluated by several threads at once.
//
// Node shapes follow Prometheus's promql/parser: an offset belongs to the
// vector selector (also inside a matrix selector), aggregations carry their
// grouping, binary operations carry their vector matching.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/base/status.h"

namespace txmon {

enum class ValueType { kScalar, kVector, kMatrix, kString };
std::string_view ValueTypeName(ValueType type);  // "scalar", "instant vector", ...

// One label matcher of a selector. Regular expressions are anchored at both
// ends (`=~"a|b"` matches "a" or "b" only), as in Prometheus.
class LabelMatcher {
 public:
  enum class Type { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

  // Refuses an invalid regular expression.
  static Status Make(Type type, std::string name, std::string value, LabelMatcher* out);

  // An absent label matches as the empty string.
  bool Matches(std::string_view value) const;

  Type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  std::string ToString() const;  // name="value", name=~"re", ...

 private:
  Type type_ = Type::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;  // for the regex types
};

// Arithmetic kAdd..kPow, comparisons kEql..kLte, set operators kAnd..kUnless
// (IsComparison and IsSetOperator rely on this order).
enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEql,
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  kAnd,
  kOr,
  kUnless,
};
std::string_view BinaryOpName(BinaryOp op);  // "+", "==", "and", ...
bool IsComparison(BinaryOp op);
bool IsSetOperator(BinaryOp op);

enum class AggregateOp { kSum, kAvg, kMin, kMax, kCount, kTopk, kBottomk };
std::string_view AggregateOpName(AggregateOp op);

// One entry of the function table (promql_functions.h).
struct FunctionDef;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral {
  double value = 0;
};

struct StringLiteral {
  std::string value;
};

// The @ modifier: a selector or subquery read at a fixed time instead of
// the evaluation time (`@ 1700000000`), or at the start or end of the range
// query (`@ start()`, `@ end()`; an instant query's time for both). The
// offset then counts back from that time, as in Prometheus.
struct AtModifier {
  enum class Kind : uint8_t { kNone, kTimestamp, kStart, kEnd };
  Kind kind = Kind::kNone;
  int64_t timestamp_ms = 0;  // kTimestamp
  bool set() const { return kind != Kind::kNone; }
};

struct VectorSelector {
  std::string metric_name;             // "" when only matchers select
  std::vector<LabelMatcher> matchers;  // includes __name__="metric_name" when named
  int64_t offset_ms = 0;
  AtModifier at;
};

struct MatrixSelector {
  VectorSelector selector;
  int64_t range_ms = 0;
};

// expr[range:step] offset d: `expr` (an instant vector) evaluated at every
// multiple of step in [t - offset - range, t - offset], as a range vector.
struct Subquery {
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;
  int64_t offset_ms = 0;
  AtModifier at;
};

struct Call {
  const FunctionDef* function;  // never null; points into PromqlFunctions()
  std::vector<ExprPtr> args;
};

struct Aggregate {
  AggregateOp op;
  ExprPtr param;  // topk/bottomk: k
  ExprPtr expr;
  std::vector<std::string> grouping;
  bool without = false;
};

// How the two sides of a vector-vector operation find their partners.
struct VectorMatching {
  enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };
  Cardinality cardinality = Cardinality::kOneToOne;
  bool on = false;                           // on(...) rather than ignoring(...)
  std::vector<std::string> matching_labels;  // the on/ignoring list
  std::vector<std::string> include;          // group_left/group_right(...) labels
  bool explicit_matching = false;            // on/ignoring was written
};

struct Binary {
  BinaryOp op;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  VectorMatching matching;  // meaningful when both sides are vectors
};

struct Unary {
  bool negate = true;  // "-x"; "+x" parses to x itself
  ExprPtr expr;
};

struct Paren {
  ExprPtr expr;
};

struct Expr {
  std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, Subquery, Call,
               Aggregate, Binary, Unary, Paren>
      node;

  ValueType type() const;
  // Canonical PromQL text, the form /api/v1/rules shows.
  std::string String() const;
};

// "5m", "1h30m", "250ms" as Prometheus prints durations.
std::string FormatDuration(int64_t ms);

// Prometheus' default lookback, which VisitSelectors assumes for the instant
// selectors inside a subquery (they are read at each of its steps).
inline constexpr int64_t kSubqueryLookbackMs = 5 * 60 * 1000;

// Calls `visit` for every selector in the tree (matrix selectors once, with
// their range; instant selectors with range 0; a selector inside a subquery
// with the span it is read over: its range or kSubqueryLookbackMs, plus the
// subquery's range and offset). The span is counted back from the
// evaluation time, which a selector with `@` (or inside a subquery with
// one) does not read at: callers that plan reads check AtModifier::set.
void VisitSelectors(const Expr& expr,
                    const std::function<void(const VectorSelector&, int64_t range_ms)>& visit);

}  // namespace txmon
