#include "agent/rules/alert_template.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>

#include "agent/promql/float_format.h"

namespace txmon {

namespace {

using Operand = AlertTemplate::Operand;
using Command = AlertTemplate::Command;
using Pipeline = AlertTemplate::Pipeline;

// A value while a pipeline runs: text, a number, a label map, or Go's
// "no value" (a missing map key).
struct NoValue {};
using TemplateValue = std::variant<std::string, double, const Labels*, NoValue>;

// --------------------------------------------------------------- formatting

// Go's %.4g: C's, except for the names of the non-finite values.
std::string FormatG4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

std::string Print(const TemplateValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* number = std::get_if<double>(&value)) return FormatFloatShortest(*number);
  if (const auto* labels = std::get_if<const Labels*>(&value)) {
    std::string out = "map[";
    bool first = true;
    for (const Label& label : **labels) {
      out += (first ? "" : " ") + label.name + ":" + label.value;
      first = false;
    }
    return out + "]";
  }
  return "<no value>";
}

std::string GoTypeName(const TemplateValue& value) {
  if (std::holds_alternative<std::string>(value)) return "string";
  if (std::holds_alternative<double>(value)) return "float64";
  if (std::holds_alternative<const Labels*>(value)) return "map[string]string";
  return "<nil>";
}

struct FunctionError {
  std::string message;
};

// Prometheus's convertToFloat: numbers as they are, strings parsed.
double ToFloat(const TemplateValue& value) {
  if (const auto* number = std::get_if<double>(&value)) return *number;
  if (const auto* text = std::get_if<std::string>(&value)) {
    std::optional<double> parsed = ParseFloat(*text);
    if (!parsed)
      throw FunctionError{"strconv.ParseFloat: parsing \"" + *text + "\": invalid syntax"};
    return *parsed;
  }
  throw FunctionError{"can't convert " + GoTypeName(value) + " to float"};
}

std::string SmallPrefixed(double v, const char* suffix) {
  static const char* kPrefixes[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  for (const char* p : kPrefixes) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return FormatG4(v) + prefix + suffix;
}

std::string Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  if (std::fabs(v) >= 1) {
    static const char* kPrefixes[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    std::string prefix;
    for (const char* p : kPrefixes) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return FormatG4(v) + prefix;
  }
  return SmallPrefixed(v, "");
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  static const char* kPrefixes[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
  std::string prefix;
  for (const char* p : kPrefixes) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return FormatG4(v) + prefix;
}

std::string HumanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return FormatG4(v);
  if (v == 0) return FormatG4(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign = v < 0 ? "-" : "";
    v = std::fabs(v);
    int64_t duration = static_cast<int64_t>(v);
    int64_t seconds = duration % 60, minutes = (duration / 60) % 60;
    int64_t hours = (duration / 3600) % 24, days = duration / 86400;
    auto n = [](int64_t x) { return std::to_string(x); };
    if (days != 0) {
      return sign + n(days) + "d " + n(hours) + "h " + n(minutes) + "m " + n(seconds) + "s";
    }
    if (hours != 0) return sign + n(hours) + "h " + n(minutes) + "m " + n(seconds) + "s";
    if (minutes != 0) return sign + n(minutes) + "m " + n(seconds) + "s";
    return sign + FormatG4(v) + "s";
  }
  return SmallPrefixed(v, "s");
}

std::string GoQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One printf verb with Go's meaning for the two value types we have.
std::string FormatVerb(char verb, const std::string& spec, const TemplateValue& arg) {
  const double* number = std::get_if<double>(&arg);
  const std::string* text = std::get_if<std::string>(&arg);
  auto bad = [&] {
    return "%!" + std::string(1, verb) + "(" + GoTypeName(arg) + "=" + Print(arg) + ")";
  };
  char buffer[512];
  switch (verb) {
    case 'v':
    case 's':
      if (verb == 's' && number) return bad();
      std::snprintf(buffer, sizeof buffer, ("%" + spec + "s").c_str(), Print(arg).c_str());
      return buffer;
    case 'q':
      if (!text) return bad();
      return GoQuote(*text);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (!number) return bad();
      if (!std::isfinite(*number)) return FormatG4(*number);
      std::snprintf(buffer, sizeof buffer, ("%" + spec + verb).c_str(), *number);
      return buffer;
    default:
      return bad();
  }
}

std::string GoSprintf(const std::string& format, const std::vector<TemplateValue>& args) {
  std::string out;
  size_t next_arg = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    size_t start = ++i;
    while (i < format.size() && std::string_view("+-# 0").find(format[i]) != std::string_view::npos)
      ++i;
    while (i < format.size() &&
           (std::isdigit(static_cast<unsigned char>(format[i])) || format[i] == '.'))
      ++i;
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next_arg >= args.size()) {
      out += "%!" + std::string(1, verb) + "(MISSING)";
      continue;
    }
    out += FormatVerb(verb, format.substr(start, i - start), args[next_arg++]);
  }
  if (next_arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t a = next_arg; a < args.size(); ++a) {
      out += (a > next_arg ? ", " : "") + GoTypeName(args[a]) + "=" + Print(args[a]);
    }
    out += ")";
  }
  return out;
}

