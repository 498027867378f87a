// Replays every checked-in fuzz input (fuzz/corpus/TARGET/ seeds and
// fuzz/regressions/TARGET/ inputs that once crashed) through the fuzz entry
// points in the ordinary build, so a fixed crash stays fixed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>

#include "fuzz/fuzz_targets.h"

namespace txmon {
namespace {

namespace fs = std::filesystem;
using Target = std::function<std::string(const uint8_t*, size_t)>;

const std::map<std::string, Target>& Targets() {
  static const std::map<std::string, Target> targets = {
      {"canal_message", fuzz::CanalMessage},     {"debezium_message", fuzz::DebeziumMessage},
      {"maxwell_message", fuzz::MaxwellMessage}, {"auto_message", fuzz::AutoMessage},
      {"config_text", fuzz::ConfigText},         {"checkpoint_payload", fuzz::CheckpointPayload},
      {"promql_expr", fuzz::PromqlExpr}};
  return targets;
}

// Outcomes per target over every input in fuzz/<kind>/<target>/.
std::map<std::string, std::map<std::string, int>> Replay(const std::string& kind) {
  std::map<std::string, std::map<std::string, int>> outcomes;
  const fs::path root = fs::path(TXMON_SOURCE_DIR) / "fuzz" / kind;
  for (const auto& [name, target] : Targets()) {
    if (!fs::exists(root / name)) continue;
    for (const auto& entry : fs::directory_iterator(root / name)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      outcomes[name][target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())]++;
    }
  }
  return outcomes;
}

TEST(FuzzCorpusTest, SeedsReachTheDeepCode) {
  auto outcomes = Replay("corpus");
  // Seeds are useful only if they get past the first check of each target.
  EXPECT_GT(outcomes["canal_message"]["rows:1"] + outcomes["canal_message"]["rows:0"], 0);
  for (const char* target : {"debezium_message", "maxwell_message", "auto_message"}) {
    int decoded = 0;
    for (const auto& [outcome, count] : outcomes[target]) {
      if (outcome.starts_with("rows:")) decoded += count;
    }
    EXPECT_GT(decoded, 0) << target;
  }
  EXPECT_GT(outcomes["config_text"]["compiled"], 0);
  EXPECT_GT(outcomes["checkpoint_payload"]["decoded"], 0);
  EXPECT_GT(outcomes["promql_expr"]["evaluated"], 0);
}

TEST(FuzzCorpusTest, RegressionInputsAreHandled) {
  // Every input that once crashed must now come back with an outcome.
  for (const auto& [target, counts] : Replay("regressions")) {
    for (const auto& [outcome, count] : counts) EXPECT_FALSE(outcome.empty()) << target;
  }
}

TEST(FuzzCorpusTest, HostileCanalInputsAreClassified) {
  // Within the size limit, past any depth limit.
  const std::string deep_array(20000, '[');
  const std::string deep_in_object = R"({"type":"INSERT","table":"orders","data":)" + deep_array;
  const std::string big_number =
      R"({"data":[{"id":"1"}],"database":"shop","es":99999999999999999999999,"table":"orders","type":"INSERT"})";
  const std::string invalid_utf8 = "{\"data\":[{\"channel\":\"\xff\xfe\"}],\"type\":\"INSERT\"}";
  const std::string oversized = "{\"sql\":\"" + std::string(70 * 1024, 'x') + "\"}";
  auto run = [](const std::string& s) {
    return fuzz::CanalMessage(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  auto decoded = [&](const std::string& s) { return run(s).starts_with("rows"); };
  EXPECT_EQ(run(deep_array), "wrong_type");  // a message is an object
  EXPECT_FALSE(decoded(deep_in_object)) << run(deep_in_object);
  EXPECT_FALSE(decoded(big_number)) << run(big_number);
  EXPECT_EQ(run(invalid_utf8), "invalid_json");
  EXPECT_EQ(run(oversized), "too_large");
}

}  // namespace
}  // namespace txmon
