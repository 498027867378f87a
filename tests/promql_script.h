// The PromQL test-script format of tests/promql/*.test, after Prometheus's
// promql/testdata: a case is data, not code.
//
//   load 1m                                  # samples every minute from t=0
//       http_requests{job="api"} 0+10x10     # 0 10 20 ... 100 (a+bxn: n+1 values)
//       other 1 _ 3 stale                    # _ skips a step; stale ends the series
//   eval instant at 5m sum(http_requests)    # then the expected result,
//       {} 50                                # one series per line; a bare
//                                            # number is a scalar result
//   eval_ordered instant at 5m topk(...)     # the result order matters too
//   eval_fail instant at 5m expr             # evaluation must fail;
//       error: many-to-many                  # optionally with this text
//   clear                                    # drop all loaded series
//
// Header-only, shared by promql_engine_test.cc (our engine against the
// expected values) and promql_reference_test.cc (the same cases through
// promtool, i.e. Prometheus's own engine).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/history/sample_history.h"
#include "agent/promql/float_format.h"
#include "agent/promql/labels.h"
#include "agent/promql/promql_parser.h"
#include "agent/promql/series_storage.h"

namespace txmon::test {

struct ScriptSeries {
  Labels labels;
  std::string labels_text;                    // as written, for promtool
  std::string values_text;                    // as written, for promtool
  std::vector<std::optional<double>> values;  // one per step; nullopt: missing
};

struct ScriptLoad {
  int64_t interval_ms = 0;
  std::vector<ScriptSeries> series;
};

// Appends `load`'s samples to `history`, one per step that has a value.
inline void LoadScriptSeries(const ScriptLoad& load, SampleHistory* history) {
  for (const ScriptSeries& series : load.series) {
    SampleHistory::SeriesId id = history->Intern(series.labels);
    for (size_t i = 0; i < series.values.size(); ++i) {
      if (series.values[i]) {
        history->Append(id, static_cast<int64_t>(i) * load.interval_ms, *series.values[i]);
      }
    }
  }
}

struct ScriptExpected {
  Labels labels;
  std::string labels_text;
  double value = 0;
  bool scalar = false;
};

struct ScriptEval {
  int line = 0;
  int64_t at_ms = 0;
  std::string at_text;
  std::string expr;
  bool expect_fail = false;
  bool ordered = false;
  std::string error_substring;
  std::vector<ScriptExpected> expected;
};

struct ScriptStep {
  enum class Kind { kClear, kLoad, kEval } kind = Kind::kClear;
  int line = 0;
  ScriptLoad load;
  ScriptEval eval;
};

// The script files under tests/promql/, sorted.
inline std::vector<std::string> PromqlScriptFiles() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(TXMON_SOURCE_DIR) + "/tests/promql")) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string ReadScriptFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

namespace script_detail {

inline std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// "foo{a="b"}" or "{a="b"}" or "{}" into labels, through the PromQL parser.
inline bool ParseSeriesLabels(const std::string& text, Labels* out, std::string* error) {
  std::string trimmed = Trim(text);
  if (trimmed == "{}") {
    *out = Labels();
    return true;
  }
  ExprPtr expr;
  Status s = ParseExpr(trimmed, &expr);
  const auto* selector = s.ok() ? std::get_if<VectorSelector>(&expr->node) : nullptr;
  if (selector == nullptr) {
    *error = "bad series \"" + trimmed + "\": " + (s.ok() ? "not a selector" : s.message());
    return false;
  }
  std::vector<Label> labels;
  for (const LabelMatcher& matcher : selector->matchers) {
    if (matcher.type() != LabelMatcher::Type::kEqual) {
      *error = "bad series \"" + trimmed + "\": only = matchers describe a series";
      return false;
    }
    labels.push_back(Label{matcher.name(), matcher.value()});
  }
  *out = Labels(std::move(labels));
  return true;
}

// Splits "labels values..." where labels may contain spaces inside {...}.
inline void SplitSeriesLine(const std::string& line, std::string* labels, std::string* rest) {
  size_t brace = line.find('{');
  size_t space = line.find(' ');
  size_t end;
  if (brace != std::string::npos && (space == std::string::npos || brace < space)) {
    end = line.find('}', brace);
    end = end == std::string::npos ? line.size() : end + 1;
  } else {
    end = space == std::string::npos ? line.size() : space;
  }
  *labels = line.substr(0, end);
  *rest = Trim(line.substr(end));
}

inline std::optional<double> ParseValue(const std::string& text) {
  if (text == "stale") return StaleNaN();
  return ParseFloat(text);
}

// Prometheus's series notation: "1 2 _ stale", "0+10x5", "5-1x3", "1x3", "_x2".
inline bool ParseValues(const std::string& text, std::vector<std::optional<double>>* out,
                        std::string* error) {
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    size_t x = word.rfind('x');
    if (x != std::string::npos && x > 0 && x + 1 < word.size() &&
        word.find_first_not_of("0123456789", x + 1) == std::string::npos) {
      int times = std::stoi(word.substr(x + 1));
      std::string head = word.substr(0, x);
      if (head == "_") {
        for (int i = 0; i < times; ++i) out->push_back(std::nullopt);
        continue;
      }
      size_t op = head.find_first_of("+-", 1);
      std::optional<double> start = ParseValue(op == std::string::npos ? head : head.substr(0, op));
      std::optional<double> step =
          op == std::string::npos ? std::optional<double>(0) : ParseFloat(head.substr(op));
      if (!start || !step) {
        *error = "bad value \"" + word + "\"";
        return false;
      }
      for (int i = 0; i <= times; ++i) out->push_back(*start + *step * i);
      continue;
    }
    if (word == "_") {
      out->push_back(std::nullopt);
      continue;
    }
    std::optional<double> value = ParseValue(word);
    if (!value) {
      *error = "bad value \"" + word + "\"";
      return false;
    }
    out->push_back(value);
  }
  return true;
}

