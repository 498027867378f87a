#include "agent/checkpoint/checkpoint_file.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "agent/base/duration.h"

namespace txmon {
namespace {

namespace fs = std::filesystem;

Checkpoint Sample() {
  Checkpoint c;
  c.written_at_ms = 1731254400123;
  c.offsets = {{"shop.binlog", 0, 42}, {"shop.binlog", 5, 7}};
  c.member = "host-a-1234-00c0ffee";
  c.handover_seq = 41;
  c.adopted = {"host-b-99-0badf00d"};
  MetricSnapshot counter{"orders_total", MetricType::kCounter, {"channel"}, {}, {}};
  counter.series.push_back({{"app"}, 3'000'000, {}});
  counter.series.push_back({{"web"}, 129'900'000, {}});
  MetricSnapshot histogram{"amount_yuan", MetricType::kHistogram, {}, {10'000'000}, {}};
  histogram.series.push_back({{}, 25'500'000, {1, 2}});
  c.store.metrics = {counter, histogram};
  AlertCheckpoint firing{"rules/shop.yml",
                         "shop",
                         "ShopNoOrders",
                         {{"alertname", "ShopNoOrders"}, {"severity", "page"}},
                         {{"summary", "No orders for 2m"}}};
  firing.state = 2;
  firing.value = 0.5;
  firing.active_at_ms = 1731254300000;
  firing.fired_at_ms = 1731254390000;
  firing.last_sent_at_ms = 1731254390000;
  firing.valid_until_ms = 1731254630000;
  AlertCheckpoint pending{"rules/shop.yml", "shop", "ShopLargeOrder", {{"order", "7"}}, {}};
  pending.state = 1;
  pending.active_at_ms = 1731254399000;
  c.alerts = {firing, pending};
  c.day_baseline = DayBaselineCheckpoint{
      1731254400000 - 8 * 3'600'000,
      1731254400000 - 8 * 3'600'000,
      {{"orders", 40}, {"orders_by_channel:app", 12.5}, {"payment_bucket:1", 3}}};
  return c;
}

// A version 1 file as txmon wrote it before alerts and the day baseline
// were checkpointed.
std::string VersionOneFile(Checkpoint checkpoint) {
  checkpoint.alerts.clear();
  checkpoint.day_baseline.reset();
  checkpoint.member.clear();
  checkpoint.adopted.clear();
  std::string payload = EncodeCheckpoint(checkpoint);
  // Version 1 ends after the metrics: drop the alert count (u32), the day
  // baseline's presence byte, version 3's member (empty: u32) and
  // sequence (u64) and version 4's adopted list (empty: u32).
  payload.resize(payload.size() - 5 - 12 - 4);
  const uint32_t version = 1;
  const uint64_t length = payload.size();
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(length)));
  std::string file = "TXMONCKP";
  file.append(reinterpret_cast<const char*>(&version), 4);
  file.append(reinterpret_cast<const char*>(&length), 8);
  file.append(reinterpret_cast<const char*>(&crc), 4);
  return file + payload;
}

void ExpectSame(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(a.written_at_ms, b.written_at_ms);
  EXPECT_EQ(a.offsets, b.offsets);
  EXPECT_EQ(a.member, b.member);
  EXPECT_EQ(a.handover_seq, b.handover_seq);
  EXPECT_EQ(a.adopted, b.adopted);
  ASSERT_EQ(a.store.metrics.size(), b.store.metrics.size());
  for (size_t i = 0; i < a.store.metrics.size(); ++i) {
    const MetricSnapshot &x = a.store.metrics[i], &y = b.store.metrics[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.label_names, y.label_names);
    EXPECT_EQ(x.bucket_bounds, y.bucket_bounds);
    ASSERT_EQ(x.series.size(), y.series.size());
    for (size_t s = 0; s < x.series.size(); ++s) {
      EXPECT_EQ(x.series[s].label_values, y.series[s].label_values);
      EXPECT_EQ(x.series[s].value, y.series[s].value);
      EXPECT_EQ(x.series[s].bucket_counts, y.series[s].bucket_counts);
    }
  }
  EXPECT_EQ(a.alerts, b.alerts);
  EXPECT_EQ(a.day_baseline, b.day_baseline);
}

class CheckpointFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("txmon-ckpt-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "checkpoint").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  Status Read(Checkpoint* c, bool* found) {
    std::string from;
    return ReadCheckpointFile(path_, c, found, &from);
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(CheckpointFileTest, RoundTripsEverything) {
  ASSERT_TRUE(WriteCheckpointFile(path_, Sample()).ok());
  Checkpoint read;
  bool found;
  ASSERT_TRUE(Read(&read, &found).ok());
  EXPECT_TRUE(found);
  ExpectSame(read, Sample());
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(CheckpointFileTest, FileBytesRoundTripAndRefuseCorruption) {
  std::string bytes = EncodeCheckpointFile(Sample());
  Checkpoint read;
  Status s = DecodeCheckpointFile("record", bytes, &read);
  ASSERT_TRUE(s.ok()) << s.message();
  ExpectSame(read, Sample());
  bytes[bytes.size() - 3] ^= 1;
  EXPECT_FALSE(DecodeCheckpointFile("record", bytes, &read).ok());
}

TEST_F(CheckpointFileTest, ReadsVersionOneFilesWithoutAlerts) {
  std::ofstream(path_, std::ios::binary) << VersionOneFile(Sample());
  Checkpoint read;
  bool found;
  Status s = Read(&read, &found);
  ASSERT_TRUE(s.ok()) << s.message();
  Checkpoint expected = Sample();
  expected.alerts.clear();
  expected.day_baseline.reset();
  expected.member.clear();
  expected.handover_seq = 0;
  expected.adopted.clear();
  ExpectSame(read, expected);
  EXPECT_FALSE(read.day_baseline.has_value());
}

TEST_F(CheckpointFileTest, RoundTripsTheDayBaselineAndItsAbsence) {
  Checkpoint with = Sample();
  ASSERT_TRUE(with.day_baseline.has_value());
  Checkpoint read;
  ASSERT_TRUE(DecodeCheckpoint(EncodeCheckpoint(with), &read).ok());
  ASSERT_TRUE(read.day_baseline.has_value());
  EXPECT_EQ(read.day_baseline->day_start_ms, with.day_baseline->day_start_ms);
  EXPECT_EQ(read.day_baseline->since_ms, with.day_baseline->since_ms);
  EXPECT_EQ(read.day_baseline->values, with.day_baseline->values);

  Checkpoint without = Sample();
  without.day_baseline.reset();
  ASSERT_TRUE(DecodeCheckpoint(EncodeCheckpoint(without), &read).ok());
  EXPECT_FALSE(read.day_baseline.has_value());
  ExpectSame(read, without);
}

TEST_F(CheckpointFileTest, NoFileIsAFirstStart) {
  Checkpoint read;
  bool found = true;
  ASSERT_TRUE(Read(&read, &found).ok());
  EXPECT_FALSE(found);
}

TEST_F(CheckpointFileTest, KeepsThePreviousOneAndFallsBackToItWhenTheNewIsMissing) {
  Checkpoint first = Sample();
  ASSERT_TRUE(WriteCheckpointFile(path_, first).ok());
  Checkpoint second = Sample();
  second.offsets[0].next_offset = 99;
  ASSERT_TRUE(WriteCheckpointFile(path_, second).ok());
  ASSERT_TRUE(fs::exists(path_ + ".prev"));
  fs::remove(path_);  // a crash between the two renames
  Checkpoint read;
  bool found;
  ASSERT_TRUE(Read(&read, &found).ok());
  ExpectSame(read, first);
}

// The hand-over chooses between PATH and PATH.prev by sequence number.
TEST_F(CheckpointFileTest, ReadsEachOfTheTwoFilesOnItsOwn) {
  Checkpoint first = Sample();
  ASSERT_TRUE(WriteCheckpointFile(path_, first).ok());
  Checkpoint second = Sample();
  second.handover_seq = 42;
  ASSERT_TRUE(WriteCheckpointFile(path_, second).ok());
  Checkpoint read;
  bool found = false;
  ASSERT_TRUE(ReadOneCheckpointFile(path_ + ".prev", &read, &found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(read.handover_seq, 41u);
  ASSERT_TRUE(ReadOneCheckpointFile(path_, &read, &found).ok());
  EXPECT_EQ(read.handover_seq, 42u);
  EXPECT_EQ(read.member, first.member);
  ASSERT_TRUE(ReadOneCheckpointFile(path_ + ".none", &read, &found).ok());
  EXPECT_FALSE(found);
}

TEST_F(CheckpointFileTest, RefusesCorruptForeignAndFutureFiles) {
  ASSERT_TRUE(WriteCheckpointFile(path_, Sample()).ok());
  std::string bytes;
  {
    std::ifstream in(path_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto refused_with = [&](const std::string& content) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << content;
    Checkpoint read;
    bool found;
    Status s = Read(&read, &found);
    EXPECT_TRUE(found);
    return s.ok() ? std::string("OK") : s.message();
  };
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;
  EXPECT_NE(refused_with(flipped).find("corrupt (length or checksum mismatch)"), std::string::npos);
  EXPECT_NE(refused_with(bytes.substr(0, bytes.size() - 5)).find("corrupt"), std::string::npos);
  EXPECT_NE(refused_with("{\"not\":\"a checkpoint\"}").find("is not a txmon checkpoint"),
            std::string::npos);
  std::string future = bytes;
  future[8] = 9;
  EXPECT_NE(refused_with(future).find("format version 9"), std::string::npos);
  EXPECT_NE(refused_with(flipped).find("refusing to start"), std::string::npos);
}

TEST_F(CheckpointFileTest, DecodingGarbageNeverCrashes) {
  std::string payload = EncodeCheckpoint(Sample());
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    Checkpoint c;
    EXPECT_FALSE(DecodeCheckpoint(std::string_view(payload).substr(0, cut), &c).ok()) << cut;
  }
  std::string huge_count = payload;
  huge_count[8] = '\xff';  // offsets count
  huge_count[9] = '\xff';
  Checkpoint c;
  EXPECT_FALSE(DecodeCheckpoint(huge_count, &c).ok());
  Checkpoint no_baseline = Sample();
  no_baseline.day_baseline.reset();
  no_baseline.adopted.clear();
  std::string bad_presence = EncodeCheckpoint(no_baseline);
  // The day baseline's presence byte, before version 3's member and
  // sequence and version 4's (empty) adopted list.
  bad_presence[bad_presence.size() - 1 - (4 + no_baseline.member.size()) - 8 - 4] = 2;
  EXPECT_FALSE(DecodeCheckpoint(bad_presence, &c).ok());
}

TEST(DurationTest, ParsesPrometheusDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("1s"), milliseconds(1000));
  EXPECT_EQ(ParseDuration("5m"), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(ParseDuration("2d"), milliseconds(172'800'000));
  EXPECT_EQ(ParseDuration("1m5s100ms"), milliseconds(65'100));
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(ParseDuration("5"), std::nullopt);
  EXPECT_EQ(ParseDuration("1s1h"), std::nullopt);
  EXPECT_EQ(ParseDuration("1.5s"), std::nullopt);
  EXPECT_EQ(ParseDuration("s"), std::nullopt);
}

}  // namespace
}  // namespace txmon
