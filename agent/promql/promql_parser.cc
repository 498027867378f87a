#include "agent/promql/promql_parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/duration.h"
#include "agent/promql/float_format.h"
#include "agent/promql/labels.h"
#include "agent/promql/promql_functions.h"

namespace txmon {

namespace {

// ---------------------------------------------------------------- lexer

enum class Tok {
  kEnd,
  kIdentifier,
  kNumber,
  kDuration,
  kString,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kAssign,
  kNotEqual,
  kRegexMatch,
  kRegexNoMatch,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqual,
  kLess,
  kGreater,
  kLessEqual,
  kGreaterEqual,
  kColon,
  kAt,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier/number/duration source; string literal: the unquoted value
  size_t offset = 0;
};

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || std::isdigit(static_cast<unsigned char>(c));
}
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Refusals are thrown inside this file only and become a Status at
// ParseExpr, which keeps each grammar function to its grammar.
struct ParseError {
  size_t offset;
  std::string message;
};

std::string TooDeepMessage() {
  return "expression is nested too deeply (more than " + std::to_string(kMaxExprDepth) + " levels)";
}

// The children of one node, for walks that must not recurse.
void AppendChildren(const Expr& expr, std::vector<const Expr*>* out) {
  if (const auto* call = std::get_if<Call>(&expr.node)) {
    for (const ExprPtr& arg : call->args) out->push_back(arg.get());
  } else if (const auto* aggregate = std::get_if<Aggregate>(&expr.node)) {
    if (aggregate->param) out->push_back(aggregate->param.get());
    out->push_back(aggregate->expr.get());
  } else if (const auto* binary = std::get_if<Binary>(&expr.node)) {
    out->push_back(binary->lhs.get());
    out->push_back(binary->rhs.get());
  } else if (const auto* unary = std::get_if<Unary>(&expr.node)) {
    out->push_back(unary->expr.get());
  } else if (const auto* paren = std::get_if<Paren>(&expr.node)) {
    out->push_back(paren->expr.get());
  }
}

// The depth of the tree, walked level by level with no recursion: a chain
// like `1+1+...+1` is parsed by a loop but is as deep as it is long.
int TreeDepth(const Expr& root) {
  std::vector<const Expr*> level = {&root};
  std::vector<const Expr*> next;
  int depth = 0;
  while (!level.empty()) {
    ++depth;
    next.clear();
    for (const Expr* expr : level) AppendChildren(*expr, &next);
    level.swap(next);
  }
  return depth;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaceAndComments();
      Token token = Next();
      tokens.push_back(token);
      if (token.kind == Tok::kEnd) return tokens;
    }
  }

 private:
  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  Token Make(Tok kind, size_t start, size_t length) {
    pos_ = start + length;
    return Token{kind, std::string(text_.substr(start, length)), start};
  }

  Token Next() {
    size_t start = pos_;
    if (pos_ >= text_.size()) return Token{Tok::kEnd, "", start};
    char c = text_[pos_];
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return NumberOrDuration(start);
    if (IsIdentifierStart(c)) {
      size_t end = pos_;
      while (end < text_.size() && IsIdentifierChar(text_[end])) ++end;
      Token token = Make(Tok::kIdentifier, start, end - start);
      std::string lower = Lower(token.text);
      if (lower == "inf" || lower == "nan") token.kind = Tok::kNumber;
      return token;
    }
    if (c == '"' || c == '\'' || c == '`') return String(start, c);
    return Operator(start, c);
  }

  Token NumberOrDuration(size_t start) {
    size_t end = pos_;
    if (text_[end] == '0' && end + 1 < text_.size() &&
        (text_[end + 1] == 'x' || text_[end + 1] == 'X')) {
      end += 2;
      while (end < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[end]))) ++end;
      return Make(Tok::kNumber, start, end - start);
    }
    while (end < text_.size() && IsDigit(text_[end])) ++end;
    bool only_digits = true;
    if (end < text_.size() && text_[end] == '.') {
      only_digits = false;
      ++end;
      while (end < text_.size() && IsDigit(text_[end])) ++end;
    }
    if (end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
      size_t exponent = end + 1;
      if (exponent < text_.size() && (text_[exponent] == '+' || text_[exponent] == '-')) {
        ++exponent;
      }
      if (exponent < text_.size() && IsDigit(text_[exponent])) {
        only_digits = false;
        end = exponent;
        while (end < text_.size() && IsDigit(text_[end])) ++end;
      }
    }
    if (only_digits && end < text_.size() && std::isalpha(static_cast<unsigned char>(text_[end]))) {
      while (end < text_.size() && std::isalnum(static_cast<unsigned char>(text_[end]))) ++end;
      return Make(Tok::kDuration, start, end - start);
    }
    if (end < text_.size() && IsIdentifierChar(text_[end])) {
      throw ParseError{start, "bad number or duration syntax: \"" +
                                  std::string(text_.substr(start, end + 1 - start)) + "\""};
    }
    return Make(Tok::kNumber, start, end - start);
  }

  Token String(size_t start, char quote) {
    std::string value;
    size_t at = start + 1;
    while (true) {
      if (at >= text_.size()) throw ParseError{start, "unterminated quoted string"};
      char c = text_[at];
      if (c == quote) break;
      if (c == '\\' && quote != '`') {
        if (at + 1 >= text_.size()) throw ParseError{start, "unterminated quoted string"};
        char escaped = text_[at + 1];
        switch (escaped) {
          case 'n':
            value += '\n';
            break;
          case 't':
            value += '\t';
            break;
          case 'r':
            value += '\r';
            break;
          case '\\':
          case '"':
          case '\'':
            value += escaped;
            break;
          default:
            throw ParseError{at, std::string("unknown escape sequence \\") + escaped};
        }
        at += 2;
        continue;
      }
      if (c == '\n' && quote != '`') throw ParseError{start, "unterminated quoted string"};
      value += c;
      ++at;
    }
    pos_ = at + 1;
    return Token{Tok::kString, value, start};
  }

  Token Operator(size_t start, char c) {
    char next = Peek(1);
    switch (c) {
      case '(':
        return Make(Tok::kLeftParen, start, 1);
      case ')':
        return Make(Tok::kRightParen, start, 1);
      case '{':
        return Make(Tok::kLeftBrace, start, 1);
      case '}':
        return Make(Tok::kRightBrace, start, 1);
      case '[':
        return Make(Tok::kLeftBracket, start, 1);
      case ']':
        return Make(Tok::kRightBracket, start, 1);
      case ',':
        return Make(Tok::kComma, start, 1);
      case '+':
        return Make(Tok::kAdd, start, 1);
      case '-':
        return Make(Tok::kSub, start, 1);
      case '*':
        return Make(Tok::kMul, start, 1);
      case '/':
        return Make(Tok::kDiv, start, 1);
      case '%':
        return Make(Tok::kMod, start, 1);
      case '^':
        return Make(Tok::kPow, start, 1);
      case ':':
        return Make(Tok::kColon, start, 1);
      case '@':
        return Make(Tok::kAt, start, 1);
      case '=':
        if (next == '=') return Make(Tok::kEqual, start, 2);
        if (next == '~') return Make(Tok::kRegexMatch, start, 2);
        return Make(Tok::kAssign, start, 1);
      case '!':
        if (next == '=') return Make(Tok::kNotEqual, start, 2);
        if (next == '~') return Make(Tok::kRegexNoMatch, start, 2);
        break;
      case '<':
        if (next == '=') return Make(Tok::kLessEqual, start, 2);
        return Make(Tok::kLess, start, 1);
      case '>':
        if (next == '=') return Make(Tok::kGreaterEqual, start, 2);
        return Make(Tok::kGreater, start, 1);
      default:
        break;
    }
    throw ParseError{start, std::string("unexpected character: '") + c + "'"};
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------- names

std::optional<AggregateOp> AggregateFor(std::string_view lower) {
  static const std::pair<std::string_view, AggregateOp> kOps[] = {
      {"sum", AggregateOp::kSum},        {"avg", AggregateOp::kAvg},
      {"min", AggregateOp::kMin},        {"max", AggregateOp::kMax},
      {"count", AggregateOp::kCount},    {"topk", AggregateOp::kTopk},
      {"bottomk", AggregateOp::kBottomk}};
  for (const auto& [name, op] : kOps) {
    if (name == lower) return op;
  }
  return std::nullopt;
}

bool IsUnsupportedAggregate(std::string_view lower) {
  return lower == "stddev" || lower == "stdvar" || lower == "quantile" || lower == "count_values" ||
         lower == "group";
}

bool IsKeyword(std::string_view lower) {
  static const std::vector<std::string_view> kKeywords = {
      "by",   "without", "on",  "ignoring", "group_left", "group_right",
      "bool", "offset",  "and", "or",       "unless",     "atan2"};
  return std::find(kKeywords.begin(), kKeywords.end(), lower) != kKeywords.end() ||
         AggregateFor(lower).has_value() || IsUnsupportedAggregate(lower);
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || IsDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return 1;
    case BinaryOp::kAnd:
    case BinaryOp::kUnless:
      return 2;
    case BinaryOp::kEql:
    case BinaryOp::kNeq:
    case BinaryOp::kGtr:
    case BinaryOp::kLss:
    case BinaryOp::kGte:
    case BinaryOp::kLte:
      return 3;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      return 5;
    case BinaryOp::kPow:
      return 6;
  }
  return 0;
}
constexpr int kPowPrecedence = 6;

