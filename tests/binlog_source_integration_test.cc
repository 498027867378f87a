// BinlogSource against a real MariaDB started by the test: whole
// transactions, exact positions across a resume, rotation, a server restart,
// and the start-up checks' errors. Fails (never skips) without mariadbd.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "agent/checkpoint/checkpoint_file.h"
#include "agent/source/binlog_position.h"
#include "agent/source/binlog_source.h"
#include "agent/source/binlog_transactions.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/txmon_process.h"

namespace txmon {
namespace {

using test::MariaDbServer;

uint8_t EventType(std::string_view payload) { return static_cast<uint8_t>(payload[4]); }

uint32_t HeaderSize(std::string_view payload) {
  uint32_t size = 0;
  std::memcpy(&size, payload.data() + 9, 4);
  return size;
}

class BinlogSourceTest : public ::testing::Test {
 protected:
  // No assertion here: GoogleTest skips a suite whose SetUpTestSuite fails,
  // and a missing server must fail every test instead (SetUp does).
  static void SetUpTestSuite() {
    dir_ = new std::string(std::filesystem::temp_directory_path() /
                           ("txmon-binlog-source-" + std::to_string(getpid())));
    std::filesystem::remove_all(*dir_);
    setup_error_ = new std::string();
    server_ = MariaDbServer::Start(test::MariaDbOptions(), setup_error_).release();
    if (server_ == nullptr) return;
    for (const char* sql :
         {"CREATE USER 'txmon'@'%' IDENTIFIED BY 'secret'; GRANT REPLICATION SLAVE, REPLICATION "
          "CLIENT, SELECT ON *.* TO 'txmon'@'%'; CREATE USER 'nogrants'@'%' IDENTIFIED BY "
          "'secret'",
          "CREATE DATABASE shop", "CREATE DATABASE other",
          "CREATE TABLE shop.orders (id INT PRIMARY KEY, amount DECIMAL(10,2)) ENGINE=InnoDB",
          "CREATE TABLE other.log (id INT PRIMARY KEY) ENGINE=InnoDB"}) {
      if (!server_->Exec(sql, setup_error_)) {
        delete server_;
        server_ = nullptr;
        return;
      }
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete setup_error_;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << "no MariaDB server: " << *setup_error_; }

  static BinlogSourceOptions Options(uint32_t server_id) {
    BinlogSourceOptions o;
    o.endpoint.address = server_->address();
    o.endpoint.user = "txmon";
    o.endpoint.password = "secret";
    o.server_id = server_id;
    o.heartbeat_period = std::chrono::milliseconds(200);
    o.reconnect_backoff_min = std::chrono::milliseconds(50);
    o.reconnect_backoff_max = std::chrono::milliseconds(500);
    return o;
  }

  static std::unique_ptr<BinlogSource> Create(BinlogSourceOptions options) {
    std::unique_ptr<BinlogSource> source;
    Status status = BinlogSource::Create(std::move(options), &source);
    EXPECT_TRUE(status.ok()) << status.message();
    return source;
  }

  static void Sql(const std::string& sql) {
    std::string error;
    ASSERT_TRUE(server_->Exec(sql, &error)) << error;
  }

  static inline std::string* dir_ = nullptr;
  static inline std::string* setup_error_ = nullptr;
  static inline MariaDbServer* server_ = nullptr;
};

// What a consumer of the source sees, batch by batch, with the pipeline's
// position bookkeeping (next_offset = offset + 1 per topic/partition).
struct Consumer {
  std::map<std::pair<std::string, int32_t>, int64_t> next_offsets;
  int write_rows = 0;
  int transactions = 0;
  int batches = 0;
  bool split_transaction = false;
  std::vector<std::string> topics;

