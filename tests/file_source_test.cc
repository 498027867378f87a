#include "agent/source/file_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace txmon {
namespace {

using std::chrono::milliseconds;

struct Line {
  std::string payload;
  int64_t line_number;
};

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("file_source_test_" + std::to_string(getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = (directory_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Polls until the source finishes, copying each message and checking the
  // batch's views are intact when the next Poll is about to run.
  static std::vector<Line> ReadAll(FileSource& source, size_t max_messages) {
    std::vector<Line> lines;
    std::vector<SourceMessage> batch;
    for (int polls = 0; polls < 100000 && !source.Finished(); ++polls) {
      EXPECT_TRUE(source.Poll(batch, max_messages, milliseconds(100)).ok());
      EXPECT_LE(batch.size(), max_messages);
      for (const SourceMessage& message : batch) {
        EXPECT_EQ(message.position.topic, source.name());
        EXPECT_EQ(message.position.partition, 0);
        lines.push_back({std::string(message.payload), message.position.offset});
      }
    }
    EXPECT_TRUE(source.Finished());
    return lines;
  }

  std::filesystem::path directory_;
};

TEST_F(FileSourceTest, PositionsAreLineNumbersAndBlankLinesAreSkipped) {
  const std::string path =
      WriteFile("changes.jsonl", "{\"a\":1}\n\n   \n{\"b\":2}\r\n\t\n{\"c\":3}\n{\"d\":4}");
  std::unique_ptr<FileSource> source;
  Status status = FileSource::Create(path, &source);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(source->Connected());
  EXPECT_FALSE(source->Finished());
  EXPECT_EQ(source->name(), path);

  std::vector<Line> lines = ReadAll(*source, 100);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].payload, "{\"a\":1}");
  EXPECT_EQ(lines[0].line_number, 1);
  EXPECT_EQ(lines[1].payload, "{\"b\":2}");  // the '\r' of a CRLF line is dropped
  EXPECT_EQ(lines[1].line_number, 4);
  EXPECT_EQ(lines[2].payload, "{\"c\":3}");
  EXPECT_EQ(lines[2].line_number, 6);
  EXPECT_EQ(lines[3].payload, "{\"d\":4}");  // last line without a newline
  EXPECT_EQ(lines[3].line_number, 7);
}

TEST_F(FileSourceTest, SmallBatchesKeepOrderAndViewsStayValidUntilNextPoll) {
  std::string content;
  for (int i = 1; i <= 1000; ++i) content += "{\"n\":" + std::to_string(i) + "}\n";
  std::unique_ptr<FileSource> source;
  Status status = FileSource::Create(WriteFile("many.jsonl", content), &source);
  ASSERT_TRUE(status.ok()) << status.message();

  std::vector<SourceMessage> batch;
  int64_t expected = 1;
  while (!source->Finished()) {
    ASSERT_TRUE(source->Poll(batch, 7, milliseconds(0)).ok());
    ASSERT_LE(batch.size(), 7u);
    // All views of the batch are checked after the whole batch was cut.
    for (const SourceMessage& message : batch) {
      EXPECT_EQ(message.position.offset, expected);
      EXPECT_EQ(message.payload, "{\"n\":" + std::to_string(expected) + "}");
      ++expected;
    }
  }
  EXPECT_EQ(expected, 1001);
}

TEST_F(FileSourceTest, LineLongerThanTheBufferPassesThroughWhole) {
  const std::string long_line = "{\"blob\":\"" + std::string(20 << 20, 'x') + "\"}";
  std::unique_ptr<FileSource> source;
  Status status =
      FileSource::Create(WriteFile("long.jsonl", "{}\n" + long_line + "\n{}\n"), &source);
  ASSERT_TRUE(status.ok()) << status.message();
  std::vector<Line> lines = ReadAll(*source, 10);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].payload.size(), long_line.size());
  EXPECT_EQ(lines[1].payload, long_line);
  EXPECT_EQ(lines[2].line_number, 3);
}

TEST_F(FileSourceTest, EmptyFileFinishesAtOnce) {
  std::unique_ptr<FileSource> source;
  Status status = FileSource::Create(WriteFile("empty.jsonl", ""), &source);
  ASSERT_TRUE(status.ok()) << status.message();
  std::vector<SourceMessage> batch;
  ASSERT_TRUE(source->Poll(batch, 10, milliseconds(10)).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(source->Finished());
}

TEST_F(FileSourceTest, MissingFileNamesPathAndReason) {
  const std::string path = (directory_ / "absent.jsonl").string();
  std::unique_ptr<FileSource> source;
  Status status = FileSource::Create(path, &source);
  EXPECT_EQ(source, nullptr);
  const std::string& error = status.message();
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST_F(FileSourceTest, DirectoryIsRefused) {
  std::unique_ptr<FileSource> source;
  Status status = FileSource::Create(directory_.string(), &source);
  EXPECT_EQ(source, nullptr);
  const std::string& error = status.message();
  EXPECT_NE(error.find("Is a directory"), std::string::npos) << error;
}

// A pipe delivers a line in pieces: the source waits for the rest, honours
// the timeout meanwhile, and finishes when the writer closes.
TEST_F(FileSourceTest, PipeWaitsForWholeLinesAndFinishesOnClose) {
  const std::string path = (directory_ / "fifo").string();
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  int writer = open(path.c_str(), O_RDWR);  // does not block, unlike O_WRONLY
  ASSERT_GE(writer, 0);
  std::unique_ptr<FileSource> source;
  Status status = FileSource::Create(path, &source);
  ASSERT_TRUE(status.ok()) << status.message();

  std::vector<SourceMessage> batch;
  ASSERT_TRUE(source->Poll(batch, 10, milliseconds(20)).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_FALSE(source->Finished());

  ASSERT_EQ(write(writer, "{\"half\":", 8), 8);
  ASSERT_TRUE(source->Poll(batch, 10, milliseconds(20)).ok());
  EXPECT_TRUE(batch.empty());

  ASSERT_EQ(write(writer, "1}\n", 3), 3);
  ASSERT_TRUE(source->Poll(batch, 10, milliseconds(1000)).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].payload, "{\"half\":1}");
  EXPECT_EQ(batch[0].position.offset, 1);

  close(writer);
  for (int i = 0; i < 100 && !source->Finished(); ++i) {
    ASSERT_TRUE(source->Poll(batch, 10, milliseconds(10)).ok());
    EXPECT_TRUE(batch.empty());
  }
  EXPECT_TRUE(source->Finished());
}

}  // namespace
}  // namespace txmon
