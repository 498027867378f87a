// Shared by the end-to-end benchmarks that run the real txmon binary against
// the embedded Kafka: the simulated shop's backlog, a config pointing at the
// broker, the agent process, and readings from /metrics and /proc.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/demo/embedded_kafka.h"
#include "tests/support/process.h"

namespace txmon::bench {

// `seconds` of the simulated shop at 1,200 orders/s (×30 time scale), as
// Canal messages; the rows they hold in `rows`. 40 s fits the mock broker's
// 5 MiB retention on 32 partitions (about 3.3 MiB each).
std::vector<std::string> GenerateShopMessages(int seconds, size_t* rows);

// An embedded Kafka holding `shop_seconds` of the shop (GenerateShopMessages)
// round-robin over `partitions` of `topic`, flushed; the messages and their
// rows in `messages` and `rows`. Puts the shop's time zone in force. Null
// (with the reason on stderr) on failure.
std::unique_ptr<EmbeddedKafka> StartShopBacklog(int shop_seconds, const std::string& topic,
                                                int partitions, std::vector<std::string>* messages,
                                                size_t* rows);

// The shipped txmon.yml pointed at `brokers`, consumer group `group` from
// `start_offset`; with `per_user_series`, one more mapping labelled by
// user_id, so the agent holds over 10,000 active series. Returns its path.
std::string WriteBenchConfig(const std::string& dir, const std::string& brokers,
                             const std::string& group, const std::string& start_offset,
                             bool per_user_series);

// build/txmon with `config` on a free loopback port; `metrics_url` is its
// /metrics. Its stdout and stderr go to files in `dir` named after `name`.
std::unique_ptr<test::Process> StartBenchAgent(const std::string& dir, const std::string& config,
                                               const std::string& name, std::string* metrics_url);

// The sum of every sample of metric family `name` in exposition text.
double SumOf(const std::string& text, const std::string& name);
// Samples (non-comment lines) in exposition text.
size_t CountSeries(const std::string& text);
// VmRSS of `pid` in KiB (0 if unknown).
long RssKiB(pid_t pid);

}  // namespace txmon::bench
