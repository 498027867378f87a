#include "agent/promql/promql_ast.h"

#include <cstdio>

#include <algorithm>

#include "agent/promql/float_format.h"
#include "agent/promql/labels.h"
#include "agent/promql/promql_functions.h"

namespace txmon {

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string Quote(std::string_view text) { return "\"" + EscapeLabelValue(text) + "\""; }

std::string SelectorString(const VectorSelector& selector) {
  std::string matchers;
  for (const LabelMatcher& matcher : selector.matchers) {
    if (matcher.name() == kMetricNameLabel && matcher.type() == LabelMatcher::Type::kEqual &&
        matcher.value() == selector.metric_name) {
      continue;
    }
    matchers += (matchers.empty() ? "" : ", ") + matcher.ToString();
  }
  std::string out = selector.metric_name;
  if (!matchers.empty() || out.empty()) out += "{" + matchers + "}";
  return out;
}

// " @ 1700000000.000", " @ start()", " @ end()", as Prometheus prints it.
std::string AtString(const AtModifier& at) {
  switch (at.kind) {
    case AtModifier::Kind::kNone:
      return "";
    case AtModifier::Kind::kStart:
      return " @ start()";
    case AtModifier::Kind::kEnd:
      return " @ end()";
    case AtModifier::Kind::kTimestamp: {
      char text[48];
      std::snprintf(text, sizeof text, " @ %.3f", static_cast<double>(at.timestamp_ms) / 1000);
      return text;
    }
  }
  return "";
}

std::string OffsetString(int64_t offset_ms) {
  return offset_ms == 0 ? "" : " offset " + FormatDuration(offset_ms);
}

std::string MatchingString(const Binary& binary) {
  const VectorMatching& matching = binary.matching;
  std::string out;
  if (matching.on || !matching.matching_labels.empty()) {
    out += std::string(matching.on ? " on" : " ignoring") + " (" +
           JoinNames(matching.matching_labels) + ")";
  }
  if (matching.cardinality == VectorMatching::Cardinality::kManyToOne ||
      matching.cardinality == VectorMatching::Cardinality::kOneToMany) {
    out += std::string(matching.cardinality == VectorMatching::Cardinality::kManyToOne
                           ? " group_left"
                           : " group_right") +
           " (" + JoinNames(matching.include) + ")";
  }
  return out;
}

struct Printer {
  std::string operator()(const NumberLiteral& n) const { return FormatFloatShortest(n.value); }
  std::string operator()(const StringLiteral& s) const { return Quote(s.value); }
  std::string operator()(const VectorSelector& s) const {
    return SelectorString(s) + AtString(s.at) + OffsetString(s.offset_ms);
  }
  std::string operator()(const MatrixSelector& m) const {
    return SelectorString(m.selector) + "[" + FormatDuration(m.range_ms) + "]" +
           AtString(m.selector.at) + OffsetString(m.selector.offset_ms);
  }
  std::string operator()(const Subquery& q) const {
    return q.expr->String() + "[" + FormatDuration(q.range_ms) + ":" + FormatDuration(q.step_ms) +
           "]" + AtString(q.at) + OffsetString(q.offset_ms);
  }
  std::string operator()(const Call& call) const {
    std::string args;
    for (const ExprPtr& arg : call.args) args += (args.empty() ? "" : ", ") + arg->String();
    return std::string(call.function->name) + "(" + args + ")";
  }
  std::string operator()(const Aggregate& a) const {
    std::string out(AggregateOpName(a.op));
    if (a.without) {
      out += " without (" + JoinNames(a.grouping) + ") ";
    } else if (!a.grouping.empty()) {
      out += " by (" + JoinNames(a.grouping) + ") ";
    }
    out += "(";
    if (a.param) out += a.param->String() + ", ";
    return out + a.expr->String() + ")";
  }
  std::string operator()(const Binary& b) const {
    return b.lhs->String() + " " + std::string(BinaryOpName(b.op)) +
           (b.return_bool ? " bool" : "") + MatchingString(b) + " " + b.rhs->String();
  }
  std::string operator()(const Unary& u) const { return "-" + u.expr->String(); }
  std::string operator()(const Paren& p) const { return "(" + p.expr->String() + ")"; }
};

struct TypeOf {
  ValueType operator()(const NumberLiteral&) const { return ValueType::kScalar; }
  ValueType operator()(const StringLiteral&) const { return ValueType::kString; }
  ValueType operator()(const VectorSelector&) const { return ValueType::kVector; }
  ValueType operator()(const MatrixSelector&) const { return ValueType::kMatrix; }
  ValueType operator()(const Subquery&) const { return ValueType::kMatrix; }
  ValueType operator()(const Call& c) const { return c.function->result; }
  ValueType operator()(const Aggregate&) const { return ValueType::kVector; }
  ValueType operator()(const Binary& b) const {
    return b.lhs->type() == ValueType::kScalar && b.rhs->type() == ValueType::kScalar
               ? ValueType::kScalar
               : ValueType::kVector;
  }
  ValueType operator()(const Unary& u) const { return u.expr->type(); }
  ValueType operator()(const Paren& p) const { return p.expr->type(); }
};

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
  }
  return "scalar";
}

