// DemoShop: the simulated shop publishing its messages (Canal, Debezium or
// Maxwell: DemoShopOptions::simulator.format) into an EmbeddedKafka topic,
// as Canal would with partitionHash on the user id; a transaction's
// messages share its partition.
// Message partition = CanalMessageOut::partition_key_hash % partitions.
//
// Two ways to run it, not both at once:
//  - Start()/Stop(): a background thread follows the wall clock; each
//    message is produced as soon as its commit time passes, and its commit
//    time is the wall-clock instant (so freshness can be measured). Stop()
//    pauses; a later Start() first catches up the paused time.
//  - ProduceSimulated(ms): produces, at once, everything the shop commits in
//    the next `ms` of simulated time, starting at simulator.start_time_ms. For
//    tests and benchmarks. Call EmbeddedKafka::Flush to wait for delivery.
//
// Threading: all methods are safe from any thread. `kafka` must outlive the
// shop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/base/log.h"
#include "agent/base/status.h"
#include "agent/demo/embedded_kafka.h"
#include "agent/demo/shop_simulator.h"

namespace txmon {

struct DemoShopOptions {
  std::string topic = "shop.binlog";
  int partitions = 6;
  // Rate, surge, time scale, seed. In Start() mode start_time_ms is replaced
  // by the wall clock at Start().
  ShopSimulatorOptions simulator;
  // Longest pause of the background thread between two looks at the clock.
  std::chrono::milliseconds tick{10};
};

// The shop `txmon demo` runs unless its flags say otherwise: open for 10
// min already (steady rates from the first second), 20 orders/s, a x4
// "Double 11" surge at 1 min for 1 min, each order's life 30 times faster,
// and one staged incident, every payment failing from 3 min for 1 min, so
// that ShopPaymentFailureRatioHigh fires and then resolves. Outside the
// incident the shop is healthy against rules/shop.yml: a surge above about
// x5 ends in ShopOrderRateCollapsed (its 30m average is still high).
ShopSimulatorOptions DemoScenario();

class DemoShop {
 public:
  DemoShop(EmbeddedKafka* kafka, DemoShopOptions options);
  ~DemoShop();  // stops the thread

  DemoShop(const DemoShop&) = delete;
  DemoShop& operator=(const DemoShop&) = delete;

  // Creates the topic (first use only) and starts the real-time thread.
  Status Start();
  void Stop();
  bool running() const { return running_.load(std::memory_order_acquire); }

  // Produces everything due in the next `simulated_ms` of simulated time.
  // Refused while the real-time thread runs.
  Status ProduceSimulated(int64_t simulated_ms);

  uint64_t messages_produced() const { return produced_.load(std::memory_order_relaxed); }
  uint64_t produce_errors() const { return produce_errors_.load(std::memory_order_relaxed); }
  // What the shop has emitted so far (a copy; empty before the first run).
  ShopTruth truth() const;
  const std::string& topic() const { return options_.topic; }
  int partitions() const { return options_.partitions; }

 private:
  Status PrepareLocked(int64_t start_time_ms);                         // requires mutex_
  Status ProduceLocked(const std::vector<CanalMessageOut>& messages);  // requires mutex_
  void RunRealTime();

  enum class Mode { kUnused, kRealTime, kSimulated };

  EmbeddedKafka* const kafka_;
  const DemoShopOptions options_;

  mutable std::mutex mutex_;
  std::unique_ptr<ShopSimulator> simulator_;  // guarded; made at first use
  bool topic_created_ = false;                // guarded
  std::vector<CanalMessageOut> pending_;      // guarded
  Mode mode_ = Mode::kUnused;                 // guarded

  std::atomic<bool> running_{false};
  bool stop_requested_ = false;  // guarded by mutex_
  std::condition_variable wake_;
  std::thread thread_;

  std::atomic<uint64_t> produced_{0};
  std::atomic<uint64_t> produce_errors_{0};
  LogRateLimit error_log_limit_{5};
};

}  // namespace txmon
