// KafkaSource against librdkafka's mock cluster (a real Kafka-protocol broker
// on loopback). The mock holds a new consumer group's first join for 3 s,
// so each fresh consumer takes a few seconds to get its partitions.
#include "agent/source/kafka_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/demo/demo_shop.h"
#include "agent/demo/embedded_kafka.h"
#include "agent/demo/shop_simulator.h"

namespace txmon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr auto kConsumeDeadline = seconds(30);

struct Consumed {
  std::string payload;
  std::string topic;
  int32_t partition;
  int64_t offset;
};

std::string Payload(int32_t partition, int index) {
  return "{\"partition\":" + std::to_string(partition) + ",\"index\":" + std::to_string(index) +
         "}";
}

// One cluster for the suite (stopping one takes librdkafka a second); each
// test uses its own topic and group.
class KafkaSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::unique_ptr<EmbeddedKafka> kafka;
    Status status = EmbeddedKafka::Start(EmbeddedKafkaOptions{}, &kafka);
    kafka_ = kafka.release();
    ASSERT_NE(kafka_, nullptr) << status.message();
  }
  static void TearDownTestSuite() {
    delete kafka_;
    kafka_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(kafka_, nullptr); }
  void TearDown() override { (void)kafka_->SetBrokerUp(-1); }  // after an outage test

  // Produces `per_partition` messages to each partition, Payload(p, i).
  void ProduceEach(const std::string& topic, int partitions, int first, int per_partition) {
    for (int i = first; i < first + per_partition; ++i) {
      for (int32_t p = 0; p < partitions; ++p) {
        ASSERT_TRUE(kafka_->Produce(topic, p, Payload(p, i)).ok());
      }
    }
    Status flushed = kafka_->Flush(seconds(10));
    ASSERT_TRUE(flushed.ok()) << flushed.message();
  }

  std::unique_ptr<KafkaSource> NewSource(
      const std::string& topic, const std::string& group,
      std::vector<std::pair<std::string, std::string>> properties = {}) {
    KafkaSourceOptions options;
    options.brokers = kafka_->bootstrap_servers();
    options.topics = {topic};
    options.group_id = group;
    options.start_offset = "earliest";
    options.properties = std::move(properties);
    std::unique_ptr<KafkaSource> source;
    Status status = KafkaSource::Create(options, &source);
    EXPECT_TRUE(status.ok()) << status.message();
    return source;
  }

  // Polls until `count` messages arrived (or the deadline), copying each and
  // acknowledging each batch if asked.
  static std::vector<Consumed> Consume(KafkaSource& source, size_t count, bool acknowledge,
                                       size_t max_batch = 100) {
    std::vector<Consumed> consumed;
    std::vector<SourceMessage> batch;
    const auto deadline = steady_clock::now() + kConsumeDeadline;
    while (consumed.size() < count && steady_clock::now() < deadline) {
      Status polled =
          source.Poll(batch, std::min(max_batch, count - consumed.size()), milliseconds(100));
      EXPECT_TRUE(polled.ok()) << polled.message();
      for (const SourceMessage& message : batch) {
        consumed.push_back({std::string(message.payload), std::string(message.position.topic),
                            message.position.partition, message.position.offset});
      }
      if (acknowledge) source.Acknowledge(batch);
    }
    return consumed;
  }

  // Polls (and acknowledges) for `quiet` and returns what arrived.
  static std::vector<Consumed> ConsumeFor(KafkaSource& source, milliseconds quiet) {
    std::vector<Consumed> consumed;
    std::vector<SourceMessage> batch;
    const auto deadline = steady_clock::now() + quiet;
    while (steady_clock::now() < deadline) {
      EXPECT_TRUE(source.Poll(batch, 100, milliseconds(50)).ok());
      for (const SourceMessage& message : batch) {
        consumed.push_back({std::string(message.payload), std::string(message.position.topic),
                            message.position.partition, message.position.offset});
      }
      source.Acknowledge(batch);
    }
    return consumed;
  }

  static EmbeddedKafka* kafka_;
};

