// Remote write into a real Prometheus (Debian's 2.42, started here with
// --web.enable-remote-write-receiver): the running demo shop's series arrive
// at the history's 1 s resolution with the agent's own values; the receiver
// down for 30 s and back loses nothing within the queue's capacity and
// counts the rest as dropped. Prints samples/s, bytes per sample and how
// soon a sample is queryable in Prometheus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "agent/base/wall_clock.h"
#include "tests/support/live_shop.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/running_agent.h"

namespace txmon::test {
namespace {

using namespace std::chrono_literals;

std::string Instance(const RunningAgent& agent) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" +
         std::to_string(const_cast<RunningAgent&>(agent).agent().web_port());
}

double WriterValue(const RunningAgent& agent, const std::string& name) {
  return agent.Scrape().Sum(name);
}

// label set (without instance and job) -> value, at `time_s`.
std::map<std::string, double> ByLabels(const std::vector<PromSample>& samples) {
  std::map<std::string, double> out;
  for (const PromSample& s : samples) {
    std::string key;
    for (const auto& [name, value] : s.labels) {
      if (name != "instance" && name != "job") key += name + "=" + value + ",";
    }
    out[key] = s.value;
  }
  return out;
}

std::map<std::string, double> Query(const std::string& base_url, const std::string& expr,
                                    double time_s) {
  std::vector<PromSample> samples;
  std::string error;
  EXPECT_TRUE(QueryInstant(base_url, expr, time_s, &samples, &error)) << expr << ": " << error;
  return ByLabels(samples);
}

bool SameValue(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

std::unique_ptr<PrometheusServer> StartReceiver(std::string* error) {
  PrometheusOptions options;
  options.extra_args = {"--web.enable-remote-write-receiver"};
  return PrometheusServer::Start(options, error);
}

std::unique_ptr<LiveShop> StartShop(uint64_t seed, std::string* error) {
  DemoShopOptions shop_options;
  shop_options.simulator.seed = seed;
  shop_options.simulator.orders_per_second = 20;
  shop_options.simulator.time_scale = 30;
  shop_options.simulator.record_each_order = false;
  auto live = LiveShop::Create(shop_options, error);
  if (live && !live->shop().Start().ok()) return nullptr;
  return live;
}

TEST(RemoteWriteIntegrationTest, TheShopsSeriesArriveEverySecondWithTheAgentsValues) {
  std::string error;
  auto prometheus = StartReceiver(&error);
  ASSERT_TRUE(prometheus) << error;
  auto live = StartShop(21, &error);
  ASSERT_TRUE(live) << error;
  AgentOptions options = live->AgentOptionsFor("remote-write-test");
  RemoteWriteConfig remote;
  remote.url = prometheus->url() + "/api/v1/write";
  remote.name = "prometheus";
  options.config.remote_write = {remote};
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_TRUE(agent) << error;
  const std::string instance = Instance(*agent);
  const std::string selector = "{instance=\"" + instance + "\"}";

  // How soon a sample is queryable: the newest timestamp of one series,
  // polled every 20 ms; each time it moves, now minus that timestamp.
  const double start_s = WallClockMs() / 1000.0;
  std::vector<double> delays_ms;
  double last_ts = 0;
  const auto measure_until = std::chrono::steady_clock::now() + 14s;
  while (std::chrono::steady_clock::now() < measure_until) {
    std::vector<PromSample> samples;
    if (prometheus->Query("timestamp(txmon_build_info" + selector + ")", &samples, &error) &&
        samples.size() == 1 && samples[0].value > last_ts) {
      if (last_ts > 0) delays_ms.push_back(WallClockMs() - samples[0].value * 1000);
      last_ts = samples[0].value;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(delays_ms.size(), 5u) << "samples stopped arriving; prometheus log:\n"
                                  << prometheus->Log();
  std::sort(delays_ms.begin(), delays_ms.end());

  // Compare at a time whose samples were all sent: 2.5 s before the newest.
  const double sent_s = WriterValue(*agent, "txmon_remote_write_highest_sent_timestamp_seconds");
  ASSERT_GT(sent_s, start_s + 11);
  const double at = std::floor(sent_s) - 2.5;
  const std::string agent_url = agent->url("");
  auto in_agent = Query(agent_url, "{__name__=~\".+\"}", at);
  auto in_prometheus = Query(prometheus->url(), selector, at);
  ASSERT_GT(in_agent.size(), 100u);
  size_t equal = 0;
  for (const auto& [labels, value] : in_agent) {
    auto it = in_prometheus.find(labels);
    if (it == in_prometheus.end()) {
      ADD_FAILURE() << "missing in Prometheus: " << labels;
      continue;
    }
    if (SameValue(it->second, value)) {
      ++equal;
    } else {
      ADD_FAILURE() << labels << ": agent " << value << ", Prometheus " << it->second;
    }
  }
  EXPECT_EQ(equal, in_agent.size());
  EXPECT_EQ(in_prometheus.size(), in_agent.size());

  // Every sample of the last 10 s: one per second per series, as the agent has.
  // (count_over_time drops the name: one query per metric name.)
  std::set<std::string> names;
  for (const auto& [labels, value] : in_agent) names.insert(labels.substr(9, labels.find(',') - 9));
  std::map<std::string, double> counts_agent, counts_prometheus;
  for (const std::string& name : names) {
    for (const auto& [labels, count] : Query(agent_url, "count_over_time(" + name + "[10s])", at)) {
      counts_agent[name + "," + labels] = count;
    }
    for (const auto& [labels, count] :
         Query(prometheus->url(),
               "count_over_time(" + name + "{instance=\"" + instance + "\"}[10s])", at)) {
      counts_prometheus[name + "," + labels] = count;
    }
  }
  EXPECT_EQ(counts_prometheus, counts_agent);
  double build_info_samples = 0;
  for (const auto& [labels, count] : counts_prometheus) {
    if (labels.starts_with("txmon_build_info,")) build_info_samples = count;
  }
  EXPECT_EQ(build_info_samples, 10) << "txmon_build_info: not one sample a second";

  const double seconds = WallClockMs() / 1000.0 - start_s;
  const double sent = WriterValue(*agent, "txmon_remote_write_samples_total");
  const double bytes = WriterValue(*agent, "txmon_remote_write_bytes_total");
  EXPECT_EQ(WriterValue(*agent, "txmon_remote_write_failed_total"), 0);
  EXPECT_EQ(WriterValue(*agent, "txmon_remote_write_dropped_total"), 0);
  std::printf(
      "remote write: %zu series, %.0f samples in %.1f s = %.0f samples/s, %.2f bytes/sample "
      "after snappy; sample time -> queryable in Prometheus: p50 %.0f ms, max %.0f ms (%zu "
      "samples); a commit waits 0-1 s more for the next 1 s sample\n",
      in_agent.size(), sent, seconds, sent / seconds, bytes / sent, delays_ms[delays_ms.size() / 2],
      delays_ms.back(), delays_ms.size());
  live->shop().Stop();
}

TEST(RemoteWriteIntegrationTest, AThirtySecondOutageLosesNothingWithinTheQueuesCapacity) {
  std::string error;
  auto prometheus = StartReceiver(&error);
  ASSERT_TRUE(prometheus) << error;
  auto live = StartShop(22, &error);
  ASSERT_TRUE(live) << error;
  AgentOptions options = live->AgentOptionsFor("remote-write-outage-test");
  RemoteWriteConfig remote;
  remote.url = prometheus->url() + "/api/v1/write";
  remote.capacity = 3000;  // about 15 s of the shop's series: a 30 s outage overflows it
  remote.max_samples_per_send = 500;
  remote.max_backoff_ms = 1000;
  options.config.remote_write = {remote};
  auto agent = RunningAgent::Start(std::move(options), &error);
  ASSERT_TRUE(agent) << error;
  const std::string instance = Instance(*agent);
  ASSERT_TRUE(agent->WaitFor(
      [](const MetricsText& m) { return m.Sum("txmon_remote_write_samples_total") > 0; }, 30s));
  std::this_thread::sleep_for(3s);

  prometheus->Stop();
  const double down_s = WallClockMs() / 1000.0;
  std::this_thread::sleep_for(30s);
  MetricsText before = agent->Scrape();
  const double pending_peak = before.Sum("txmon_remote_write_pending_samples");
  EXPECT_GT(before.Sum("txmon_remote_write_retried_total"), 0);
  EXPECT_GT(before.Sum("txmon_remote_write_dropped_total"), 0);
  EXPECT_LE(pending_peak, 3000 + 500);  // the queue and one batch in flight
  ASSERT_TRUE(prometheus->Restart(&error)) << error;
  const double up_s = WallClockMs() / 1000.0;

  // Back: the queue drains (samples newer than the restart arrive).
  ASSERT_TRUE(agent->WaitFor(
      [&](const MetricsText& m) {
        return m.Sum("txmon_remote_write_highest_sent_timestamp_seconds") > up_s + 2;
      },
      60s))
      << prometheus->Log();
  live->shop().Stop();
  ASSERT_TRUE(agent->Stop().ok());  // the counters are final
  MetricsText after = agent->Scrape();
  const double read = after.Sum("txmon_remote_write_read_samples_total");
  const double sent = after.Sum("txmon_remote_write_samples_total");
  const double dropped = after.Sum("txmon_remote_write_dropped_total");
  const double failed = after.Sum("txmon_remote_write_failed_total");
  const double pending = after.Sum("txmon_remote_write_pending_samples");
  // Every sample read is delivered, counted as dropped, or still queued.
  EXPECT_EQ(read, sent + dropped + failed + pending);
  EXPECT_EQ(failed, 0);

  // Prometheus holds what was delivered: every sample, less at most one
  // batch it stored without answering while it went down (sent again; an
  // identical duplicate is not stored twice).
  // (count_over_time drops the name: one query per metric name.)
  const std::string selector = "{instance=\"" + instance + "\"}";
  std::set<std::string> names;
  for (const auto& [labels, value] : Query(prometheus->url(), selector, WallClockMs() / 1000.0)) {
    names.insert(labels.substr(9, labels.find(',') - 9));
  }
  ASSERT_GT(names.size(), 10u);
  double stored = 0;
  for (const std::string& name : names) {
    for (const auto& [labels, count] :
         Query(prometheus->url(), "sum(count_over_time(" + name + selector + "[10m]))",
               WallClockMs() / 1000.0)) {
      stored += count;
    }
  }
  EXPECT_LE(stored, sent);
  EXPECT_GE(stored, sent - 500);
  std::printf(
      "remote write outage: receiver down %.1f s; %.0f samples read, %.0f delivered (%.0f in "
      "Prometheus), %.0f dropped past the capacity of 3000, %.0f pending at the peak\n",
      up_s - down_s, read, sent, stored, dropped, pending_peak);
}

}  // namespace
}  // namespace txmon::test
