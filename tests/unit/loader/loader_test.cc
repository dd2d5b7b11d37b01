// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

#include "loader/loader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/event.h"
#include "support/memory_wal.h"
#include "warehouse/warehouse.h"

namespace basalt::loader {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kHour = 3600'000'000;
constexpr int64_t kT0 = 1795514400'000000;  // 2026-11-24T10:00:00Z

std::string event_record(const std::string& message_id, int64_t received_at,
                         const std::string& source = "web") {
  event::Event e;
  e.event_id = "evt-" + message_id + "-" + source;
  e.message_id = message_id;
  e.source = source;
  e.event = "Clicked";
  e.anonymous_id = "anon";
  e.timestamp_us = received_at;
  e.received_at_us = received_at;
  std::string out;
  event::encode(e, out);
  return out;
}

// A warehouse that fails the next `failures` loads, then behaves like the real one it wraps.
class FlakyWarehouse final : public warehouse::Warehouse {
 public:
  explicit FlakyWarehouse(warehouse::Warehouse& inner) : inner_(inner) {}
  std::atomic<int> failures{0};
  std::atomic<int> loads{0};
  std::atomic<int> delay_ms{0};  // each load takes at least this long
  size_t bulk = 0;               // bulk_events(); set before the loader starts
  std::mutex mu;
  std::vector<std::pair<size_t, uint64_t>> stored;  // (events, next_lsn) of each stored load

  size_t bulk_events() const override { return bulk; }

  Status ensure_schema() override { return inner_.ensure_schema(); }
  Result<std::optional<uint64_t>> load_offset(const std::string& c) override {
    return inner_.load_offset(c);
  }
  Status load(const warehouse::LoadBatch& b, const std::string& c) override {
    ++loads;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (failures > 0) {
      --failures;
      return unavailable("injected load failure");
    }
    Status s = inner_.load(b, c);
    if (s.is_ok()) {
      std::lock_guard lock(mu);
      stored.emplace_back(b.events.size(), b.next_lsn);
    }
    return s;
  }
  Status for_each_message_id(
      int64_t since, const std::function<void(std::string_view, std::string_view)>& fn) override {
    return inner_.for_each_message_id(since, fn);
  }
  Status for_each_loaded_message(
      int64_t since,
      const std::function<void(std::string_view, std::string_view, int64_t)>& fn) override {
    return inner_.for_each_loaded_message(since, fn);
  }
  Result<warehouse::QueryResult> query(const std::string& sql,
                                       const warehouse::QueryOptions& o) override {
    return inner_.query(sql, o);
  }

 private:
  warehouse::Warehouse& inner_;
};

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = warehouse::make_warehouse({.engine = "duckdb", .path = "", .read_only = false});
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    real_ = std::move(*w);
    flaky_ = std::make_unique<FlakyWarehouse>(*real_);
    options_.batch_events = 100;
    options_.batch_interval = 20ms;
    options_.retry_initial = 5ms;
    options_.retry_max = 20ms;
  }

  std::unique_ptr<Loader> make_loader() {
    return std::make_unique<Loader>(wal_, *flaky_, options_, clock_, metrics_);
  }
  void append(std::vector<std::string> records) {
    ASSERT_TRUE(wal_.append_sync(std::move(records)).is_ok());
  }
  int64_t count(const std::string& sql) {
    auto r = real_->query(sql, {});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::get<int64_t>(r->rows.at(0).at(0)) : -1;
  }
  // Waits until the loader's position reaches `lsn`.
  bool wait_for_position(const Loader& l, wal::Lsn lsn, std::chrono::milliseconds limit = 10s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (l.stats().position >= lsn) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }

  testing::MemoryWal wal_;
  std::unique_ptr<warehouse::Warehouse> real_;
  std::unique_ptr<FlakyWarehouse> flaky_;
  LoaderOptions options_;
  ManualClock clock_{kT0 + kHour};
  MetricsRegistry metrics_;
};

