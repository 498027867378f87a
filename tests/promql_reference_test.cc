// Prometheus itself as the reference: every `eval` of tests/promql/*.test is
// evaluated by our engine, and the exact result (labels and the shortest
// float text of each value) is handed to `promtool test rules` as the
// expected samples of a promql_expr_test over the same input series.
// promtool compares with exact equality, so a pass means Prometheus 2.42's
// engine computes bit-for-bit the same answers.
//
// Left out: eval_fail cases, and results holding NaN (promtool's equality
// cannot match NaN).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/history/sample_history.h"
#include "agent/promql/promql_engine.h"
#include "tests/promql_script.h"
#include "tests/support/process.h"

namespace txmon::test {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

std::string YamlQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string YamlFloat(double value) {
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  return FormatFloatShortest(value);
}

// One promtool test per load: its series and the evals that follow it.
struct PromtoolTest {
  ScriptLoad load;
  std::string evals_yaml;
  int evals = 0;
};

std::string LoadYaml(const ScriptLoad& load) {
  std::string out = "  - interval: " + FormatDuration(load.interval_ms) + "\n    input_series:\n";
  for (const ScriptSeries& series : load.series) {
    out += "      - series: " + YamlQuote(series.labels_text) +
           "\n        values: " + YamlQuote(series.values_text) + "\n";
  }
  return out;
}

// The expected-samples YAML of our engine's result, or "" to leave it out.
std::string ExpectationYaml(const ScriptEval& eval, const QueryResult& result) {
  Vector vector = result.vector;
  if (result.type == ValueType::kScalar) vector = {Sample{Labels(), result.scalar}};
  if (result.type != ValueType::kScalar && result.type != ValueType::kVector) return "";
  std::string out = "      - expr: " + YamlQuote(eval.expr) +
                    "\n        eval_time: " + eval.at_text +
                    "\n        exp_samples:" + (vector.empty() ? " []\n" : "\n");
  for (const Sample& sample : vector) {
    if (std::isnan(sample.value)) return "";
    out += "          - labels: " + YamlQuote(sample.metric.ToMetricString()) +
           "\n            value: " + YamlFloat(sample.value) + "\n";
  }
  return out;
}

class PromqlReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PromqlReferenceTest, PrometheusAgreesWithEveryEval) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package \"prometheus\"";
  std::vector<ScriptStep> steps;
  std::string error;
  ASSERT_TRUE(ParsePromqlScript(ReadScriptFile(GetParam()), &steps, &error)) << error;

  std::vector<PromtoolTest> tests;
  auto history = std::make_unique<SampleHistory>();
  PromqlEngine engine;
  bool cleared = true;
  for (const ScriptStep& step : steps) {
    if (step.kind == ScriptStep::Kind::kClear) {
      history = std::make_unique<SampleHistory>();
      cleared = true;
    }
    if (step.kind == ScriptStep::Kind::kLoad) {
      if (cleared) {
        tests.push_back(PromtoolTest{step.load, "", 0});
      } else {
        // promtool has one interval per test: a second load joins the first.
        ASSERT_EQ(step.load.interval_ms, tests.back().load.interval_ms) << "line " << step.line;
        for (const ScriptSeries& series : step.load.series) {
          tests.back().load.series.push_back(series);
        }
      }
      cleared = false;
      for (const ScriptSeries& series : step.load.series) {
        for (size_t i = 0; i < series.values.size(); ++i) {
          if (series.values[i]) {
            history->Append(series.labels, static_cast<int64_t>(i) * step.load.interval_ms,
                            *series.values[i]);
          }
        }
      }
    }
    if (step.kind != ScriptStep::Kind::kEval || step.eval.expect_fail || tests.empty()) continue;
    ExprPtr expr;
    ASSERT_TRUE(ParseExpr(step.eval.expr, &expr).ok()) << step.eval.expr;
    QueryResult result;
    ASSERT_TRUE(engine.Eval(*expr, step.eval.at_ms, *history, &result).ok()) << step.eval.expr;
    std::string yaml = ExpectationYaml(step.eval, result);
    if (yaml.empty()) continue;
    tests.back().evals_yaml += yaml;
    tests.back().evals++;
  }

  std::string yaml = "evaluation_interval: 1m\ntests:\n";
  int evals = 0;
  for (const PromtoolTest& test : tests) {
    if (test.evals == 0) continue;
    yaml += LoadYaml(test.load) + "    promql_expr_test:\n" + test.evals_yaml;
    evals += test.evals;
  }
  ASSERT_GT(evals, 0);
  std::string directory = ::testing::TempDir() + "promql_reference_" + std::to_string(getpid());
  std::filesystem::create_directories(directory);
  const std::string test_file =
      directory + "/" + std::filesystem::path(GetParam()).stem().string() + ".yml";
  std::ofstream(test_file) << yaml;

  ProcessOptions options;
  options.binary = kPromtool;
  options.args = {"test", "rules", test_file};
  options.stdout_path = directory + "/stdout";
  options.stderr_path = directory + "/stderr";
  auto promtool = Process::Start(options, &error);
  ASSERT_TRUE(promtool) << error;
  std::optional<int> exit_code = promtool->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(exit_code.has_value()) << "promtool did not finish";
  EXPECT_EQ(*exit_code, 0) << "promtool disagrees with our engine on " << GetParam() << " ("
                           << evals << " evals):\n"
                           << promtool->Stdout() << promtool->Stderr() << "\ninput: " << test_file;
}

INSTANTIATE_TEST_SUITE_P(Scripts, PromqlReferenceTest, ::testing::ValuesIn(PromqlScriptFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           std::replace_if(
                               name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace txmon::test
