// A range query evaluated over all its steps at once (PromqlEngine::
// EvalRange: selectors, range functions and aggregations over every step
// in one pass per series) against the same expression evaluated by Eval at
// each step, the way a range query was evaluated before: every answer must
// agree bit for bit, in values, labels and errors. Over every eval of
// tests/promql/*.test (which promtool checks against Prometheus) and over
// data chosen to hit the sliding windows' edge cases: counter resets, NaN,
// infinities, -0 and 0, staleness markers, gaps past the lookback, integer
// and fractional values, series differing only in their name.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/history/sample_history.h"
#include "agent/promql/float_format.h"
#include "agent/promql/promql_engine.h"
#include "agent/promql/promql_parser.h"
#include "tests/promql_script.h"

namespace txmon::test {
namespace {

// The step-by-step answer, assembled as a range query's: one series per
// label set, a scalar as the series without labels, sorted by labels.
Status StepByStep(const PromqlEngine& engine, const Expr& expr, int64_t start, int64_t end,
                  int64_t step, const SeriesStorage& storage, Matrix* out) {
  std::unordered_map<std::string, size_t> index;
  auto series_for = [&](const Labels& labels) -> std::vector<Point>& {
    auto [it, inserted] = index.try_emplace(labels.Key(), out->size());
    if (inserted) out->push_back(SeriesPoints{labels, {}});
    return (*out)[it->second].points;
  };
  for (int64_t t = start; t <= end; t += step) {
    QueryResult result;
    Status status = engine.Eval(expr, t, QueryBounds{start, end}, storage, &result);
    if (!status.ok()) return status;
    if (result.type == ValueType::kScalar) {
      series_for(Labels()).push_back(Point{t, result.scalar});
    } else {
      for (const Sample& sample : result.vector) {
        series_for(sample.metric).push_back(Point{t, sample.value});
      }
    }
  }
  std::sort(out->begin(), out->end(),
            [](const SeriesPoints& a, const SeriesPoints& b) { return a.metric < b.metric; });
  return Status::Ok();
}

// Empty when both evaluations agree bit for bit, else the first difference.
std::string Difference(const PromqlEngine& engine, const std::string& text, int64_t start,
                       int64_t end, int64_t step, const SeriesStorage& storage) {
  ExprPtr expr;
  if (Status s = ParseExpr(text, &expr); !s.ok()) return "parse error: " + s.message();
  if (expr->type() != ValueType::kScalar && expr->type() != ValueType::kVector) return "";
  Matrix want, got;
  Status want_status = StepByStep(engine, *expr, start, end, step, storage, &want);
  Status got_status = engine.EvalRange(*expr, start, end, step, storage, &got);
  if (want_status.ok() != got_status.ok() || want_status.message() != got_status.message()) {
    return "status: step by step \"" + want_status.message() + "\", all steps \"" +
           got_status.message() + "\"";
  }
  if (!want_status.ok()) return "";
  if (want.size() != got.size()) {
    return "series: step by step " + std::to_string(want.size()) + ", all steps " +
           std::to_string(got.size());
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].metric != got[i].metric) {
      return "labels: " + want[i].metric.ToString() + " vs " + got[i].metric.ToString();
    }
    const std::vector<Point>& a = want[i].points;
    const std::vector<Point>& b = got[i].points;
    if (a.size() != b.size()) return "points of " + want[i].metric.ToString();
    for (size_t k = 0; k < a.size(); ++k) {
      if (a[k].timestamp_ms != b[k].timestamp_ms ||
          std::bit_cast<uint64_t>(a[k].value) != std::bit_cast<uint64_t>(b[k].value)) {
        return want[i].metric.ToString() + " at " + std::to_string(a[k].timestamp_ms) + ": " +
               FormatFloatShortest(a[k].value) + " vs " + FormatFloatShortest(b[k].value);
      }
    }
  }
  return "";
}

