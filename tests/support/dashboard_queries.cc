#include "tests/support/dashboard_queries.h"

#include <simdjson.h>

#include <functional>
#include <regex>

namespace txmon::test {

std::vector<DashboardTarget> ReadDashboardTargets(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element dashboard;
  std::vector<DashboardTarget> out;
  if (parser.load(path).get(dashboard) != simdjson::SUCCESS) return out;
  std::function<void(simdjson::dom::element)> walk = [&](simdjson::dom::element holder) {
    simdjson::dom::array panels;
    if (holder["panels"].get_array().get(panels) != simdjson::SUCCESS) return;
    for (simdjson::dom::element panel : panels) {
      std::string_view title;
      if (panel["title"].get_string().get(title) != simdjson::SUCCESS) title = "";
      simdjson::dom::array targets;
      if (panel["targets"].get_array().get(targets) == simdjson::SUCCESS) {
        for (simdjson::dom::element target : targets) {
          std::string_view expr;
          if (target["expr"].get_string().get(expr) != simdjson::SUCCESS) continue;
          bool instant = false;
          if (target["instant"].get_bool().get(instant) != simdjson::SUCCESS) instant = false;
          out.push_back(DashboardTarget{std::string(title), std::string(expr), instant});
        }
      }
      walk(panel);  // a row's panels
    }
  };
  walk(dashboard);
  return out;
}

std::string SubstituteGrafanaVariables(const std::string& text,
                                       const std::map<std::string, std::string>& values) {
  static const std::regex kReference(R"(\$\{(\w+)(?::\w+)?\}|\$(\w+))");
  std::string out;
  auto last = text.cbegin();
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kReference);
       it != std::sregex_iterator(); ++it) {
    out.append(last, text.cbegin() + it->position());
    const std::string name = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
    auto found = values.find(name);
    out += found != values.end() ? found->second : ".*";
    last = text.cbegin() + it->position() + it->length();
  }
  out.append(last, text.cend());
  return out;
}

}  // namespace txmon::test