TEST_F(LoaderTest, LoadsEverythingAndCommitsToTheWal) {
  std::vector<std::string> recs;
  for (int i = 0; i < 1000; ++i) recs.push_back(event_record("m" + std::to_string(i), kT0 + i));
  append(recs);
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  ASSERT_TRUE(wait_for_position(*loader, 1000));
  EXPECT_EQ(count("SELECT count(*) FROM events"), 1000);
  EXPECT_EQ(*wal_.committed("warehouse"), 1000u);
  EXPECT_EQ(*real_->load_offset("warehouse"), std::optional<uint64_t>(1000));
  auto s = loader->stats();
  EXPECT_EQ(s.events, 1000u);
  EXPECT_GE(s.batches, 10u);  // batch_events = 100
  EXPECT_EQ(s.lag_events, 0u);
  EXPECT_EQ(s.dedup_ids, 1000u);
  loader->stop();
  loader->stop();  // idempotent
  std::string text = metrics_.render();
  EXPECT_NE(text.find("basalt_loader_events_total 1000"), std::string::npos) << text;
  EXPECT_NE(text.find("basalt_loader_batch_seconds_count"), std::string::npos);
  EXPECT_NE(text.find("basalt_loader_dedup_ids 1000"), std::string::npos);
  // The loader thread's CPU time at its last commit: some, and no more than the process used.
  const double cpu = metrics_.gauge("basalt_loader_thread_cpu_seconds", "").value();
  EXPECT_GT(cpu, 0);
  EXPECT_LE(cpu, process_cpu_seconds());
}

TEST_F(LoaderTest, ExactlyOnceAcrossStopsAndRestartsAtRandomPoints) {
  // A dedup window of 1 µs: only the stored offset can prevent double loads here.
  options_.dedup_window = 1us;
  constexpr int kTotal = 3000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kTotal; i += 30) {
      std::vector<std::string> recs;
      for (int k = i; k < i + 30; ++k) recs.push_back(event_record("m" + std::to_string(k), kT0));
      EXPECT_TRUE(wal_.append_sync(std::move(recs)).is_ok());
      std::this_thread::sleep_for(1ms);
    }
    done = true;
  });
  std::mt19937 rng(42);
  int restarts = 0;
  while (!done || restarts < 3) {
    auto loader = make_loader();
    ASSERT_TRUE(loader->start().is_ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    loader->stop();
    EXPECT_EQ(loader->stats().duplicates, 0u);
    ++restarts;
  }
  writer.join();
  auto last = make_loader();
  ASSERT_TRUE(last->start().is_ok());
  last->stop();  // drains everything durable
  EXPECT_EQ(count("SELECT count(*) FROM events"), kTotal);
  EXPECT_EQ(count("SELECT count(DISTINCT message_id) FROM events"), kTotal);
  EXPECT_EQ(*real_->load_offset("warehouse"), std::optional<uint64_t>(kTotal));
  EXPECT_GE(restarts, 3);
}

TEST_F(LoaderTest, DuplicatesAreDroppedWithinTheWindowOnly) {
  append({event_record("a", kT0), event_record("a", kT0 + 1), event_record("b", kT0),
          event_record("a", kT0, "ios")});
  {
    auto loader = make_loader();
    ASSERT_TRUE(loader->start().is_ok());
    ASSERT_TRUE(wait_for_position(*loader, 4));
    EXPECT_EQ(loader->stats().duplicates, 1u);
    loader->stop();
  }
  // After a restart the index is rebuilt from the warehouse: still a duplicate.
  append({event_record("b", kT0 + kHour)});
  {
    auto loader = make_loader();
    ASSERT_TRUE(loader->start().is_ok());
    EXPECT_EQ(loader->stats().dedup_ids, 3u);
    ASSERT_TRUE(wait_for_position(*loader, 5));
    EXPECT_EQ(loader->stats().duplicates, 1u);
    // A day and more later, the same ids are new again.
    clock_.advance_us(26 * kHour);
    append({event_record("a", kT0 + 26 * kHour)});
    ASSERT_TRUE(wait_for_position(*loader, 6));
    EXPECT_EQ(loader->stats().duplicates, 1u);
    loader->stop();
  }
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE message_id = 'a' AND source = 'web'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE message_id = 'a' AND source = 'ios'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE message_id = 'b'"), 1);
}

