#include "agent/promql/labels.h"

#include <algorithm>

namespace txmon {

const std::vector<Label>& Labels::EmptyItems() {
  static const std::vector<Label> empty;
  return empty;
}

std::shared_ptr<const Labels::Rep> Labels::MakeRep(std::vector<Label> labels) {
  if (labels.empty()) return nullptr;
  auto rep = std::make_shared<Rep>();
  rep->labels = std::move(labels);
  return rep;
}

Labels::Labels(std::vector<Label> labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  std::vector<Label> unique;
  unique.reserve(labels.size());
  for (Label& label : labels) {
    if (!unique.empty() && unique.back().name == label.name) unique.pop_back();
    unique.push_back(std::move(label));
  }
  std::erase_if(unique, [](const Label& label) { return label.value.empty(); });
  rep_ = MakeRep(std::move(unique));
}

std::string_view Labels::Get(std::string_view name) const {
  const std::vector<Label>& labels = items();
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const Label& label, std::string_view n) { return label.name < n; });
  if (it == labels.end() || it->name != name) return {};
  return it->value;
}

Labels Labels::WithoutMetricName() const {
  if (!Has(kMetricNameLabel)) return *this;
  std::call_once(rep_->without_name_once, [&] {
    std::vector<Label> rest;
    rest.reserve(rep_->labels.size() - 1);
    for (const Label& label : rep_->labels) {
      if (label.name != kMetricNameLabel) rest.push_back(label);
    }
    rep_->without_name = MakeRep(std::move(rest));
  });
  Labels out;
  out.rep_ = rep_->without_name;
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
  const std::vector<Label>& labels = items();
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i].name + "=\"" + EscapeLabelValue(labels[i].value) + "\"";
  }
  return out + "}";
}

std::string Labels::ToMetricString() const {
  std::string out(metric_name());
  std::string inner;
  for (const Label& label : items()) {
    if (label.name == kMetricNameLabel) continue;
    if (!inner.empty()) inner += ", ";
    inner += label.name + "=\"" + EscapeLabelValue(label.value) + "\"";
  }
  if (inner.empty() && !out.empty()) return out;
  return out + "{" + inner + "}";
}

const std::string& Labels::Key() const {
  static const std::string empty;
  if (!rep_) return empty;
  std::call_once(rep_->key_once, [&] {
    std::string& key = rep_->key;
    for (const Label& label : rep_->labels) {
      key += label.name;
      key += '\xff';
      key += label.value;
      key += '\xff';
    }
  });
  return rep_->key;
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
