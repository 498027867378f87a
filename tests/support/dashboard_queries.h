// The PromQL of a provisioned Grafana dashboard, as Grafana would send it:
// every panel target (rows' panels too) with the dashboard's variables
// substituted. Shared by the dashboard tests and benchmarks.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace txmon::test {

struct DashboardTarget {
  std::string panel_title;
  std::string expr;  // as written, variables not substituted
  bool instant = false;
};

// Every target with an `expr` of the dashboard JSON at `path`, in the
// order the panels stand; empty when the file cannot be read.
std::vector<DashboardTarget> ReadDashboardTargets(const std::string& path);

// `text` with every "$name", "${name}" and "${name:format}" replaced by
// `values`' entry for the name, or by ".*" (the variable's "All") when it
// has none.
std::string SubstituteGrafanaVariables(const std::string& text,
                                       const std::map<std::string, std::string>& values);

}  // namespace txmon::test
