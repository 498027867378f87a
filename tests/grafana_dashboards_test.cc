// The provisioned Grafana dashboards (grafana/dashboards/*.json) and their
// provisioning (grafana/provisioning): the JSON model is well formed (ids,
// layout, units, datasource, refresh), the provisioning matches the compose
// mounts, and — the check that cannot be fooled — every panel's PromQL,
// run by a real Prometheus scraping the agent fed by the simulated shop,
// parses and returns data.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include "agent/base/civil_time.h"
#include "tests/support/dashboard_queries.h"
#include "tests/support/http_client.h"
#include "tests/support/live_shop.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

const std::string kSource = TXMON_SOURCE_DIR;
const std::string kDashboardDirectory = kSource + "/grafana/dashboards";
const std::string kDatasourcesFile = kSource + "/grafana/provisioning/datasources/datasources.yml";
const std::string kProvidersFile = kSource + "/grafana/provisioning/dashboards/dashboards.yml";
const std::string kComposeFile = kSource + "/docker/docker-compose.yml";

// Panels allowed to return no data, by dashboard uid and panel title: they
// show the alerting metrics (rule evaluation, notifications), which the agent
// exposes only once alerting is in. Each listed panel must exist and query
// only these metrics; the exemption ends by itself as soon as the agent
// serves a metric its query uses.
const std::set<std::string> kAlertingMetrics = {
    "txmon_rule_group_last_duration_seconds", "txmon_rule_evaluation_failures_total",
    "txmon_notifications_sent_total", "txmon_notifications_errors_total",
    "txmon_notifications_dropped_total"};
const std::set<std::pair<std::string, std::string>> kMayHaveNoData = {
    {"txmon-pipeline-health", "Rule group evaluation time"},
    {"txmon-pipeline-health", "Rule evaluation failures"},
    {"txmon-pipeline-health", "Notifications to Alertmanager"},
};

// The dashboard answered by the agent itself (datasource txmon-live) rather
// than by Prometheus; its panel queries run through the agent's API.
const std::string kLiveDashboardUid = "txmon-shop-live";
const std::string kLiveDatasourceUid = "txmon-live";

const std::set<std::string> kPanelTypes = {"timeseries", "stat", "bargauge", "table"};
// Grafana's own variables; the live test gives each a fixed value.
const std::map<std::string, std::string> kBuiltInVariables = {
    {"__rate_interval", "1m"}, {"__interval", "1m"}, {"__range", "1h"}};

std::string StringField(element value, const char* key) {
  std::string_view text;
  if (value[key].get_string().get(text) != simdjson::SUCCESS) return "";
  return std::string(text);
}

struct Target {
  std::string expr;
  std::string legend;
};

struct Panel {
  int64_t id = -1;
  std::string type;
  std::string title;
  element json;
  std::vector<Target> targets;
};

struct Variable {
  std::string name;
  std::string query;
  element json;
};

// One dashboard file, parsed; the elements point into `parser`.
struct Dashboard {
  std::string file;
  std::string uid;
  std::string title;
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  element root;
  std::vector<Panel> panels;
  std::vector<Variable> variables;
};

void CollectPanels(array panels, std::vector<Panel>* out) {
  for (element json : panels) {
    Panel panel;
    panel.json = json;
    int64_t id;
    if (json["id"].get_int64().get(id) == simdjson::SUCCESS) panel.id = id;
    panel.type = StringField(json, "type");
    panel.title = StringField(json, "title");
    array targets;
    if (json["targets"].get_array().get(targets) == simdjson::SUCCESS) {
      for (element target : targets) {
        panel.targets.push_back({StringField(target, "expr"), StringField(target, "legendFormat")});
      }
    }
    out->push_back(panel);
    array nested;  // panels inside a collapsed row
    if (json["panels"].get_array().get(nested) == simdjson::SUCCESS) CollectPanels(nested, out);
  }
}

