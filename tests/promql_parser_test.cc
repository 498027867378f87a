// The PromQL parser: canonical printing of what it accepts (the form
// /api/v1/rules shows), Prometheus's type checks, and refusals that name the
// unsupported part.
#include <gtest/gtest.h>

#include "agent/promql/promql_parser.h"

namespace txmon {
namespace {

std::string Canonical(const std::string& text) {
  ExprPtr expr;
  Status s = ParseExpr(text, &expr);
  if (!s.ok()) return "error: " + s.message();
  return expr->String();
}

std::string ErrorOf(const std::string& text) {
  ExprPtr expr;
  Status s = ParseExpr(text, &expr);
  return s.ok() ? "accepted as " + expr->String() : s.message();
}

TEST(PromqlParserTest, PrintsAcceptedExpressionsCanonically) {
  const std::pair<std::string, std::string> cases[] = {
      {"foo", "foo"},
      {"foo{job=\"a\",  instance!='b'}", "foo{job=\"a\", instance!=\"b\"}"},
      {"{__name__=~\"foo|bar\"}", "{__name__=~\"foo|bar\"}"},
      {"foo{job=~\"a.*\", x!~`b\\d`}", "foo{job=~\"a.*\", x!~\"b\\\\d\"}"},
      {"rate(foo[5m])", "rate(foo[5m])"},
      {"rate(foo[90s] offset 1h30m)", "rate(foo[1m30s] offset 1h30m)"},
      {"foo offset 250ms", "foo offset 250ms"},
      {"sum by(job)(rate(x[1m]))", "sum by (job) (rate(x[1m]))"},
      {"sum(x) without (a, b)", "sum without (a, b) (x)"},
      {"topk(3, x)", "topk(3, x)"},
      {"a + on(job) group_left(role) b", "a + on (job) group_left (role) b"},
      {"a > bool ignoring(x) b", "a > bool ignoring (x) b"},
      {"a and b or c unless d", "a and b or c unless d"},
      {"-x", "-x"},
      {"-1", "-1"},
      {"+x", "x"},
      {"(1 + 2) * 3", "(1 + 2) * 3"},
      {"1e3 + 0x1f + .5 + Inf - NaN", "1000 + 31 + 0.5 + +Inf - NaN"},
      {"histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))",
       "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))"},
      {"absent(up{job=\"x\"}) # a comment", "absent(up{job=\"x\"})"},
      {"clamp_min(x, 0) and vector(1)", "clamp_min(x, 0) and vector(1)"},
      {"time() - scalar(x)", "time() - scalar(x)"},
      {"job:rate5m:sum", "job:rate5m:sum"},
      {"foo @ 1700000000", "foo @ 1700000000.000"},
      {"foo offset 5m @ 1.5", "foo @ 1.500 offset 5m"},
      {"rate(foo[5m] @ end())", "rate(foo[5m] @ end())"},
      {"foo @ start() offset -1m", "foo @ start() offset -1m"},
      {"max_over_time(rate(x[1m])[5m:1s] @ -10)", "max_over_time(rate(x[1m])[5m:1s] @ -10.000)"},
      {"foo{on=\"x\", by=\"y\"}", "foo{on=\"x\", by=\"y\"}"},
  };
  for (const auto& [input, canonical] : cases) {
    EXPECT_EQ(Canonical(input), canonical) << input;
    // The canonical form parses back to itself.
    EXPECT_EQ(Canonical(canonical), canonical) << canonical;
  }
}

TEST(PromqlParserTest, BindsOperatorsWithPrometheusPrecedence) {
  ExprPtr expr;
  ASSERT_TRUE(ParseExpr("a or b and c", &expr).ok());
  const auto& top = std::get<Binary>(expr->node);
  EXPECT_EQ(top.op, BinaryOp::kOr);
  EXPECT_EQ(std::get<Binary>(top.rhs->node).op, BinaryOp::kAnd);

  ASSERT_TRUE(ParseExpr("2 ^ 3 ^ 2", &expr).ok());
  EXPECT_EQ(std::get<Binary>(std::get<Binary>(expr->node).rhs->node).op, BinaryOp::kPow);

  ASSERT_TRUE(ParseExpr("a > 1 * b", &expr).ok());
  EXPECT_EQ(std::get<Binary>(expr->node).op, BinaryOp::kGtr);
}

TEST(PromqlParserTest, RefusesWhatIsOutsideTheSubsetByName) {
  const std::pair<std::string, std::string> cases[] = {
      {"holt_winters(x[5m], 0.5, 0.5)", "1:1: function \"holt_winters\" is not supported"},
      {"round(x, 1, 2)", "1:1: expected at most 2 argument(s) in call to \"round\", got 3"},
      {"label_join(x, \"a\")",
       "1:1: expected at least 3 argument(s) in call to \"label_join\", got 2"},
      {"label_join(x, \"a\", \"-\", 1)",
       "1:1: expected type string in call to function \"label_join\", got scalar"},
      {"quantile(0.9, x)", "1:1: aggregation \"quantile\" is not supported"},
      {"stddev(x)", "1:1: aggregation \"stddev\" is not supported"},
      {"rate(x[5m:])", "1:7: a subquery needs its step: [5m:1s]"},
      {"x[1m][5m:1m]", "1:6: subquery is only allowed on instant vector, got range vector"},
      {"a atan2 b", "1:3: operator \"atan2\" is not supported"},
      {"nosuchfunction(x)", "1:1: unknown function with name \"nosuchfunction\""},
  };
  for (const auto& [input, error] : cases) EXPECT_EQ(ErrorOf(input), error) << input;
}

TEST(PromqlParserTest, AppliesPrometheusTypeChecks) {
  const std::pair<std::string, std::string> cases[] = {
      {"rate(x)", "expected type range vector in call to function \"rate\", got instant vector"},
      {"sum(x[5m])", "expected type instant vector in aggregation expression, got range vector"},
      {"rate(x[5m], 1)", "expected 1 argument(s) in call to \"rate\", got 2"},
      {"topk(x)", "wrong number of arguments for aggregate expression provided, expected 2"},
      {"1 > 2", "comparisons between scalars must use BOOL modifier"},
      {"a + bool b", "bool modifier can only be used on comparison operators"},
      {"1 and x", "set operator \"and\" not allowed in binary scalar expression"},
      {"a and on(x) group_left b", "no grouping allowed for \"and\" operation"},
      {"x + on(a) 1", "vector matching only allowed between instant vectors"},
      {"a * on(x) group_left(x) b", "label \"x\" must not occur in ON and GROUP clause at once"},
      {"x[5m] + 1", "binary expression must contain only scalar and instant vector types"},
      {"-x[5m]", "unary expression only allowed on expressions of type scalar or instant vector"},
      {"{job=\"\"}", "vector selector must contain at least one non-empty matcher"},
      {"{x=~\".*\"}", "vector selector must contain at least one non-empty matcher"},
      {"foo{__name__=\"bar\"}", "metric name must not be set twice"},
      {"sum(x)[5m]", "ranges only allowed for vector selectors"},
      {"sum(x) offset 5m", "offset modifier must be preceded by an instant vector selector"},
      {"sum(x) @ 100", "@ modifier must be preceded by an instant vector selector"},
      {"(x) @ end()", "@ modifier must be preceded by an instant vector selector"},
      {"x @ 1 @ 2", "@ <timestamp> may not be set multiple times"},
      {"x @ start() @ end()", "@ <timestamp> may not be set multiple times"},
      {"x @ 1 [5m]", "no @ modifiers allowed before range"},
      {"x @ foo()", "unexpected"},
      {"x @ Inf", "timestamp out of bounds for @ modifier"},
      {"x{a=~\"(\"}", "invalid regular expression"},
      {"x[5]", "not a valid duration string: \"5\""},
      {"x[5m", "unexpected end of input"},
      {"sum by (job (x)", "unexpected"},
      {"", "no expression found in input"},
      {"x{a=\"b}", "unterminated quoted string"},
      {"1 +", "unexpected end of input"},
      {"5m", "unexpected duration \"5m\""},
  };
  for (const auto& [input, error] : cases) {
    EXPECT_NE(ErrorOf(input).find(error), std::string::npos)
        << input << "\n  got: " << ErrorOf(input) << "\n  want: " << error;
  }
}

TEST(PromqlParserTest, ReportsLineAndColumn) {
  EXPECT_EQ(ErrorOf("sum(x)\n  + rate(y)").substr(0, 4), "2:5:");
}

TEST(PromqlParserTest, ParsesDurations) {
  const std::pair<std::string, int64_t> cases[] = {
      {"250ms", 250},    {"1s", 1000},        {"5m", 300000}, {"1h30m", 5400000}, {"1d", 86400000},
      {"1w", 604800000}, {"1y", 31536000000}, {"0", 0},       {"2m30s", 150000}};
  for (const auto& [text, ms] : cases) {
    int64_t parsed = -1;
    EXPECT_TRUE(ParseDuration(text, &parsed).ok()) << text;
    EXPECT_EQ(parsed, ms) << text;
    if (ms > 0) {
      EXPECT_EQ(FormatDuration(ms), text) << text;
    }
  }
  int64_t ignored;
  for (const char* bad : {"", "5", "m", "5x", "30s5m", "1.5h", "-5m"}) {
    EXPECT_FALSE(ParseDuration(bad, &ignored).ok()) << bad;
  }
}

TEST(PromqlParserTest, VisitsEverySelectorWithItsRange) {
  ExprPtr expr;
  ASSERT_TRUE(ParseExpr("rate(a[5m] offset 1m) / on(x) b + sum(c)", &expr).ok());
  std::vector<std::pair<std::string, int64_t>> seen;
  VisitSelectors(*expr, [&](const VectorSelector& selector, int64_t range_ms) {
    seen.emplace_back(selector.metric_name, range_ms + selector.offset_ms);
  });
  EXPECT_EQ(seen,
            (std::vector<std::pair<std::string, int64_t>>{{"a", 360000}, {"b", 0}, {"c", 0}}));
}

}  // namespace
}  // namespace txmon
