// Remote write: the WriteRequest encoder held to Prometheus' schema by
// libprotobuf, and the RemoteWriter against a receiver served by this test
// (headers, labels, order, retries, refusals, the bounded queue). The real
// Prometheus receiver is in remote_write_integration_test.
#include <gtest/gtest.h>
#include <snappy.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "agent/history/sample_history.h"
#include "agent/remote/remote_writer.h"
#include "agent/remote/write_request.h"
#include "agent/web/web_server.h"
#include "remote_write.pb.h"
#include "tests/support/tls_files.h"

namespace txmon::test {
namespace {

using namespace std::chrono_literals;

// Decodes a snappy-compressed WriteRequest; false if either layer is bad.
bool Decode(const std::string& body, prometheus::WriteRequest* request) {
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) return false;
  return request->ParseFromString(raw);
}

std::string LabelString(const prometheus::TimeSeries& series) {
  std::string out;
  for (const auto& label : series.labels()) out += label.name() + "=" + label.value() + ",";
  return out;
}

// A remote write receiver: answers each POST with the next status of
// `statuses` (204 once they run out) and keeps what 2xx answers accepted.
class FakeReceiver {
 public:
  explicit FakeReceiver(WebSecurity security = {}) {
    WebServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.security = std::move(security);
    scheme_ = options.security.tls ? "https" : "http";
    Status status = WebServer::Start(std::move(options), &server_);
    EXPECT_TRUE(status.ok()) << status.message();
    server_->Handle("/api/v1/write", [this](const HttpRequest& request) {
      if (int delay = delay_ms_.load(); delay > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      }
      std::lock_guard lock(mutex_);
      ++posts_;
      headers_ = {{"Content-Encoding", std::string(request.Header("Content-Encoding"))},
                  {"Content-Type", std::string(request.Header("Content-Type"))},
                  {"User-Agent", std::string(request.Header("User-Agent"))},
                  {"X-Prometheus-Remote-Write-Version",
                   std::string(request.Header("X-Prometheus-Remote-Write-Version"))},
                  {"X-Scope-OrgID", std::string(request.Header("X-Scope-OrgID"))},
                  {"Authorization", std::string(request.Header("Authorization"))}};
      int status = 204;
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
      prometheus::WriteRequest decoded;
      if (!Decode(request.body, &decoded)) return txmon::HttpResponse::Text(400, "bad body");
      if (status / 100 == 2) {
        for (const auto& series : decoded.timeseries()) {
          for (const auto& sample : series.samples()) {
            received_[LabelString(series)].push_back({sample.timestamp(), sample.value()});
          }
        }
      }
      post_times_.push_back(std::chrono::steady_clock::now());
      txmon::HttpResponse response =
          txmon::HttpResponse::Text(status, status / 100 == 2 ? "" : "no");
      if (status / 100 != 2 && !retry_after_.empty()) {
        response.headers.emplace_back("Retry-After", retry_after_);
      }
      return response;
    });
  }
  std::string url() const {
    return scheme_ + "://127.0.0.1:" + std::to_string(server_->port()) + "/api/v1/write";
  }
  // Each answer waits this long first (a receiver that hangs).
  void Delay(std::chrono::milliseconds delay) { delay_ms_.store(static_cast<int>(delay.count())); }
  void Answer(std::initializer_list<int> statuses) {
    std::lock_guard lock(mutex_);
    statuses_.insert(statuses_.end(), statuses);
  }
  std::map<std::string, std::vector<Point>> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::map<std::string, std::string> headers() const {
    std::lock_guard lock(mutex_);
    return headers_;
  }
  int posts() const {
    std::lock_guard lock(mutex_);
    return posts_;
  }
  // Refusals carry this Retry-After (empty: none).
  void RetryAfter(std::string value) {
    std::lock_guard lock(mutex_);
    retry_after_ = std::move(value);
  }
  std::vector<std::chrono::steady_clock::time_point> post_times() const {
    std::lock_guard lock(mutex_);
    return post_times_;
  }

