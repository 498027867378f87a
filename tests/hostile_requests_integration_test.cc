// The txmon binary under hostile requests: PromQL that nests or chains deep
// enough to overflow a small stack is answered (or refused with bad_data),
// never a crash, through the query API, the rules API and a reload; and
// idle or slow connections, together with open live-screen streams, do not
// take /metrics down.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/txmon_process.h"

namespace txmon::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfig = R"(global:
  evaluation_interval: 100ms
rule_files: [rules.yml]
metrics:
  - name: orders_total
    help: Orders created.
    type: counter
    table: orders
    on: insert
)";

std::string Repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

// `(((…1…)))` nested `depth` times.
std::string Nested(int depth) { return Repeat("(", depth) + "1" + Repeat(")", depth); }

// `term op term op … term`, `terms` terms.
std::string Chain(const std::string& term, const std::string& op, int terms) {
  std::string out = term;
  for (int i = 1; i < terms; ++i) out += op + term;
  return out;
}

std::string RuleFile(const std::string& expr) {
  return "groups:\n  - name: deep\n    interval: 100ms\n    rules:\n      - record: deep:value\n"
         "        expr: '" +
         expr + "'\n";
}

// A TCP connection to the agent that sends nothing (or, if `slow`, one byte
// of a request line every 500 ms), held open until the object goes.
class HeldConnection {
 public:
  HeldConnection(int port, bool slow) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (slow && connected_) {
      dripper_ = std::thread([this] {
        const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        for (size_t i = 0; !stop_ && i < request.size(); ++i) {
          if (send(fd_, &request[i], 1, MSG_NOSIGNAL) != 1) return;
          for (int t = 0; !stop_ && t < 10; ++t) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }
      });
    }
  }
  ~HeldConnection() {
    stop_ = true;
    if (dripper_.joinable()) dripper_.join();
    close(fd_);
  }
  bool connected() const { return connected_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::atomic<bool> stop_{false};
  std::thread dripper_;
};

class HostileRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("txmon-hostile-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    Write("txmon.yml", kConfig);
    Write("rules.yml", RuleFile("1"));
    const std::string fifo = (dir_ / "changes.fifo").string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    fifo_fd_ = open(fifo.c_str(), O_RDWR);  // read-write: neither open waits
    ASSERT_GE(fifo_fd_, 0);
    std::string error;
    txmon_ = StartTxmon({"--config.file=" + (dir_ / "txmon.yml").string(), "--source.file=" + fifo,
                         "--web.enable-lifecycle"},
                        (dir_ / "txmon").string(), &error);
    ASSERT_TRUE(txmon_.process) << error;
    base_url_ = txmon_.metrics_url.substr(0, txmon_.metrics_url.rfind("/metrics"));
    port_ = std::stoi(base_url_.substr(base_url_.rfind(':') + 1));
  }
  void TearDown() override {
    if (fifo_fd_ >= 0) close(fifo_fd_);
    if (txmon_.process) txmon_.process->Stop();
    fs::remove_all(dir_);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  // POSTed as a form, as Grafana does: long expressions do not fit a URL.
  HttpResponse Query(const std::string& expr) {
    return HttpPost(base_url_ + "/api/v1/query", "query=" + UrlEncode(expr),
                    "application/x-www-form-urlencoded");
  }
  void ExpectAlive() {
    EXPECT_EQ(HttpGet(base_url_ + "/-/healthy").status, 200) << txmon_.process->Stderr();
  }

  fs::path dir_;
  int fifo_fd_ = -1;
  TxmonProcess txmon_;
  std::string base_url_;
  int port_ = 0;
};

