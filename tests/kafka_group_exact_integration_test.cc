// Exact sums across the agents of one consumer group: a fixed stream of
// ~90,000 Canal messages goes at 3,000/s into 16 partitions of the mock
// cluster while three txmon binaries, each with its own checkpoint file and
// one hand-over topic, consume it in one group. Every 2-4 s one of them is
// SIGKILLed (two times out of three) or SIGTERMed and restarted; a fourth
// agent joins mid-stream, leaves, and comes back at the end; one is frozen
// (SIGSTOP) past its session and must exit by itself; a fifth joins, is
// SIGKILLed and retired for good (`txmon retire`), and the agents that stay
// are SIGKILLed at random moments around its adoption. Then the sum over
// the running agents of every counter, histogram bucket and sum (what
// Prometheus' `sum without(instance)` shows) equals the ground truth
// exactly, and the retired checkpoint refuses to start an agent. Once with
// an eager assignor, once with the cooperative one.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "agent/base/civil_time.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/demo/embedded_kafka.h"
#include "agent/demo/shop_simulator.h"
#include "tests/support/http_client.h"
#include "tests/support/running_agent.h"
#include "tests/support/shop_truth_check.h"
#include "tests/support/txmon_process.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kPartitions = 16;
constexpr int kAgents = 3;               // always in the group, killed and restarted
constexpr size_t kMinMessages = 90'000;  // produced at kMessagesPerSecond
constexpr double kMessagesPerSecond = 3000;
constexpr int kMinKills = 8;
constexpr int kMinTerms = 2;
constexpr int kRetiring = kAgents + 1;  // joins, then is retired for good
const char* kTopic = "shop.binlog";
const char* kHandoverTopic = "txmon.handover";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class KafkaGroupExactTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("txmon-group-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = ShippedConfig();
    ASSERT_TRUE(LocalZone::Use(config_.time_zone).ok());
    Status started = EmbeddedKafka::Start({}, &kafka_);
    ASSERT_TRUE(started.ok()) << started.message();
    ASSERT_TRUE(kafka_->CreateTopic(kTopic, kPartitions).ok());
    ASSERT_TRUE(kafka_->CreateTopic(kHandoverTopic, 1).ok());
    ShopSimulatorOptions options;
    options.seed = 14;
    options.orders_per_second = 600;
    options.time_scale = 30;
    options.record_each_order = true;
    ShopSimulator simulator(options);
    int64_t until = options.start_time_ms;
    while (messages_.size() < kMinMessages) {
      until += 1000;
      simulator.AdvanceTo(until, messages_);
    }
    truth_ = simulator.truth();
    WriteConfig();
  }
  void TearDown() override {
    for (TxmonProcess& agent : agents_) {
      if (agent.process) agent.process->Signal(SIGKILL);
    }
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void WriteConfig() {
    std::ifstream shipped(std::string(TXMON_SOURCE_DIR) + "/txmon.yml");
    std::stringstream text;
    text << shipped.rdbuf();
    std::string config = text.str();
    auto replace = [&](const std::string& from, const std::string& to) {
      config.replace(config.find(from), from.size(), to);
    };
    replace("brokers: 127.0.0.1:9092", "brokers: " + kafka_->bootstrap_servers());
    replace("group_id: txmon",
            std::string("group_id: exact\n    handover_topic: ") + kHandoverTopic);
    // A killed member holds its partitions until its session expires.
    replace("client.id: txmon", std::string("client.id: txmon\n") +
                                    "      session.timeout.ms: \"6000\"\n" +
                                    "      heartbeat.interval.ms: \"500\"\n" +
                                    "      partition.assignment.strategy: " + GetParam());
    config_path_ = (dir_ / "txmon.yml").string();
    std::ofstream(config_path_) << config;
  }

  void Start(int slot) {
    if (agents_.size() <= static_cast<size_t>(slot)) agents_.resize(slot + 1);
    const std::string name = "agent-" + std::to_string(slot);
    std::string error;
    TxmonProcess txmon = StartTxmon(
        AgentArgs(slot), (dir_ / (name + "-" + std::to_string(++starts_))).string(), &error);
    ASSERT_TRUE(txmon.process) << error;
    std::lock_guard lock(mutex_);
    agents_[slot] = std::move(txmon);
  }

  std::vector<std::string> AgentArgs(int slot) const {
    const std::string name = "agent-" + std::to_string(slot);
    return {"--config.file=" + config_path_,
            "--checkpoint.file=" + (dir_ / (name + ".ckpt")).string(),
            "--checkpoint.interval=500ms"};
  }

  // Runs the txmon binary to its end: exit code (-1: still running after
  // 60 s), stdout and stderr.
  struct Run {
    int code = -1;
    std::string out, err;
  };
  Run RunTxmon(std::vector<std::string> args) {
    const std::string prefix = (dir_ / ("run-" + std::to_string(++runs_))).string();
    ProcessOptions options{std::string(TXMON_BINARY_DIR) + "/txmon",
                           std::move(args),
                           "",
                           prefix + ".out",
                           prefix + ".err",
                           {}};
    std::string error;
    std::unique_ptr<Process> process = Process::Start(options, &error);
    Run run;
    if (!process) {
      run.err = error;
      return run;
    }
    std::optional<int> code = process->Wait(std::chrono::seconds(60));
    if (!code) process->Signal(SIGKILL);
    run.code = code.value_or(-1);
    run.out = process->Stdout();
    run.err = process->Stderr(8 * 1024);
    return run;
  }

  // The agent's name in the group, from its checkpoint.
  std::string MemberOf(int slot) const {
    Checkpoint checkpoint;
    bool found = false;
    std::string from;
    const std::string path = (dir_ / ("agent-" + std::to_string(slot) + ".ckpt")).string();
    EXPECT_TRUE(ReadCheckpointFile(path, &checkpoint, &found, &from).ok());
    EXPECT_FALSE(checkpoint.member.empty()) << path;
    return checkpoint.member;
  }

  // How often the agents' logs say they merged a retired agent's counts (a
  // restart from a checkpoint published before the merge merges again).
  int AdoptionsLogged() const {
    int found = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (!entry.path().string().ends_with(".err")) continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        found += line.find("adopted the counts of a retired agent") != std::string::npos;
      }
    }
    return found;
  }

  // SIGKILL or SIGTERM; returns once it has exited.
  void Stop(int slot, int signal) {
    TxmonProcess stopped;
    {
      std::lock_guard lock(mutex_);
      stopped = std::move(agents_[slot]);
      agents_[slot] = TxmonProcess();
    }
    stopped.process->Signal(signal);
    std::optional<int> code = stopped.process->Wait(std::chrono::seconds(30));
    ASSERT_TRUE(code.has_value()) << "agent " << slot << " did not exit";
    if (signal == SIGTERM) {
      EXPECT_EQ(*code, 0) << "agent " << slot << ":\n" << stopped.process->Stderr(8 * 1024);
    }
  }

  // What systemd does for an agent that exits by itself (one whose
  // partitions were taken while it stalled exits on purpose): restart it.
  // Returns the log lines of the restarts.
  std::string Supervise() {
    std::string restarted;
    for (size_t slot = 0; slot < agents_.size(); ++slot) {
      Process* process = agents_[slot].process.get();
      if (process == nullptr) continue;
      std::optional<int> code = process->Wait(std::chrono::milliseconds(0));
      if (!code) continue;
      const std::string log = process->Stderr(2048);
      {
        std::lock_guard lock(mutex_);
        agents_[slot] = TxmonProcess();
      }
      Start(static_cast<int>(slot));
      ++self_exits_;
      restarted += "agent-" + std::to_string(slot) + " exited with " + std::to_string(*code) +
                   ", restarted; its log ended:\n" + log + "\n";
    }
    return restarted;
  }

  // The "N of M partitions" an agent's live screen shows: N, or -1.
  static int OwnedPartitions(const std::string& metrics_url, int* total = nullptr) {
    HttpClientOptions options;
    options.timeout = std::chrono::milliseconds(700);
    const std::string events =
        HttpGet(metrics_url.substr(0, metrics_url.rfind("/metrics")) + "/live/events", options)
            .body;
    const size_t at = events.rfind("\"scope\":\"");
    int owned = -1, of = -1;
    if (at == std::string::npos ||
        sscanf(events.c_str() + at, "\"scope\":\"%d of %d partitions", &owned, &of) != 2) {
      return -1;
    }
    if (total != nullptr) *total = of;
    return owned;
  }

  std::vector<std::string> Urls() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> urls;
    for (const TxmonProcess& agent : agents_) {
      if (agent.process) urls.push_back(agent.metrics_url);
    }
    return urls;
  }

  // Every running agent's scrape, summed; false if one did not answer.
  bool ScrapeSum(MetricsText* sum) {
    std::vector<MetricsText> parts;
    for (const std::string& url : Urls()) {
      HttpResponse response = HttpGet(url);
      if (response.status != 200) return false;
      parts.push_back(MetricsText::Parse(response.body));
    }
    *sum = MetricsText::SumOf(parts, {"txmon_source_up"});
    return true;
  }

  fs::path dir_;
  AgentConfig config_;
  std::string config_path_;
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::vector<CanalMessageOut> messages_;
  ShopTruth truth_;
  std::mutex mutex_;
  std::vector<TxmonProcess> agents_;  // guarded by mutex_ (slots; a null process is stopped)
  int starts_ = 0;
  int runs_ = 0;
  int self_exits_ = 0;
};