 private:
  std::string scheme_;
  std::atomic<int> delay_ms_{0};
  std::unique_ptr<WebServer> server_;
  mutable std::mutex mutex_;
  std::deque<int> statuses_;
  std::map<std::string, std::vector<Point>> received_;
  std::map<std::string, std::string> headers_;
  int posts_ = 0;
  std::string retry_after_;
  std::vector<std::chrono::steady_clock::time_point> post_times_;
};

RemoteWriterOptions FastOptions(const std::string& url) {
  RemoteWriterOptions options;
  options.name = "test";
  options.endpoint.url = url;
  options.endpoint.timeout = 5s;
  options.batch_send_deadline = 10ms;
  options.min_backoff = 10ms;
  options.max_backoff = 40ms;
  options.resolution_ms = 1000;
  return options;
}

template <typename Done>
bool WaitUntil(Done done, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

TEST(WriteRequestTest, LibprotobufReadsWhatTheEncoderWrites) {
  Labels a{{"__name__", "shop_orders_total"}, {"channel", "app"}, {"instance", "h:9464"}};
  Labels b{{"__name__", "up"}, {"job", std::string(300, 'j')}};  // a length past one varint byte
  std::vector<Point> pa = {{1'700'000'000'000, 0}, {1'700'000'001'000, 12.5}};
  std::vector<Point> pb = {{1, -1e300}, {2, std::nan("")}, {3, StaleNaN()}};
  std::vector<WriteSeries> series = {{&a, pa}, {&b, pb}};
  std::string raw;
  EncodeWriteRequest(series, &raw);
  prometheus::WriteRequest request;
  ASSERT_TRUE(request.ParseFromString(raw));
  ASSERT_EQ(request.timeseries_size(), 2);
  EXPECT_EQ(LabelString(request.timeseries(0)),
            "__name__=shop_orders_total,channel=app,instance=h:9464,");
  EXPECT_EQ(request.timeseries(1).labels(1).value(), std::string(300, 'j'));
  ASSERT_EQ(request.timeseries(0).samples_size(), 2);
  EXPECT_EQ(request.timeseries(0).samples(0).timestamp(), 1'700'000'000'000);
  EXPECT_EQ(request.timeseries(0).samples(0).value(), 0);
  EXPECT_EQ(request.timeseries(0).samples(1).value(), 12.5);
  ASSERT_EQ(request.timeseries(1).samples_size(), 3);
  EXPECT_EQ(request.timeseries(1).samples(0).value(), -1e300);
  EXPECT_TRUE(std::isnan(request.timeseries(1).samples(1).value()));
  EXPECT_TRUE(IsStaleNaN(request.timeseries(1).samples(2).value()));

  // Equal to what libprotobuf writes for the same message, but for the
  // zero fields proto3 leaves out (and the encoder keeps).
  prometheus::WriteRequest copy = request;
  copy.mutable_timeseries(0)->mutable_samples(0)->set_value(1);
  std::string ours, theirs;
  std::vector<Point> pa1 = {{1'700'000'000'000, 1}, {1'700'000'001'000, 12.5}};
  std::vector<WriteSeries> series1 = {{&a, pa1}, {&b, pb}};
  EncodeWriteRequest(series1, &ours);
  ASSERT_TRUE(copy.SerializeToString(&theirs));
  EXPECT_EQ(ours, theirs);

  std::string compressed, back;
  SnappyCompress(raw, &compressed);
  ASSERT_TRUE(snappy::Uncompress(compressed.data(), compressed.size(), &back));
  EXPECT_EQ(back, raw);
}

TEST(RemoteWriterTest, SendsEverySampleOnceInOrderWithTargetLabelsAndTheFourHeaders) {
  FakeReceiver receiver;
  SampleHistory history;
  for (int64_t t = 1000; t <= 3000; t += 1000) {
    history.Append(Labels{{"__name__", "orders_total"}, {"channel", "app"}}, t, t / 1000.0);
    history.Append(Labels{{"__name__", "up"}, {"job", "own"}}, t, 1);
  }
  RemoteWriterOptions options = FastOptions(receiver.url());
  options.endpoint.headers = {{"X-Scope-OrgID", "shop"}};
  options.endpoint.authorization_type = "Bearer";
  options.endpoint.authorization_credentials = "s3cret";
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
  writer->Start(Labels{{"instance", "shop-1:9464"}, {"job", "txmon"}, {"region", "eu"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 6; }));

  // New samples only, and an older one the history ignores.
  history.Append(Labels{{"__name__", "orders_total"}, {"channel", "app"}}, 4000, 4);
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 7; }));

  auto received = receiver.received();
  ASSERT_EQ(received.size(), 2u);
  const std::vector<Point>& orders =
      received["__name__=orders_total,channel=app,instance=shop-1:9464,job=txmon,region=eu,"];
  ASSERT_EQ(orders.size(), 4u);
  for (size_t i = 0; i < orders.size(); ++i) {
    EXPECT_EQ(orders[i].timestamp_ms, 1000 * static_cast<int64_t>(i + 1));
    EXPECT_EQ(orders[i].value, static_cast<double>(i + 1));
  }
  // A label the series has wins over the target's.
  EXPECT_EQ(received["__name__=up,instance=shop-1:9464,job=own,region=eu,"].size(), 3u);

  auto headers = receiver.headers();
  EXPECT_EQ(headers["Content-Encoding"], "snappy");
  EXPECT_EQ(headers["Content-Type"], "application/x-protobuf");
  EXPECT_TRUE(headers["User-Agent"].starts_with("txmon/")) << headers["User-Agent"];
  EXPECT_EQ(headers["X-Prometheus-Remote-Write-Version"], "0.1.0");
  EXPECT_EQ(headers["X-Scope-OrgID"], "shop");
  EXPECT_EQ(headers["Authorization"], "Bearer s3cret");

  RemoteWriterStats stats = writer->stats();
  EXPECT_EQ(stats.samples_read, 7u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.highest_sent_ms, 4000);
  EXPECT_GT(stats.bytes_sent, 0u);
}

