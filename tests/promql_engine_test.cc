// Runs every tests/promql/*.test script (format: tests/promql_script.h)
// through PromqlEngine: each `eval` must give exactly the expected series,
// values equal within Prometheus's test tolerance (1e-6 relative).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "agent/history/sample_history.h"
#include "agent/promql/promql_engine.h"
#include "tests/promql_script.h"

namespace txmon::test {
namespace {

// Prometheus's almostEqual (promql/test.go).
bool AlmostEqual(double a, double b) {
  constexpr double kEpsilon = 0.000001;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || diff < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / (std::fabs(a) + std::fabs(b)) < kEpsilon;
}

std::string Describe(const QueryResult& result) {
  std::string out;
  if (result.type == ValueType::kScalar) return "scalar " + FormatFloatShortest(result.scalar);
  for (const Sample& sample : result.vector) {
    out += "\n    " + sample.metric.ToMetricString() + " " + FormatFloatShortest(sample.value);
  }
  for (const SeriesPoints& series : result.matrix) {
    out += "\n    " + series.metric.ToMetricString() + " [" + std::to_string(series.points.size()) +
           " points]";
  }
  return out.empty() ? "(empty)" : out;
}

// Empty when `result` is what `eval` expects, else the difference.
std::string Compare(const ScriptEval& eval, const QueryResult& result) {
  if (result.type == ValueType::kScalar) {
    if (eval.expected.size() != 1 || !eval.expected[0].scalar) return "unexpected scalar";
    return AlmostEqual(eval.expected[0].value, result.scalar) ? "" : "scalar differs";
  }
  if (result.type != ValueType::kVector) return "not an instant vector";
  if (eval.expected.size() != result.vector.size()) return "series count differs";
  std::map<std::string, double> got;
  for (const Sample& sample : result.vector) got[sample.metric.Key()] = sample.value;
  for (size_t i = 0; i < eval.expected.size(); ++i) {
    const ScriptExpected& want = eval.expected[i];
    auto it = got.find(want.labels.Key());
    if (it == got.end()) return "missing " + want.labels.ToMetricString();
    if (!AlmostEqual(want.value, it->second)) return "value of " + want.labels.ToMetricString();
    if (eval.ordered && result.vector[i].metric != want.labels) {
      return "order differs at " + std::to_string(i);
    }
  }
  return "";
}

class PromqlScriptTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PromqlScriptTest, EveryEvalGivesTheExpectedResult) {
  const std::string path = GetParam();
  std::vector<ScriptStep> steps;
  std::string error;
  ASSERT_TRUE(ParsePromqlScript(ReadScriptFile(path), &steps, &error)) << path << ": " << error;
  auto history = std::make_unique<SampleHistory>();
  PromqlEngine engine;
  int evals = 0;
  for (const ScriptStep& step : steps) {
    if (step.kind == ScriptStep::Kind::kClear) history = std::make_unique<SampleHistory>();
    if (step.kind == ScriptStep::Kind::kLoad) LoadScriptSeries(step.load, history.get());
    if (step.kind != ScriptStep::Kind::kEval) continue;
    ++evals;
    const ScriptEval& eval = step.eval;
    const std::string where = path + ":" + std::to_string(eval.line) + ": " + eval.expr;
    ExprPtr expr;
    Status parsed = ParseExpr(eval.expr, &expr);
    if (!parsed.ok()) {
      ADD_FAILURE() << where << "\n  parse error: " << parsed.message();
      continue;
    }
    QueryResult result;
    Status evaluated = engine.Eval(*expr, eval.at_ms, *history, &result);
    if (eval.expect_fail) {
      EXPECT_FALSE(evaluated.ok()) << where << "\n  expected an error, got" << Describe(result);
      if (!evaluated.ok() && !eval.error_substring.empty()) {
        EXPECT_NE(evaluated.message().find(eval.error_substring), std::string::npos)
            << where << "\n  error: " << evaluated.message();
      }
      continue;
    }
    if (!evaluated.ok()) {
      ADD_FAILURE() << where << "\n  evaluation error: " << evaluated.message();
      continue;
    }
    std::string difference = Compare(eval, result);
    EXPECT_EQ(difference, "") << where << "\n  got:" << Describe(result);
  }
  EXPECT_GT(evals, 0) << path << " has no eval";
}

INSTANTIATE_TEST_SUITE_P(Scripts, PromqlScriptTest, ::testing::ValuesIn(PromqlScriptFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           std::replace_if(
                               name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace txmon::test

namespace txmon {
namespace {

// `@ start()` and `@ end()` are the range query's ends at every step; a
// plain selector moves with the step.
TEST(PromqlEngineAtTest, StartAndEndAreTheRangeEnds) {
  SampleHistory history;
  const Labels labels{{"__name__", "m"}};
  for (int64_t t = 0; t <= 100'000; t += 10'000) history.Append(labels, t, t / 1000.0);
  PromqlEngine engine;
  const QueryBounds bounds{20'000, 80'000};
  struct Case {
    std::string expr;
    int64_t at_ms;
    double want;
  };
  const Case cases[] = {
      {"m @ start()", 50'000, 20},
      {"m @ end()", 50'000, 80},
      {"m @ end() offset 30s", 20'000, 50},
      {"m", 50'000, 50},
      {"sum_over_time(m[20s] @ start())", 80'000, 10 + 20},
      {"max_over_time(m[30s:10s] @ end())", 20'000, 80},
      {"m - m @ start()", 60'000, 40},
  };
  for (const Case& c : cases) {
    ExprPtr expr;
    ASSERT_TRUE(ParseExpr(c.expr, &expr).ok()) << c.expr;
    QueryResult result;
    ASSERT_TRUE(engine.Eval(*expr, c.at_ms, bounds, history, &result).ok()) << c.expr;
    ASSERT_EQ(result.vector.size(), 1u) << c.expr;
    EXPECT_DOUBLE_EQ(result.vector[0].value, c.want) << c.expr;
  }
}

}  // namespace
}  // namespace txmon