std::string Title(std::string text) {
  bool start = true;
  for (char& c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = false;
    } else {
      start = true;
    }
  }
  return text;
}

const std::vector<std::string_view>& FunctionNames() {
  static const std::vector<std::string_view> kNames = {
      "humanize", "humanize1024", "humanizeDuration", "humanizePercentage",
      "printf",   "toUpper",      "toLower",          "title"};
  return kNames;
}

TemplateValue CallFunction(const std::string& name, const std::vector<TemplateValue>& args) {
  auto need = [&](size_t count) {
    if (args.size() != count) {
      throw FunctionError{"wrong number of args for " + name + ": want " + std::to_string(count) +
                          " got " + std::to_string(args.size())};
    }
  };
  if (name == "printf") {
    if (args.empty()) throw FunctionError{"wrong number of args for printf: want at least 1 got 0"};
    const std::string* format = std::get_if<std::string>(&args[0]);
    if (!format)
      throw FunctionError{"wrong type for value; expected string; got " + GoTypeName(args[0])};
    return GoSprintf(*format, std::vector<TemplateValue>(args.begin() + 1, args.end()));
  }
  need(1);
  if (name == "humanize") return Humanize(ToFloat(args[0]));
  if (name == "humanize1024") return Humanize1024(ToFloat(args[0]));
  if (name == "humanizeDuration") return HumanizeDuration(ToFloat(args[0]));
  if (name == "humanizePercentage") {
    double v = ToFloat(args[0]) * 100;
    return std::isfinite(v) ? FormatG4(v) + "%" : FormatG4(v) + "%";
  }
  std::string text = Print(args[0]);
  if (name == "toUpper") {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }
  if (name == "toLower") {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
  return Title(text);
}

// --------------------------------------------------------------- parsing

struct TemplateParseError {
  std::string message;
};

class ActionParser {
 public:
  explicit ActionParser(std::string_view text) : text_(text) {}

  Pipeline Parse() {
    Pipeline pipeline;
    while (true) {
      pipeline.push_back(ParseCommand(pipeline.empty()));
      SkipSpace();
      if (pos_ >= text_.size()) return pipeline;
      if (text_[pos_] != '|')
        throw TemplateParseError{"unexpected \"" + std::string(1, text_[pos_]) + "\" in command"};
      ++pos_;
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  Command ParseCommand(bool first_in_pipeline) {
    Command command;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] == '|') break;
      command.args.push_back(ParseOperand(first_in_pipeline && command.args.empty()));
    }
    if (command.args.empty()) throw TemplateParseError{"missing value for command"};
    if (command.args.size() > 1 && command.args[0].kind != Operand::Kind::kFunction) {
      throw TemplateParseError{"can't give argument to non-function"};
    }
    return command;
  }

  std::string Word() {
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
            text_[pos_] == '.' || text_[pos_] == '$' || text_[pos_] == '-' || text_[pos_] == '+')) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  Operand ParseOperand(bool first) {
    char c = text_[pos_];
    if (c == '"' || c == '`') return ParseString(c);
    if (c == '(' || c == ')') throw TemplateParseError{"parenthesized pipelines are not supported"};
    std::string word = Word();
    if (word.empty())
      throw TemplateParseError{"unexpected \"" + std::string(1, c) + "\" in command"};
    if (word[0] == '$' || word[0] == '.') return Variable(word);
    if (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-' || word[0] == '+') {
      std::optional<double> number = ParseFloat(word);
      if (!number) throw TemplateParseError{"bad number syntax: \"" + word + "\""};
      return Operand{Operand::Kind::kNumber, word, *number};
    }
    static const std::vector<std::string_view> kActions = {
        "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"};
    if (first && std::find(kActions.begin(), kActions.end(), word) != kActions.end()) {
      throw TemplateParseError{"action \"" + word + "\" is not supported"};
    }
    const auto& names = FunctionNames();
    if (std::find(names.begin(), names.end(), word) == names.end()) {
      throw TemplateParseError{"function \"" + word + "\" not defined"};
    }
    return Operand{Operand::Kind::kFunction, word, 0};
  }

  Operand ParseString(char quote) {
    std::string value;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && quote == '"' && pos_ + 1 < text_.size()) {
        char e = text_[++pos_];
        value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        value += text_[pos_];
      }
      ++pos_;
    }
    if (pos_ >= text_.size()) throw TemplateParseError{"unterminated quoted string"};
    ++pos_;
    return Operand{Operand::Kind::kString, value, 0};
  }

  static Operand Variable(const std::string& word) {
    size_t dot = word.find('.', 1);
    std::string head = word.substr(0, dot);
    std::string field = dot == std::string::npos ? "" : word.substr(dot + 1);
    bool is_labels = head == "$labels" || head == ".Labels";
    bool is_external = head == "$externalLabels" || head == ".ExternalLabels";
    if ((is_labels || is_external) && field.find('.') != std::string::npos) {
      throw TemplateParseError{"can't evaluate field of a label value: \"" + word + "\""};
    }
    if (is_labels) {
      return field.empty() ? Operand{Operand::Kind::kLabels, "", 0}
                           : Operand{Operand::Kind::kLabel, field, 0};
    }
    if (is_external && !field.empty()) return Operand{Operand::Kind::kExternalLabel, field, 0};
    if (field.empty() && (head == "$value" || head == ".Value")) {
      return Operand{Operand::Kind::kValue, "", 0};
    }
    if (field.empty() && (head == "$externalURL" || head == ".ExternalURL")) {
      return Operand{Operand::Kind::kExternalURL, "", 0};
    }
    if (word.find(":=") != std::string::npos || word.find('=') != std::string::npos) {
      throw TemplateParseError{"variable declarations are not supported"};
    }
    throw TemplateParseError{"undefined variable or field \"" + word + "\""};
  }

  std::string_view text_;
  size_t pos_ = 0;
};