TEST(RemoteWriterTest, RetriesServerErrorsAnd429DropsOtherClientErrors) {
  FakeReceiver receiver;
  SampleHistory history;
  Labels series{{"__name__", "x"}};
  history.Append(series, 1000, 1);
  history.Append(series, 2000, 2);
  receiver.Answer({503, 429, 500, 204});
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(FastOptions(receiver.url()), &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 2; }));
  EXPECT_EQ(writer->stats().samples_retried, 6u);  // three failed attempts of 2 samples
  EXPECT_EQ(receiver.posts(), 4);

  // A 400 (out of order, bad labels): refused for good, counted, not retried.
  receiver.Answer({400});
  history.Append(series, 3000, 3);
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_failed == 1; }));
  history.Append(series, 4000, 4);
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 3; }));
  EXPECT_EQ(receiver.posts(), 6);
  EXPECT_EQ(receiver.received()["__name__=x,instance=a:1,"].back().timestamp_ms, 4000);
  auto families = RemoteWriter::CollectMetrics({});
  EXPECT_TRUE(families.empty());
}

TEST(RemoteWriterTest, WaitsTheRetryAfterOfA429Or503InsteadOfItsBackoff) {
  FakeReceiver receiver;
  SampleHistory history;
  Labels series{{"__name__", "x"}};
  history.Append(series, 1000, 1);
  receiver.RetryAfter("1");
  receiver.Answer({429, 503, 204});
  std::unique_ptr<RemoteWriter> writer;  // backoff 10-40 ms
  ASSERT_TRUE(RemoteWriter::Create(FastOptions(receiver.url()), &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 1; }));
  const auto times = receiver.post_times();
  ASSERT_EQ(times.size(), 3u);
  // Each retry came no sooner than the second the receiver asked for.
  EXPECT_GE(times[1] - times[0], 1s);
  EXPECT_GE(times[2] - times[1], 1s);
}

TEST(RemoteWriterTest, AFullQueueDropsTheOldestAndCountsThem) {
  FakeReceiver receiver;
  SampleHistory history;
  for (int s = 0; s < 3; ++s) {
    for (int64_t t = 1; t <= 10; ++t) {
      history.Append(Labels{{"__name__", "m"}, {"s", std::to_string(s)}}, t * 1000, t);
    }
  }
  RemoteWriterOptions options = FastOptions(receiver.url());
  options.capacity = 10;
  options.max_samples_per_send = 5;
  receiver.Answer({503, 503, 503});
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();  // 30 samples into a queue of 10: the 20 oldest go
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 10; }));
  RemoteWriterStats stats = writer->stats();
  EXPECT_EQ(stats.samples_dropped, 20u);
  EXPECT_EQ(stats.samples_read, 30u);
  EXPECT_EQ(stats.pending, 0u);
  size_t received = 0;
  for (const auto& [labels, points] : receiver.received()) received += points.size();
  EXPECT_EQ(received, 10u);  // sent + dropped == read: nothing else was lost

  std::vector<std::unique_ptr<RemoteWriter>> writers;
  writers.push_back(std::move(writer));
  auto families = RemoteWriter::CollectMetrics(writers);
  bool found = false;
  for (const auto& family : families) {
    if (family.name != "txmon_remote_write_dropped_total") continue;
    found = true;
    ASSERT_EQ(family.metric.size(), 1u);
    EXPECT_EQ(family.metric[0].counter.value, 20);
    EXPECT_EQ(family.metric[0].label[0].value, "test");
  }
  EXPECT_TRUE(found);
}

