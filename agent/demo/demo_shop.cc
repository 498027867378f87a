#include "agent/demo/demo_shop.h"

#include <algorithm>

#include "agent/base/log.h"
#include "agent/base/wall_clock.h"

namespace txmon {

namespace {

constexpr std::string_view kComponent = "demo";
// ProduceSimulated advances in steps this long, so memory stays bounded
// however long the window.
constexpr int64_t kSimulatedStepMs = 1000;

}  // namespace

ShopSimulatorOptions DemoScenario() {
  ShopSimulatorOptions options;
  options.orders_per_second = 20;
  options.surge_multiplier = 4;
  options.surge_start_ms = 60'000;
  options.surge_duration_ms = 60'000;
  options.time_scale = 30;
  options.payment_outage_start_ms = 180'000;
  options.payment_outage_duration_ms = 60'000;
  // Long enough for every part of an order's life (at time_scale 30) to
  // reach its steady rate before the first message.
  options.warm_up_ms = 10 * 60'000;
  options.record_each_order = false;  // the demo runs for hours
  return options;
}

DemoShop::DemoShop(EmbeddedKafka* kafka, DemoShopOptions options)
    : kafka_(kafka), options_(std::move(options)) {}

DemoShop::~DemoShop() { Stop(); }

Status DemoShop::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return Status::Error("demo shop: already running");
  if (mode_ == Mode::kSimulated) {
    return Status::Error("demo shop: already used in simulated time; cannot follow the clock");
  }
  Status prepared = PrepareLocked(WallClockMs());
  if (!prepared.ok()) return prepared;
  mode_ = Mode::kRealTime;
  stop_requested_ = false;
  running_.store(true, std::memory_order_release);
  thread_ = std::thread(&DemoShop::RunRealTime, this);
  const ShopSimulatorOptions& simulated = options_.simulator;
  Log(LogLevel::kInfo, kComponent, "demo shop started",
      {{"topic", options_.topic},
       {"partitions", std::to_string(options_.partitions)},
       {"orders_per_second", std::to_string(simulated.orders_per_second)},
       {"surge_multiplier", std::to_string(simulated.surge_multiplier)},
       {"time_scale", std::to_string(simulated.time_scale)}});
  return Status::Ok();
}

void DemoShop::Stop() {
  std::thread stopping;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return;
    stop_requested_ = true;
    stopping = std::move(thread_);
  }
  wake_.notify_all();
  stopping.join();
  running_.store(false, std::memory_order_release);
  Log(LogLevel::kInfo, kComponent, "demo shop stopped",
      {{"messages_produced", std::to_string(messages_produced())}});
}

Status DemoShop::ProduceSimulated(int64_t simulated_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (mode_ == Mode::kRealTime) {
    return Status::Error("demo shop: follows the clock; cannot also run in simulated time");
  }
  Status prepared = PrepareLocked(options_.simulator.start_time_ms);
  if (!prepared.ok()) return prepared;
  mode_ = Mode::kSimulated;
  const int64_t end_ms = simulator_->now_ms() + simulated_ms;
  Status first_error = Status::Ok();
  while (simulator_->now_ms() < end_ms) {
    pending_.clear();
    simulator_->AdvanceTo(std::min(end_ms, simulator_->now_ms() + kSimulatedStepMs), pending_);
    Status produced = ProduceLocked(pending_);
    if (first_error.ok() && !produced.ok()) first_error = produced;
  }
  pending_.clear();
  return first_error;
}

ShopTruth DemoShop::truth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return simulator_ ? simulator_->truth() : ShopTruth();
}

Status DemoShop::PrepareLocked(int64_t start_time_ms) {
  if (options_.partitions < 1) return Status::Error("demo shop: partitions must be at least 1");
  if (!topic_created_) {
    Status created = kafka_->CreateTopic(options_.topic, options_.partitions);
    if (!created.ok()) return created;
    topic_created_ = true;
  }
  if (!simulator_) {
    ShopSimulatorOptions simulated = options_.simulator;
    simulated.start_time_ms = start_time_ms;
    simulator_ = std::make_unique<ShopSimulator>(std::move(simulated));
  }
  return Status::Ok();
}

Status DemoShop::ProduceLocked(const std::vector<CanalMessageOut>& messages) {
  Status first_error = Status::Ok();
  for (const CanalMessageOut& message : messages) {
    const int32_t partition = message.partition_key_hash % options_.partitions;
    Status produced = kafka_->Produce(options_.topic, partition, message.json);
    if (produced.ok()) {
      produced_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    produce_errors_.fetch_add(1, std::memory_order_relaxed);
    uint64_t suppressed = 0;
    if (error_log_limit_.Allow(&suppressed)) {
      Log(LogLevel::kWarn, kComponent, "demo shop produce failed",
          {{"err", produced.message()}, {"suppressed", std::to_string(suppressed)}});
    }
    if (first_error.ok()) first_error = produced;
  }
  return first_error;
}

// Stop() pauses the shop; a later Start() first catches up the paused time.
void DemoShop::RunRealTime() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_requested_) {
    pending_.clear();
    simulator_->AdvanceTo(WallClockMs(), pending_);
    (void)ProduceLocked(pending_);  // failures are counted and logged
    pending_.clear();
    const int64_t until_next = simulator_->next_event_ms() - WallClockMs();
    const auto pause = std::chrono::milliseconds(
        std::clamp<int64_t>(until_next, 1, std::max<int64_t>(1, options_.tick.count())));
    wake_.wait_for(lock, pause, [this] { return stop_requested_; });
  }
}

}  // namespace txmon