TEST_F(LoaderTest, UndecodableRecordsAreQuarantinedAndLoadingGoesOn) {
  std::string truncated = event_record("t", kT0);
  truncated.resize(truncated.size() / 2);
  event::QuarantinedEvent q{"web", kT0, "not JSON", "{oops", "10.0.0.1"};
  std::string qrec;
  event::encode(q, qrec);
  append({event_record("a", kT0), std::string("\x7f\xff garbage", 10), truncated, qrec,
          event_record("b", kT0)});
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  ASSERT_TRUE(wait_for_position(*loader, 5));
  loader->stop();
  EXPECT_EQ(count("SELECT count(*) FROM events"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM quarantine"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM quarantine WHERE reason LIKE 'undecodable WAL record: %'"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM quarantine WHERE reason LIKE '%LSN 1%'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM quarantine WHERE reason = 'not JSON' AND raw = '{oops'"),
            1);
  EXPECT_EQ(loader->stats().undecodable, 2u);
}

TEST_F(LoaderTest, WarehouseFailuresAreRetriedWithoutLossOrSkips) {
  flaky_->failures = 4;
  std::vector<std::string> recs;
  for (int i = 0; i < 500; ++i) recs.push_back(event_record("m" + std::to_string(i), kT0));
  append(recs);
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  ASSERT_TRUE(wait_for_position(*loader, 500));
  loader->stop();
  EXPECT_EQ(count("SELECT count(*) FROM events"), 500);
  EXPECT_EQ(count("SELECT count(DISTINCT message_id) FROM events"), 500);
  EXPECT_EQ(loader->stats().errors, 4u);
  EXPECT_NE(metrics_.render().find("basalt_loader_errors_total 4"), std::string::npos);
}

// The result cache's contract: each batch is announced before its rows can be seen and ended
// once they are, once per batch however many tries the store takes.
TEST_F(LoaderTest, ListenersHearOfEachBatchBeforeAndAfterItsRowsAreVisible) {
  flaky_->failures = 2;
  struct Heard {
    bool stored;
    uint64_t events;
    int64_t min_us, max_us, rows_visible;
  };
  std::vector<Heard> heard;  // written on the loader thread, read after stop()
  auto loader = make_loader();
  loader->add_commit_listener([&](const CommitInfo& c) {
    heard.push_back(
        {c.stored, c.events, c.min_event_us, c.max_event_us, count("SELECT count(*) FROM events")});
  });
  std::vector<std::string> recs;
  for (int i = 0; i < 250; ++i) recs.push_back(event_record("m" + std::to_string(i), kT0 + i));
  append(recs);
  ASSERT_TRUE(loader->start().is_ok());
  ASSERT_TRUE(wait_for_position(*loader, 250));
  loader->stop();
  ASSERT_EQ(heard.size() % 2, 0u);
  ASSERT_GE(heard.size(), 6u);  // batch_events = 100: at least three batches
  int64_t loaded = 0;
  for (size_t i = 0; i < heard.size(); i += 2) {
    const Heard& before = heard[i];
    const Heard& after = heard[i + 1];
    EXPECT_FALSE(before.stored);
    EXPECT_TRUE(after.stored);
    EXPECT_EQ(before.events, after.events);
    EXPECT_EQ(before.min_us, kT0 + loaded);
    EXPECT_EQ(before.max_us, kT0 + loaded + static_cast<int64_t>(before.events) - 1);
    EXPECT_EQ(after.min_us, before.min_us);
    EXPECT_EQ(before.rows_visible, loaded) << "announced before its rows are visible";
    loaded += static_cast<int64_t>(before.events);
    EXPECT_EQ(after.rows_visible, loaded) << "ended once they are";
  }
  EXPECT_EQ(loaded, 250);
  EXPECT_EQ(loader->stats().errors, 2u);
}

// After a slow store the next batch gathers for (1 − busy_share) / busy_share times as long
// (bounded by max_batch_interval), so a busy loader stores fewer, larger batches.
TEST_F(LoaderTest, PacesBatchesToTheLastStoreTime) {
  options_.batch_events = 1'000'000;
  options_.busy_share = 0.2;  // gather 4 × the store time
  options_.max_batch_interval = 3s;
  flaky_->delay_ms = 100;
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  append({event_record("m0", kT0)});
  ASSERT_TRUE(wait_for_position(*loader, 1));
  const int loads_after_first = flaky_->loads.load();
  // Records arriving now wait for the paced interval (about 400 ms), not batch_interval (20 ms).
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= 5; ++i) {
    append({event_record("m" + std::to_string(i), kT0)});
    std::this_thread::sleep_for(30ms);
  }
  ASSERT_TRUE(wait_for_position(*loader, 6));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_EQ(flaky_->loads.load(), loads_after_first + 1) << "the five records made one batch";
  const std::string text = metrics_.render();
  const std::string name = "\nbasalt_loader_batch_interval_seconds ";
  const size_t at = text.find(name);
  ASSERT_NE(at, std::string::npos) << text;
  const double interval = std::stod(text.substr(at + name.size()));
  EXPECT_GE(interval, 0.4);  // 4 × at least 100 ms
  EXPECT_LE(interval, 3.0);
  loader->stop();
  EXPECT_EQ(count("SELECT count(*) FROM events"), 6);
}