TEST(RemoteWriterTest, WritesOverTlsWithBasicAuthAndRefusedCredentialsAreNotRetried) {
  std::string error;
  auto files = TlsFiles::Create(&error);
  ASSERT_TRUE(files) << error;
  WebSecurity security;
  security.tls = TlsServerConfig{};
  security.tls->cert_file = files->server_cert();
  security.tls->key_file = files->server_key();
  const std::string hash = TlsFiles::BcryptHash("txmon", "right", &error);
  ASSERT_FALSE(hash.empty()) << error;
  security.users = {{"txmon", hash}};
  FakeReceiver receiver(security);
  SampleHistory history;
  Labels series{{"__name__", "x"}};
  history.Append(series, 1000, 1);

  RemoteWriterOptions options = FastOptions(receiver.url());
  options.endpoint.tls_ca_file = files->ca_cert();
  options.endpoint.tls_server_name = "localhost";  // the certificate names it too
  options.endpoint.basic_auth_username = "txmon";
  options.endpoint.basic_auth_password = "right";
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 1; }));
  EXPECT_EQ(receiver.received()["__name__=x,instance=a:1,"].size(), 1u);

  options.endpoint.basic_auth_password = "wrong";  // 401: refused for good
  std::unique_ptr<RemoteWriter> refused;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &refused).ok());
  refused->Start(Labels{{"instance", "b:1"}});
  refused->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return refused->stats().samples_failed == 1; }));
  EXPECT_EQ(refused->stats().samples_retried, 0u);
}

TEST(RemoteWriterTest, StopAbortsARequestTheReceiverKeepsHanging) {
  FakeReceiver receiver;
  receiver.Delay(4s);
  SampleHistory history;
  history.Append(Labels{{"__name__", "x"}}, 1000, 1);
  RemoteWriterOptions options = FastOptions(receiver.url());
  options.endpoint.timeout = 30s;
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return receiver.posts() == 0 && writer->stats().pending == 1; }));
  std::this_thread::sleep_for(300ms);  // the post is under way
  const auto start = std::chrono::steady_clock::now();
  writer->Stop();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 3s) << "Stop waited for the request";
  EXPECT_EQ(writer->stats().samples_retried, 0u);  // an abort is not the receiver's failure
}

TEST(RemoteWriterTest, NeverSendsSamplesOlderThanItsStart) {
  FakeReceiver receiver;
  SampleHistory history;
  Labels series{{"__name__", "x"}};
  for (int64_t t = 1000; t <= 5000; t += 1000) history.Append(series, t, 1);
  RemoteWriterOptions options = FastOptions(receiver.url());
  options.min_timestamp_ms = 3500;  // what a previous run may have sent ends before
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 2; }));
  auto points = receiver.received()["__name__=x,instance=a:1,"];
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].timestamp_ms, 4000);
}

TEST(RemoteWriterTest, AfterARestartNeverResendsWhatItSentEvenWhenTheClockWentBack) {
  const std::string file =
      (std::filesystem::temp_directory_path() / ("txmon-rw-sent-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove(file);
  FakeReceiver receiver;
  Labels series{{"__name__", "x"}};
  RemoteWriterOptions options = FastOptions(receiver.url());
  options.sent_file = file;
  {
    SampleHistory history;
    for (int64_t t = 1000; t <= 5000; t += 1000) history.Append(series, t, 1);
    std::unique_ptr<RemoteWriter> writer;
    ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
    writer->Start(Labels{{"instance", "a:1"}});
    writer->ReadOnce();
    ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 5; }));
    writer->Stop();
  }
  // The next run starts at 2500 by its clock: it sent up to 5000 before.
  SampleHistory history;
  for (int64_t t = 3000; t <= 7000; t += 1000) history.Append(series, t, 2);
  options.min_timestamp_ms = 2500;
  std::unique_ptr<RemoteWriter> writer;
  ASSERT_TRUE(RemoteWriter::Create(options, &history, &writer).ok());
  writer->Start(Labels{{"instance", "a:1"}});
  writer->ReadOnce();
  ASSERT_TRUE(WaitUntil([&] { return writer->stats().samples_sent == 2; }));
  writer->Stop();
  auto points = receiver.received()["__name__=x,instance=a:1,"];
  ASSERT_EQ(points.size(), 7u);
  for (size_t i = 1; i < points.size(); ++i) {
    EXPECT_LT(points[i - 1].timestamp_ms, points[i].timestamp_ms) << i;
  }
  EXPECT_EQ(points.back().timestamp_ms, 7000);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace txmon::test
