#include "stream/sink_runner.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "stream/stream_record.h"
#include "stream_test_support.h"
#include "support/server_process.h"

namespace basalt::stream {
namespace {

using namespace std::chrono_literals;
using basalt::testing::wait_until;

// A sink that keeps what it received; it can be told to fail, or to acknowledge only a prefix
// and then fail (a connection dropped mid-batch).
class FakeSink final : public Sink {
 public:
  struct State {
    std::mutex mu;
    std::vector<std::string> message_ids;  // in arrival order, duplicates kept
    bool fail = false;
    size_t ack_then_fail = 0;  // >0: the next call acknowledges this many, then fails
    int calls = 0;
  };
  explicit FakeSink(std::shared_ptr<State> s) : s_(std::move(s)) {}
  DeliveryReport deliver(std::span<const SinkRecord> records) override {
    std::lock_guard lock(s_->mu);
    ++s_->calls;
    DeliveryReport r;
    if (s_->fail) {
      r.status = unavailable("fake sink down");
      return r;
    }
    size_t n = records.size();
    if (s_->ack_then_fail > 0) {
      n = std::min(n, s_->ack_then_fail);
      s_->ack_then_fail = 0;
      r.status = unavailable("fake connection dropped");
    }
    for (size_t i = 0; i < n; ++i) {
      auto e = parse_stream_record(records[i].json);
      EXPECT_TRUE(e.is_ok());
      EXPECT_EQ(records[i].key, e->user_id);
      s_->message_ids.push_back(e->message_id);
    }
    r.acknowledged = n;
    return r;
  }
  std::string description() const override { return "fake"; }

 private:
  std::shared_ptr<State> s_;
};

SinkRunnerOptions fast_options(const std::string& name) {
  SinkRunnerOptions o;
  o.name = name;
  o.batch_events = 50;
  o.poll_wait = 20ms;
  o.retry_initial = 5ms;
  o.retry_max = 20ms;
  return o;
}

size_t count_of(FakeSink::State& s) {
  std::lock_guard lock(s.mu);
  return s.message_ids.size();
}

std::vector<std::string> expected_ids(int from, int to) {
  std::vector<std::string> ids;
  for (int i = from; i < to; ++i) ids.push_back("m-" + std::to_string(i));
  return ids;
}

TEST(SinkRunner, DeliversInOrderAndCommitsItsOffset) {
  testing::TestWal w;
  MetricsRegistry metrics;
  auto state = std::make_shared<FakeSink::State>();
  SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), fast_options("fake"),
                    SystemClock::instance(), metrics);
  ASSERT_TRUE(w.append_events(0, 120).is_ok());
  ASSERT_TRUE(runner.start().is_ok());
  ASSERT_TRUE(w.append_events(120, 300).is_ok());
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == 300; }, 10s));
  runner.stop();
  EXPECT_EQ(state->message_ids, expected_ids(0, 300));
  EXPECT_EQ(*w.wal->committed("sink:fake"), 300u);
  SinkStats s = runner.stats();
  EXPECT_EQ(s.delivered, 300u);
  EXPECT_EQ(s.lag_events, 0u);
  EXPECT_TRUE(s.connected);
  std::string text = metrics.render();
  EXPECT_NE(text.find("basalt_sink_delivered_total{sink=\"fake\"} 300"), std::string::npos) << text;
  EXPECT_NE(text.find("basalt_sink_lag_events{sink=\"fake\"} 0"), std::string::npos) << text;
}

TEST(SinkRunner, RetriesOnlyWhatWasNotAcknowledged) {
  testing::TestWal w;
  MetricsRegistry metrics;
  auto state = std::make_shared<FakeSink::State>();
  state->ack_then_fail = 17;
  SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), fast_options("fake"),
                    SystemClock::instance(), metrics);
  ASSERT_TRUE(w.append_events(0, 40).is_ok());
  ASSERT_TRUE(runner.start().is_ok());
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == 40; }, 10s));
  runner.stop();
  EXPECT_EQ(state->message_ids, expected_ids(0, 40)) << "no loss, no duplicate";
  EXPECT_EQ(runner.stats().errors, 1u);
}