TEST_F(LoaderTest, LoadsMultiplesOfTheWarehousesBulkSizeAndKeepsTheRestForLater) {
  flaky_->bulk = 40;
  options_.batch_events = 100;
  std::vector<std::string> records;
  for (int i = 0; i < 130; ++i) {
    // Record 5 repeats record 4's messageId: a duplicate, so the first batch reads one more.
    records.push_back(event_record("m" + std::to_string(i == 5 ? 4 : i), kT0 + i));
  }
  append(records);
  const wal::Lsn end = wal_.stats().durable_end;
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  ASSERT_TRUE(wait_for_position(*loader, end));
  {
    std::lock_guard lock(flaky_->mu);
    // 100 records read: 80 events (records 0..80), 19 kept; then 19 + 30: 40 events, 9 kept;
    // then the last 9, fewer than the bulk size.
    ASSERT_EQ(flaky_->stored.size(), 3u);
    EXPECT_EQ(flaky_->stored[0], std::make_pair(size_t{80}, end - 130 + 81));
    EXPECT_EQ(flaky_->stored[1], std::make_pair(size_t{40}, end - 130 + 121));
    EXPECT_EQ(flaky_->stored[2], std::make_pair(size_t{9}, end));
  }
  EXPECT_EQ(count("SELECT count(*) FROM events"), 129);
  EXPECT_EQ(count("SELECT count(DISTINCT message_id) FROM events"), 129);
  EXPECT_EQ(loader->stats().duplicates, 1u);

  // Stopping loads everything durable, kept records included, whatever the bulk size.
  std::vector<std::string> more;
  for (int i = 130; i < 180; ++i) more.push_back(event_record("m" + std::to_string(i), kT0 + i));
  append(more);
  loader->stop();
  EXPECT_EQ(loader->stats().position, wal_.stats().durable_end);
  EXPECT_EQ(count("SELECT count(*) FROM events"), 179);
}

TEST_F(LoaderTest, StopDrainsWhatIsDurable) {
  options_.batch_interval = 10s;  // a batch would otherwise wait for more records
  options_.batch_events = 1'000'000;
  std::vector<std::string> recs;
  for (int i = 0; i < 700; ++i) recs.push_back(event_record("m" + std::to_string(i), kT0));
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  append(recs);
  auto t0 = std::chrono::steady_clock::now();
  loader->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(count("SELECT count(*) FROM events"), 700);
  EXPECT_EQ(*wal_.committed("warehouse"), 700u);
}

TEST_F(LoaderTest, LagMetricsMoveAndStuckReportsAStalledLoader) {
  flaky_->failures = 1'000'000;
  std::vector<std::string> recs;
  for (int i = 0; i < 100; ++i) recs.push_back(event_record("m" + std::to_string(i), kT0));
  append(recs);
  auto loader = make_loader();
  ASSERT_TRUE(loader->start().is_ok());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (loader->stats().errors < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  auto s = loader->stats();
  EXPECT_EQ(s.lag_events, 100u);
  EXPECT_NEAR(s.lag_seconds, 3600.0, 1.0);  // oldest unloaded event is an hour old
  EXPECT_FALSE(loader->stuck());
  clock_.advance_us(31'000'000);
  EXPECT_TRUE(loader->stuck());
  std::this_thread::sleep_for(50ms);
  EXPECT_GT(loader->stats().lag_seconds, 3630.0);
  EXPECT_NE(metrics_.render().find("basalt_loader_lag_events 100"), std::string::npos);

  flaky_->failures = 0;
  ASSERT_TRUE(wait_for_position(*loader, 100));
  EXPECT_FALSE(loader->stuck());
  s = loader->stats();
  EXPECT_EQ(s.lag_events, 0u);
  EXPECT_EQ(s.lag_seconds, 0.0);
  loader->stop();
}

TEST_F(LoaderTest, StartFailsWhenTheWarehouseCannotBeRead) {
  ASSERT_TRUE(real_->query("DROP TABLE basalt_offsets", {}).is_ok());
  auto loader = make_loader();
  EXPECT_FALSE(loader->start().is_ok());
  loader->stop();  // harmless without a thread
}

}  // namespace
}  // namespace basalt::loader