EmbeddedKafka* KafkaSourceTest::kafka_ = nullptr;

TEST_F(KafkaSourceTest, ConsumesEveryPartitionWithExactPositions) {
  const std::string topic = "shop.orders";
  ASSERT_TRUE(kafka_->CreateTopic(topic, 3).ok());
  ProduceEach(topic, 3, 0, 10);
  auto source = NewSource(topic, "exact-positions");
  ASSERT_NE(source, nullptr);
  EXPECT_FALSE(source->Finished());

  std::vector<Consumed> consumed = Consume(*source, 30, true);
  ASSERT_EQ(consumed.size(), 30u);
  std::map<int32_t, int64_t> next_offset;
  for (const Consumed& message : consumed) {
    EXPECT_EQ(message.topic, topic);
    // Within a partition, offsets come in order from 0.
    EXPECT_EQ(message.offset, next_offset[message.partition]++);
    EXPECT_EQ(message.payload, Payload(message.partition, static_cast<int>(message.offset)));
  }
  EXPECT_EQ(next_offset, (std::map<int32_t, int64_t>{{0, 10}, {1, 10}, {2, 10}}));
  EXPECT_TRUE(source->Connected());
  EXPECT_TRUE(ConsumeFor(*source, milliseconds(200)).empty());
}

TEST_F(KafkaSourceTest, OffsetsAreCommittedOnlyAfterAcknowledge) {
  const std::string topic = "shop.payments";
  const std::string group = "acknowledge";
  // After the last member leaves, the mock holds the next join for the
  // leaver's session.timeout.ms - 1 s: keep it short (but above the 3 s the
  // mock holds a first join, or the member times out while joining).
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"session.timeout.ms", "4000"}, {"heartbeat.interval.ms", "300"}};
  ASSERT_TRUE(kafka_->CreateTopic(topic, 1).ok());
  ProduceEach(topic, 1, 0, 10);

  {  // Read everything, acknowledge nothing, close.
    auto source = NewSource(topic, group, properties);
    ASSERT_NE(source, nullptr);
    ASSERT_EQ(Consume(*source, 10, false).size(), 10u);
    source->Close();
  }
  {  // The same group gets the same messages again; now acknowledge them.
    auto source = NewSource(topic, group, properties);
    ASSERT_NE(source, nullptr);
    std::vector<Consumed> again = Consume(*source, 10, true);
    ASSERT_EQ(again.size(), 10u);
    EXPECT_EQ(again.front().offset, 0);
    EXPECT_EQ(again.back().offset, 9);
    source->Close();
  }
  ProduceEach(topic, 1, 10, 5);
  {  // A new member resumes right after the acknowledged messages.
    auto source = NewSource(topic, group, properties);
    ASSERT_NE(source, nullptr);
    std::vector<Consumed> rest = Consume(*source, 5, true);
    ASSERT_EQ(rest.size(), 5u);
    EXPECT_EQ(rest.front().offset, 10);
    EXPECT_EQ(rest.front().payload, Payload(0, 10));
    EXPECT_EQ(rest.back().offset, 14);
    EXPECT_TRUE(ConsumeFor(*source, milliseconds(300)).empty());
  }
}

