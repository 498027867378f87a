#include "agent/decode/name_pattern.h"

#include <re2/re2.h>

namespace txmon {

bool IsNamePattern(std::string_view name) {
  for (char c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '$';
    if (!plain) return true;
  }
  return false;
}

Status NamePattern::Compile(std::string text, NamePattern* out) {
  *out = NamePattern();
  if (IsNamePattern(text)) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(text, options);
    if (!re->ok()) return Status::Error("invalid regular expression: " + re->error());
    out->re_ = std::move(re);
  }
  out->text_ = std::move(text);
  return Status::Ok();
}

bool NamePattern::Matches(std::string_view name) const {
  if (text_.empty()) return true;
  if (!re_) return name == text_;
  return RE2::FullMatch(name, *re_);
}

}  // namespace txmon