  Status PollOnce(Source& source, size_t max = 2048) {
    std::vector<SourceMessage> batch;
    Status s = source.Poll(batch, max, std::chrono::milliseconds(100));
    if (!s.ok() || batch.empty()) return s;
    ++batches;
    const uint8_t last = EventType(batch.back().payload);
    if (last != binlog_event::kXid && last != binlog_event::kQuery) split_transaction = true;
    for (const SourceMessage& m : batch) {
      EXPECT_GE(m.payload.size(), 19u);
      // The header's size counts the 4-byte checksum the source removed.
      EXPECT_EQ(HeaderSize(m.payload), m.payload.size() + 4);
      const uint8_t type = EventType(m.payload);
      if (type == binlog_event::kHeartbeat || type == binlog_event::kRotate) ADD_FAILURE();
      if (binlog_event::IsRows(type)) ++write_rows;
      if (type == binlog_event::kXid) ++transactions;
      next_offsets[{std::string(m.position.topic), m.position.partition}] = m.position.offset + 1;
      if (m.position.topic.starts_with("binlog:")) topics.emplace_back(m.position.topic);
    }
    source.Acknowledge(batch);
    return s;
  }

  // Polls until `rows` row events have come (or a timeout fails the test).
  void WaitForRows(Source& source, int rows,
                   std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (write_rows < rows && std::chrono::steady_clock::now() < deadline) {
      Status s = PollOnce(source);
      ASSERT_TRUE(s.ok()) << s.message();
    }
    ASSERT_EQ(write_rows, rows);
  }

  std::vector<SourceOffset> Offsets() const {
    std::vector<SourceOffset> out;
    for (const auto& [key, next] : next_offsets) out.push_back({key.first, key.second, next});
    return out;
  }
};

TEST_F(BinlogSourceTest, TransactionsArriveWholeAndResumeExactly) {
  auto source = Create(Options(101));
  ASSERT_NE(source, nullptr);
  Consumer consumer;
  // The stream starts at the current position once connected.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!source->Connected() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(consumer.PollOnce(*source).ok());
  }
  ASSERT_TRUE(source->Connected());
  // A three-row transaction and five single-row ones.
  Sql("BEGIN");
  std::string error;
  ASSERT_TRUE(server_->Exec("INSERT INTO shop.orders VALUES (1, 1.00)", &error));
  ASSERT_TRUE(server_->Exec("INSERT INTO shop.orders VALUES (2, 2.00)", &error));
  ASSERT_TRUE(server_->Exec("INSERT INTO shop.orders VALUES (3, 3.00)", &error));
  Sql("COMMIT");
  for (int id = 4; id <= 8; ++id)
    Sql("INSERT INTO shop.orders VALUES (" + std::to_string(id) + ", 1)");
  // max 1 message per batch: a batch still holds a whole transaction.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (consumer.write_rows < 8 && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(consumer.PollOnce(*source, 1).ok());
  }
  EXPECT_EQ(consumer.write_rows, 8);
  EXPECT_EQ(consumer.transactions, 6);
  EXPECT_FALSE(consumer.split_transaction);
  source->Close();

  // More rows while no source reads; a new source resumes at the offsets.
  for (int id = 9; id <= 12; ++id)
    Sql("INSERT INTO shop.orders VALUES (" + std::to_string(id) + ", 1)");
  auto resumed = Create(Options(101));
  resumed->ResumeFrom(consumer.Offsets());
  Consumer after;
  after.WaitForRows(*resumed, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(after.PollOnce(*resumed).ok());
  EXPECT_EQ(after.write_rows, 4) << "rows counted twice or lost across the resume";
  ReplicaStats stats;
  ASSERT_TRUE(resumed->GetReplicaStats(&stats));
  EXPECT_GT(stats.file_sequence, 0u);
  EXPECT_GT(stats.position, 4u);
}

TEST_F(BinlogSourceTest, FollowsRotationAndServerRestart) {
  auto source = Create(Options(102));
  Consumer consumer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!source->Connected() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(consumer.PollOnce(*source).ok());
  }
  Sql("INSERT INTO shop.orders VALUES (100, 1)");
  consumer.WaitForRows(*source, 1);
  const std::string first_topic = consumer.topics.back();
  const int64_t first_offset = consumer.next_offsets[{first_topic, 0}];
  Sql("FLUSH BINARY LOGS");
  Sql("INSERT INTO shop.orders VALUES (101, 1)");
  consumer.WaitForRows(*source, 2);
  EXPECT_EQ(consumer.topics.back(), first_topic);  // one topic for every file
  const int64_t second_offset = consumer.next_offsets[{first_topic, 0}];
  EXPECT_EQ(second_offset >> 32, (first_offset >> 32) + 1);