TEST_F(KafkaSourceTest, ReportsPartitionLag) {
  const std::string topic = "shop.lag";
  ASSERT_TRUE(kafka_->CreateTopic(topic, 2).ok());
  ProduceEach(topic, 2, 0, 10);
  auto source = NewSource(topic, "lag");
  ASSERT_NE(source, nullptr);

  // Take a few messages from each partition, leaving the rest behind.
  std::map<int32_t, int64_t> next_offset;
  std::vector<SourceMessage> batch;
  const auto deadline = steady_clock::now() + kConsumeDeadline;
  while (next_offset.size() < 2 && steady_clock::now() < deadline) {
    ASSERT_TRUE(source->Poll(batch, 3, milliseconds(100)).ok());
    for (const SourceMessage& message : batch) {
      next_offset[message.position.partition] = message.position.offset + 1;
    }
  }
  ASSERT_EQ(next_offset.size(), 2u);

  std::map<int32_t, int64_t> lag;
  source->VisitPartitionLag([&](std::string_view lag_topic, int32_t partition, int64_t messages) {
    EXPECT_EQ(lag_topic, topic);
    lag[partition] = messages;
  });
  EXPECT_EQ(lag, (std::map<int32_t, int64_t>{{0, 10 - next_offset[0]}, {1, 10 - next_offset[1]}}));
  EXPECT_GT(lag[0] + lag[1], 0);

  Consume(*source, 20 - static_cast<size_t>(next_offset[0] + next_offset[1]), true);
  lag.clear();
  source->VisitPartitionLag(
      [&](std::string_view, int32_t partition, int64_t messages) { lag[partition] = messages; });
  EXPECT_EQ(lag, (std::map<int32_t, int64_t>{{0, 0}, {1, 0}}));
}

TEST_F(KafkaSourceTest, RefusesBadOptionsWithClearErrors) {
  KafkaSourceOptions options;
  options.brokers = kafka_->bootstrap_servers();
  options.topics = {"t"};
  options.group_id = "g";
  std::string error;
  // The consumer, or null with `error` set to why not.
  auto create = [&]() {
    std::unique_ptr<KafkaSource> source;
    error = KafkaSource::Create(options, &source).message();
    return source;
  };

  options.properties = {{"no.such.property", "1"}};
  EXPECT_EQ(create(), nullptr);
  EXPECT_NE(error.find("\"no.such.property\""), std::string::npos) << error;
  EXPECT_NE(error.find("No such configuration property"), std::string::npos) << error;

  options.properties = {{"fetch.wait.max.ms", "soon"}};
  EXPECT_EQ(create(), nullptr);
  EXPECT_NE(error.find("fetch.wait.max.ms"), std::string::npos) << error;
  EXPECT_NE(error.find("Invalid value"), std::string::npos) << error;

  options.properties = {{"security.protocol", "carrier-pigeon"}};
  EXPECT_EQ(create(), nullptr);
  EXPECT_NE(error.find("security.protocol"), std::string::npos) << error;

  options.properties = {};
  options.start_offset = "middle";
  EXPECT_EQ(create(), nullptr);
  EXPECT_NE(error.find("\"earliest\" or \"latest\""), std::string::npos) << error;

  options.start_offset = "latest";
  options.group_id = "";
  EXPECT_EQ(create(), nullptr);
  EXPECT_NE(error.find("group"), std::string::npos) << error;

  // User properties override txmon's defaults.
  options.group_id = "g";
  options.properties = {{"fetch.wait.max.ms", "100"}, {"enable.auto.commit", "false"}};
  EXPECT_NE(create(), nullptr) << error;
}