TemplateValue Resolve(const Operand& operand, const TemplateData& data) {
  switch (operand.kind) {
    case Operand::Kind::kString:
      return operand.text;
    case Operand::Kind::kNumber:
      return operand.number;
    case Operand::Kind::kValue:
      return data.value;
    case Operand::Kind::kExternalURL:
      return data.external_url;
    case Operand::Kind::kLabels:
      return data.labels;
    case Operand::Kind::kLabel:
    case Operand::Kind::kExternalLabel: {
      const Labels* labels =
          operand.kind == Operand::Kind::kLabel ? data.labels : data.external_labels;
      if (labels == nullptr || !labels->Has(operand.text)) return NoValue{};
      return std::string(labels->Get(operand.text));
    }
    case Operand::Kind::kFunction:
      break;
  }
  return NoValue{};
}

TemplateValue Run(const Pipeline& pipeline, const TemplateData& data) {
  std::optional<TemplateValue> piped;
  for (const Command& command : pipeline) {
    if (command.args[0].kind != Operand::Kind::kFunction) {
      if (piped) throw FunctionError{"can't give argument to non-function"};
      piped = Resolve(command.args[0], data);
      continue;
    }
    std::vector<TemplateValue> args;
    for (size_t i = 1; i < command.args.size(); ++i) args.push_back(Resolve(command.args[i], data));
    if (piped) args.push_back(*piped);
    piped = CallFunction(command.args[0].text, args);
  }
  return *piped;
}

void TrimRight(std::string* text) {
  while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back()))) text->pop_back();
}

}  // namespace

Status AlertTemplate::Parse(std::string_view text, std::string_view name, AlertTemplate* out) {
  out->name_ = std::string(name);
  out->pieces_.clear();
  out->plain_ = true;
  size_t pos = 0;
  bool trim_next = false;
  while (pos <= text.size()) {
    size_t open = text.find("{{", pos);
    std::string literal(text.substr(pos, open == std::string_view::npos ? text.npos : open - pos));
    if (trim_next) {
      size_t first = literal.find_first_not_of(" \t\r\n");
      literal = first == std::string::npos ? "" : literal.substr(first);
    }
    if (open == std::string_view::npos) {
      out->pieces_.push_back(Piece{literal, {}, false});
      break;
    }
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + open, '\n'));
    auto fail = [&](const std::string& message) {
      return Status::Error("template: " + out->name_ + ":" + std::to_string(line) + ": " + message);
    };
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return fail("unclosed action");
    std::string_view inner = text.substr(open + 2, close - open - 2);
    if (inner.size() >= 2 && inner[0] == '-' &&
        std::isspace(static_cast<unsigned char>(inner[1]))) {
      TrimRight(&literal);
      inner.remove_prefix(1);
    }
    trim_next = false;
    if (inner.size() >= 2 && inner.back() == '-' &&
        std::isspace(static_cast<unsigned char>(inner[inner.size() - 2]))) {
      trim_next = true;
      inner.remove_suffix(1);
    }
    out->pieces_.push_back(Piece{literal, {}, false});
    pos = close + 2;
    std::string_view trimmed = inner;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
      trimmed.remove_prefix(1);
    if (trimmed.starts_with("/*")) continue;  // a comment
    try {
      out->pieces_.push_back(Piece{"", ActionParser(inner).Parse(), true});
      out->plain_ = false;
    } catch (const TemplateParseError& error) {
      return fail(error.message);
    }
  }
  return Status::Ok();
}

Status AlertTemplate::Expand(const TemplateData& data, std::string* out) const {
  out->clear();
  for (const Piece& piece : pieces_) {
    if (!piece.is_action) {
      *out += piece.text;
      continue;
    }
    try {
      *out += Print(Run(piece.pipeline, data));
    } catch (const FunctionError& error) {
      return Status::Error("error executing template " + name_ + ": " + error.message);
    }
  }
  return Status::Ok();
}

}  // namespace txmon
