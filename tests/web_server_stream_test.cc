// Streaming routes of the WebServer (Server-Sent Events), read with a raw
// socket: the live page's /live/events frames, the cap on open streams (503)
// without starving /metrics, and streams ending when the client goes or the
// server stops.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "agent/live/live_board.h"
#include "agent/web/live_page.h"
#include "agent/web/web_server.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// One raw HTTP/1.1 connection to loopback, read with timeouts.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { Close(); }

  bool Get(const std::string& path) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    return connected_ && send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                             static_cast<ssize_t>(request.size());
  }

  // Reads until `text` has arrived `count` times in all; false on timeout or
  // end of stream.
  bool ReadUntil(const std::string& text, int count, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Count(text) < count) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }

  // True once the server has closed the connection (read returns 0).
  bool WaitForClose(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (ReadSome(deadline)) {
    }
    return closed_;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  const std::string& received() const { return received_; }

 private:
  int Count(const std::string& text) const {
    int count = 0;
    for (size_t at = received_.find(text); at != std::string::npos;
         at = received_.find(text, at + text.size())) {
      ++count;
    }
    return count;
  }

  bool ReadSome(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || closed_) return false;
    pollfd readable{fd_, POLLIN, 0};
    if (poll(&readable, 1, static_cast<int>(left)) <= 0) return false;
    char buffer[4096];
    ssize_t n = read(fd_, buffer, sizeof buffer);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

std::unique_ptr<WebServer> StartServer(int threads, int max_streams) {
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.threads = threads;
  options.max_streams = max_streams;
  std::unique_ptr<WebServer> server;
  Status status = WebServer::Start(std::move(options), &server);
  EXPECT_TRUE(status.ok()) << status.message();
  return server;
}

std::string Url(const WebServer& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

// A stream that writes "data: tick\n\n" every 20 ms while it may.
struct TickingStream {
  std::atomic<int> running{0};
  std::atomic<int> finished{0};

  StreamHandler Handler() {
    return [this](const HttpRequest&, ResponseStream& stream) {
      ++running;
      while (stream.Open() && stream.Write("data: tick\n\n")) {
        std::this_thread::sleep_for(milliseconds(20));
      }
      --running;
      ++finished;
    };
  }
};

bool WaitFor(const std::function<bool()>& condition, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(WebServerStreamTest, LiveEventsSendsBoardFramesAndEndsOnStop) {
  MetricStore store;
  LiveBoardOptions board_options;
  board_options.refresh_interval_ms = 50;
  LiveBoard board(&store, board_options, 0);
  board.Start();
  std::unique_ptr<WebServer> server = StartServer(2, 2);
  ASSERT_NE(server, nullptr);
  RegisterLivePage(server.get(), &board);

  RawClient client(server->port());
  ASSERT_TRUE(client.Get(kLiveEventsPath));
  ASSERT_TRUE(client.ReadUntil("\n\ndata: {", 2, milliseconds(5000))) << client.received();
  EXPECT_NE(client.received().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(client.received().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_EQ(client.received().find("Content-Length"), std::string::npos);
  EXPECT_NE(client.received().find("\"orders_today\":null"), std::string::npos);

  const auto stop_started = Clock::now();
  server->Stop();
  const auto stop_ms =
      std::chrono::duration_cast<milliseconds>(Clock::now() - stop_started).count();
  EXPECT_LT(stop_ms, 1500) << "Stop waited for the open stream";
  EXPECT_TRUE(client.WaitForClose(milliseconds(2000)));
  std::printf("Stop with an open live stream took %lld ms\n", static_cast<long long>(stop_ms));
  board.Stop();
}

TEST(WebServerStreamTest, ThePageIsServedAtTheRoot) {
  MetricStore store;
  LiveBoard board(&store, LiveBoardOptions(), 0);
  std::unique_ptr<WebServer> server = StartServer(2, 1);
  ASSERT_NE(server, nullptr);
  RegisterLivePage(server.get(), &board);

  test::HttpResponse page = test::HttpGet(Url(*server, "/"));
  EXPECT_EQ(page.status, 200) << page.error;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/live.js"), std::string::npos);
  EXPECT_EQ(test::HttpGet(Url(*server, "/live.js")).status, 200);
  EXPECT_EQ(test::HttpGet(Url(*server, "/live.css")).status, 200);
  EXPECT_EQ(test::HttpGet(Url(*server, "/no-such-file")).status, 404);
}

TEST(WebServerStreamTest, StreamsBeyondTheCapAre503AndScrapesStillAnswer) {
  TickingStream ticking;
  std::unique_ptr<WebServer> server = StartServer(1, 1);
  ASSERT_NE(server, nullptr);
  server->HandleStream("/events", "text/event-stream", ticking.Handler());

  RawClient first(server->port());
  ASSERT_TRUE(first.Get("/events"));
  ASSERT_TRUE(first.ReadUntil("data: tick", 1, milliseconds(5000)));

  test::HttpResponse second = test::HttpGet(Url(*server, "/events"));
  EXPECT_EQ(second.status, 503) << second.error;
  EXPECT_EQ(second.headers["retry-after"], "5");
  test::HttpResponse metrics = test::HttpGet(Url(*server, "/metrics"));
  EXPECT_EQ(metrics.status, 200) << metrics.error;

  // The place is free again once the first stream has ended.
  first.Close();
  ASSERT_TRUE(WaitFor([&] { return ticking.finished == 1; }, milliseconds(3000)));
  RawClient third(server->port());
  ASSERT_TRUE(third.Get("/events"));
  EXPECT_TRUE(third.ReadUntil("data: tick", 1, milliseconds(5000))) << third.received();
}

TEST(WebServerStreamTest, StreamEndsWhenTheClientGoes) {
  TickingStream ticking;
  std::unique_ptr<WebServer> server = StartServer(1, 2);
  ASSERT_NE(server, nullptr);
  server->HandleStream("/events", "text/event-stream", ticking.Handler());

  RawClient client(server->port());
  ASSERT_TRUE(client.Get("/events"));
  ASSERT_TRUE(client.ReadUntil("data: tick", 2, milliseconds(5000)));
  EXPECT_EQ(ticking.running, 1);
  client.Close();
  EXPECT_TRUE(WaitFor([&] { return ticking.running == 0; }, milliseconds(3000)));
}

TEST(WebServerStreamTest, StreamRoutesAllowOnlyGetAndHead) {
  TickingStream ticking;
  std::unique_ptr<WebServer> server = StartServer(1, 1);
  ASSERT_NE(server, nullptr);
  server->HandleStream("/events", "text/event-stream", ticking.Handler());
  EXPECT_EQ(test::HttpPost(Url(*server, "/events"), "x", "text/plain").status, 405);
  EXPECT_EQ(ticking.finished, 0);
}

}  // namespace
}  // namespace txmon
