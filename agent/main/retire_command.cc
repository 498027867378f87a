// `txmon retire`: takes a stopped agent out of an exact hand-over group for
// good, handing its counts to the agents that stay (see README "Scale out").
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "agent/base/duration.h"
#include "agent/base/log.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/config/agent_config.h"
#include "agent/main/commands.h"
#include "agent/main/flags.h"
#include "agent/main/handover_checkpoint.h"
#include "agent/source/kafka_source.h"

namespace txmon {

namespace {

constexpr char kRetireUsage[] =
    "Usage: txmon retire --config.file=txmon.yml --checkpoint.file=PATH [flags]\n\n"
    "Takes a stopped agent of an exact hand-over group (source.kafka.handover_topic) out of\n"
    "the group for good. Stop the agent first (SIGTERM, or it crashed: either is exact), then\n"
    "run this on its host with its config and checkpoint file. It publishes the state of the\n"
    "agent's last published checkpoint to the hand-over topic; the first live agent of the\n"
    "group to claim it adds those counts to its own, so `sum without(instance)` over the\n"
    "agents that stay keeps every count. The retired checkpoint cannot start an agent again.\n"
    "Running it again for an agent already retired changes nothing.\n"
    "Exit codes: 0 retired (or already), 1 Kafka failed (nothing changed: run it again),\n"
    "2 bad usage, or the checkpoint cannot be retired (the message says why).";

std::string CountedMessages(const Checkpoint& checkpoint) {
  for (const MetricSnapshot& m : checkpoint.store.metrics) {
    if (m.name != "txmon_messages_total") continue;
    int64_t total = 0;
    for (const SeriesSnapshot& s : m.series) total += s.value;
    return std::to_string(total / 1'000'000);
  }
  return "?";
}

// Waits up to `wait` for a live agent's claim: who adopts the counts.
std::string WaitForWinner(Source& source, const std::string& member,
                          std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    std::vector<RetireRecord> retires;
    if (source.ReadRetires(&retires).ok()) {
      for (const RetireRecord& r : retires) {
        if (r.member == member && !r.winner.empty()) return r.winner;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

int RunRetireCommand(const std::vector<std::string>& args) {
  FlagSet flags(kRetireUsage);
  flags.AddString("config.file", "txmon.yml",
                  "The agent's configuration file (its source.kafka: brokers, group_id, "
                  "handover_topic and connection properties).");
  flags.AddString("checkpoint.file", "", "The stopped agent's --checkpoint.file.");
  flags.AddString("wait", "30s",
                  "How long to wait for a live agent to claim the counts, to name it (0s: do "
                  "not wait; an agent that starts later claims them then).");
  flags.AddString("settle", "5s",
                  "How long to wait, once the agent's lock is free, before reading the hand-over "
                  "topic: a record the agent had in flight when it stopped lands first.");
  AddLogFlags(flags, "warn");
  flags.AddBool("help", "Show this help and exit.");
  if (Status s = flags.Parse(args); !s.ok()) {
    fprintf(stderr, "txmon retire: %s\n", s.message().c_str());
    return kExitUsage;
  }
  if (flags.GetBool("help")) {
    fputs(flags.Help().c_str(), stdout);
    return kExitOk;
  }
  const std::string path = flags.Get("checkpoint.file");
  const std::optional<std::chrono::milliseconds> wait = ParseDuration(flags.Get("wait"));
  const std::optional<std::chrono::milliseconds> settle = ParseDuration(flags.Get("settle"));
  if (path.empty() || !flags.positional().empty() || !wait || !settle) {
    fprintf(stderr, "txmon retire: %s (see --help)\n",
            path.empty() ? "--checkpoint.file is required"
            : !wait      ? "--wait: not a duration"
            : !settle    ? "--settle: not a duration"
                         : "unexpected argument");
    return kExitUsage;
  }
  if (Status s = ApplyLogFlags(flags); !s.ok()) {
    fprintf(stderr, "txmon retire: %s\n", s.message().c_str());
    return kExitUsage;
  }
  AgentConfig config;
  if (Status s = LoadConfigFile(flags.Get("config.file"), &config); !s.ok()) {
    fprintf(stderr, "txmon retire: %s\n", s.message().c_str());
    return kExitUsage;
  }
  const KafkaConfig& kafka = config.source.kafka;
  if (kafka.handover_topic.empty()) {
    fprintf(stderr,
            "txmon retire: %s has no source.kafka.handover_topic: without the exact hand-over "
            "there is no group state to hand on (a stopped agent's counts simply leave the "
            "sum)\n",
            config.file.c_str());
    return kExitUsage;
  }
  int lock_fd = -1;
  if (Status s = LockCheckpoint(path, &lock_fd); !s.ok()) {
    fprintf(stderr, "txmon retire: %s: stop that agent first\n", s.message().c_str());
    return kExitUsage;
  }
  KafkaSourceOptions options{kafka.brokers,      kafka.topics,     kafka.group_id,
                             kafka.start_offset, kafka.properties, kafka.handover_topic};
  std::unique_ptr<KafkaSource> source;
  if (Status s = KafkaSource::CreateHandoverOnly(options, &source); !s.ok()) {
    fprintf(stderr, "txmon retire: %s\n", s.message().c_str());
    return kExitUsage;
  }
  // A hand-over record the agent had sent but not seen acknowledged when it
  // died can still reach the topic after the lock is free. Read before it
  // lands, the topic would name an older checkpoint than the one the
  // agent's partitions' next owners start from, and what lies between
  // would be counted by no one.
  std::this_thread::sleep_for(*settle);
  PublishedCheckpoint picked;
  if (Status s = FindPublishedCheckpoint(path, *source, &picked); !s.ok()) {
    fprintf(stderr, "txmon retire: %s\n", s.message().c_str());
    return kExitRuntimeError;
  }
  if (picked.pick < 0 || picked.member.empty()) {
    fprintf(stderr, "txmon retire: no hand-over checkpoint at %s (nor %s.prev)\n", path.c_str(),
            path.c_str());
    return kExitUsage;
  }
  std::vector<RetireRecord> retires;
  if (Status s = source->ReadRetires(&retires); !s.ok()) {
    fprintf(stderr, "txmon retire: %s\n", s.message().c_str());
    return kExitRuntimeError;
  }
  for (const RetireRecord& r : retires) {
    if (r.member != picked.member) continue;
    printf("txmon retire: agent %s was already retired; %s\n", picked.member.c_str(),
           r.winner.empty() ? "no live agent has claimed its counts yet"
                            : ("its counts went to agent " + r.winner).c_str());
    return kExitOk;
  }
  if (!picked.exact) {
    // Its partitions' next owners start where the last record says; a state
    // that is not that record's counts more or less than they skip.
    fprintf(stderr, "txmon retire: %s\n",
            (picked.has_published
                 ? "neither " + path + " nor " + path + ".prev holds sequence " +
                       std::to_string(picked.published_seq) + ", the one agent " + picked.member +
                       " last published: its exact state is gone, so retiring it would not "
                       "keep the sums exact"
                 : "agent " + picked.member +
                       " never published a checkpoint to the hand-over topic: nothing the "
                       "group counts is in it")
                .c_str());
    return kExitUsage;
  }
  if (Status s = source->PublishRetire(picked.member, EncodeCheckpointFile(picked.checkpoint));
      !s.ok()) {
    fprintf(stderr, "txmon retire: %s (run it again)\n", s.message().c_str());
    return kExitRuntimeError;
  }
  printf("txmon retire: retired agent %s from %s (checkpoint %llu, %s messages counted)\n",
         picked.member.c_str(), picked.file.c_str(),
         static_cast<unsigned long long>(picked.checkpoint.handover_seq),
         CountedMessages(picked.checkpoint).c_str());
  // Said, never silent: a record that landed later still than the settle.
  PublishedCheckpoint again;
  if (FindPublishedCheckpoint(path, *source, &again).ok() && again.has_published &&
      again.published_seq != picked.checkpoint.handover_seq) {
    fprintf(stderr,
            "txmon retire: agent %s published checkpoint %llu after the retired one (%llu) "
            "reached the topic: the sums are short by what lies between; run with a longer "
            "--settle next time\n",
            picked.member.c_str(), static_cast<unsigned long long>(again.published_seq),
            static_cast<unsigned long long>(picked.checkpoint.handover_seq));
    return kExitRuntimeError;
  }
  const std::string winner = WaitForWinner(*source, picked.member, *wait);
  if (winner.empty()) {
    printf(
        "txmon retire: no live agent has claimed its counts yet; the first agent of the "
        "group to run will\n");
  } else {
    printf("txmon retire: its counts went to agent %s\n", winner.c_str());
  }
  fflush(stdout);
  return kExitOk;
}

}  // namespace txmon