// Parses every grafana/dashboards/*.json; a file that does not parse is a
// test failure and is left out.
std::vector<Dashboard> LoadDashboards() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(kDashboardDirectory)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<Dashboard> dashboards;
  for (const std::string& file : files) {
    Dashboard dashboard;
    dashboard.file = fs::path(file).filename().string();
    auto error = dashboard.parser->load(file).get(dashboard.root);
    if (error) {
      ADD_FAILURE() << file << ": not JSON: " << simdjson::error_message(error);
      continue;
    }
    dashboard.uid = StringField(dashboard.root, "uid");
    dashboard.title = StringField(dashboard.root, "title");
    array panels;
    if (dashboard.root["panels"].get_array().get(panels) == simdjson::SUCCESS) {
      CollectPanels(panels, &dashboard.panels);
    }
    array variables;
    if (dashboard.root["templating"]["list"].get_array().get(variables) == simdjson::SUCCESS) {
      for (element json : variables) {
        std::string query = StringField(json["query"], "query");
        if (query.empty()) query = StringField(json, "query");
        dashboard.variables.push_back({StringField(json, "name"), query, json});
      }
    }
    dashboards.push_back(std::move(dashboard));
  }
  return dashboards;
}

// The uid of the provisioned datasource of `type`, or "".
std::string ProvisionedUid(const std::string& type) {
  YAML::Node file = YAML::LoadFile(kDatasourcesFile);
  for (const YAML::Node& datasource : file["datasources"]) {
    if (datasource["type"].as<std::string>("") == type)
      return datasource["uid"].as<std::string>("");
  }
  return "";
}