TEST_P(KafkaGroupExactTest, SumOverAgentsIsExactThroughKillsRestartsAndRebalances) {
  ASSERT_GE(messages_.size(), kMinMessages);
  for (int slot = 0; slot < kAgents; ++slot) Start(slot);
  ASSERT_FALSE(HasFailure());

  std::atomic<bool> produced_all{false};
  std::atomic<bool> watching{true};
  std::atomic<bool> aborted{false};
  std::thread producer, watcher;
  // A failed ASSERT returns from here: stop and join the threads first.
  struct JoinAtExit {
    std::function<void()> run;
    ~JoinAtExit() { run(); }
  } join_at_exit{[&] {
    aborted = true;
    watching = false;
    if (producer.joinable()) producer.join();
    if (watcher.joinable()) watcher.join();
  }};
  const auto produce_start = Clock::now();
  std::atomic<double> produce_seconds{0};
  producer = std::thread([&] {
    for (size_t i = 0; i < messages_.size() && !aborted; ++i) {
      auto due = produce_start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(i / kMessagesPerSecond));
      if (Clock::now() < due) std::this_thread::sleep_until(due);
      const CanalMessageOut& m = messages_[i];
      if (Status s = kafka_->Produce(kTopic, m.partition_key_hash % kPartitions, m.json); !s.ok()) {
        ADD_FAILURE() << "produce: " << s.message();
        aborted = true;
      }
    }
    produce_seconds = Seconds(Clock::now() - produce_start);
    if (!aborted) produced_all = true;
  });

  // The group's progress, sampled: its longest stall while messages were due.
  std::atomic<double> counted{0};  // the group's sum, last sampled
  double longest_stall = 0;
  watcher = std::thread([&] {
    double last = -1;
    auto since = Clock::now();
    while (watching) {
      MetricsText sum;
      if (ScrapeSum(&sum)) {
        const double seen = sum.Sum("txmon_messages_total");
        counted = seen;
        if (seen > last) {
          last = seen;
          since = Clock::now();
        } else if (!produced_all) {
          longest_stall = std::max(longest_stall, Seconds(Clock::now() - since));
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });

  std::mt19937 random(20261201);
  int kills = 0, terms = 0;
  int kills_mid_stream = 0;  // while the group had messages yet to count
  bool joined = false, left = false, frozen = false;
  bool retiree_joined = false, retired = false;
  std::string retire_output;
  int frozen_owned = -1;  // partitions the frozen agent owned
  std::string events;
  const auto behind = [&] { return counted < static_cast<double>(truth_.messages); };
  while (!aborted &&
         (!produced_all || ((kills_mid_stream < kMinKills || terms < kMinTerms) && behind()))) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution(2000, 4000)(random)));
    events += Supervise();
    const double at = Seconds(Clock::now() - produce_start);
    char line[96];
    if (!joined && at > 6) {
      Start(kAgents);  // a fourth agent joins mid-stream
      joined = true;
      snprintf(line, sizeof line, "%.1fs join agent-%d\n", at, kAgents);
    } else if (joined && !retiree_joined && at > 8) {
      Start(kRetiring);  // a fifth agent joins, to be retired for good
      retiree_joined = true;
      snprintf(line, sizeof line, "%.1fs join agent-%d\n", at, kRetiring);
    } else if (retiree_joined && !retired && at > 19) {
      // Crashed, then retired: its last published checkpoint goes to the
      // hand-over topic and an agent that stays adopts it. To crash the
      // adopter where it matters, every agent is SIGKILLed first and agent-0
      // is given the winning claim (as if it had claimed, then died before
      // merging): restarted, it must merge from the topic, and it is
      // SIGKILLed again the moment it logs the merge (before or after its
      // checkpoint is published). Then random agents are SIGKILLed too.
      Stop(kRetiring, SIGKILL);
      for (int slot = 0; slot < kAgents; ++slot) Stop(slot, SIGKILL);
      kills += kAgents;
      if (behind()) kills_mid_stream += kAgents;
      std::vector<std::string> args = AgentArgs(kRetiring);
      args.resize(2);
      args.insert(args.begin(), "retire");
      args.push_back("--wait=0s");
      const Run run = RunTxmon(args);
      ASSERT_EQ(run.code, 0) << run.out << run.err;
      retire_output = run.out;
      retired = true;
      const std::string claim =
          "txmon-claim/1\nmember " + MemberOf(0) + "\nretired " + MemberOf(kRetiring) + "\n";
      ASSERT_TRUE(kafka_->Produce(kHandoverTopic, 0, claim).ok());
      ASSERT_TRUE(kafka_->Flush(std::chrono::seconds(10)).ok());
      snprintf(line, sizeof line, "%.1fs SIGKILL all, txmon retire agent-%d, agent-0 claims\n", at,
               kRetiring);
      events += line;
      for (int slot = 0; slot < kAgents; ++slot) Start(slot);
      ASSERT_FALSE(HasFailure());
      const auto deadline = Clock::now() + std::chrono::seconds(30);
      while (Clock::now() < deadline &&
             agents_[0].process->Stderr().find("adopted the counts") == std::string::npos) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      Stop(0, SIGKILL);
      Start(0);
      ++kills;
      if (behind()) ++kills_mid_stream;
      snprintf(line, sizeof line, "%.1fs SIGKILL agent-0 as it logs the merge, restarted\n",
               Seconds(Clock::now() - produce_start));
      events += line;
      for (int round = 0; round < 2; ++round) {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution(0, 700)(random)));
        const int slot = std::uniform_int_distribution(0, kAgents - 1)(random);
        Stop(slot, SIGKILL);
        Start(slot);
        ++kills;
        if (behind()) ++kills_mid_stream;
        snprintf(line, sizeof line, "%.1fs SIGKILL agent-%d (after the adoption), restarted\n",
                 Seconds(Clock::now() - produce_start), slot);
        events += line;
      }
      line[0] = '\0';
    } else if (!frozen && at > 22) {
      // Frozen past its session: the group gives its partitions away while
      // it cannot know; it must exit rather than count them on.
      int slot = std::uniform_int_distribution(0, kAgents - 1)(random);
      for (int i = 0; i < kAgents && frozen_owned <= 0; ++i) {
        slot = (slot + 1) % kAgents;  // one that owns partitions now
        frozen_owned = OwnedPartitions(agents_[slot].metrics_url);
      }
      if (frozen_owned <= 0 && at < 45) {
        // None owns partitions yet (all were just restarted): next round.
        snprintf(line, sizeof line, "%.1fs no agent owns partitions yet: the freeze waits\n", at);
      } else {
        agents_[slot].process->Signal(SIGSTOP);
        std::this_thread::sleep_for(std::chrono::seconds(8));
        agents_[slot].process->Signal(SIGCONT);
        frozen = true;
        snprintf(line, sizeof line,
                 "%.1fs SIGSTOP agent-%d (%d partitions) for 8 s, then SIGCONT\n", at, slot,
                 frozen_owned);
      }
    } else if (joined && !left && at > 16) {
      Stop(kAgents, SIGTERM);  // ... and leaves; it comes back at the end
      left = true;
      snprintf(line, sizeof line, "%.1fs leave agent-%d\n", at, kAgents);
    } else {
      const int slot = std::uniform_int_distribution(0, kAgents - 1)(random);
      const bool kill = std::uniform_int_distribution(0, 2)(random) < 2;
      Stop(slot, kill ? SIGKILL : SIGTERM);
      Start(slot);
      (kill ? kills : terms) += 1;
      if (kill && behind()) ++kills_mid_stream;
      snprintf(line, sizeof line, "%.1fs %s agent-%d, restarted\n", at,
               kill ? "SIGKILL" : "SIGTERM", slot);
    }
    events += line;
    ASSERT_FALSE(HasFailure()) << events;
  }
  producer.join();
  ASSERT_TRUE(produced_all);
  ASSERT_TRUE(kafka_->Flush(std::chrono::seconds(30)).ok());
  const double chaos_seconds = Seconds(Clock::now() - produce_start);
  Start(kAgents);  // the agent that left comes back with its checkpoint
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(retired) << events;

  // Waits while the group makes progress: a slow machine is not a failure,
  // a stall (40 s without one more message) is.
  const auto catch_up_start = Clock::now();
  MetricsText sum;
  double last_seen = -1;
  auto last_progress = Clock::now();
  while (Clock::now() - last_progress < std::chrono::seconds(40)) {
    events += Supervise();
    if (ScrapeSum(&sum)) {
      const double seen = sum.Sum("txmon_messages_total");
      if (seen >= static_cast<double>(truth_.messages)) break;
      if (seen > last_seen) {
        last_seen = seen;
        last_progress = Clock::now();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double catch_up_seconds = Seconds(Clock::now() - catch_up_start);
  // Anything counted twice would show now; give it a moment to appear.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  watching = false;
  watcher.join();
  ASSERT_TRUE(ScrapeSum(&sum));
  std::string per_agent;
  for (const std::string& url : Urls()) {
    MetricsText m = MetricsText::Fetch(url);
    per_agent += " " + std::to_string(static_cast<long long>(m.Sum("txmon_messages_total")));
  }
  printf(
      "%s: %zu messages (%lld rows) into %d partitions at %.0f/s; agents: %d + 1 joining and "
      "leaving; SIGKILL %d (%d mid-stream), SIGTERM %d; exited by themselves %d; group's longest "
      "stall while producing "
      "%.1f s; produced in %.1f s; kills and restarts for %.0f s; all counted %.1f s after "
      "that; messages per agent:%s; sum %.0f\n%s",
      GetParam(), messages_.size(), static_cast<long long>(truth_.rows_total), kPartitions,
      kMessagesPerSecond, kAgents, kills, kills_mid_stream, terms, self_exits_, longest_stall,
      produce_seconds.load(), chaos_seconds, catch_up_seconds, per_agent.c_str(),
      sum.Sum("txmon_messages_total"), events.c_str());
  EXPECT_GE(kills_mid_stream, kMinKills);
  EXPECT_GE(terms, kMinTerms);
  if (frozen_owned > 0) {
    EXPECT_GE(self_exits_, 1) << "the agent frozen past its session went on";
  }
  // The retired agent had counted its share, which the sum still holds; its
  // checkpoint cannot start an agent again, and retiring it again is a no-op
  // that names the adopter.
  unsigned long long retired_counted = 0;
  const size_t counted_at = retire_output.find(", ");
  ASSERT_NE(counted_at, std::string::npos) << retire_output;
  sscanf(retire_output.c_str() + counted_at, ", %llu messages counted", &retired_counted);
  EXPECT_GT(retired_counted, 0u) << retire_output;
  const Run restart = RunTxmon(AgentArgs(kRetiring));
  EXPECT_EQ(restart.code, 2) << restart.err;
  EXPECT_NE(restart.err.find("was retired"), std::string::npos) << restart.err;
  std::vector<std::string> again = AgentArgs(kRetiring);
  again.resize(2);
  again.insert(again.begin(), "retire");
  const Run retire_again = RunTxmon(again);
  EXPECT_EQ(retire_again.code, 0) << retire_again.err;
  EXPECT_NE(retire_again.out.find("its counts went to agent " + MemberOf(0)), std::string::npos)
      << retire_again.out;
  EXPECT_GE(AdoptionsLogged(), 1);
  printf("retired agent-%d (checkpoint of %ju bytes): %s%s adoptions logged: %d\n", kRetiring,
         static_cast<uintmax_t>(
             fs::file_size(dir_ / ("agent-" + std::to_string(kRetiring) + ".ckpt"))),
         retire_output.c_str(), retire_again.out.c_str(), AdoptionsLogged());
  EXPECT_EQ(sum.Sum("txmon_messages_total"), truth_.messages) << events;
  ExpectMetricsMatchTruth(sum, truth_, config_);
  EXPECT_EQ(sum.Sum("txmon_source_lost_messages_total"), 0);
  // Each agent's live screen says which share it counts; the shares add up
  // once the group is stable again (an eager rebalance after the last
  // restart takes every partition away until the killed member's session
  // expires, while the counts above are already complete).
  const auto settle_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  // A screen that does not answer in time (a busy machine) or whose agent
  // has no assignment yet ("0 partitions", no total) is asked again.
  int owned_total = 0;
  std::string unsettled;
  while (true) {
    owned_total = 0;
    unsettled.clear();
    for (const std::string& url : Urls()) {
      int total = -1;
      const int owned = OwnedPartitions(url, &total);
      if (owned < 0 || total != kPartitions) {
        unsettled +=
            " " + url + " (" + std::to_string(owned) + " of " + std::to_string(total) + ")";
        continue;
      }
      owned_total += owned;
    }
    if ((unsettled.empty() && owned_total == kPartitions) ||
        std::chrono::steady_clock::now() > settle_deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(unsettled, "");
  EXPECT_EQ(owned_total, kPartitions);
  for (int slot = 0; slot <= kAgents; ++slot) Stop(slot, SIGTERM);
}

INSTANTIATE_TEST_SUITE_P(Assignors, KafkaGroupExactTest,
                         ::testing::Values("range", "cooperative-sticky"), [](const auto& info) {
                           return std::string(info.param == std::string("range") ? "Eager"
                                                                                 : "Cooperative");
                         });

}  // namespace
}  // namespace txmon::test