TEST_F(KafkaSourceTest, ResumesWithoutLossAfterBrokersGoDownAndUp) {
  const std::string topic = "shop.outage";
  ASSERT_TRUE(kafka_->CreateTopic(topic, 2).ok());
  ProduceEach(topic, 2, 0, 10);
  auto source = NewSource(topic, "outage");
  ASSERT_NE(source, nullptr);
  std::vector<Consumed> consumed = Consume(*source, 20, true);
  ASSERT_EQ(consumed.size(), 20u);
  EXPECT_TRUE(source->Connected());

  ASSERT_TRUE(kafka_->SetBrokerDown(-1).ok());
  for (int i = 10; i < 20; ++i) {  // queued by the producer until the broker is back
    for (int32_t p = 0; p < 2; ++p) ASSERT_TRUE(kafka_->Produce(topic, p, Payload(p, i)).ok());
  }
  const auto down_deadline = steady_clock::now() + seconds(10);
  while (source->Connected() && steady_clock::now() < down_deadline) {
    EXPECT_TRUE(ConsumeFor(*source, milliseconds(100)).empty());
  }
  EXPECT_FALSE(source->Connected());

  ASSERT_TRUE(kafka_->SetBrokerUp(-1).ok());
  Status flushed = kafka_->Flush(seconds(20));
  ASSERT_TRUE(flushed.ok()) << flushed.message();
  std::vector<Consumed> after = Consume(*source, 20, true);
  consumed.insert(consumed.end(), after.begin(), after.end());
  EXPECT_TRUE(source->Connected());

  std::set<std::string> payloads;
  for (const Consumed& message : consumed) {
    EXPECT_EQ(message.payload, Payload(message.partition, static_cast<int>(message.offset)));
    payloads.insert(message.payload);
  }
  for (int i = 0; i < 20; ++i) {
    for (int32_t p = 0; p < 2; ++p) EXPECT_EQ(payloads.count(Payload(p, i)), 1u) << p << "/" << i;
  }
  EXPECT_EQ(consumed.size(), 40u);  // and nothing twice
}

// Two members with the cooperative protocol split the partitions; together
// they read everything once. Exercises incremental assign and unassign.
TEST_F(KafkaSourceTest, CooperativeMembersShareThePartitions) {
  const std::string topic = "shop.shared";
  ASSERT_TRUE(kafka_->CreateTopic(topic, 4).ok());
  // The mock waits session.timeout.ms - 1 s for members to rejoin: keep it short.
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"session.timeout.ms", "4000"},
      {"heartbeat.interval.ms", "300"}};
  auto first = NewSource(topic, "shared", properties);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(ConsumeFor(*first, milliseconds(200)).empty());
  auto second = NewSource(topic, "shared", properties);
  ASSERT_NE(second, nullptr);

  // Wait until each member owns some partitions.
  auto owned = [](const KafkaSource& source) {
    int partitions = 0;
    source.VisitPartitionLag([&](std::string_view, int32_t, int64_t) { ++partitions; });
    return partitions;
  };
  const auto deadline = steady_clock::now() + kConsumeDeadline;
  while ((owned(*first) + owned(*second) != 4 || owned(*first) == 0 || owned(*second) == 0) &&
         steady_clock::now() < deadline) {
    ConsumeFor(*first, milliseconds(50));
    ConsumeFor(*second, milliseconds(50));
  }
  ASSERT_EQ(owned(*first), 2);
  ASSERT_EQ(owned(*second), 2);

  ProduceEach(topic, 4, 0, 5);
  std::multiset<std::string> payloads;
  const auto consume_deadline = steady_clock::now() + kConsumeDeadline;
  while (payloads.size() < 20 && steady_clock::now() < consume_deadline) {
    for (KafkaSource* source : {first.get(), second.get()}) {
      for (const Consumed& message : ConsumeFor(*source, milliseconds(100))) {
        payloads.insert(message.payload);
      }
    }
  }
  EXPECT_EQ(payloads.size(), 20u);
  for (int i = 0; i < 5; ++i) {
    for (int32_t p = 0; p < 4; ++p) EXPECT_EQ(payloads.count(Payload(p, i)), 1u);
  }
}