// Every "$name" and "${name}" / "${name:format}" in `text`.
std::vector<std::string> VariablesIn(const std::string& text) {
  static const std::regex kReference(R"(\$\{(\w+)(?::\w+)?\}|\$(\w+))");
  std::vector<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kReference);
       it != std::sregex_iterator(); ++it) {
    names.push_back((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  }
  return names;
}

// The value each dashboard variable stands for: absent means "All"
// (allValue ".*"), else one selected value.
using Selection = std::map<std::string, std::string>;

// `text` with Grafana's variables replaced as a viewer with `selection`
// would get them, and the interval variables fixed as in kBuiltInVariables.
// Selected values are used unescaped: the shop's values and host:port
// instances hold no regex characters but '.', which matches itself.
std::string Substitute(const std::string& text, const Selection& selection = {}) {
  std::map<std::string, std::string> values = kBuiltInVariables;
  values.insert(selection.begin(), selection.end());  // the built-ins win
  return SubstituteGrafanaVariables(text, values);
}

struct Rect {
  int64_t x, y, w, h;
};

bool Overlap(const Rect& a, const Rect& b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

void CheckDatasourceReferences(element value, const std::string& uid, const std::string& where) {
  object fields;
  array items;
  if (value.get_object().get(fields) == simdjson::SUCCESS) {
    for (auto field : fields) {
      std::string path = where + "." + std::string(field.key);
      if (field.key == "datasource") {
        EXPECT_EQ(StringField(field.value, "type"), "prometheus") << path;
        EXPECT_EQ(StringField(field.value, "uid"), uid) << path;
      }
      CheckDatasourceReferences(field.value, uid, path);
    }
  } else if (value.get_array().get(items) == simdjson::SUCCESS) {
    size_t i = 0;
    for (element item : items) {
      CheckDatasourceReferences(item, uid, where + "[" + std::to_string(i++) + "]");
    }
  }
}

void CheckPanel(const Dashboard& dashboard, const Panel& panel, const std::string& uid) {
  SCOPED_TRACE(dashboard.file + ": panel " + std::to_string(panel.id) + " \"" + panel.title + "\"");
  EXPECT_FALSE(panel.title.empty());
  EXPECT_FALSE(StringField(panel.json, "description").empty()) << "say what the panel shows";
  EXPECT_TRUE(kPanelTypes.count(panel.type)) << "type " << panel.type;
  EXPECT_EQ(StringField(panel.json["datasource"], "uid"), uid) << "panel datasource";
  element defaults = panel.json["fieldConfig"]["defaults"];
  EXPECT_FALSE(StringField(defaults, "unit").empty()) << "no unit";
  array steps;
  ASSERT_EQ(defaults["thresholds"]["steps"].get_array().get(steps), simdjson::SUCCESS)
      << "no thresholds";
  ASSERT_GE(steps.size(), 1u);
  EXPECT_TRUE(steps.at(0)["value"].is_null()) << "the first threshold step is the base (null)";
  if (panel.type == "timeseries") {
    bool show_legend = false;
    EXPECT_EQ(panel.json["options"]["legend"]["showLegend"].get_bool().get(show_legend),
              simdjson::SUCCESS);
    EXPECT_TRUE(show_legend);
  }
  ASSERT_FALSE(panel.targets.empty()) << "no queries";
  for (const Target& target : panel.targets) {
    EXPECT_FALSE(target.expr.empty());
    if (panel.type != "table") {
      EXPECT_FALSE(target.legend.empty()) << target.expr;
    }
    for (const std::string& name : VariablesIn(target.expr)) {
      bool defined = kBuiltInVariables.count(name) > 0 ||
                     std::any_of(dashboard.variables.begin(), dashboard.variables.end(),
                                 [&](const Variable& v) { return v.name == name; });
      EXPECT_TRUE(defined) << "$" << name << " is not a variable of the dashboard: " << target.expr;
    }
  }
}

void CheckVariable(const Dashboard& dashboard, const Variable& variable, const std::string& uid) {
  SCOPED_TRACE(dashboard.file + ": variable " + variable.name);
  EXPECT_EQ(StringField(variable.json, "type"), "query");
  EXPECT_EQ(StringField(variable.json["datasource"], "uid"), uid);
  bool multi = false, include_all = false;
  EXPECT_EQ(variable.json["multi"].get_bool().get(multi), simdjson::SUCCESS);
  EXPECT_EQ(variable.json["includeAll"].get_bool().get(include_all), simdjson::SUCCESS);
  EXPECT_TRUE(multi);
  EXPECT_TRUE(include_all);
  EXPECT_EQ(StringField(variable.json, "allValue"), ".*");
  EXPECT_TRUE(variable.query.starts_with("label_values(")) << variable.query;
}

TEST(GrafanaDashboardsTest, JsonModelIsWellFormed) {
  const std::string prometheus_uid = ProvisionedUid("prometheus");
  ASSERT_FALSE(prometheus_uid.empty())
      << kDatasourcesFile << " provisions no Prometheus datasource uid";
  std::vector<Dashboard> dashboards = LoadDashboards();
  std::set<std::string> titles, uids;
  for (const Dashboard& dashboard : dashboards) {
    SCOPED_TRACE(dashboard.file);
    const bool live = dashboard.uid == kLiveDashboardUid;
    const std::string uid = live ? kLiveDatasourceUid : prometheus_uid;
    EXPECT_FALSE(dashboard.uid.empty());
    EXPECT_TRUE(uids.insert(dashboard.uid).second) << "uid " << dashboard.uid << " used twice";
    titles.insert(dashboard.title);
    int64_t schema = 0;
    EXPECT_EQ(dashboard.root["schemaVersion"].get_int64().get(schema), simdjson::SUCCESS);
    EXPECT_GE(schema, 36);
    EXPECT_LE(schema, 39);
    // The live dashboard moves every second over the agent's 15 minutes.
    EXPECT_EQ(StringField(dashboard.root, "refresh"), live ? "1s" : "5s");
    EXPECT_EQ(StringField(dashboard.root["time"], "from"), live ? "now-15m" : "now-1h");
    EXPECT_EQ(StringField(dashboard.root["time"], "to"), "now");
    CheckDatasourceReferences(dashboard.root, uid, dashboard.file);

    EXPECT_FALSE(dashboard.panels.empty());
    std::set<int64_t> ids;
    std::vector<std::pair<Rect, std::string>> rects;
    for (const Panel& panel : dashboard.panels) {
      EXPECT_GE(panel.id, 1) << panel.title;
      EXPECT_TRUE(ids.insert(panel.id).second) << "panel id " << panel.id << " used twice";
      element grid = panel.json["gridPos"];
      Rect rect{};
      ASSERT_EQ(grid["x"].get_int64().get(rect.x), simdjson::SUCCESS) << panel.title;
      ASSERT_EQ(grid["y"].get_int64().get(rect.y), simdjson::SUCCESS) << panel.title;
      ASSERT_EQ(grid["w"].get_int64().get(rect.w), simdjson::SUCCESS) << panel.title;
      ASSERT_EQ(grid["h"].get_int64().get(rect.h), simdjson::SUCCESS) << panel.title;
      EXPECT_TRUE(rect.x >= 0 && rect.y >= 0 && rect.w > 0 && rect.h > 0 && rect.x + rect.w <= 24)
          << panel.title << ": gridPos outside the 24-column grid";
      for (const auto& [other, other_title] : rects) {
        EXPECT_FALSE(Overlap(rect, other))
            << "\"" << panel.title << "\" overlaps \"" << other_title << "\"";
      }
      rects.emplace_back(rect, panel.title);
      CheckPanel(dashboard, panel, uid);
    }
    for (const Variable& variable : dashboard.variables) CheckVariable(dashboard, variable, uid);
  }
  EXPECT_TRUE(titles.count("Shop — real time"));
  EXPECT_TRUE(titles.count("txmon — pipeline health"));
  EXPECT_TRUE(titles.count("Shop — live (agent)"));
}

TEST(GrafanaDashboardsTest, ShopDashboardHasTheFilterVariables) {
  for (const Dashboard& dashboard : LoadDashboards()) {
    std::set<std::string> names;
    for (const Variable& variable : dashboard.variables) names.insert(variable.name);
    // One agent answers the live dashboard: no instance to pick.
    if (dashboard.uid != kLiveDashboardUid) {
      EXPECT_TRUE(names.count("instance")) << dashboard.file;
    }
    if (dashboard.title == "Shop — real time" || dashboard.uid == kLiveDashboardUid) {
      EXPECT_TRUE(names.count("channel"));
      EXPECT_TRUE(names.count("province"));
    }
  }
}

TEST(GrafanaDashboardsTest, ExemptPanelsExistAndShowOnlyAlertingMetrics) {
  std::vector<Dashboard> dashboards = LoadDashboards();
  for (const auto& [uid, title] : kMayHaveNoData) {
    const Panel* found = nullptr;
    for (const Dashboard& dashboard : dashboards) {
      if (dashboard.uid != uid) continue;
      for (const Panel& panel : dashboard.panels) {
        if (panel.title == title) found = &panel;
      }
    }
    ASSERT_NE(found, nullptr) << "exempt panel " << uid << " \"" << title
                              << "\" does not exist: update kMayHaveNoData";
    static const std::regex kMetricName(R"(\b(txmon|shop|process|scrape)_\w+)");
    for (const Target& target : found->targets) {
      bool any = false;
      for (auto it = std::sregex_iterator(target.expr.begin(), target.expr.end(), kMetricName);
           it != std::sregex_iterator(); ++it) {
        any = true;
        EXPECT_TRUE(kAlertingMetrics.count(it->str()))
            << "\"" << title << "\" may have no data, so it must query only alerting metrics, "
            << "not " << it->str();
      }
      EXPECT_TRUE(any) << target.expr;
    }
  }
}

// The provisioning files parse, the Prometheus datasource is the default
// and reachable by its compose service name, and the dashboard provider reads
// the folder the compose file mounts grafana/dashboards at.
TEST(GrafanaDashboardsTest, ProvisioningMatchesTheComposeMounts) {
  YAML::Node datasources = YAML::LoadFile(kDatasourcesFile);
  YAML::Node providers = YAML::LoadFile(kProvidersFile);
  YAML::Node compose = YAML::LoadFile(kComposeFile);
  EXPECT_EQ(datasources["apiVersion"].as<int>(0), 1);
  EXPECT_EQ(providers["apiVersion"].as<int>(0), 1);

  bool prometheus = false, alertmanager = false, live = false;
  for (const YAML::Node& datasource : datasources["datasources"]) {
    const std::string type = datasource["type"].as<std::string>("");
    const std::string url = datasource["url"].as<std::string>("");
    if (type == "prometheus" && datasource["uid"].as<std::string>("") == kLiveDatasourceUid) {
      live = true;
      EXPECT_FALSE(datasource["isDefault"].as<bool>(true));
      EXPECT_EQ(url, "http://txmon:9464");
      EXPECT_EQ(datasource["jsonData"]["timeInterval"].as<std::string>(""), "1s");
    } else if (type == "prometheus") {
      prometheus = true;
      EXPECT_EQ(datasource["uid"].as<std::string>(""), "txmon-prometheus");
      EXPECT_TRUE(datasource["isDefault"].as<bool>(false));
      EXPECT_EQ(url, "http://prometheus:9090");
    } else if (type == "alertmanager") {
      alertmanager = true;
      EXPECT_EQ(datasource["jsonData"]["implementation"].as<std::string>(""), "prometheus");
      EXPECT_EQ(url, "http://alertmanager:9093");
    }
  }
  EXPECT_TRUE(prometheus) << "no Prometheus datasource";
  EXPECT_TRUE(live) << "no txmon-live datasource";
  EXPECT_TRUE(compose["services"]["txmon"]) << "datasource host txmon is no service";
  EXPECT_TRUE(alertmanager) << "no Alertmanager datasource";
  EXPECT_TRUE(compose["services"]["prometheus"]) << "datasource host prometheus is no service";
  EXPECT_TRUE(compose["services"]["alertmanager"]) << "datasource host alertmanager is no service";

  // Container path of each host folder the grafana service mounts.
  std::map<std::string, std::string> mounts;
  for (const YAML::Node& volume : compose["services"]["grafana"]["volumes"]) {
    std::string spec = volume.as<std::string>("");
    size_t colon = spec.find(':');
    if (colon == std::string::npos) continue;
    std::string host = spec.substr(0, colon);
    std::string container = spec.substr(colon + 1);
    container = container.substr(0, container.find(':'));
    fs::path resolved = fs::weakly_canonical(fs::path(kSource) / "docker" / host);
    mounts[resolved.string()] = container;
  }
  const std::string dashboards = fs::weakly_canonical(kDashboardDirectory).string();
  const std::string provisioning = fs::weakly_canonical(kSource + "/grafana/provisioning").string();
  ASSERT_TRUE(mounts.count(dashboards)) << "the grafana service does not mount grafana/dashboards";
  EXPECT_EQ(mounts[provisioning], "/etc/grafana/provisioning");

  bool provider_found = false;
  for (const YAML::Node& provider : providers["providers"]) {
    if (provider["type"].as<std::string>("") != "file") continue;
    provider_found = true;
    EXPECT_EQ(provider["options"]["path"].as<std::string>(""), mounts[dashboards])
        << "the provider reads another folder than the one grafana/dashboards is mounted at";
  }
  EXPECT_TRUE(provider_found) << "no file provider in " << kProvidersFile;
}

// True if the agent serves any series of `metric`.
bool AgentServes(const MetricsText& metrics, const std::string& metric) {
  for (const auto& [key, value] : metrics.series()) {
    if (key == metric || key.starts_with(metric + "{") || key.starts_with(metric + "_bucket{")) {
      return true;
    }
  }
  return false;
}

bool Exempt(const Dashboard& dashboard, const Panel& panel, const MetricsText& agent_metrics) {
  if (!kMayHaveNoData.count({dashboard.uid, panel.title})) return false;
  for (const Target& target : panel.targets) {
    for (const std::string& metric : kAlertingMetrics) {
      if (target.expr.find(metric) != std::string::npos && AgentServes(agent_metrics, metric)) {
        return false;
      }
    }
  }
  return true;
}

// label_values(SELECTOR, LABEL) -> values of LABEL on the series SELECTOR
// matches, through Prometheus's HTTP API as Grafana asks.
std::vector<std::string> LabelValues(const std::string& base_url, const std::string& query,
                                     std::string* error) {
  static const std::regex kLabelValues(R"(^label_values\((.+),\s*(\w+)\)$)");
  std::smatch match;
  if (!std::regex_match(query, match, kLabelValues)) {
    *error = "not label_values(selector, label): " + query;
    return {};
  }
  HttpResponse response = HttpGet(base_url + "/api/v1/label/" + match[2].str() +
                                  "/values?match[]=" + UrlEncode(match[1].str()));
  simdjson::dom::parser parser;
  element document;
  array values;
  if (response.status != 200 || parser.parse(response.body).get(document) ||
      document["data"].get_array().get(values)) {
    *error = "status " + std::to_string(response.status) + ": " + response.body;
    return {};
  }
  std::vector<std::string> out;
  for (element value : values) {
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) out.emplace_back(text);
  }
  return out;
}

std::string Describe(const Selection& selection) {
  if (selection.empty()) return "every variable at All";
  std::string text;
  for (const auto& [name, value] : selection)
    text += (text.empty() ? "" : ", ") + name + "=" + value;
  return text;
}

// True if a range query of `expr` over the last `seconds` at a 1 s step (as
// the live dashboard asks at each refresh) answers 200 with a number in it.
bool RangeHasData(const std::string& base_url, const std::string& expr, int seconds,
                  std::string* error) {
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()) /
                     1000;
  HttpResponse response =
      HttpPost(base_url + "/api/v1/query_range",
               "query=" + UrlEncode(expr) + "&start=" + std::to_string(now - seconds) +
                   "&end=" + std::to_string(now) + "&step=1",
               "application/x-www-form-urlencoded");
  simdjson::dom::parser parser;
  element document;
  array result;
  if (response.status != 200 || parser.parse(response.body).get(document) ||
      document["data"]["result"].get_array().get(result)) {
    *error = "status " + std::to_string(response.status) + ": " + response.body;
    return false;
  }
  for (element series : result) {
    array values;
    if (series["values"].get_array().get(values)) continue;
    for (element point : values) {
      std::string_view text;
      if (point.at(1).get_string().get(text) == simdjson::SUCCESS && text != "NaN") return true;
    }
  }
  *error = "no number in: " + response.body.substr(0, 300);
  return false;
}