  // A restart (clean, then SIGKILL) with writes before and after.
  Sql("INSERT INTO shop.orders VALUES (102, 1)");
  std::string error;
  ASSERT_TRUE(server_->Restart(&error)) << error;
  Sql("INSERT INTO shop.orders VALUES (103, 1)");
  consumer.WaitForRows(*source, 4);
  server_->Kill();
  ASSERT_TRUE(server_->Restart(&error)) << error;
  Sql("INSERT INTO shop.orders VALUES (104, 1)");
  consumer.WaitForRows(*source, 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(consumer.PollOnce(*source).ok());
  EXPECT_EQ(consumer.write_rows, 5);
  ReplicaStats stats;
  source->GetReplicaStats(&stats);
  EXPECT_GE(stats.reconnects, 2u);
  EXPECT_GT(stats.heartbeats, 0u);
}

TEST_F(BinlogSourceTest, DatabaseListDropsOtherSchemasRowsButKeepsPositions) {
  BinlogSourceOptions options = Options(103);
  options.databases = {"shop"};
  auto source = Create(options);
  Consumer consumer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!source->Connected() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(consumer.PollOnce(*source).ok());
  }
  Sql("INSERT INTO other.log VALUES (1)");
  Sql("INSERT INTO shop.orders VALUES (200, 1)");
  consumer.WaitForRows(*source, 1);
  EXPECT_EQ(consumer.transactions, 2);  // the other schema's commit still moves the position
}

TEST_F(BinlogSourceTest, PurgedResumePositionIsCountedAndLogged) {
  std::string error;
  auto root = server_->Connect("", &error);
  ASSERT_TRUE(root) << error;
  const std::string purged_file = root->QueryValue("SHOW MASTER STATUS", &error).value_or("");
  ASSERT_FALSE(purged_file.empty()) << error;
  int64_t offset = 0;
  ASSERT_TRUE(BinlogOffsetFor({purged_file, 4}, &offset));
  Sql("FLUSH BINARY LOGS");
  const std::string current = root->QueryValue("SHOW MASTER STATUS", &error).value_or("");
  // A file a dump thread still reads is kept: retry until it is gone.
  for (int i = 0; i < 100; ++i) {
    Sql("PURGE BINARY LOGS TO '" + current + "'");
    if (root->QueryValue("SHOW BINARY LOGS", &error).value_or("") == current) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(root->QueryValue("SHOW BINARY LOGS", &error).value_or(""), current);
  Sql("INSERT INTO shop.orders VALUES (300, 1)");
  auto source = Create(Options(107));
  source->ResumeFrom({{BinlogTopicFor(purged_file), 0, offset + 1}});
  Consumer consumer;
  consumer.WaitForRows(*source, 1);
  ReplicaStats stats;
  source->GetReplicaStats(&stats);
  EXPECT_EQ(stats.purged_positions, 1u);
}

TEST_F(BinlogSourceTest, UserWithoutGrantsGetsTheGrantToRun) {
  BinlogSourceOptions options = Options(104);
  options.endpoint.user = "nogrants";
  auto source = Create(options);
  Consumer consumer;
  Status s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (s.ok() && std::chrono::steady_clock::now() < deadline) s = consumer.PollOnce(*source);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      s.message().find("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'nogrants'@'%'"),
      std::string::npos)
      << s.message();
  EXPECT_FALSE(source->Connected());
}

TEST_F(BinlogSourceTest, ClashingServerIdIsNamed) {
  auto first = Create(Options(105));
  Consumer a, b;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!first->Connected() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(a.PollOnce(*first).ok());
  }
  auto second = Create(Options(105));
  Status s;
  while (s.ok() && std::chrono::steady_clock::now() < deadline) {
    s = a.PollOnce(*first);
    if (s.ok()) s = b.PollOnce(*second);
  }
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("server_id 105"), std::string::npos) << s.message();
}

