// Runs every tests/golden/NAME.jsonl through the agent (file source, real
// decoder, mappings, store and web server) and compares /metrics with
// NAME.golden. See tests/golden/README.md.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/main/agent.h"
#include "tests/support/http_client.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(TXMON_SOURCE_DIR) / "tests" / "golden";

std::vector<std::string> GoldenCases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kGoldenDir)) {
    if (entry.path().extension() == ".jsonl") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The family a sample line belongs to: its name without histogram suffixes.
std::string FamilyOf(const std::string& line) {
  std::string name = line.substr(0, line.find_first_of("{ "));
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) return name.substr(0, name.size() - std::string(suffix).size());
  }
  return name;
}

// Sample lines of `text` (comments dropped), keyed by family.
std::map<std::string, std::set<std::string>> SamplesByFamily(const std::string& text) {
  std::map<std::string, std::set<std::string>> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    out[FamilyOf(line)].insert(line);
  }
  return out;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MetricsMatchTheGoldenFile) {
  const fs::path input = kGoldenDir / (GetParam() + ".jsonl");
  const fs::path mappings = kGoldenDir / (GetParam() + ".yml");
  const fs::path golden = kGoldenDir / (GetParam() + ".golden");
  AgentOptions options;
  if (fs::exists(mappings)) {
    Status s = LoadConfigFile(mappings.string(), &options.config);
    ASSERT_TRUE(s.ok()) << s.message();
  } else {
    options.config = ShippedConfig();
  }
  options.source_file = input.string();
  options.web_listen_address = "127.0.0.1:0";
  std::unique_ptr<Agent> agent;
  Status s = Agent::Create(std::move(options), &agent);
  ASSERT_TRUE(s.ok()) << s.message();
  s = agent->Run();  // returns at the end of the file
  ASSERT_TRUE(s.ok()) << s.message();

  HttpResponse response =
      HttpGet("http://127.0.0.1:" + std::to_string(agent->web_port()) + "/metrics");
  ASSERT_EQ(response.status, 200);
  std::ifstream golden_file(golden);
  ASSERT_TRUE(golden_file) << "missing " << golden;
  std::stringstream expected_text;
  expected_text << golden_file.rdbuf();

  auto expected = SamplesByFamily(expected_text.str());
  auto actual = SamplesByFamily(response.body);
  ASSERT_FALSE(expected.empty());
  for (const auto& [family, lines] : expected) {
    const std::set<std::string>& got = actual[family];
    for (const std::string& line : lines) {
      EXPECT_TRUE(got.count(line)) << "missing or different: " << line;
    }
    for (const std::string& line : got) {
      EXPECT_TRUE(lines.count(line)) << "not in the golden file: " << line;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace txmon::test
