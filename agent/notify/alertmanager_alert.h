// AlertmanagerAlert: one alert as the Alertmanager API v2 receives it
// (POST /api/v2/alerts). Plain data: rule evaluation builds these and hands
// them to the Notifier, which never looks back at the rules.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace txmon {

struct AlertmanagerAlert {
  std::vector<std::pair<std::string, std::string>> labels;  // includes alertname
  std::vector<std::pair<std::string, std::string>> annotations;
  int64_t starts_at_ms = 0;
  // Firing: a time ahead, so Alertmanager resolves it by itself if we stop
  // resending. Resolved: the time it resolved.
  int64_t ends_at_ms = 0;
  std::string generator_url;
};

}  // namespace txmon
