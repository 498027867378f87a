#include "agent/rules/recording_rule.h"

#include <unordered_set>

namespace txmon {

Status RecordingRule::Eval(int64_t time_ms, const PromqlEngine& engine,
                           const SeriesStorage& storage, int64_t limit, Vector* out) const {
  Vector result;
  if (Status s = engine.EvalVector(*spec_.expr, time_ms, storage, &result); !s.ok()) return s;
  std::unordered_set<std::string> seen;
  for (Sample& sample : result) {
    LabelsBuilder builder(sample.metric);
    builder.Set(kMetricNameLabel, spec_.name);
    for (const TemplatedPair& label : spec_.labels) builder.Set(label.name, label.text);
    sample.metric = builder.Build();
    if (!seen.insert(sample.metric.Key()).second) {
      return Status::Error(
          "vector contains metrics with the same labelset after applying rule labels");
    }
  }
  if (limit > 0 && static_cast<int64_t>(result.size()) > limit) {
    return Status::Error("exceeded limit of " + std::to_string(limit) + " with " +
                         std::to_string(result.size()) + " series");
  }
  *out = std::move(result);
  return Status::Ok();
}

RuleEvaluation RecordingRule::evaluation() const {
  std::lock_guard lock(mutex_);
  return evaluation_;
}

void RecordingRule::RecordEvaluation(const RuleEvaluation& evaluation) {
  std::lock_guard lock(mutex_);
  evaluation_ = evaluation;
}

}  // namespace txmon
