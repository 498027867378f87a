#include "tests/support/live_shop.h"

#include "agent/base/civil_time.h"
#include "tests/support/running_agent.h"

namespace txmon::test {

std::unique_ptr<LiveShop> LiveShop::Create(DemoShopOptions options, std::string* error) {
  std::unique_ptr<LiveShop> live(new LiveShop());
  live->config_ = ShippedConfig();
  if (Status s = LocalZone::Use(live->config_.time_zone); !s.ok()) {
    *error = s.message();
    return nullptr;
  }
  if (Status s = EmbeddedKafka::Start({}, &live->kafka_); !s.ok()) {
    *error = s.message();
    return nullptr;
  }
  live->shop_ = std::make_unique<DemoShop>(live->kafka_.get(), std::move(options));
  return live;
}

Status LiveShop::ProduceSimulated(int64_t simulated_ms) {
  if (Status s = shop_->ProduceSimulated(simulated_ms); !s.ok()) return s;
  if (Status s = kafka_->Flush(std::chrono::seconds(30)); !s.ok()) return s;
  if (shop_->produce_errors() != 0) {
    return Status::Error(std::to_string(shop_->produce_errors()) + " produce errors");
  }
  return Status::Ok();
}

AgentOptions LiveShop::AgentOptionsFor(const std::string& group) const {
  AgentOptions options;
  options.config = config_;
  KafkaConfig& kafka = options.config.source.kafka;
  kafka.brokers = kafka_->bootstrap_servers();
  kafka.topics = {shop_->topic()};
  kafka.group_id = group;
  kafka.start_offset = "earliest";
  return options;
}

}  // namespace txmon::test