// Where a dashboard's queries go: Prometheus, or for the live dashboard the
// agent's own API (instant queries and the range queries of a 1 s refresh).
struct QueryTarget {
  std::string base_url;
  bool range_too = false;
};

// Runs every panel query of `dashboard` as a viewer with `selection` sees it:
// each must parse; each of a panel that is not exempt must return a sample
// that is a number (NaN, e.g. 0/0, is no data) and carry the labels its
// legend shows. Returns the number of queries.
int CheckPanelQueries(const QueryTarget& server, const Dashboard& dashboard,
                      const Selection& selection, const MetricsText& agent_metrics) {
  static const std::regex kLegendLabel(R"(\{\{\s*(\w+)\s*\}\})");
  int queries = 0;
  for (const Panel& panel : dashboard.panels) {
    const bool exempt = Exempt(dashboard, panel, agent_metrics);
    for (const Target& target : panel.targets) {
      SCOPED_TRACE(dashboard.file + " \"" + panel.title + "\" with " + Describe(selection));
      const std::string expr = Substitute(target.expr, selection);
      std::vector<PromSample> samples;
      std::string error;
      ++queries;
      EXPECT_TRUE(QueryInstant(server.base_url, expr, std::nullopt, &samples, &error)) << error;
      if (exempt) continue;
      if (server.range_too) {
        EXPECT_TRUE(RangeHasData(server.base_url, expr, 60, &error)) << expr << ": " << error;
      }
      const bool number = std::any_of(samples.begin(), samples.end(),
                                      [](const PromSample& s) { return !std::isnan(s.value); });
      EXPECT_TRUE(number) << "no data (" << samples.size() << " samples, none a number): " << expr;
      for (auto it = std::sregex_iterator(target.legend.begin(), target.legend.end(), kLegendLabel);
           it != std::sregex_iterator(); ++it) {
        const std::string label = (*it)[1].str();
        const bool labelled = std::any_of(samples.begin(), samples.end(), [&](const PromSample& s) {
          auto found = s.labels.find(label);
          return found != s.labels.end() && !found->second.empty();
        });
        EXPECT_TRUE(labelled) << "the legend shows {{" << label << "}}, which no series of " << expr
                              << " has";
      }
    }
  }
  return queries;
}

