// Labels: the identity of a PromQL series, a set of name="value" pairs kept
// sorted by name (the metric name is the label "__name__"). An empty value
// means the label is absent, as in Prometheus. Immutable value type:
// thread-safe to share once built.
#pragma once

#include <cstddef>
#include <initializer_list>
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

  const std::vector<Label>& items() const { return labels_; }
  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  std::vector<Label>::const_iterator begin() const { return labels_.begin(); }
  std::vector<Label>::const_iterator end() const { return labels_.end(); }

  // A copy without the metric name.
  Labels WithoutMetricName() const;

  // Prometheus's labels.String(): {__name__="up", job="a"}.
  std::string ToString() const;
  // The exposition form: up{job="a"} (just "{}" for no labels and no name).
  std::string ToMetricString() const;

  // An unambiguous key for hashing/equality of the whole set.
  std::string Key() const;

  bool operator==(const Labels&) const = default;
  auto operator<=>(const Labels& other) const { return labels_ <=> other.labels_; }

 private:
  std::vector<Label> labels_;  // sorted by name, unique names, no empty values
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