TEST(PromqlRangeStepsTest, EveryScriptEvalAgreesOverTwoGrids) {
  PromqlEngine engine;
  int compared = 0;
  for (const std::string& path : PromqlScriptFiles()) {
    std::vector<ScriptStep> steps;
    std::string error;
    ASSERT_TRUE(ParsePromqlScript(ReadScriptFile(path), &steps, &error)) << path << ": " << error;
    auto history = std::make_unique<SampleHistory>();
    for (const ScriptStep& step : steps) {
      if (step.kind == ScriptStep::Kind::kClear) history = std::make_unique<SampleHistory>();
      if (step.kind == ScriptStep::Kind::kLoad) LoadScriptSeries(step.load, history.get());
      if (step.kind != ScriptStep::Kind::kEval) continue;
      const int64_t at = step.eval.at_ms;
      // One grid on the samples' minutes, one off them with a step of its own.
      EXPECT_EQ(Difference(engine, step.eval.expr, at - 10 * 60'000, at, 60'000, *history), "")
          << path << ":" << step.eval.line << ": " << step.eval.expr;
      EXPECT_EQ(Difference(engine, step.eval.expr, at - 7 * 60'000 + 13'000, at + 60'000, 17'000,
                           *history),
                "")
          << path << ":" << step.eval.line << ": " << step.eval.expr << " (17 s grid)";
      ++compared;
    }
  }
  EXPECT_GT(compared, 100);
}

// Series at a 1 s resolution with the cases a sliding window can get
// wrong, 20 minutes of them.
std::unique_ptr<SampleHistory> EdgeCaseHistory() {
  auto history = std::make_unique<SampleHistory>();
  std::mt19937 random(12);
  auto uniform = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const char* kinds[] = {"counter", "fraction", "integer", "special", "sparse"};
  for (const char* kind : kinds) {
    for (int j = 0; j < 6; ++j) {
      const std::string k = kind;
      Labels labels{{"__name__", "m_" + k}, {"kind", k}, {"j", std::to_string(j)}};
      SampleHistory::SeriesId id = history->Intern(labels);
      // The same labels under another name, for the duplicate-labelset errors.
      SampleHistory::SeriesId twin =
          history->Intern(Labels{{"__name__", "twin_" + k}, {"kind", k}, {"j", std::to_string(j)}});
      double value = 0;
      for (int s = 0; s < 20 * 60; ++s) {
        const int64_t t = static_cast<int64_t>(s) * 1000 + (k == "sparse" ? 250 : 0);
        if (k == "sparse" && (s / 400) % 2 == 1) continue;  // 400 s gaps: past the lookback
        if (uniform(10) == 0 && k != "counter") continue;   // a missed sample now and then
        if (k == "counter") {
          value += uniform(4);
          if (uniform(150) == 0) value = uniform(3);  // a reset
        } else if (k == "fraction") {
          value = uniform(2000) / 7.0 - 100;
        } else if (k == "integer") {
          value = uniform(21) - 10;
        } else if (k == "special") {
          const double specials[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.5, -2, 3};
          value = specials[uniform(8)];
          if (uniform(40) == 0) value = StaleNaN();
        } else {
          value = uniform(5);
        }
        history->Append(id, t, value);
        if (j % 2 == 0 && uniform(3) == 0) history->Append(twin, t, value);
      }
    }
  }
  return history;
}

