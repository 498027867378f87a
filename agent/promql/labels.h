// Labels: the identity of a PromQL series, a set of name="value" pairs kept
// sorted by name (the metric name is the label "__name__"). An empty value
// means the label is absent, as in Prometheus. Immutable value type:
// thread-safe to share once built.
//
// Copies share one immutable representation (a reference count, no string
// copied): a range query hands each series' labels to every one of its
// steps. The set without its metric name and the hashing key are computed
// once per representation, on first use, so `rate(x[1m])` over thousands of
// series does not rebuild them at every step.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txmon {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;
  auto operator<=>(const Label&) const = default;
};

class Labels {
 public:
  Labels() = default;
  // Sorts by name; a later duplicate name replaces an earlier one; empty
  // values are dropped.
  explicit Labels(std::vector<Label> labels);
  Labels(std::initializer_list<Label> labels) : Labels(std::vector<Label>(labels)) {}

  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const { return !Get(name).empty(); }
  std::string_view metric_name() const { return Get(kMetricNameLabel); }

  const std::vector<Label>& items() const { return rep_ ? rep_->labels : EmptyItems(); }
  size_t size() const { return items().size(); }
  bool empty() const { return items().empty(); }
  std::vector<Label>::const_iterator begin() const { return items().begin(); }
  std::vector<Label>::const_iterator end() const { return items().end(); }

  // A copy without the metric name (shared: built once per label set).
  Labels WithoutMetricName() const;

  // Prometheus's labels.String(): {__name__="up", job="a"}.
  std::string ToString() const;
  // The exposition form: up{job="a"} (just "{}" for no labels and no name).
  std::string ToMetricString() const;

  // An unambiguous key for hashing/equality of the whole set (built once
  // per label set).
  const std::string& Key() const;

  bool operator==(const Labels& other) const {
    return rep_ == other.rep_ || items() == other.items();
  }
  auto operator<=>(const Labels& other) const { return items() <=> other.items(); }

 private:
  struct Rep {
    std::vector<Label> labels;  // sorted by name, unique names, no empty values
    mutable std::once_flag key_once;
    mutable std::string key;
    mutable std::once_flag without_name_once;
    mutable std::shared_ptr<const Rep> without_name;  // null: the set has no name
  };
  static const std::vector<Label>& EmptyItems();
  static std::shared_ptr<const Rep> MakeRep(std::vector<Label> labels);

  std::shared_ptr<const Rep> rep_;  // null: the empty set
};

// Edits a label set: Set/Del in any order, then Build.
class LabelsBuilder {
 public:
  explicit LabelsBuilder(const Labels& base) : labels_(base.items()) {}
  LabelsBuilder& Set(std::string_view name, std::string_view value);  // "" deletes
  LabelsBuilder& Del(std::string_view name) { return Set(name, ""); }
  // Keeps only the named labels.
  LabelsBuilder& Keep(const std::vector<std::string>& names);
  Labels Build() const { return Labels(labels_); }

 private:
  std::vector<Label> labels_;
};

// Escapes a label value for the exposition format and PromQL strings
// (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace txmon