inline bool ParseEvalHeader(const std::string& line, ScriptEval* eval, std::string* error) {
  std::istringstream words(line);
  std::string command, instant, at;
  words >> command >> instant >> at >> eval->at_text;
  if (instant != "instant" || at != "at") {
    *error = "expected \"" + command + " instant at <duration> <expr>\"";
    return false;
  }
  eval->expect_fail = command == "eval_fail";
  eval->ordered = command == "eval_ordered";
  if (Status s = ParseDuration(eval->at_text, &eval->at_ms); !s.ok()) {
    *error = s.message();
    return false;
  }
  std::string rest;
  std::getline(words, rest);
  eval->expr = Trim(rest);
  return true;
}

inline bool ParseExpectedLine(const std::string& line, ScriptEval* eval, std::string* error) {
  if (eval->expect_fail) {
    if (line.rfind("error:", 0) != 0) {
      *error = "eval_fail takes only an \"error: <text>\" line";
      return false;
    }
    eval->error_substring = Trim(line.substr(6));
    return true;
  }
  ScriptExpected expected;
  std::string value_text;
  if (ParseFloat(line).has_value()) {
    expected.scalar = true;
    value_text = line;
  } else {
    SplitSeriesLine(line, &expected.labels_text, &value_text);
    if (!ParseSeriesLabels(expected.labels_text, &expected.labels, error)) return false;
  }
  std::optional<double> value = ParseFloat(value_text);
  if (!value) {
    *error = "bad expected value \"" + value_text + "\"";
    return false;
  }
  expected.value = *value;
  eval->expected.push_back(std::move(expected));
  return true;
}

}  // namespace script_detail

// Parses a whole script. On error, `error` names the line.
inline bool ParsePromqlScript(const std::string& text, std::vector<ScriptStep>* steps,
                              std::string* error) {
  using namespace script_detail;
  std::istringstream lines(text);
  std::string raw;
  int number = 0;
  ScriptStep* current = nullptr;  // the step indented lines belong to
  auto fail = [&](const std::string& message) {
    *error = "line " + std::to_string(number) + ": " + message;
    return false;
  };
  while (std::getline(lines, raw)) {
    ++number;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') {
      if (line.empty()) current = nullptr;
      continue;
    }
    bool indented = raw[0] == ' ' || raw[0] == '\t';
    std::string message;
    if (indented) {
      if (current == nullptr) return fail("indented line outside a load or eval");
      if (current->kind == ScriptStep::Kind::kLoad) {
        ScriptSeries series;
        SplitSeriesLine(line, &series.labels_text, &series.values_text);
        if (!ParseSeriesLabels(series.labels_text, &series.labels, &message) ||
            !ParseValues(series.values_text, &series.values, &message)) {
          return fail(message);
        }
        current->load.series.push_back(std::move(series));
      } else if (!ParseExpectedLine(line, &current->eval, &message)) {
        return fail(message);
      }
      continue;
    }
    ScriptStep step;
    step.line = number;
    if (line == "clear") {
      step.kind = ScriptStep::Kind::kClear;
    } else if (line.rfind("load ", 0) == 0) {
      step.kind = ScriptStep::Kind::kLoad;
      if (Status s = ParseDuration(Trim(line.substr(5)), &step.load.interval_ms); !s.ok()) {
        return fail(s.message());
      }
    } else if (line.rfind("eval", 0) == 0) {
      step.kind = ScriptStep::Kind::kEval;
      step.eval.line = number;
      if (!ParseEvalHeader(line, &step.eval, &message)) return fail(message);
    } else {
      return fail("unknown command \"" + line + "\"");
    }
    steps->push_back(std::move(step));
    current = steps->back().kind == ScriptStep::Kind::kClear ? nullptr : &steps->back();
  }
  return true;
}

}  // namespace txmon::test