// The demo shop's simulated-time mode: every message reaches the consumer,
// in the partition its key names.
TEST_F(KafkaSourceTest, DemoShopPublishesEverySimulatedMessage) {
  DemoShopOptions options;
  options.topic = "shop.binlog.simulated";
  options.partitions = 6;
  options.simulator.orders_per_second = 30;
  options.simulator.time_scale = 30;
  DemoShop shop(kafka_, options);
  ASSERT_TRUE(shop.ProduceSimulated(30 * 1000).ok());
  ASSERT_TRUE(kafka_->Flush(seconds(10)).ok());
  const ShopTruth truth = shop.truth();
  ASSERT_GT(truth.messages, 500);
  EXPECT_EQ(shop.messages_produced(), static_cast<uint64_t>(truth.messages));
  EXPECT_EQ(shop.produce_errors(), 0u);
  EXPECT_FALSE(shop.Start().ok());  // one mode per shop

  // The same simulation, replayed here, says where each message belongs.
  ShopSimulator replay(options.simulator);
  std::vector<CanalMessageOut> expected;
  replay.AdvanceTo(options.simulator.start_time_ms + 30 * 1000, expected);
  ASSERT_EQ(expected.size(), static_cast<size_t>(truth.messages));
  std::map<int32_t, std::vector<std::string>> expected_by_partition;
  for (const CanalMessageOut& message : expected) {
    expected_by_partition[message.partition_key_hash % 6].push_back(message.json);
  }

  auto source = NewSource(options.topic, "demo-simulated");
  ASSERT_NE(source, nullptr);
  std::vector<Consumed> consumed = Consume(*source, expected.size(), true, 1000);
  ASSERT_EQ(consumed.size(), expected.size());
  std::map<int32_t, std::vector<std::string>> consumed_by_partition;
  for (const Consumed& message : consumed) {
    consumed_by_partition[message.partition].push_back(message.payload);
  }
  EXPECT_EQ(consumed_by_partition.size(), 6u);
  EXPECT_TRUE(consumed_by_partition == expected_by_partition);  // same order within each
}

// The real-time mode follows the wall clock: commit times are "now".
TEST_F(KafkaSourceTest, DemoShopFollowsTheClock) {
  DemoShopOptions options;
  options.topic = "shop.binlog.live";
  options.simulator.orders_per_second = 100;
  DemoShop shop(kafka_, options);
  const int64_t started_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  ASSERT_TRUE(shop.Start().ok());
  EXPECT_TRUE(shop.running());
  EXPECT_FALSE(shop.Start().ok());
  EXPECT_FALSE(shop.ProduceSimulated(1000).ok());
  std::this_thread::sleep_for(milliseconds(500));
  shop.Stop();
  EXPECT_FALSE(shop.running());
  ASSERT_TRUE(kafka_->Flush(seconds(10)).ok());
  EXPECT_GT(shop.messages_produced(), 10u);
  EXPECT_EQ(shop.messages_produced(), static_cast<uint64_t>(shop.truth().messages));

  auto source = NewSource(options.topic, "demo-live");
  ASSERT_NE(source, nullptr);
  std::vector<Consumed> consumed = Consume(*source, shop.messages_produced(), true, 1000);
  ASSERT_EQ(consumed.size(), shop.messages_produced());
  for (const Consumed& message : consumed) {
    const size_t es_at = message.payload.find("\"es\":");
    ASSERT_NE(es_at, std::string::npos);
    const int64_t es = std::stoll(message.payload.substr(es_at + 5));
    EXPECT_GE(es, started_ms / 1000 * 1000);
    EXPECT_LE(es, started_ms + 5000);
  }
}

}  // namespace
}  // namespace txmon