bool AllStatusesSeen(const MetricsText& metrics) {
  for (const char* to : {"paid", "shipped", "completed", "cancelled", "refunded"}) {
    if (metrics.Sum("shop_order_status_transitions_total", {{"to", to}}) == 0) return false;
  }
  return metrics.Sum("shop_refunds_total") > 0 &&
         AgentServes(metrics, "txmon_kafka_consumer_lag_messages");
}

// The simulated shop runs in real time into the embedded Kafka, the agent
// consumes it, a real Prometheus scrapes the agent every second, and every
// panel query (variables set to "All") must parse and return at least one
// sample that is a number (NaN, e.g. 0/0, is no data).
TEST(GrafanaDashboardsTest, EveryPanelQueryReturnsDataFromTheSimulatedShop) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<Dashboard> dashboards = LoadDashboards();
  ASSERT_FALSE(dashboards.empty());

  std::string error;
  DemoShopOptions shop_options;
  shop_options.simulator.seed = 11;
  shop_options.simulator.orders_per_second = 60;
  // An order's whole life (paid, shipped, completed or refunded, or
  // cancelled by the 15 min timeout) within a few seconds.
  shop_options.simulator.time_scale = 300;
  shop_options.simulator.record_each_order = false;
  auto live = LiveShop::Create(shop_options, &error);
  ASSERT_NE(live, nullptr) << error;
  ASSERT_TRUE(live->shop().Start().ok());

  auto agent = RunningAgent::Start(live->AgentOptionsFor("grafana-dashboards-test"), &error);
  ASSERT_TRUE(agent) << error;
  const std::string target = "127.0.0.1:" + std::to_string(agent->agent().web_port());
  PrometheusOptions prometheus_options;
  prometheus_options.targets = {target};
  prometheus_options.scrape_interval = std::chrono::milliseconds(1000);
  auto prometheus = PrometheusServer::Start(prometheus_options, &error);
  ASSERT_TRUE(prometheus) << error;

  MetricsText agent_metrics;
  ASSERT_TRUE(agent->WaitFor(AllStatusesSeen, std::chrono::seconds(40), &agent_metrics))
      << "the simulated shop did not go through every order status";
  // Three scrapes after every status appeared: each series then has at least
  // two samples, so rate() and increase() have something to work on.
  std::vector<PromSample> scrapes;
  ASSERT_TRUE(
      prometheus->Query("sum_over_time(up{instance=\"" + target + "\"}[1d])", &scrapes, &error))
      << error;
  const int scraped = scrapes.empty() ? 0 : static_cast<int>(scrapes[0].value);
  ASSERT_TRUE(prometheus->WaitForScrapes(target, std::max(scraped, 1) + 3, std::chrono::seconds(30),
                                         &error))
      << error;
  agent_metrics = agent->Scrape();

  int queries = 0, exempt_panels = 0, live_queries = 0;
  const QueryTarget via_prometheus{prometheus->url(), false};
  const QueryTarget via_agent{"http://127.0.0.1:" + std::to_string(agent->agent().web_port()),
                              true};
  for (const Dashboard& dashboard : dashboards) {
    const QueryTarget& server = dashboard.uid == kLiveDashboardUid ? via_agent : via_prometheus;
    for (const Panel& panel : dashboard.panels)
      exempt_panels += Exempt(dashboard, panel, agent_metrics);
    // A viewer who leaves every variable at "All", then one who picks a
    // value of each (the first offered): a filter on a label that a metric
    // lacks returns data for "All" but nothing for a picked value.
    Selection picked;
    for (const Variable& variable : dashboard.variables) {
      const std::string query = Substitute(variable.query, picked);
      std::vector<std::string> values = LabelValues(server.base_url, query, &error);
      ASSERT_FALSE(values.empty()) << dashboard.file << ": variable " << variable.name << " ("
                                   << query << ") has no values: " << error;
      picked[variable.name] = values.front();
    }
    for (const Selection& selection : {Selection{}, picked}) {
      int n = CheckPanelQueries(server, dashboard, selection, agent_metrics);
      queries += n;
      if (&server == &via_agent) live_queries += n;
    }
  }
  EXPECT_GT(queries, 60);
  EXPECT_GT(live_queries, 40) << "the live dashboard's queries ran through the agent";
  live->shop().Stop();
  const auto seconds = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count() /
                       1000.0;
  std::printf("%d queries (%d through the agent), %d panels exempt, %.1f s\n", queries,
              live_queries, exempt_panels, seconds);
}

}  // namespace
}  // namespace txmon::test