TEST_F(HostileRequestsTest, DeepAndLongQueriesAreAnsweredOrRefusedNeverACrash) {
  struct Case {
    std::string expr;
    long status;
    std::string body_has;
  };
  const std::vector<Case> cases = {
      {Nested(40), 200, R"("1")"},
      {Nested(200), 200, R"("1")"},
      {Nested(1000), 400, "nested too deeply"},
      {Nested(100000), 400, "bad_data"},
      {Chain("1", "+", 100), 200, R"("100")"},
      {Chain("1", "+", 5000), 400, "nested too deeply"},
      {Chain("vector(1)", " or ", 100), 200, R"("1")"},
      {Chain("1", "^", 100), 200, R"("1")"},
      {Chain("1", "^", 2000), 400, "nested too deeply"},
      {Repeat("-", 200) + "1", 200, R"("1")"},
      {Repeat("-", 201) + "1", 200, R"("-1")"},
      {Repeat("-", 5000) + "vector(1)", 400, "nested too deeply"},
      {Repeat("sum(", 300) + "vector(1)" + Repeat(")", 300), 400, "nested too deeply"},
  };
  for (const Case& c : cases) {
    HttpResponse response = Query(c.expr);
    EXPECT_EQ(response.status, c.status)
        << c.expr.substr(0, 80) << ": " << response.body << response.error;
    EXPECT_NE(response.body.find(c.body_has), std::string::npos)
        << c.expr.substr(0, 80) << ": " << response.body.substr(0, 300);
    ASSERT_EQ(HttpGet(base_url_ + "/-/healthy").status, 200)
        << "after " << c.expr.substr(0, 80) << "\n"
        << txmon_.process->Stderr();
  }
}

TEST_F(HostileRequestsTest, DeepRulesReloadAndPrintOrAreRefused) {
  // 45 levels crashed a reload on a worker thread; 300 crashed /api/v1/rules.
  Write("rules.yml", RuleFile(Nested(45)));
  HttpResponse reload = HttpPost(base_url_ + "/-/reload", "", "text/plain");
  EXPECT_EQ(reload.status, 200) << reload.body;
  HttpResponse rules = HttpGet(base_url_ + "/api/v1/rules");
  EXPECT_EQ(rules.status, 200);
  EXPECT_NE(rules.body.find(Nested(45)), std::string::npos) << rules.body.substr(0, 300);

  Write("rules.yml", RuleFile(Chain("1", " + ", 250)));
  reload = HttpPost(base_url_ + "/-/reload", "", "text/plain");
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(HttpGet(base_url_ + "/api/v1/rules").status, 200);

  Write("rules.yml", RuleFile(Nested(300)));
  reload = HttpPost(base_url_ + "/-/reload", "", "text/plain");
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find("nested too deeply"), std::string::npos) << reload.body;
  // The refused file changed nothing: the 250-term rule is still served.
  rules = HttpGet(base_url_ + "/api/v1/rules");
  EXPECT_EQ(rules.status, 200);
  EXPECT_NE(rules.body.find("1 + 1 + 1"), std::string::npos);
  ExpectAlive();
}

TEST_F(HostileRequestsTest, MetricsAnswerWhileIdleSlowConnectionsAndStreamsAreOpen) {
  // 8 live-screen streams (the most the server allows) held by readers.
  std::atomic<bool> stop{false};
  std::vector<std::thread> streams;
  for (int i = 0; i < 8; ++i) {
    streams.emplace_back([&] {
      HttpClientOptions options;
      options.timeout = std::chrono::milliseconds(3000);
      while (!stop) HttpGet(base_url_ + "/live/events", options);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // 150 sockets that send nothing and 50 that drip a request byte by byte.
  std::vector<std::unique_ptr<HeldConnection>> held;
  for (int i = 0; i < 200; ++i) {
    held.push_back(std::make_unique<HeldConnection>(port_, /*slow=*/i % 4 == 0));
    ASSERT_TRUE(held.back()->connected());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // Before the fix, 16 such sockets kept /metrics from answering for 30 s.
  HttpClientOptions options;
  options.timeout = std::chrono::milliseconds(10000);
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto started = std::chrono::steady_clock::now();
    HttpResponse metrics = HttpGet(txmon_.metrics_url, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(metrics.status, 200) << metrics.error;
    EXPECT_NE(metrics.body.find("txmon_build_info"), std::string::npos);
    std::printf("scrape %d with 200 held connections and 8 streams: %.3f s\n", attempt, seconds);
  }
  stop = true;
  held.clear();
  for (std::thread& stream : streams) stream.join();
  ExpectAlive();
}

}  // namespace
}  // namespace txmon::test
