#include "stream/redis_sink.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "stream/sink_runner.h"
#include "stream/stream_record.h"
#include "stream_test_support.h"
#include "support/redis_server.h"

namespace basalt::stream {
namespace {

using namespace std::chrono_literals;
using basalt::testing::RedisServer;
using basalt::testing::wait_until;

// The message ids in stream `key`, in stream order.
std::vector<std::string> stream_message_ids(const RedisServer& redis, const std::string& key,
                                            int db = 0) {
  std::vector<std::string> flat = redis.command({"XRANGE", key, "-", "+"}, db);
  // Each entry flattens to: id, "data", json.
  std::vector<std::string> ids;
  for (size_t i = 0; i + 2 < flat.size(); i += 3) {
    EXPECT_EQ(flat[i + 1], "data");
    auto e = parse_stream_record(flat[i + 2]);
    EXPECT_TRUE(e.is_ok()) << flat[i + 2];
    if (e) ids.push_back(e->message_id);
  }
  return ids;
}

SinkRunnerOptions fast_options() {
  SinkRunnerOptions o;
  o.name = "redis";
  o.batch_events = 100;
  o.poll_wait = 20ms;
  o.retry_initial = 20ms;
  o.retry_max = 200ms;
  return o;
}

TEST(RedisUrl, Parses) {
  auto a = parse_redis_url("redis://:secret@cache.local:6380/2");
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->host, "cache.local");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  EXPECT_EQ(a->password, "secret");
  auto d = parse_redis_url("redis://localhost");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->port, 6379);
  EXPECT_EQ(d->db, 0);
  for (const char* bad :
       {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x", "redis://h:p"}) {
    auto r = parse_redis_url(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(redis_stream_key("basalt:events:{source}", "web"), "basalt:events:web");
  EXPECT_EQ(redis_stream_key("all", "web"), "all");
}

TEST(RedisSink, EventsArriveInOrderAndCompleteInAStreamPerSource) {
  RedisServer redis;
  testing::TestWal w;
  MetricsRegistry metrics;
  RedisSinkOptions ro;
  ro.address = *parse_redis_url(redis.url(3));
  SinkRunner runner(*w.wal, make_redis_sink(ro), fast_options(), SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  std::vector<std::string> app, web;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(w.append_events(i * 20, i * 20 + 10, "app").is_ok());
    ASSERT_TRUE(w.append_events(i * 20 + 10, i * 20 + 20, "web").is_ok());
    for (int k = 0; k < 10; ++k) {
      app.push_back("m-" + std::to_string(i * 20 + k));
      web.push_back("m-" + std::to_string(i * 20 + 10 + k));
    }
  }
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == 1000; }, 20s));
  runner.stop();
  EXPECT_EQ(redis.command({"XLEN", "basalt:events:app"}, 3), std::vector<std::string>{"500"});
  EXPECT_EQ(stream_message_ids(redis, "basalt:events:app", 3), app);
  EXPECT_EQ(stream_message_ids(redis, "basalt:events:web", 3), web);
  EXPECT_EQ(redis.command({"EXISTS", "basalt:events:app"}, 0), std::vector<std::string>{"0"});
  EXPECT_EQ(runner.stats().delivered, 1000u);
}

TEST(RedisSink, KillAndRestartRedisDuringARunLosesNothingAndBlocksNothing) {
  RedisServer redis;
  testing::TestWal w;
  MetricsRegistry metrics;
  RedisSinkOptions ro;
  ro.address = *parse_redis_url(redis.url());
  ro.stream = "events";
  ro.timeout = 1000ms;
  SinkRunner runner(*w.wal, make_redis_sink(ro), fast_options(), SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());

  std::atomic<int> appended{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> slowest_append_us{0};
  std::thread producer([&] {
    while (!stop) {
      int n = appended;
      auto t0 = std::chrono::steady_clock::now();
      Status s = w.append_events(n, n + 5);
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
      slowest_append_us = std::max<int64_t>(slowest_append_us, us);
      ASSERT_TRUE(s.is_ok()) << s.to_string();
      appended += 5;
      std::this_thread::sleep_for(2ms);
    }
  });
  ASSERT_TRUE(wait_until([&] { return runner.stats().delivered > 200; }, 20s));
  redis.kill9();
  int at_kill = appended;
  ASSERT_TRUE(wait_until([&] { return !runner.stats().connected; }, 10s));
  ASSERT_TRUE(wait_until([&] { return appended > at_kill + 200; }, 10s))
      << "ingestion kept going while redis was down";
  EXPECT_GT(runner.stats().lag_events, 0u);
  redis.restart();
  std::this_thread::sleep_for(300ms);
  stop = true;
  producer.join();
  int total = appended;
  ASSERT_TRUE(
      wait_until([&] { return runner.stats().position == static_cast<wal::Lsn>(total); }, 30s));
  runner.stop();
  EXPECT_LT(slowest_append_us, 2'000'000) << "an append waited on the sink";

  // At least once: every event is there, first occurrences in order; a duplicate can only be
  // a resend of records whose replies were lost in the kill.
  std::vector<std::string> ids = stream_message_ids(redis, "events");
  std::set<std::string> seen;
  std::vector<std::string> first;
  for (const auto& id : ids) {
    if (seen.insert(id).second) first.push_back(id);
  }
  std::vector<std::string> expected;
  for (int i = 0; i < total; ++i) expected.push_back("m-" + std::to_string(i));
  EXPECT_EQ(first, expected);
  EXPECT_LE(ids.size() - first.size(), 200u);
  EXPECT_GT(runner.stats().errors, 0u);
}

}  // namespace
}  // namespace basalt::stream