TEST(SinkRunner, ADeadSinkLagsWithoutBlockingAppendsOrOtherSinks) {
  testing::TestWal w;
  MetricsRegistry metrics;
  auto dead = std::make_shared<FakeSink::State>();
  dead->fail = true;
  auto alive = std::make_shared<FakeSink::State>();
  SinkRunner a(*w.wal, std::make_unique<FakeSink>(dead), fast_options("dead"),
               SystemClock::instance(), metrics);
  SinkRunner b(*w.wal, std::make_unique<FakeSink>(alive), fast_options("alive"),
               SystemClock::instance(), metrics);
  ASSERT_TRUE(a.start().is_ok());
  ASSERT_TRUE(b.start().is_ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(w.append_events(i * 20, i * 20 + 20).is_ok());
  ASSERT_TRUE(wait_until([&] { return count_of(*alive) == 200; }, 10s));
  EXPECT_EQ(a.stats().lag_events, 200u);
  EXPECT_FALSE(a.stats().connected);
  EXPECT_NE(a.stats().last_error.find("fake sink down"), std::string::npos);
  EXPECT_GT(a.stats().errors, 0u);
  EXPECT_EQ(count_of(*dead), 0u);
  // It comes back: everything arrives, in order.
  {
    std::lock_guard lock(dead->mu);
    dead->fail = false;
  }
  ASSERT_TRUE(wait_until([&] { return a.stats().position == 200; }, 10s));
  a.stop();
  b.stop();
  EXPECT_EQ(dead->message_ids, expected_ids(0, 200));
}

TEST(SinkRunner, RestartResumesWhereItStopped) {
  testing::TestWal w;
  auto state = std::make_shared<FakeSink::State>();
  {
    MetricsRegistry metrics;
    SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), fast_options("fake"),
                      SystemClock::instance(), metrics);
    ASSERT_TRUE(w.append_events(0, 100).is_ok());
    ASSERT_TRUE(runner.start().is_ok());
    ASSERT_TRUE(wait_until([&] { return runner.stats().position == 100; }, 10s));
  }
  ASSERT_TRUE(w.append_events(100, 150).is_ok());
  w.reopen();
  MetricsRegistry metrics;
  SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), fast_options("fake"),
                    SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == 150; }, 10s));
  runner.stop();
  EXPECT_EQ(state->message_ids, expected_ids(0, 150));
}

TEST(SinkRunner, ForwardsOnlyItsSources) {
  testing::TestWal w;
  MetricsRegistry metrics;
  auto state = std::make_shared<FakeSink::State>();
  SinkRunnerOptions o = fast_options("web-only");
  o.sources = {"web"};
  SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), o, SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  ASSERT_TRUE(w.append_events(0, 10, "app").is_ok());
  ASSERT_TRUE(w.append_events(10, 20, "web").is_ok());
  ASSERT_TRUE(w.append_events(20, 30, "app").is_ok());
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == 30; }, 10s));
  runner.stop();
  EXPECT_EQ(state->message_ids, expected_ids(10, 20));
  EXPECT_EQ(runner.stats().skipped, 20u);
}

TEST(SinkRunner, DropOldestSkipsADeadSinkPastTheDiskBudgetAndCountsIt) {
  constexpr uint64_t kSegment = 16 << 10;
  testing::TestWal w(kSegment, 6 * kSegment);
  MetricsRegistry metrics;
  auto state = std::make_shared<FakeSink::State>();
  state->fail = true;
  SinkRunnerOptions o = fast_options("lossy");
  o.overflow = OverflowPolicy::kDropOldest;
  o.disk_budget_bytes = w.options.disk_budget_bytes;
  o.segment_bytes = kSegment;
  SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), o, SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  // Far more than the budget: appends never fail, old records are dropped for this sink.
  int n = 0;
  for (int round = 0; round < 100; ++round) {
    Status s;
    ASSERT_TRUE(wait_until(
        [&] {
          s = w.append_events(n, n + 20);
          return s.is_ok();
        },
        5s))
        << s.to_string();
    n += 20;
  }
  ASSERT_TRUE(wait_until([&] { return runner.stats().dropped > 0; }, 10s));
  EXPECT_LE(w.wal->stats().bytes_on_disk, w.options.disk_budget_bytes + kSegment);
  {
    std::lock_guard lock(state->mu);
    state->fail = false;
  }
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == static_cast<wal::Lsn>(n); }, 10s));
  runner.stop();
  SinkStats s = runner.stats();
  EXPECT_EQ(s.delivered + s.dropped, static_cast<uint64_t>(n));
  // What was delivered is the newest part, in order.
  ASSERT_FALSE(state->message_ids.empty());
  EXPECT_EQ(state->message_ids.back(), "m-" + std::to_string(n - 1));
  EXPECT_NE(metrics.render().find("basalt_sink_dropped_total{sink=\"lossy\"} " +
                                  std::to_string(s.dropped)),
            std::string::npos);
}

TEST(SinkRunner, BlockKeepsSegmentsAndTheWalRefusesAppendsPastTheBudget) {
  constexpr uint64_t kSegment = 16 << 10;
  testing::TestWal w(kSegment, 4 * kSegment);
  MetricsRegistry metrics;
  auto state = std::make_shared<FakeSink::State>();
  state->fail = true;
  SinkRunnerOptions o = fast_options("strict");
  o.disk_budget_bytes = w.options.disk_budget_bytes;
  o.segment_bytes = kSegment;
  SinkRunner runner(*w.wal, std::make_unique<FakeSink>(state), o, SystemClock::instance(), metrics);
  ASSERT_TRUE(runner.start().is_ok());
  int n = 0;
  Status refused;
  while (n < 20000) {
    refused = w.append_events(n, n + 20);
    if (!refused.is_ok()) break;
    n += 20;
  }
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  {
    std::lock_guard lock(state->mu);
    state->fail = false;
  }
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == static_cast<wal::Lsn>(n); }, 10s));
  ASSERT_TRUE(w.append_events(n, n + 20).is_ok()) << "room again once the sink caught up";
  n += 20;
  ASSERT_TRUE(wait_until([&] { return runner.stats().position == static_cast<wal::Lsn>(n); }, 10s));
  runner.stop();
  EXPECT_EQ(runner.stats().dropped, 0u);
  EXPECT_EQ(state->message_ids, expected_ids(0, n));
}

}  // namespace
}  // namespace basalt::stream