ExprPtr MakeExpr(auto node) {
  auto expr = std::make_unique<Expr>();
  expr->node = std::move(node);
  return expr;
}

// ---------------------------------------------------------------- parser

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  ExprPtr ParseAll() {
    if (Peek().kind == Tok::kEnd) throw ParseError{0, "no expression found in input"};
    ExprPtr expr = ParseBinary(1);
    if (Peek().kind != Tok::kEnd) Unexpected("");
    return expr;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& token = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }
  bool PeekKeyword(std::string_view lower) const {
    return Peek().kind == Tok::kIdentifier && Lower(Peek().text) == lower;
  }
  [[noreturn]] void Unexpected(std::string_view context) const {
    const Token& token = Peek();
    std::string what = token.kind == Tok::kEnd      ? "end of input"
                       : token.kind == Tok::kString ? "string \"" + token.text + "\""
                                                    : "\"" + token.text + "\"";
    throw ParseError{token.offset,
                     "unexpected " + what + (context.empty() ? "" : " " + std::string(context))};
  }
  void Expect(Tok kind, std::string_view context) {
    if (Peek().kind != kind) Unexpected(context);
    Take();
  }

  std::optional<BinaryOp> PeekBinaryOp() const {
    const Token& token = Peek();
    switch (token.kind) {
      case Tok::kAdd:
        return BinaryOp::kAdd;
      case Tok::kSub:
        return BinaryOp::kSub;
      case Tok::kMul:
        return BinaryOp::kMul;
      case Tok::kDiv:
        return BinaryOp::kDiv;
      case Tok::kMod:
        return BinaryOp::kMod;
      case Tok::kPow:
        return BinaryOp::kPow;
      case Tok::kEqual:
        return BinaryOp::kEql;
      case Tok::kNotEqual:
        return BinaryOp::kNeq;
      case Tok::kGreater:
        return BinaryOp::kGtr;
      case Tok::kLess:
        return BinaryOp::kLss;
      case Tok::kGreaterEqual:
        return BinaryOp::kGte;
      case Tok::kLessEqual:
        return BinaryOp::kLte;
      case Tok::kIdentifier: {
        std::string lower = Lower(token.text);
        if (lower == "and") return BinaryOp::kAnd;
        if (lower == "or") return BinaryOp::kOr;
        if (lower == "unless") return BinaryOp::kUnless;
        if (lower == "atan2") throw ParseError{token.offset, "operator \"atan2\" is not supported"};
        return std::nullopt;
      }
      default:
        return std::nullopt;
    }
  }

  // Counts the parser's own recursion (parentheses, unary signs, arguments,
  // right-associative `^`), so that no input can overflow the stack while
  // the tree is still being built; chains built by the loop below are
  // measured afterwards by CheckDepth.
  class RecursionGuard {
   public:
    explicit RecursionGuard(Parser* parser) : parser_(parser) {
      if (++parser_->recursion_ > kMaxRecursion) {
        throw ParseError{parser_->Peek().offset, TooDeepMessage()};
      }
    }
    ~RecursionGuard() { --parser_->recursion_; }

   private:
    // Each level of the tree costs the parser up to two nested calls
    // (ParseBinary and ParseUnary), so this lets the tree-depth check speak.
    static constexpr int kMaxRecursion = 2 * kMaxExprDepth + 8;
    Parser* parser_;
  };

  ExprPtr ParseBinary(int min_precedence) {
    RecursionGuard guard(this);
    ExprPtr lhs = ParseUnary();
    while (true) {
      std::optional<BinaryOp> op = PeekBinaryOp();
      if (!op || Precedence(*op) < min_precedence) return lhs;
      size_t offset = Take().offset;
      Binary binary;
      binary.op = *op;
      ParseBinaryModifiers(&binary);
      int next = *op == BinaryOp::kPow ? kPowPrecedence : Precedence(*op) + 1;
      binary.lhs = std::move(lhs);
      binary.rhs = ParseBinary(next);
      CheckBinary(&binary, offset);
      lhs = MakeExpr(std::move(binary));
    }
  }

  void ParseBinaryModifiers(Binary* binary) {
    if (PeekKeyword("bool")) {
      Take();
      binary->return_bool = true;
    }
    VectorMatching& matching = binary->matching;
    if (PeekKeyword("on") || PeekKeyword("ignoring")) {
      matching.on = Lower(Take().text) == "on";
      matching.explicit_matching = true;
      matching.matching_labels = ParseLabelList();
    }
    if (PeekKeyword("group_left") || PeekKeyword("group_right")) {
      bool left = Lower(Take().text) == "group_left";
      matching.cardinality =
          left ? VectorMatching::Cardinality::kManyToOne : VectorMatching::Cardinality::kOneToMany;
      matching.explicit_matching = true;
      if (Peek().kind == Tok::kLeftParen) matching.include = ParseLabelList();
    }
  }

  void CheckBinary(Binary* binary, size_t offset) const {
    ValueType lt = binary->lhs->type(), rt = binary->rhs->type();
    BinaryOp op = binary->op;
    VectorMatching& matching = binary->matching;
    auto fail = [&](std::string message) { throw ParseError{offset, std::move(message)}; };
    if (binary->return_bool && !IsComparison(op)) {
      fail("bool modifier can only be used on comparison operators");
    }
    if (IsComparison(op) && !binary->return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      fail("comparisons between scalars must use BOOL modifier");
    }
    bool grouped = matching.cardinality == VectorMatching::Cardinality::kManyToOne ||
                   matching.cardinality == VectorMatching::Cardinality::kOneToMany;
    if (IsSetOperator(op) && grouped) {
      fail("no grouping allowed for \"" + std::string(BinaryOpName(op)) + "\" operation");
    }
    if (IsSetOperator(op)) matching.cardinality = VectorMatching::Cardinality::kManyToMany;
    if (matching.on) {
      for (const std::string& label : matching.include) {
        if (std::find(matching.matching_labels.begin(), matching.matching_labels.end(), label) !=
            matching.matching_labels.end()) {
          fail("label \"" + label + "\" must not occur in ON and GROUP clause at once");
        }
      }
    }
    auto operand_ok = [](ValueType t) {
      return t == ValueType::kScalar || t == ValueType::kVector;
    };
    if (!operand_ok(lt) || !operand_ok(rt)) {
      fail("binary expression must contain only scalar and instant vector types");
    }
    if ((lt != ValueType::kVector || rt != ValueType::kVector) && matching.explicit_matching) {
      fail("vector matching only allowed between instant vectors");
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(op)) {
      fail("set operator \"" + std::string(BinaryOpName(op)) +
           "\" not allowed in binary scalar expression");
    }
  }

  ExprPtr ParseUnary() {
    RecursionGuard guard(this);
    if (Peek().kind == Tok::kSub || Peek().kind == Tok::kAdd) {
      const Token& sign = Take();
      bool negate = sign.kind == Tok::kSub;
      ExprPtr operand = ParseBinary(kPowPrecedence);
      ValueType type = operand->type();
      if (type != ValueType::kScalar && type != ValueType::kVector) {
        throw ParseError{sign.offset,
                         "unary expression only allowed on expressions of type scalar or "
                         "instant vector, got \"" +
                             std::string(ValueTypeName(type)) + "\""};
      }
      if (!negate) return operand;
      if (auto* number = std::get_if<NumberLiteral>(&operand->node)) {
        number->value = -number->value;  // Prometheus folds "-1" into a literal
        return operand;
      }
      return MakeExpr(Unary{true, std::move(operand)});
    }
    return ParsePostfix(ParsePrimary());
  }

  ExprPtr ParsePostfix(ExprPtr expr) {
    while (true) {
      if (Peek().kind == Tok::kLeftBracket) {
        expr = ParseRange(std::move(expr));
      } else if (PeekKeyword("offset")) {
        expr = ParseOffset(std::move(expr));
      } else if (Peek().kind == Tok::kAt) {
        expr = ParseAt(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr ParseRange(ExprPtr expr) {
    size_t offset = Take().offset;
    int64_t range = ParseDurationToken("in range selector");
    // "[5m:1m]": the lexer reads ":1m" as an identifier (names may hold ':').
    bool colon =
        Peek().kind == Tok::kColon || (Peek().kind == Tok::kIdentifier && Peek().text[0] == ':');
    if (colon) return ParseSubquery(std::move(expr), range, offset);
    Expect(Tok::kRightBracket, "in range selector, expected \"]\"");
    auto* selector = std::get_if<VectorSelector>(&expr->node);
    if (selector == nullptr) {
      throw ParseError{offset, "ranges only allowed for vector selectors"};
    }
    if (selector->offset_ms != 0) {
      throw ParseError{offset, "no offset modifiers allowed before range"};
    }
    if (selector->at.set()) throw ParseError{offset, "no @ modifiers allowed before range"};
    if (range <= 0) throw ParseError{offset, "range must be positive"};
    return MakeExpr(MatrixSelector{std::move(*selector), range});
  }

  // After "expr[range": ":step]". The step must be given (Prometheus would
  // take its global evaluation interval, which the agent does not have).
  ExprPtr ParseSubquery(ExprPtr expr, int64_t range, size_t offset) {
    int64_t step = 0;
    if (Peek().kind == Tok::kColon) {
      Take();
      if (Peek().kind == Tok::kRightBracket) {
        throw ParseError{offset, "a subquery needs its step: [5m:1s]"};
      }
      step = ParseDurationToken("in subquery step");
    } else {
      // The lexer read ":1m" as one identifier (":" alone: no step).
      const Token token = Take();
      if (token.text == ":") throw ParseError{offset, "a subquery needs its step: [5m:1s]"};
      Status s = ParseDuration(std::string_view(token.text).substr(1), &step);
      if (!s.ok()) throw ParseError{token.offset, "bad subquery step \"" + token.text + "\""};
    }
    Expect(Tok::kRightBracket, "in subquery, expected \"]\"");
    if (expr->type() != ValueType::kVector) {
      throw ParseError{offset, "subquery is only allowed on instant vector, got " +
                                   std::string(ValueTypeName(expr->type()))};
    }
    if (range <= 0 || step <= 0)
      throw ParseError{offset, "subquery range and step must be positive"};
    return MakeExpr(Subquery{std::move(expr), range, step, 0});
  }

  ExprPtr ParseOffset(ExprPtr expr) {
    size_t offset = Take().offset;
    bool negative = false;
    if (Peek().kind == Tok::kSub) {
      Take();
      negative = true;
    }
    int64_t ms = ParseDurationToken("in offset");
    if (negative) ms = -ms;
    if (auto* subquery = std::get_if<Subquery>(&expr->node)) {
      if (subquery->offset_ms != 0) {
        throw ParseError{offset, "offset may not be set multiple times"};
      }
      subquery->offset_ms = ms;
      return expr;
    }
    VectorSelector* selector = std::get_if<VectorSelector>(&expr->node);
    if (auto* matrix = std::get_if<MatrixSelector>(&expr->node)) selector = &matrix->selector;
    if (selector == nullptr) {
      throw ParseError{offset,
                       "offset modifier must be preceded by an instant vector selector or range "
                       "vector selector"};
    }
    if (selector->offset_ms != 0) throw ParseError{offset, "offset may not be set multiple times"};
    selector->offset_ms = ms;
    return expr;
  }

  // "@ <unix seconds>", "@ start()" or "@ end()", after a selector, a range
  // selector or a subquery (Prometheus' setTimestamp/setAtModifierPreprocessor).
  ExprPtr ParseAt(ExprPtr expr) {
    const size_t offset = Take().offset;
    AtModifier* at = nullptr;
    if (auto* selector = std::get_if<VectorSelector>(&expr->node)) at = &selector->at;
    if (auto* matrix = std::get_if<MatrixSelector>(&expr->node)) at = &matrix->selector.at;
    if (auto* subquery = std::get_if<Subquery>(&expr->node)) at = &subquery->at;
    if (at == nullptr) {
      throw ParseError{offset,
                       "@ modifier must be preceded by an instant vector selector or range vector "
                       "selector or a subquery"};
    }
    if (at->set()) throw ParseError{offset, "@ <timestamp> may not be set multiple times"};
    if (Peek().kind == Tok::kIdentifier && (Peek().text == "start" || Peek().text == "end")) {
      at->kind = Take().text == "start" ? AtModifier::Kind::kStart : AtModifier::Kind::kEnd;
      Expect(Tok::kLeftParen, "in @ modifier, expected \"(\"");
      Expect(Tok::kRightParen, "in @ modifier, expected \")\"");
      return expr;
    }
    bool negative = false;
    if (Peek().kind == Tok::kAdd || Peek().kind == Tok::kSub) negative = Take().kind == Tok::kSub;
    if (Peek().kind != Tok::kNumber) Unexpected("in @ modifier, expected timestamp");
    const Token token = Take();
    std::optional<double> seconds = ParseFloat(token.text);
    if (!seconds) throw ParseError{token.offset, "bad number \"" + token.text + "\""};
    const double value = negative ? -*seconds : *seconds;
    // Prometheus' bounds: the milliseconds must fit an int64.
    if (!std::isfinite(value) || value >= 9.223372036854775e15 || value <= -9.223372036854775e15) {
      char text[64];
      std::snprintf(text, sizeof text, "timestamp out of bounds for @ modifier: %f", value);
      throw ParseError{offset, text};
    }
    at->kind = AtModifier::Kind::kTimestamp;
    at->timestamp_ms = static_cast<int64_t>(std::llround(value * 1000));
    return expr;
  }

  int64_t ParseDurationToken(std::string_view context) {
    const Token& token = Peek();
    if (token.kind != Tok::kDuration && token.kind != Tok::kNumber) Unexpected(context);
    int64_t ms = 0;
    if (Status s = ParseDuration(token.text, &ms); !s.ok()) {
      throw ParseError{token.offset, s.message()};
    }
    Take();
    return ms;
  }

  ExprPtr ParsePrimary() {
    const Token& token = Peek();
    switch (token.kind) {
      case Tok::kNumber: {
        std::optional<double> value = ParseFloat(token.text);
        if (!value) throw ParseError{token.offset, "bad number \"" + token.text + "\""};
        Take();
        return MakeExpr(NumberLiteral{*value});
      }
      case Tok::kString:
        return MakeExpr(StringLiteral{Take().text});
      case Tok::kLeftParen: {
        Take();
        ExprPtr inner = ParseBinary(1);
        Expect(Tok::kRightParen, "in paren expression, expected \")\"");
        return MakeExpr(Paren{std::move(inner)});
      }
      case Tok::kLeftBrace:
        return ParseSelector("", token.offset);
      case Tok::kDuration:
        throw ParseError{token.offset, "unexpected duration \"" + token.text + "\""};
      case Tok::kIdentifier:
        return ParseIdentifierExpr();
      default:
        Unexpected("");
    }
  }

  ExprPtr ParseIdentifierExpr() {
    const Token& token = Peek();
    std::string lower = Lower(token.text);
    if (std::optional<AggregateOp> op = AggregateFor(lower)) return ParseAggregate(*op);
    if (IsUnsupportedAggregate(lower)) {
      throw ParseError{token.offset, "aggregation \"" + lower + "\" is not supported"};
    }
    if (Peek(1).kind == Tok::kLeftParen) return ParseCall();
    if (IsKeyword(lower)) Unexpected("");
    size_t offset = token.offset;
    std::string name = Take().text;
    return ParseSelector(std::move(name), offset);
  }

  ExprPtr ParseCall() {
    const Token& name = Take();
    const FunctionDef* function = FindFunction(name.text);
    if (function == nullptr) {
      if (IsUnsupportedPrometheusFunction(name.text)) {
        throw ParseError{name.offset, "function \"" + name.text + "\" is not supported"};
      }
      throw ParseError{name.offset, "unknown function with name \"" + name.text + "\""};
    }
    Take();  // "("
    Call call{function, {}};
    if (Peek().kind != Tok::kRightParen) {
      while (true) {
        call.args.push_back(ParseBinary(1));
        if (Peek().kind != Tok::kComma) break;
        Take();
      }
    }
    Expect(Tok::kRightParen, "in function call, expected \")\"");
    CheckCall(call, *function, name.offset);
    return MakeExpr(std::move(call));
  }

  static void CheckCall(const Call& call, const FunctionDef& signature, size_t offset) {
    const size_t declared = signature.args.size();
    const size_t got_count = call.args.size();
    if (signature.variadic == 0 && got_count != declared) {
      throw ParseError{offset, "expected " + std::to_string(declared) +
                                   " argument(s) in call to \"" + std::string(signature.name) +
                                   "\", got " + std::to_string(got_count)};
    }
    if (signature.variadic != 0) {
      // As Prometheus: at least the fixed ones (a repeated last one may be
      // absent), at most the optional ones more.
      size_t min = signature.variadic > 0 ? declared - static_cast<size_t>(signature.variadic)
                                          : declared - 1;
      if (got_count < min) {
        throw ParseError{offset, "expected at least " + std::to_string(min) +
                                     " argument(s) in call to \"" + std::string(signature.name) +
                                     "\", got " + std::to_string(got_count)};
      }
      if (signature.variadic > 0 && got_count > declared) {
        throw ParseError{offset, "expected at most " + std::to_string(declared) +
                                     " argument(s) in call to \"" + std::string(signature.name) +
                                     "\", got " + std::to_string(got_count)};
      }
    }
    for (size_t i = 0; i < call.args.size(); ++i) {
      ValueType got = call.args[i]->type();
      ValueType want = signature.args[std::min(i, declared - 1)];
      if (got != want) {
        throw ParseError{offset, "expected type " + std::string(ValueTypeName(want)) +
                                     " in call to function \"" + std::string(signature.name) +
                                     "\", got " + std::string(ValueTypeName(got))};
      }
    }
  }

  ExprPtr ParseAggregate(AggregateOp op) {
    size_t offset = Take().offset;
    Aggregate aggregate{op, nullptr, nullptr, {}, false};
    bool grouped = ParseGrouping(&aggregate);
    Expect(Tok::kLeftParen, "in aggregation, expected \"(\"");
    std::vector<ExprPtr> args;
    if (Peek().kind != Tok::kRightParen) {
      while (true) {
        args.push_back(ParseBinary(1));
        if (Peek().kind != Tok::kComma) break;
        Take();
      }
    }
    Expect(Tok::kRightParen, "in aggregation, expected \")\"");
    if (!grouped) ParseGrouping(&aggregate);
    bool has_param = op == AggregateOp::kTopk || op == AggregateOp::kBottomk;
    size_t want = has_param ? 2 : 1;
    if (args.size() != want) {
      throw ParseError{offset,
                       "wrong number of arguments for aggregate expression provided, "
                       "expected " +
                           std::to_string(want) + ", got " + std::to_string(args.size())};
    }
    if (has_param) {
      aggregate.param = std::move(args[0]);
      if (aggregate.param->type() != ValueType::kScalar) {
        throw ParseError{offset, "expected type scalar in aggregation parameter, got " +
                                     std::string(ValueTypeName(aggregate.param->type()))};
      }
    }
    aggregate.expr = std::move(args.back());
    if (aggregate.expr->type() != ValueType::kVector) {
      throw ParseError{offset, "expected type instant vector in aggregation expression, got " +
                                   std::string(ValueTypeName(aggregate.expr->type()))};
    }
    return MakeExpr(std::move(aggregate));
  }

  bool ParseGrouping(Aggregate* aggregate) {
    if (!PeekKeyword("by") && !PeekKeyword("without")) return false;
    aggregate->without = Lower(Take().text) == "without";
    aggregate->grouping = ParseLabelList();
    return true;
  }

  std::vector<std::string> ParseLabelList() {
    Expect(Tok::kLeftParen, "in grouping opts, expected \"(\"");
    std::vector<std::string> labels;
    while (Peek().kind != Tok::kRightParen) {
      const Token& label = Peek();
      if (label.kind != Tok::kIdentifier || !IsValidLabelName(label.text)) {
        Unexpected("in grouping opts, expected label");
      }
      labels.push_back(Take().text);
      if (Peek().kind != Tok::kComma) break;
      Take();
    }
    Expect(Tok::kRightParen, "in grouping opts, expected \")\" or \",\"");
    return labels;
  }

  ExprPtr ParseSelector(std::string name, size_t offset) {
    VectorSelector selector;
    selector.metric_name = name;
    if (!name.empty())
      AddMatcher(&selector, LabelMatcher::Type::kEqual, std::string(kMetricNameLabel), name,
                 offset);
    if (Peek().kind == Tok::kLeftBrace) {
      Take();
      while (Peek().kind != Tok::kRightBrace) {
        ParseMatcher(&selector);
        if (Peek().kind != Tok::kComma) break;
        Take();
      }
      Expect(Tok::kRightBrace, "in label matching, expected \"}\" or \",\"");
    }
    bool any_non_empty = std::any_of(selector.matchers.begin(), selector.matchers.end(),
                                     [](const LabelMatcher& m) { return !m.Matches(""); });
    if (!any_non_empty) {
      throw ParseError{offset, "vector selector must contain at least one non-empty matcher"};
    }
    return MakeExpr(std::move(selector));
  }

  void ParseMatcher(VectorSelector* selector) {
    const Token& label = Peek();
    if (label.kind != Tok::kIdentifier || !IsValidLabelName(label.text)) {
      Unexpected("in label matching, expected label");
    }
    std::string name = Take().text;
    LabelMatcher::Type type;
    switch (Peek().kind) {
      case Tok::kAssign:
        type = LabelMatcher::Type::kEqual;
        break;
      case Tok::kNotEqual:
        type = LabelMatcher::Type::kNotEqual;
        break;
      case Tok::kRegexMatch:
        type = LabelMatcher::Type::kRegexMatch;
        break;
      case Tok::kRegexNoMatch:
        type = LabelMatcher::Type::kRegexNoMatch;
        break;
      default:
        Unexpected("in label matching, expected label matching operator");
    }
    Take();
    if (Peek().kind != Tok::kString) Unexpected("in label matching, expected string");
    const Token& value = Take();
    if (name == kMetricNameLabel && !selector->metric_name.empty()) {
      throw ParseError{label.offset, "metric name must not be set twice: \"" +
                                         selector->metric_name + "\" or \"" + value.text + "\""};
    }
    AddMatcher(selector, type, std::move(name), value.text, value.offset);
  }

  static void AddMatcher(VectorSelector* selector, LabelMatcher::Type type, std::string name,
                         const std::string& value, size_t offset) {
    LabelMatcher matcher;
    if (Status s = LabelMatcher::Make(type, std::move(name), value, &matcher); !s.ok()) {
      throw ParseError{offset, s.message()};
    }
    selector->matchers.push_back(std::move(matcher));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int recursion_ = 0;
};

std::string Position(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

Status ParseExpr(std::string_view text, ExprPtr* out) {
  if (text.size() > kMaxExprBytes) {
    return Status::Error("expression is too long (" + std::to_string(text.size()) +
                         " bytes, at most " + std::to_string(kMaxExprBytes) + ")");
  }
  try {
    Parser parser(Lexer(text).Run());
    ExprPtr expr = parser.ParseAll();
    if (TreeDepth(*expr) > kMaxExprDepth) return Status::Error("1:1: " + TooDeepMessage());
    *out = std::move(expr);
    return Status::Ok();
  } catch (const ParseError& error) {
    return Status::Error(Position(text, error.offset) + ": " + error.message);
  }
}

Status ParseDuration(std::string_view text, int64_t* ms) {
  if (text == "0") {  // Prometheus's model.ParseDuration accepts a bare zero
    *ms = 0;
    return Status::Ok();
  }
  std::optional<std::chrono::milliseconds> parsed = txmon::ParseDuration(text);
  if (!parsed) return Status::Error("not a valid duration string: \"" + std::string(text) + "\"");
  *ms = parsed->count();
  return Status::Ok();
}

}  // namespace txmon
