// Runs every tests/golden/NAME.jsonl through the agent (file source, real
// decoder, mappings, store and web server) and compares /metrics with
// NAME.golden. See tests/golden/README.md.
#include <gtest/gtest.h>

#include <algorithm>
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

// NAME.FORMAT.jsonl holds FORMAT's messages ("debezium", "maxwell");
// NAME.jsonl Canal's.
std::string FormatOf(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? "canal" : name.substr(dot + 1);
}

// NAME without its format: the change history the messages describe.
std::string HistoryOf(const std::string& name) { return name.substr(0, name.rfind('.')); }

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
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
  options.config.source.format = FormatOf(GetParam());
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

// The same changes written by Canal, Debezium and Maxwell give the same
// shop metrics, byte for byte: every golden file of one history agrees with
// the Canal one on all but the agent's own txmon_* lines (Debezium and
// Maxwell count one message per row, and name message types their way).
TEST(GoldenFormatsTest, EveryFormatOfAHistoryGivesTheSameShopMetrics) {
  int twins = 0;
  for (const std::string& name : GoldenCases()) {
    if (FormatOf(name) == "canal") continue;
    const fs::path canal = kGoldenDir / (HistoryOf(name) + ".golden");
    ASSERT_TRUE(fs::exists(canal)) << name << " has no Canal twin";
    auto shop_lines = [](const std::string& text) {
      std::string out;
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line[0] != '#' && !line.starts_with("txmon_")) out += line + "\n";
      }
      return out;
    };
    const std::string expected = shop_lines(ReadFile(canal));
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(shop_lines(ReadFile(kGoldenDir / (name + ".golden"))), expected) << name;
    ++twins;
  }
  EXPECT_GE(twins, 2);
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

}  // namespace
}  // namespace txmon::test
