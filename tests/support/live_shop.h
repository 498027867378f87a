// LiveShop: what the integration tests share — the shipped txmon.yml (its
// time zone put in force, so the shop writes DATETIMEs in the zone the agent
// reads them in), an embedded Kafka, the simulated shop writing Canal
// messages into it, and options for agents consuming the shop's topic.
// Threading: one owner.
#pragma once

#include <memory>
#include <string>

#include "agent/demo/demo_shop.h"
#include "agent/demo/embedded_kafka.h"
#include "agent/main/agent.h"

namespace txmon::test {

class LiveShop {
 public:
  // Starts the broker and makes the shop, not yet producing: call
  // shop().Start() for real time, or ProduceSimulated. Null plus `error`.
  static std::unique_ptr<LiveShop> Create(DemoShopOptions options, std::string* error);

  const AgentConfig& config() const { return config_; }
  EmbeddedKafka& kafka() { return *kafka_; }
  DemoShop& shop() { return *shop_; }

  // `simulated_ms` of the shop produced at once and flushed to the broker.
  Status ProduceSimulated(int64_t simulated_ms);

  // The shipped config consuming the shop's topic in consumer group `group`
  // from the earliest offset.
  AgentOptions AgentOptionsFor(const std::string& group) const;

 private:
  LiveShop() = default;
  AgentConfig config_;
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::unique_ptr<DemoShop> shop_;
};

}  // namespace txmon::test