TEST(PromqlRangeStepsTest, EdgeCasesAgreeBitForBit) {
  std::unique_ptr<SampleHistory> history = EdgeCaseHistory();
  PromqlEngine engine;
  const std::vector<std::string> functions = {
      "rate",           "increase",         "delta",
      "irate",          "avg_over_time",    "max_over_time",
      "min_over_time",  "sum_over_time",    "count_over_time",
      "last_over_time", "stddev_over_time", "stdvar_over_time",
      "deriv",          "changes",          "resets"};
  const std::vector<std::string> selectors = {"m_counter",
                                              "m_fraction",
                                              "m_integer",
                                              "m_special",
                                              "m_sparse",
                                              "{kind=~\"counter|special\"}",
                                              "{__name__=~\"(m|twin)_counter\"}"};
  std::vector<std::string> queries;
  for (const std::string& selector : selectors) {
    queries.push_back(selector);
    queries.push_back(selector + " offset 30s");
    queries.push_back(selector + " @ start()");
    for (const std::string& function : functions) {
      for (const char* range : {"[1s]", "[5s]", "[1m]", "[5m]"}) {
        queries.push_back(function + "(" + selector + range + ")");
      }
      queries.push_back(function + "(" + selector + "[1m] offset 17s)");
      queries.push_back(function + "(" + selector + "[2m] @ end())");
    }
    queries.push_back("quantile_over_time(0.9, " + selector + "[1m])");
    queries.push_back("predict_linear(" + selector + "[1m], 60)");
    for (const char* op : {"sum", "avg", "min", "max", "count"}) {
      queries.push_back(std::string(op) + "(" + selector + ")");
      queries.push_back(std::string(op) + " by (j) (rate(" + selector + "[1m]))");
      queries.push_back(std::string(op) + " without (j) (max_over_time(" + selector + "[30s]))");
      queries.push_back(std::string(op) + "(sum_over_time(" + selector + "[10s]))");
    }
    queries.push_back("topk(2, sum by (j) (increase(" + selector + "[1m])))");
    queries.push_back("sort_desc(sum by (kind) (increase(" + selector + "[5m])))");
    queries.push_back("sum(rate(" + selector + "[1m])) / sum(rate(" + selector + "[5m]))");
    queries.push_back("sum(sum by (j) (" + selector + "))");
    queries.push_back("histogram_quantile(0.9, sum by (le) (rate(" + selector + "[1m])))");
    queries.push_back("abs(" + selector + ") > 1");
    queries.push_back("max_over_time(rate(" + selector + "[10s])[1m:5s])");
  }
  struct Grid {
    int64_t start, end, step;
  };
  const Grid grids[] = {
      {300'000, 600'000, 1000}, {61'500, 1'150'000, 7'000}, {0, 1'300'000, 60'000}};
  int compared = 0;
  for (const std::string& query : queries) {
    for (const Grid& grid : grids) {
      EXPECT_EQ(Difference(engine, query, grid.start, grid.end, grid.step, *history), "")
          << query << " over [" << grid.start << ", " << grid.end << "] step " << grid.step;
      ++compared;
    }
  }
  EXPECT_GT(compared, 1000);
}

// keep_going is asked while the series are walked, not only between steps:
// a query past its deadline stops inside the one pass as well.
TEST(PromqlRangeStepsTest, KeepGoingStopsThePassAndTheSteps) {
  SampleHistory history;
  for (int i = 0; i < 600; ++i) {
    SampleHistory::SeriesId id =
        history.Intern(Labels{{"__name__", "x_total"}, {"i", std::to_string(i)}});
    for (int s = 0; s < 120; ++s) history.Append(id, s * 1000, s);
  }
  PromqlEngine engine;
  for (const char* text : {"sum(rate(x_total[1m]))", "topk(3, rate(x_total[1m]))"}) {
    ExprPtr expr;
    ASSERT_TRUE(ParseExpr(text, &expr).ok());
    int asked = 0;
    Matrix out;
    Status status = engine.EvalRange(*expr, 60'000, 119'000, 1000, history, &out, [&] {
      ++asked;
      return false;
    });
    EXPECT_FALSE(status.ok()) << text;
    EXPECT_EQ(status.message(), "query interrupted");
    EXPECT_EQ(asked, 1) << text;
    ASSERT_TRUE(
        engine.EvalRange(*expr, 60'000, 119'000, 1000, history, &out, [] { return true; }).ok());
    EXPECT_FALSE(out.empty()) << text;
  }
}

}  // namespace
}  // namespace txmon::test