namespace txmon {
namespace {

// Data that is gone is counted: a checkpoint's position that retention has
// since deleted (the mock broker keeps at most 5 MiB per partition) is
// reported as lost messages, exactly, so that read + lost = produced; and
// a group's committed offset that retention passed is counted the same way.
TEST_F(KafkaSourceTest, OffsetsDeletedByRetentionAreCountedAsLost) {
  const std::string topic = "shop.retention";
  ASSERT_TRUE(kafka_->CreateTopic(topic, 1).ok());
  ProduceEach(topic, 1, 0, 10);
  int64_t checkpoint_next = 0;
  {
    auto source = NewSource(topic, "retention-first");
    ASSERT_NE(source, nullptr);
    std::vector<Consumed> first = Consume(*source, 10, true);
    ASSERT_EQ(first.size(), 10u);
    checkpoint_next = first.back().offset + 1;
    source->Close();
  }
  // 8 MiB more in 80 messages: the broker drops its oldest batches.
  const std::string big(100 * 1024, 'x');
  constexpr int kProducedAfter = 80;
  for (int i = 0; i < kProducedAfter; ++i) ASSERT_TRUE(kafka_->Produce(topic, 0, big).ok());
  ASSERT_TRUE(kafka_->Flush(seconds(10)).ok());

  auto resumed = NewSource(topic, "retention-second");
  ASSERT_NE(resumed, nullptr);
  resumed->ResumeFrom({SourceOffset{topic, 0, checkpoint_next}});
  std::vector<Consumed> read = ConsumeFor(*resumed, seconds(8));
  int64_t lost = 0;
  resumed->TakeLostMessages([&](std::string_view lost_topic, int32_t partition, int64_t count) {
    EXPECT_EQ(lost_topic, topic);
    EXPECT_EQ(partition, 0);
    lost += count;
  });
  EXPECT_GT(lost, 0) << "retention should have deleted the checkpoint's offset";
  EXPECT_EQ(static_cast<int64_t>(read.size()) + lost, kProducedAfter);
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(read.front().offset, checkpoint_next + lost);
  // Taken once: a second call reports nothing new.
  int64_t again = 0;
  resumed->TakeLostMessages([&](std::string_view, int32_t, int64_t count) { again += count; });
  EXPECT_EQ(again, 0);
}

// The ledger of retired agents every agent reads from the hand-over topic:
// the first claim wins, a second retire of one agent changes nothing, and a
// claim that reached the topic after its claimant was itself retired is
// void (the next claim wins), so every retired state has one adopter.
TEST_F(KafkaSourceTest, RetireLedgerTheFirstValidClaimWins) {
  ASSERT_TRUE(kafka_->CreateTopic("ledger.handover", 1).ok());
  KafkaSourceOptions options;
  options.brokers = kafka_->bootstrap_servers();
  options.group_id = "ledger";
  options.handover_topic = "ledger.handover";
  std::unique_ptr<KafkaSource> source;
  Status created = KafkaSource::CreateHandoverOnly(options, &source);
  ASSERT_TRUE(created.ok()) << created.message();
  ASSERT_TRUE(source->PublishClaim("b", "a").ok());  // before a's retire: no claim at all
  ASSERT_TRUE(source->PublishRetire("a", std::string("state\0of a", 10)).ok());
  ASSERT_TRUE(source->PublishRetire("c", "state of c").ok());
  ASSERT_TRUE(source->PublishRetire("a", "a again").ok());
  ASSERT_TRUE(source->PublishClaim("c", "a").ok());  // c retired before it: void
  ASSERT_TRUE(source->PublishClaim("d", "a").ok());  // wins a
  ASSERT_TRUE(source->PublishClaim("b", "a").ok());  // too late
  ASSERT_TRUE(source->PublishClaim("b", "c").ok());  // wins c
  ASSERT_TRUE(source->PublishClaim("d", "c").ok());
  std::vector<RetireRecord> retires;
  Status read = source->ReadRetires(&retires);
  ASSERT_TRUE(read.ok()) << read.message();
  ASSERT_EQ(retires.size(), 2u);
  EXPECT_EQ(retires[0].member, "a");
  EXPECT_EQ(retires[0].state, std::string("state\0of a", 10));
  EXPECT_EQ(retires[0].winner, "d");
  EXPECT_EQ(retires[1].member, "c");
  EXPECT_EQ(retires[1].state, "state of c");
  EXPECT_EQ(retires[1].winner, "b");
  // A second reader, from the start, sees the same.
  std::unique_ptr<KafkaSource> other;
  ASSERT_TRUE(KafkaSource::CreateHandoverOnly(options, &other).ok());
  std::vector<RetireRecord> again;
  ASSERT_TRUE(other->ReadRetires(&again).ok());
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].winner, "d");
  EXPECT_EQ(again[1].winner, "b");
}

}  // namespace
}  // namespace txmon