TEST_F(BinlogSourceTest, StatementFormatIsRefused) {
  Sql("SET GLOBAL binlog_format = 'STATEMENT'");
  auto source = Create(Options(106));
  Consumer consumer;
  Status s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (s.ok() && std::chrono::steady_clock::now() < deadline) s = consumer.PollOnce(*source);
  Sql("SET GLOBAL binlog_format = 'ROW'");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("binlog_format is STATEMENT"), std::string::npos) << s.message();
}

// The agent binary on a config reading the test server's binlog.
class BinlogAgentTest : public BinlogSourceTest {
 protected:
  void SetUp() override {
    BinlogSourceTest::SetUp();
    dir_path_ = std::filesystem::path(*dir_) /
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_path_);
    table_ = std::string("sales_") + std::to_string(++tables_);
    Sql("CREATE TABLE shop." + table_ +
        " (id INT PRIMARY KEY, amount DECIMAL(10,2), channel VARCHAR(8)) ENGINE=InnoDB");
    const std::string config = "source:\n  binlog:\n    address: " + server_->address() +
                               "\n    user: txmon\n    password: secret\n    server_id: 300\n"
                               "    start: earliest\n    databases: [shop]\n"
                               "metrics:\n"
                               "  - {name: sales_total, help: S., type: counter, database: shop, "
                               "table: " +
                               table_ +
                               ", on: insert, labels: [{name: channel}]}\n"
                               "  - {name: sales_amount_total, help: A., type: counter, database: "
                               "shop, table: " +
                               table_ + ", on: insert, value: {column: amount}}\n";
    config_path_ = (dir_path_ / "txmon.yml").string();
    std::ofstream(config_path_) << config;
  }

  test::TxmonProcess StartAgent(int run) {
    std::string error;
    test::TxmonProcess agent = test::StartTxmon(
        {"--config.file=" + config_path_,
         "--checkpoint.file=" + (dir_path_ / "checkpoint").string(), "--checkpoint.interval=20ms"},
        (dir_path_ / ("txmon-" + std::to_string(run))).string(), &error);
    EXPECT_TRUE(agent.process) << error;
    return agent;
  }

  // Waits until sales_total sums to `rows`; the last value seen.
  double WaitForCount(const std::string& url, double rows, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    double seen = -1;
    while (std::chrono::steady_clock::now() < deadline) {
      seen = test::MetricsText::Fetch(url).Sum("sales_total");
      if (seen >= rows) return seen;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return seen;
  }

  std::filesystem::path dir_path_;
  std::string config_path_;
  std::string table_;
  static inline int tables_ = 0;
};

