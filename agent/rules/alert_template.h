// AlertTemplate: the Go text/template subset that Prometheus alert labels
// and annotations use, compiled once when a rule file loads and expanded for
// each alert.
//
// Supported: text with {{ pipeline }} actions (and the {{- -}} trimming
// forms); operands $labels.NAME, $value, $externalLabels.NAME, $externalURL,
// .Labels.NAME, .Value, .ExternalLabels.NAME, .ExternalURL, "strings",
// numbers; pipes (`$value | humanize`); the functions humanize,
// humanize1024, humanizeDuration, humanizePercentage, printf, toUpper,
// toLower, title; comments {{/* ... */}}. Anything else (if, range, with,
// define, ...) is refused at Parse with its name.
//
// Immutable after Parse: Expand is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/base/status.h"
#include "agent/promql/labels.h"

namespace txmon {

struct TemplateData {
  const Labels* labels = nullptr;           // the alert's sample labels
  double value = 0;                         // the sample value
  const Labels* external_labels = nullptr;  // may be null
  std::string external_url;
};

class AlertTemplate {
 public:
  // `name` prefixes errors: `template: NAME:1: function "if" not supported`.
  static Status Parse(std::string_view text, std::string_view name, AlertTemplate* out);

  // The expansion; on a runtime error (e.g. humanize of a non-number) the
  // error, as Prometheus renders it into the annotation.
  Status Expand(const TemplateData& data, std::string* out) const;

  bool is_plain_text() const { return plain_; }

  struct Operand;
  struct Command {
    std::vector<Operand> args;  // args[0] is a function name or a value
  };
  using Pipeline = std::vector<Command>;
  struct Piece {
    std::string text;   // literal text (when !is_action)
    Pipeline pipeline;  // when is_action
    bool is_action = false;
  };

 private:
  std::string name_;
  std::vector<Piece> pieces_;
  bool plain_ = true;
};

struct AlertTemplate::Operand {
  enum class Kind {
    kFunction,
    kString,
    kNumber,
    kValue,
    kLabel,
    kExternalLabel,
    kExternalURL,
    kLabels
  };
  Kind kind = Kind::kString;
  std::string text;  // function name, string, label name
  double number = 0;
};

}  // namespace txmon
