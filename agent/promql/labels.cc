#include "agent/promql/labels.h"

#include <algorithm>

namespace txmon {

Labels::Labels(std::vector<Label> labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  labels_.reserve(labels.size());
  for (Label& label : labels) {
    if (!labels_.empty() && labels_.back().name == label.name) labels_.pop_back();
    labels_.push_back(std::move(label));
  }
  std::erase_if(labels_, [](const Label& label) { return label.value.empty(); });
}

std::string_view Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& label, std::string_view n) { return label.name < n; });
  if (it == labels_.end() || it->name != name) return {};
  return it->value;
}

Labels Labels::WithoutMetricName() const {
  if (!Has(kMetricNameLabel)) return *this;
  Labels out;
  out.labels_.reserve(labels_.size() - 1);
  for (const Label& label : labels_) {
    if (label.name != kMetricNameLabel) out.labels_.push_back(label);
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Labels::ToString() const {
  std::string out = "{";
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels_[i].name + "=\"" + EscapeLabelValue(labels_[i].value) + "\"";
  }
  return out + "}";
}

std::string Labels::ToMetricString() const {
  std::string out(metric_name());
  std::string inner;
  for (const Label& label : labels_) {
    if (label.name == kMetricNameLabel) continue;
    if (!inner.empty()) inner += ", ";
    inner += label.name + "=\"" + EscapeLabelValue(label.value) + "\"";
  }
  if (inner.empty() && !out.empty()) return out;
  return out + "{" + inner + "}";
}

std::string Labels::Key() const {
  std::string key;
  for (const Label& label : labels_) {
    key += label.name;
    key += '\xff';
    key += label.value;
    key += '\xff';
  }
  return key;
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& label, std::string_view n) { return label.name < n; });
  bool found = it != labels_.end() && it->name == name;
  if (value.empty()) {
    if (found) labels_.erase(it);
  } else if (found) {
    it->value.assign(value);
  } else {
    labels_.insert(it, Label{std::string(name), std::string(value)});
  }
  return *this;
}

LabelsBuilder& LabelsBuilder::Keep(const std::vector<std::string>& names) {
  std::erase_if(labels_, [&](const Label& label) {
    return std::find(names.begin(), names.end(), label.name) == names.end();
  });
  return *this;
}

}  // namespace txmon