TEST_F(BinlogAgentTest, RowsReachMetricsExactlyAndTransactionsTogether) {
  test::TxmonProcess agent = StartAgent(0);
  ASSERT_TRUE(agent.process);
  Sql("INSERT INTO shop." + table_ + " VALUES (1, 10.25, 'app'), (2, 0.75, 'web')");
  EXPECT_EQ(WaitForCount(agent.metrics_url, 2, std::chrono::seconds(20)), 2);
  // 300-row transactions: every checkpoint holds none or all of each (a
  // scrape may land while a batch's rows are being applied, microseconds
  // apart; a checkpoint is taken between batches only).
  Checkpoint checkpoint;
  std::atomic<bool> done{false};
  std::vector<double> seen;
  std::thread reader([&] {
    const std::string path = (dir_path_ / "checkpoint").string();
    while (!done.load()) {
      Checkpoint c;
      bool found = false;
      std::string from;
      if (!ReadCheckpointFile(path, &c, &found, &from).ok() || !found) continue;
      for (const MetricSnapshot& m : c.store.metrics) {
        if (m.name != "sales_total") continue;
        int64_t total = 0;
        for (const SeriesSnapshot& series : m.series) total += series.value;
        seen.push_back(total / 1e6);
      }
    }
  });
  for (int t = 0; t < 5; ++t) {
    Sql("BEGIN");
    for (int id = 100; id < 400; id += 100) {
      std::string chunk;
      for (int i = id; i < id + 100; ++i) {
        chunk += (chunk.empty() ? "" : ",") + ("(" + std::to_string(1000 * t + i) + ", " +
                                               (t == 0 ? "1.00" : "0.00") + ", 'app')");
      }
      Sql("INSERT INTO shop." + table_ + " VALUES " + chunk);
    }
    Sql("COMMIT");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  EXPECT_EQ(WaitForCount(agent.metrics_url, 1502, std::chrono::seconds(20)), 1502);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  done = true;
  reader.join();
  EXPECT_FALSE(seen.empty());
  for (double v : seen) {
    // 0: a checkpoint written before the first two rows, still on disk.
    EXPECT_TRUE(v == 0 || std::fmod(v - 2, 300) == 0)
        << "a checkpoint holds part of a transaction: " << v;
  }
  // Source health and the binlog position are refreshed every second.
  test::MetricsText metrics = test::MetricsText::Fetch(agent.metrics_url);
  for (int i = 0; i < 100 && metrics.Value("txmon_binlog_file_number") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = test::MetricsText::Fetch(agent.metrics_url);
  }
  EXPECT_EQ(metrics.Value("sales_amount_total"), 311);  // 10.25 + 0.75 + 300 x 1.00
  EXPECT_EQ(metrics.Value("sales_total", {{"channel", "web"}}), 1);
  EXPECT_EQ(metrics.Value("txmon_source_up"), 1);
  EXPECT_EQ(metrics.Sum("txmon_decode_errors_total"), 0);
  EXPECT_GT(metrics.Value("txmon_binlog_file_number"), 0);
}

TEST_F(BinlogAgentTest, UserWithoutGrantsStopsTheAgentWithTheGrantToRun) {
  std::string config;
  {
    std::ifstream in(config_path_);
    config.assign(std::istreambuf_iterator<char>(in), {});
  }
  config.replace(config.find("user: txmon"), 11, "user: nogrants");
  std::ofstream(config_path_) << config;
  test::TxmonProcess agent = StartAgent(0);
  ASSERT_TRUE(agent.process);
  EXPECT_EQ(agent.process->Wait(std::chrono::seconds(20)), 1);
  EXPECT_NE(agent.process->Stderr().find(
                "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'nogrants'@'%'"),
            std::string::npos)
      << agent.process->Stderr();
}

// A typo'd column over the binlog source is reported exactly as for Canal:
// on the table's first row of any kind, against the TABLE_MAP's column
// names (binlog_row_metadata=FULL); a column merely missing from a
// binlog_row_image=MINIMAL image is not unknown; a typo'd table name near a
// table of the stream is flagged.
TEST_F(BinlogAgentTest, MappingColumnsAndTablesAreCheckedAgainstTheRealTable) {
  const std::string updates = "upd_" + table_;
  // Rows written with the binlog off: the stream's first row of the table
  // is a MINIMAL update (the key, and the one column it sets).
  Sql("CREATE TABLE shop." + updates +
      " (id INT PRIMARY KEY, amount DECIMAL(10,2), channel VARCHAR(8), status VARCHAR(8)) "
      "ENGINE=InnoDB; SET SESSION sql_log_bin=0; INSERT INTO shop." +
      updates +
      " VALUES (1, 5.00, 'app', 'created'), (2, 7.00, 'web', 'created'); SET SESSION "
      "sql_log_bin=1");
  // The stream has refunds_<table>; a mapping asks for refund_<table>.
  const std::string refunds = "refunds_" + table_, near_table = "refund_" + table_;
  Sql("CREATE TABLE shop." + refunds + " (id INT PRIMARY KEY) ENGINE=InnoDB");
  std::ofstream(config_path_)
      << "source:\n  binlog:\n    address: " << server_->address()
      << "\n    user: txmon\n    password: secret\n    server_id: 301\n"
         "    start: earliest\n    databases: [shop]\n"
         "metrics:\n"
         "  - {name: paid_total, help: P., type: counter, database: shop, table: "
      << updates
      << ", transition: {column: status, to: paid}, labels: [{name: channel}]}\n"
         "  - {name: paid_typo_total, help: P., type: counter, database: shop, table: "
      << updates
      << ", transition: {column: status, to: paid}, labels: [{name: channel, column: chanel}]}\n"
         "  - {name: near_total, help: N., type: counter, database: shop, table: "
      << near_table << ", on: insert}\n";
  test::TxmonProcess agent = StartAgent(0);
  ASSERT_TRUE(agent.process);
  Sql("SET SESSION binlog_row_image=MINIMAL; UPDATE shop." + updates +
      " SET status='paid' WHERE id=1; SET SESSION binlog_row_image=FULL; INSERT INTO shop." +
      refunds + " VALUES (1)");
  test::MetricsText metrics;
  const test::Labels typo = {
      {"metric", "paid_typo_total"}, {"table", updates}, {"column", "chanel"}};
  const test::Labels near = {{"metric", "near_total"},
                             {"database", "shop"},
                             {"table", near_table},
                             {"near_miss", "shop." + refunds}};
  for (int i = 0; i < 200; ++i) {
    metrics = test::MetricsText::Fetch(agent.metrics_url);
    if (metrics.Sum("paid_total") >= 1 && metrics.Has("txmon_mapping_unknown_column", typo) &&
        metrics.Has("txmon_mapping_unmatched", near)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The MINIMAL image has no channel: the label reads NULL, but the table
  // has the column, so only the typo is unknown.
  EXPECT_EQ(metrics.Value("paid_total", {{"channel", "unknown"}}), 1);
  EXPECT_EQ(metrics.Value("txmon_mapping_unknown_column", typo), 1);
  EXPECT_EQ(metrics.Sum("txmon_mapping_unknown_column", {{"metric", "paid_total"}}), 0);
  EXPECT_EQ(metrics.Sum("txmon_mapping_unknown_column"), 1);
  EXPECT_EQ(metrics.Value("txmon_mapping_unmatched", near), 1);
  EXPECT_EQ(metrics.Sum("txmon_decode_errors_total"), 0);
  agent.process->Signal(SIGTERM);
  agent.process->Wait(std::chrono::seconds(10));
  const std::string log = agent.process->Stderr();
  EXPECT_NE(log.find("column=chanel table_columns=id,amount,channel,status"), std::string::npos)
      << log;
  EXPECT_NE(log.find("metric=near_total"), std::string::npos) << log;
  EXPECT_NE(log.find("seen_table=" + refunds), std::string::npos) << log;
}

// Six SIGKILLs of txmon at random moments and a server restart while SQL
// writes continue; the truth is the table itself at the end.
TEST_F(BinlogAgentTest, KilledAtRandomMomentsAndServerRestartStayExact) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::unique_ptr<MysqlConnection> connection;
    std::mt19937 random(7);
    int id = 1;
    while (!stop.load()) {
      MysqlError e;
      if (!connection) {  // the server may be restarting
        connection =
            MysqlConnection::Open({server_->socket_path(), "root", "", "", "", "", 5, 0}, &e);
        if (!connection) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
      }
      const int n = 1 + static_cast<int>(random() % 4);
      std::string sql = "INSERT INTO shop." + table_ + " VALUES ";
      for (int i = 0; i < n; ++i, ++id) {
        const int64_t c = 100 + (id * 37) % 9900;
        sql += (i ? "," : "") + ("(" + std::to_string(id) + ", " + std::to_string(c / 100) + "." +
                                 (c % 100 < 10 ? "0" : "") + std::to_string(c % 100) + ", '" +
                                 (id % 3 ? "app" : "web") + "')");
      }
      if (!connection->Query(sql, nullptr, &e)) connection.reset();  // committed or not: see below
      std::this_thread::sleep_for(std::chrono::microseconds(500 + random() % 1500));
    }
  });
  std::mt19937 random(11);
  for (int run = 0; run < 6; ++run) {
    test::TxmonProcess agent = StartAgent(run);
    ASSERT_TRUE(agent.process);
    if (run == 3) {  // a clean server restart while this agent reads
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      std::string error;
      ASSERT_TRUE(server_->Restart(&error)) << error;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 1200));
    agent.process->Signal(SIGKILL);
    agent.process->Wait(std::chrono::seconds(10));
  }
  stop = true;
  writer.join();
  std::string error;
  auto root = server_->Connect("", &error);
  ASSERT_TRUE(root) << error;
  std::vector<test::SqlRow> truth;
  ASSERT_TRUE(root->Query("SELECT COUNT(*), SUM(amount) FROM shop." + table_, &truth, &error))
      << error;
  const double rows = std::stod(truth.at(0).at(0).value_or("0"));
  const double amount = std::stod(truth.at(0).at(1).value_or("0"));
  ASSERT_GT(rows, 500);
  ::testing::Test::RecordProperty("rows", static_cast<int>(rows));
  test::TxmonProcess agent = StartAgent(99);
  ASSERT_TRUE(agent.process);
  EXPECT_EQ(WaitForCount(agent.metrics_url, rows, std::chrono::seconds(60)), rows);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const test::MetricsText metrics = test::MetricsText::Fetch(agent.metrics_url);
  EXPECT_EQ(metrics.Sum("sales_total"), rows) << "rows lost or counted twice";
  EXPECT_NEAR(metrics.Value("sales_amount_total"), amount, 1e-6);
  // (Rows of the other tests' tables are unknown_table, as in Canal.)
  EXPECT_EQ(metrics.Value("txmon_decode_errors_total", {{"reason", "malformed_event"}}), 0);
  EXPECT_EQ(metrics.Value("txmon_decode_errors_total", {{"reason", "unsupported_event"}}), 0);
}

