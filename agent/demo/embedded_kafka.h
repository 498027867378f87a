// EmbeddedKafka: an in-process Kafka cluster (librdkafka's mock cluster) with
// a producer attached, for the demo and for tests. The brokers speak the real
// Kafka protocol on loopback, with consumer groups and offset commits, so
// consumers connect to bootstrap_servers() exactly as to a real cluster.
//
// Retention: the mock keeps at most 5 MiB or 100,000 produce batches per
// partition and silently drops the oldest batches past that. A long stream
// needs many partitions, or a consumer reading while producing.
//
// Threading: all methods are safe from any thread. The mock cluster handle
// (mock_cluster()) is for tests that inject faults (rd_kafka_mock_* calls).
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/base/status.h"

namespace txmon {

struct EmbeddedKafkaOptions {
  int brokers = 1;
  // Producer batching delay: small, so the demo's events arrive at once.
  int linger_ms = 1;
  // More producer properties (librdkafka names), applied last.
  std::vector<std::pair<std::string, std::string>> producer_properties;
};

class EmbeddedKafka {
 public:
  // Starts the brokers and the producer into `out`. An error if librdkafka
  // refuses (e.g. a bad producer property).
  static Status Start(const EmbeddedKafkaOptions& options, std::unique_ptr<EmbeddedKafka>* out);
  ~EmbeddedKafka();  // waits briefly for undelivered messages, then stops

  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  // "127.0.0.1:port,..." for consumers' bootstrap.servers.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  int broker_count() const { return broker_count_; }

  // Creates `topic` with `partitions` partitions (replication factor 1).
  Status CreateTopic(const std::string& topic, int partitions);

  // Queues one message with a null key (as Canal sends) to a fixed partition.
  // The payload is copied. Waits while the local queue is full.
  Status Produce(std::string_view topic, int32_t partition, std::string_view payload);

  // Waits until every queued message is delivered or `timeout` passes. Fails
  // on timeout or if any delivery failed since the last Flush.
  Status Flush(std::chrono::milliseconds timeout);

  // Broker ids are 1..broker_count(); -1 means all brokers.
  Status SetBrokerDown(int32_t broker_id);
  Status SetBrokerUp(int32_t broker_id);

  rd_kafka_mock_cluster_t* mock_cluster() const { return cluster_; }

  uint64_t messages_delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t delivery_failures() const { return failed_.load(std::memory_order_relaxed); }

 private:
  EmbeddedKafka() = default;

  static void OnDelivery(rd_kafka_t* producer, const rd_kafka_message_t* message, void* opaque);
  rd_kafka_topic_t* TopicHandle(std::string_view topic);

  // Owns the mock cluster; a separate client so the producer is an ordinary
  // client of the cluster, connected through its bootstrap address.
  rd_kafka_t* cluster_owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstrap_servers_;
  int broker_count_ = 0;

  std::mutex topics_mutex_;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;  // guarded

  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  std::mutex failure_mutex_;
  std::string first_failure_;  // guarded; since the last Flush
};

}  // namespace txmon
