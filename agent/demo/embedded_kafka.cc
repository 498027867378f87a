#include "agent/demo/embedded_kafka.h"

#include "agent/base/log.h"

namespace txmon {

namespace {

constexpr std::string_view kComponent = "demo";
// How long Produce keeps retrying while the local queue stays full.
constexpr auto kQueueFullPatience = std::chrono::seconds(30);
constexpr int kShutdownFlushMs = 1000;

LogRateLimit g_embedded_log_limit(10);

void OnClientLog(const rd_kafka_t* client, int level, const char* facility, const char* message) {
  (void)client;
  uint64_t suppressed = 0;
  if (!g_embedded_log_limit.Allow(&suppressed)) return;
  LogLevel our_level = level <= 3   ? LogLevel::kError
                       : level == 4 ? LogLevel::kWarn
                       : level <= 6 ? LogLevel::kInfo
                                    : LogLevel::kDebug;
  Log(our_level, "kafka", message,
      {{"facility", facility}, {"suppressed", std::to_string(suppressed)}});
}

Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char reason[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) !=
      RD_KAFKA_CONF_OK) {
    return Status::Error("embedded kafka property \"" + name + "\": " + reason);
  }
  return Status::Ok();
}

Status ErrorStatus(const std::string& what, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Status::Error("embedded kafka: " + what + ": " + rd_kafka_err2str(err));
}

}  // namespace

Status EmbeddedKafka::Start(const EmbeddedKafkaOptions& options,
                            std::unique_ptr<EmbeddedKafka>* out) {
  if (options.brokers < 1) {
    return Status::Error("embedded kafka: at least one broker is needed");
  }
  std::unique_ptr<EmbeddedKafka> kafka(new EmbeddedKafka());
  char reason[512];

  rd_kafka_conf_t* owner_conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(owner_conf, &OnClientLog);
  // The owner never connects anywhere; its "no bootstrap.servers" warning is noise.
  Status status = SetProperty(owner_conf, "log_level", "3");
  kafka->cluster_owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, owner_conf, reason, sizeof reason);
  if (kafka->cluster_owner_ == nullptr) {
    rd_kafka_conf_destroy(owner_conf);
    return Status::Error(std::string("embedded kafka: ") + reason);
  }
  kafka->cluster_ = rd_kafka_mock_cluster_new(kafka->cluster_owner_, options.brokers);
  if (kafka->cluster_ == nullptr) {
    return Status::Error("embedded kafka: cannot start the mock cluster");
  }
  kafka->broker_count_ = options.brokers;
  kafka->bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(kafka->cluster_);

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (status.ok()) status = SetProperty(conf, "bootstrap.servers", kafka->bootstrap_servers_);
  if (status.ok()) status = SetProperty(conf, "client.id", "txmon-demo");
  if (status.ok()) status = SetProperty(conf, "linger.ms", std::to_string(options.linger_ms));
  if (status.ok()) status = SetProperty(conf, "socket.nagle.disable", "true");
  for (const auto& [name, value] : options.producer_properties) {
    if (status.ok()) status = SetProperty(conf, name, value);
  }
  if (!status.ok()) {
    rd_kafka_conf_destroy(conf);
    return status;
  }
  rd_kafka_conf_set_opaque(conf, kafka.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &EmbeddedKafka::OnDelivery);
  rd_kafka_conf_set_log_cb(conf, &OnClientLog);
  kafka->producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (kafka->producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::Error(std::string("embedded kafka producer: ") + reason);
  }
  Log(LogLevel::kInfo, kComponent, "embedded kafka started",
      {{"bootstrap_servers", kafka->bootstrap_servers_},
       {"brokers", std::to_string(options.brokers)}});
  *out = std::move(kafka);
  return Status::Ok();
}

EmbeddedKafka::~EmbeddedKafka() {
  if (producer_ != nullptr) {
    if (rd_kafka_flush(producer_, kShutdownFlushMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(producer_, 0);
    }
    for (auto& [name, handle] : topics_) rd_kafka_topic_destroy(handle);
    rd_kafka_destroy(producer_);
  }
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (cluster_owner_ != nullptr) rd_kafka_destroy(cluster_owner_);
}

Status EmbeddedKafka::CreateTopic(const std::string& topic, int partitions) {
  return ErrorStatus("create topic " + topic,
                     rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1));
}

Status EmbeddedKafka::Produce(std::string_view topic, int32_t partition, std::string_view payload) {
  rd_kafka_topic_t* handle = TopicHandle(topic);
  const auto give_up = std::chrono::steady_clock::now() + kQueueFullPatience;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_RKT(handle), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_poll(producer_, 0);  // serve delivery reports
      return Status::Ok();
    }
    const std::string where = "produce to " + std::string(topic) + "/" + std::to_string(partition);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return ErrorStatus(where, err);
    if (std::chrono::steady_clock::now() > give_up) return ErrorStatus(where, err);
    rd_kafka_poll(producer_, 10);  // deliveries make room
  }
}

Status EmbeddedKafka::Flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(producer_, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Error("embedded kafka: flush: " + std::to_string(rd_kafka_outq_len(producer_)) +
                         " messages still queued after " + std::to_string(timeout.count()) + " ms");
  }
  std::lock_guard<std::mutex> lock(failure_mutex_);
  if (first_failure_.empty()) return Status::Ok();
  Status failed = Status::Error("embedded kafka: delivery failed: " + first_failure_);
  first_failure_.clear();
  return failed;
}

Status EmbeddedKafka::SetBrokerDown(int32_t broker_id) {
  return ErrorStatus("broker " + std::to_string(broker_id) + " down",
                     rd_kafka_mock_broker_set_down(cluster_, broker_id));
}

Status EmbeddedKafka::SetBrokerUp(int32_t broker_id) {
  return ErrorStatus("broker " + std::to_string(broker_id) + " up",
                     rd_kafka_mock_broker_set_up(cluster_, broker_id));
}

void EmbeddedKafka::OnDelivery(rd_kafka_t* producer, const rd_kafka_message_t* message,
                               void* opaque) {
  (void)producer;
  auto* self = static_cast<EmbeddedKafka*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  self->failed_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(self->failure_mutex_);
  if (self->first_failure_.empty()) {
    self->first_failure_ = std::string(rd_kafka_topic_name(message->rkt)) + "/" +
                           std::to_string(message->partition) + ": " +
                           rd_kafka_err2str(message->err);
  }
}

rd_kafka_topic_t* EmbeddedKafka::TopicHandle(std::string_view topic) {
  std::lock_guard<std::mutex> lock(topics_mutex_);
  auto found = topics_.find(topic);
  if (found != topics_.end()) return found->second;
  std::string name(topic);
  rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_, name.c_str(), nullptr);
  topics_.emplace(std::move(name), handle);
  return handle;
}

}  // namespace txmon