Status LabelMatcher::Make(Type type, std::string name, std::string value, LabelMatcher* out) {
  out->type_ = type;
  out->name_ = std::move(name);
  out->value_ = std::move(value);
  out->regex_.reset();
  if (type == Type::kRegexMatch || type == Type::kRegexNoMatch) {
    // RE2 is the syntax Prometheus uses (Go's regexp), and it matches in
    // linear time, so no rule or query can make an evaluation backtrack.
    // Anchored as Prometheus anchors it.
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<const re2::RE2>("^(?:" + out->value_ + ")$", options);
    if (!regex->ok()) {
      return Status::Error("invalid regular expression " + Quote(out->value_) + ": " +
                           regex->error());
    }
    out->regex_ = std::move(regex);
  }
  return Status::Ok();
}

bool LabelMatcher::Matches(std::string_view value) const {
  switch (type_) {
    case Type::kEqual:
      return value == value_;
    case Type::kNotEqual:
      return value != value_;
    case Type::kRegexMatch:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
    case Type::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
  }
  return false;
}

std::string LabelMatcher::ToString() const {
  static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
  return name_ + std::string(kOps[static_cast<int>(type_)]) + Quote(value_);
}

std::string_view BinaryOpName(BinaryOp op) {
  static constexpr std::string_view kNames[] = {
      "+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"};
  return kNames[static_cast<int>(op)];
}

bool IsComparison(BinaryOp op) { return op >= BinaryOp::kEql && op <= BinaryOp::kLte; }
bool IsSetOperator(BinaryOp op) { return op >= BinaryOp::kAnd; }

std::string_view AggregateOpName(AggregateOp op) {
  static constexpr std::string_view kNames[] = {"sum",   "avg",  "min",    "max",
                                                "count", "topk", "bottomk"};
  return kNames[static_cast<int>(op)];
}

ValueType Expr::type() const { return std::visit(TypeOf{}, node); }
std::string Expr::String() const { return std::visit(Printer{}, node); }

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  static constexpr struct {
    int64_t ms;
    const char* unit;
  } kUnits[] = {{365LL * 24 * 3600 * 1000, "y"},
                {7LL * 24 * 3600 * 1000, "w"},
                {24LL * 3600 * 1000, "d"},
                {3600LL * 1000, "h"},
                {60LL * 1000, "m"},
                {1000, "s"},
                {1, "ms"}};
  std::string out = ms < 0 ? "-" : "";
  if (ms < 0) ms = -ms;
  for (const auto& unit : kUnits) {
    if (ms >= unit.ms) {
      out += std::to_string(ms / unit.ms) + unit.unit;
      ms %= unit.ms;
    }
  }
  return out;
}

void VisitSelectors(const Expr& expr,
                    const std::function<void(const VectorSelector&, int64_t range_ms)>& visit) {
  std::visit(
      [&](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, VectorSelector>) {
          visit(node, 0);
        } else if constexpr (std::is_same_v<T, MatrixSelector>) {
          visit(node.selector, node.range_ms);
        } else if constexpr (std::is_same_v<T, Subquery>) {
          // The inner selectors are read at every step of the subquery's
          // range: their own window (or the default 5m lookback) more.
          const int64_t extra = node.range_ms + std::max<int64_t>(node.offset_ms, 0);
          VisitSelectors(*node.expr, [&](const VectorSelector& selector, int64_t range_ms) {
            visit(selector, (range_ms > 0 ? range_ms : kSubqueryLookbackMs) + extra);
          });
        } else if constexpr (std::is_same_v<T, Call>) {
          for (const ExprPtr& arg : node.args) VisitSelectors(*arg, visit);
        } else if constexpr (std::is_same_v<T, Aggregate>) {
          if (node.param) VisitSelectors(*node.param, visit);
          VisitSelectors(*node.expr, visit);
        } else if constexpr (std::is_same_v<T, Binary>) {
          VisitSelectors(*node.lhs, visit);
          VisitSelectors(*node.rhs, visit);
        } else if constexpr (std::is_same_v<T, Unary> || std::is_same_v<T, Paren>) {
          VisitSelectors(*node.expr, visit);
        }
      },
      expr.node);
}

}  // namespace txmon
