// Checks a scrape of /metrics against the simulated shop's ground truth:
// every business counter, every histogram bucket and sum of the shipped
// txmon.yml mappings, and the row and message counts, exactly.
#pragma once

#include <string_view>

#include "agent/config/agent_config.h"
#include "agent/demo/shop_simulator.h"
#include "tests/support/metrics_text.h"

namespace txmon::test {

// Adds a test failure for each metric that differs from `truth`. `config`
// supplies the histogram buckets (the shipped txmon.yml). `format` is the
// wire format the shop wrote: every message must have been decoded as it.
void ExpectMetricsMatchTruth(const MetricsText& metrics, const ShopTruth& truth,
                             const AgentConfig& config, std::string_view format = "canal");

}  // namespace txmon::test
