// NamePattern: a `database:` or `table:` of a mapping. A name made of
// letters, digits, `_` and `$` only is literal; anything else is an RE2
// pattern matched against the whole name (anchored), as Canal's own
// filter (canal.instance.filter.regex) reads its patterns: `t_order_\d+`
// matches the 64 shards t_order_0 ... t_order_63, `mall_2026.*` every
// database of the year. Empty matches any name.
// Thread-safety: const methods may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/base/status.h"

namespace re2 {
class RE2;
}

namespace txmon {

class NamePattern {
 public:
  NamePattern() = default;
  // Refuses a pattern RE2 cannot compile, with RE2's reason.
  static Status Compile(std::string text, NamePattern* out);

  bool Matches(std::string_view name) const;
  bool is_pattern() const { return re_ != nullptr; }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const re2::RE2> re_;  // null: literal
};

// True if `name` is read as a pattern rather than a literal name.
bool IsNamePattern(std::string_view name);

}  // namespace txmon