// binlog_row_metadata=MINIMAL: no column names in the stream, so they come
// from information_schema, and a DDL that moves columns mid-stream is
// followed (the names are read again).
TEST(BinlogMinimalMetadataTest, ColumnNamesFromTheServerFollowDdl) {
  test::MariaDbOptions options;
  options.binlog_row_metadata = "MINIMAL";
  std::string error;
  auto server = test::MariaDbServer::Start(options, &error);
  ASSERT_TRUE(server) << error;
  ASSERT_TRUE(
      server->Exec("CREATE USER 'txmon'@'%' IDENTIFIED BY 'secret'; GRANT REPLICATION "
                   "SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'txmon'@'%'; CREATE "
                   "DATABASE shop; CREATE TABLE shop.sales (id INT PRIMARY KEY, amount "
                   "DECIMAL(10,2), channel VARCHAR(8))",
                   &error))
      << error;
  const std::string dir = server->directory() + "/txmon";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/txmon.yml")
      << "source:\n  binlog: {address: \"" << server->address()
      << "\", user: txmon, password: secret, server_id: 9, start: earliest}\nmetrics:\n"
         "  - {name: sales_total, help: S., type: counter, database: shop, table: sales, on: "
         "insert, labels: [{name: channel}]}\n"
         "  - {name: sales_amount_total, help: A., type: counter, database: shop, table: sales, "
         "on: insert, value: {column: amount}}\n"
         "  - {name: sales_typo_total, help: T., type: counter, database: shop, table: sales, "
         "on: insert, labels: [{name: channel, column: chanel}]}\n";
  test::TxmonProcess agent =
      test::StartTxmon({"--config.file=" + dir + "/txmon.yml"}, dir + "/txmon", &error);
  ASSERT_TRUE(agent.process) << error;
  ASSERT_TRUE(
      server->Exec("INSERT INTO shop.sales VALUES (1, 2.50, 'app'), (2, 1.25, 'web')", &error))
      << error;
  auto wait_for = [&](double rows) {
    test::MetricsText metrics;
    for (int i = 0; i < 200; ++i) {
      metrics = test::MetricsText::Fetch(agent.metrics_url);
      if (metrics.Sum("sales_total") >= rows) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return metrics;
  };
  test::MetricsText metrics = wait_for(2);
  EXPECT_EQ(metrics.Value("sales_total", {{"channel", "app"}}), 1);
  EXPECT_EQ(metrics.Value("sales_amount_total"), 3.75);
  // The column names come from information_schema: the typo is found there.
  EXPECT_EQ(
      metrics.Value("txmon_mapping_unknown_column",
                    {{"metric", "sales_typo_total"}, {"table", "sales"}, {"column", "chanel"}}),
      1);
  EXPECT_EQ(metrics.Sum("txmon_mapping_unknown_column"), 1);
  // A new first column: every column moves one place.
  ASSERT_TRUE(
      server->Exec("ALTER TABLE shop.sales ADD COLUMN note VARCHAR(8) FIRST; INSERT INTO "
                   "shop.sales (note, id, amount, channel) VALUES ('x', 3, 10.00, 'web')",
                   &error))
      << error;
  metrics = wait_for(3);
  EXPECT_EQ(metrics.Value("sales_total", {{"channel", "web"}}), 2);
  EXPECT_EQ(metrics.Value("sales_amount_total"), 13.75);
  EXPECT_EQ(metrics.Sum("txmon_decode_errors_total"), 0);
}

// `txmon demo --source=binlog`: a private mariadbd, the shop writing SQL,
// the agent reading the binlog; business metrics move, nothing is refused.
TEST(BinlogDemoTest, DemoFromARealCommit) {
  std::string error;
  test::TxmonProcess demo = test::StartTxmon(
      {"demo", "--source=binlog", "--rate=50"},
      (std::filesystem::temp_directory_path() / ("txmon-binlog-demo-" + std::to_string(getpid())))
          .string(),
      &error, std::chrono::seconds(90));
  ASSERT_TRUE(demo.process) << error;
  double created = 0;
  test::MetricsText metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = test::MetricsText::Fetch(demo.metrics_url);
    created = metrics.Sum("shop_orders_created_total");
    // txmon_source_up is 0 while the source reconnects (it opens a new dump
    // after a binlog rotation, for one), so it is read until it is 1.
    if (created >= 50 && metrics.Sum("shop_orders_paid_total") > 0 &&
        metrics.Value("txmon_source_up") == 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_GE(created, 50);
  EXPECT_GT(metrics.Sum("shop_orders_paid_total"), 0);
  EXPECT_EQ(metrics.Sum("txmon_decode_errors_total"), 0);
  EXPECT_EQ(metrics.Value("txmon_source_up"), 1);
  EXPECT_EQ(demo.process->Stop(std::chrono::seconds(30)), 0) << demo.process->Stderr();
}

}  // namespace
}  // namespace txmon
