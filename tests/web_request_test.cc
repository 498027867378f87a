// What the WebServer accepts as a request before any handler runs: the path
// is decoded and cleaned once and then routed (a NUL or a broken escape is
// 400, an unclean path a redirect to the clean one, never a route answering
// for another path), conflicting Content-Length headers are 400, and each
// route may bound its bodies below the server's limit.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "agent/web/request_path.h"
#include "agent/web/web_server.h"
#include "tests/support/http_client.h"

namespace txmon {
namespace {

// Sends `request` as is on a new connection and returns everything the
// server wrote until it closed (or 5 s passed).
std::string RawExchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t got;
    while ((got = recv(fd, buffer, sizeof buffer, 0)) > 0) reply.append(buffer, got);
  }
  close(fd);
  return reply;
}

// The status code of a raw reply ("HTTP/1.1 404 Not Found" -> 404), or 0.
int StatusOf(const std::string& reply) {
  size_t space = reply.find(' ');
  if (!reply.starts_with("HTTP/") || space == std::string::npos) return 0;
  return std::atoi(reply.c_str() + space + 1);
}

std::string Get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

class WebRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WebServerOptions options;
    options.listen_address = "127.0.0.1:0";
    Status status = WebServer::Start(std::move(options), &server_);
    ASSERT_TRUE(status.ok()) << status.message();
    server_->Handle("/echo", [](const HttpRequest& request) {
      return HttpResponse::Text(200, request.path + "|" + request.body);
    });
    server_->Handle(
        "/small", [](const HttpRequest& request) { return HttpResponse::Text(200, request.body); },
        16);
  }
  std::string Exchange(const std::string& request) { return RawExchange(server_->port(), request); }

  std::unique_ptr<WebServer> server_;
};

TEST(RequestPathTest, CleansLikeGo) {
  EXPECT_EQ(CleanPath(""), "/");
  EXPECT_EQ(CleanPath("/"), "/");
  EXPECT_EQ(CleanPath("/metrics"), "/metrics");
  EXPECT_EQ(CleanPath("/a//b/./c/.."), "/a/b");
  EXPECT_EQ(CleanPath("/a/b/"), "/a/b/");
  EXPECT_EQ(CleanPath("/../../metrics"), "/metrics");
  EXPECT_EQ(CleanPath("/x/../metrics"), "/metrics");
}

TEST(RequestPathTest, DecodesOnceAndRefusesNulAndBrokenEscapes) {
  RequestPath plain = ResolveRequestPath("/api/v1/query");
  EXPECT_EQ(plain.verdict, RequestPath::Verdict::kServe);
  EXPECT_EQ(plain.path, "/api/v1/query");
  RequestPath encoded = ResolveRequestPath("/a%20b");
  EXPECT_EQ(encoded.verdict, RequestPath::Verdict::kServe);
  EXPECT_EQ(encoded.path, "/a b");
  RequestPath dots = ResolveRequestPath("/x/%2e%2e%2fmetrics");
  EXPECT_EQ(dots.verdict, RequestPath::Verdict::kRedirect);
  EXPECT_EQ(dots.path, "/metrics");
  EXPECT_EQ(ResolveRequestPath("http://host:9464/metrics").path, "/metrics");
  EXPECT_EQ(ResolveRequestPath("/metrics%00").verdict, RequestPath::Verdict::kBad);
  EXPECT_EQ(ResolveRequestPath("/metrics%00").reason, "NUL byte in the path");
  EXPECT_EQ(ResolveRequestPath("/metrics%0").verdict, RequestPath::Verdict::kBad);
  EXPECT_EQ(ResolveRequestPath("/metrics%zz").verdict, RequestPath::Verdict::kBad);
  EXPECT_EQ(ResolveRequestPath("*").verdict, RequestPath::Verdict::kBad);
}

TEST_F(WebRequestTest, ANulInThePathIs400NotTheRouteBeforeIt) {
  const std::string metrics = Exchange(Get("/metrics"));
  EXPECT_EQ(StatusOf(metrics), 200) << metrics;
  for (const char* target : {"/metrics%00", "/metrics%00.txt", "/echo%00/x", "/metrics%"}) {
    const std::string reply = Exchange(Get(target));
    EXPECT_EQ(StatusOf(reply), 400) << target << ":\n" << reply;
    EXPECT_EQ(reply.find("txmon_http_requests_total"), std::string::npos) << target;
  }
}

TEST_F(WebRequestTest, DotSegmentsRedirectToTheCleanPathInsteadOfServingIt) {
  for (const char* target :
       {"/x/%2e%2e%2fmetrics", "/x/../metrics", "/%2e%2e/metrics", "//metrics", "/./metrics"}) {
    const std::string reply = Exchange(Get(target));
    EXPECT_EQ(StatusOf(reply), 301) << target << ":\n" << reply;
    EXPECT_NE(reply.find("Location: /metrics\r\n"), std::string::npos) << target << ":\n" << reply;
    EXPECT_EQ(reply.find("txmon_http_requests_total"), std::string::npos) << target;
  }
  const std::string with_query = Exchange(Get("/x/../echo?a=1"));
  EXPECT_NE(with_query.find("Location: /echo?a=1\r\n"), std::string::npos) << with_query;
  // An escaped character that is not a separator is only decoded.
  const std::string decoded = Exchange(Get("/%65cho"));
  EXPECT_EQ(StatusOf(decoded), 200) << decoded;
  EXPECT_NE(decoded.find("/echo|"), std::string::npos) << decoded;
}

TEST_F(WebRequestTest, ConflictingContentLengthsAre400) {
  const std::string agreeing = Exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(StatusOf(agreeing), 200) << agreeing;
  EXPECT_NE(agreeing.find("/echo|hello"), std::string::npos) << agreeing;
  const std::string conflicting = Exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n"
      "Content-Length: 11\r\n\r\nhello world");
  EXPECT_EQ(StatusOf(conflicting), 400) << conflicting;
  EXPECT_EQ(conflicting.find("/echo|"), std::string::npos) << conflicting;
  const std::string listed = Exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5, 11\r\n\r\n"
      "hello world");
  EXPECT_EQ(StatusOf(listed), 400) << listed;
}

TEST_F(WebRequestTest, ARouteBoundsItsBodiesBelowTheServersLimit) {
  const std::string url = "http://127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(test::HttpPost(url + "/small", std::string(16, 'a'), "text/plain").status, 200);
  EXPECT_EQ(test::HttpPost(url + "/small", std::string(17, 'a'), "text/plain").status, 413);
  // Other routes keep the server's limit (1 MiB by default).
  EXPECT_EQ(test::HttpPost(url + "/echo", std::string(100'000, 'a'), "text/plain").status, 200);
}

}  // namespace
}  // namespace txmon
