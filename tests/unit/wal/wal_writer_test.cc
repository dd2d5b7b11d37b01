#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <mutex>
#include <thread>

#include "wal/wal.h"
#include "wal_test_support.h"

namespace basalt::wal {
namespace {

using namespace std::chrono_literals;
using testing::Faults;
using testing::FaultyFileSystem;
using testing::payload;
using testing::read_all;
using testing::small_options;
using testing::TempDir;

TEST(WalWriter, RoundTripAcrossRotations) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  Lsn expected = 0;
  for (int call = 0; call < 60; ++call) {
    std::vector<std::string> records;
    for (int i = 0; i < 1 + call % 4; ++i) records.push_back(payload(expected + i, 100));
    auto lsn = wal->append_sync(records);
    ASSERT_TRUE(lsn.is_ok()) << lsn.status().to_string();
    EXPECT_EQ(*lsn, expected);
    expected += records.size();
  }
  WalStats s = wal->stats();
  EXPECT_EQ(s.durable_end, expected);
  EXPECT_EQ(s.records_written, expected);
  EXPECT_GT(s.segments, 3u);
  EXPECT_EQ(s.segments, testing::segment_files(dir.path()).size());
  // Segments hold at most segment_bytes since no call is larger than that.
  for (const auto& f : testing::segment_files(dir.path())) {
    EXPECT_LE(std::filesystem::file_size(f), 4096u) << f;
  }
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), expected);
  for (Lsn i = 0; i < expected; ++i) {
    EXPECT_EQ(records[i].lsn, i);
    EXPECT_EQ(records[i].data, payload(i, 100));
  }
  // Segment names are the first LSN they hold.
  for (const auto& f : testing::segment_files(dir.path())) {
    Lsn base = std::stoull(f.stem().string());
    auto r = read_all(*wal, base);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r.front().lsn, base);
  }
}

TEST(WalWriter, ConcurrentAppendersShareGroups) {
  TempDir dir;
  WalOptions o = small_options(dir.path());
  o.segment_bytes = 1 << 20;
  auto wal = testing::open_or_die(o);
  constexpr int kThreads = 8;
  constexpr int kCalls = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::pair<Lsn, std::string>> acked;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        std::string a = payload(static_cast<Lsn>(t * 1000 + c), 30);
        std::string b = payload(static_cast<Lsn>(t * 1000 + c), 31);
        auto lsn = wal->append_sync({a, b});
        if (!lsn) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        acked.emplace_back(*lsn, a);
        acked.emplace_back(*lsn + 1, b);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  WalStats s = wal->stats();
  EXPECT_EQ(s.records_written, 2u * kThreads * kCalls);
  EXPECT_LT(s.groups_written, static_cast<uint64_t>(kThreads * kCalls));
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), acked.size());
  for (const auto& [lsn, data] : acked) EXPECT_EQ(records[lsn].data, data);
}

TEST(WalWriter, AsyncCallbacksGetFirstLsnOfTheirCall) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  std::mutex mu;
  std::vector<std::pair<int, Lsn>> got;
  for (int c = 0; c < 20; ++c) {
    wal->append({payload(c), payload(c)}, [&, c](const Status& s, Lsn lsn) {
      EXPECT_TRUE(s.is_ok());
      std::lock_guard lock(mu);
      got.emplace_back(c, lsn);
    });
  }
  wal->close();  // flushes what is queued
  ASSERT_EQ(got.size(), 20u);
  for (const auto& [c, lsn] : got) EXPECT_EQ(lsn, static_cast<Lsn>(2 * c));
}

// The group listener runs after every callback of its group, on the writer thread, for failed
// groups too; a call refused inside append() is not followed by it; removing it stops it.
TEST(WalWriter, GroupListenerRunsAfterTheCallbacksOfEachGroup) {
  TempDir dir;
  auto faults = std::make_shared<Faults>();
  auto opened = open_wal(small_options(dir.path()), std::make_shared<FaultyFileSystem>(faults));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  auto wal = std::move(*opened);
  std::mutex mu;
  std::vector<std::string> seen;  // "c<n>" per callback, "end" per listener call
  std::atomic<int> ends{0};
  ASSERT_TRUE(wal->set_group_listener([&] {
    std::lock_guard lock(mu);
    seen.push_back("end");
    ++ends;
  }));
  // One call alone in its group; waits for its callback and, when `listened`, its listener.
  auto append = [&](int c, bool listened = true) {
    const int ends_before = ends.load();
    std::promise<void> called;
    wal->append({payload(c)}, [&, c](const Status&, Lsn) {
      {
        std::lock_guard lock(mu);
        seen.push_back("c" + std::to_string(c));
      }
      called.set_value();
    });
    called.get_future().wait();
    while (listened && ends.load() == ends_before) std::this_thread::sleep_for(1ms);
  };
  append(0);
  faults->sync_errno = ENOSPC;
  append(1);  // a failed group
  faults->sync_errno = 0;
  wal->append({}, [&](const Status& s, Lsn) {  // refused at once: no group, no listener
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    std::lock_guard lock(mu);
    seen.push_back("refused");
  });
  append(2);
  ASSERT_TRUE(wal->set_group_listener({}));
  append(3, false);
  wal->close();
  EXPECT_EQ(seen, (std::vector<std::string>{"c0", "end", "c1", "end", "refused", "c2", "end",
                                            "c3"}));
}

TEST(WalWriter, ReopenContinuesLsns) {
  TempDir dir;
  {
    auto wal = testing::open_or_die(small_options(dir.path()));
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(wal->append_sync({payload(i, 200)}).is_ok());
  }
  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(wal->recovery().records, 30u);
  EXPECT_EQ(wal->recovery().truncated_bytes, 0u);
  EXPECT_EQ(wal->recovery().corrupt_regions, 0u);
  EXPECT_EQ(wal->stats().durable_end, 30u);
  auto lsn = wal->append_sync({payload(30, 200)});
  ASSERT_TRUE(lsn.is_ok());
  EXPECT_EQ(*lsn, 30u);
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), 31u);
  for (Lsn i = 0; i < 31; ++i) EXPECT_EQ(records[i].data, payload(i, 200));
}

void expect_failure_then_recovery(bool fail_sync) {
  TempDir dir;
  auto faults = std::make_shared<Faults>();
  auto opened = open_wal(small_options(dir.path()), std::make_shared<FaultyFileSystem>(faults));
  ASSERT_TRUE(opened.is_ok());
  auto wal = std::move(*opened);
  ASSERT_TRUE(wal->append_sync({payload(0), payload(1)}).is_ok());
  const uint64_t bytes_before = std::filesystem::file_size(testing::segment_files(dir.path())[0]);
  (fail_sync ? faults->sync_errno : faults->write_errno) = ENOSPC;
  auto failed = wal->append_sync({payload(100), payload(101), payload(102)});
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("No space"), std::string::npos)
      << failed.status().message();
  EXPECT_FALSE(wal->writable());
  // The file is back to its size before the group; the durable end did not move.
  EXPECT_EQ(std::filesystem::file_size(testing::segment_files(dir.path())[0]), bytes_before);
  EXPECT_EQ(wal->stats().durable_end, 2u);

  (fail_sync ? faults->sync_errno : faults->write_errno) = 0;
  auto ok = wal->append_sync({payload(2)});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(*ok, 2u);  // the failed call's LSNs were never used
  EXPECT_TRUE(wal->writable());
  wal->close();

  auto reopened = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(reopened->recovery().truncated_bytes, 0u);
  EXPECT_EQ(reopened->recovery().corrupt_regions, 0u);
  auto records = read_all(*reopened);
  ASSERT_EQ(records.size(), 3u);
  for (Lsn i = 0; i < 3; ++i) EXPECT_EQ(records[i].data, payload(i));
}

TEST(WalWriter, EnospcOnWriteFailsTheGroupAndLeavesTheLogValid) {
  expect_failure_then_recovery(false);
}

TEST(WalWriter, EnospcOnSyncFailsTheGroupAndLeavesTheLogValid) {
  expect_failure_then_recovery(true);
}

TEST(WalWriter, CloseIsIdempotentAndLaterAppendsFail) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  ASSERT_TRUE(wal->append_sync({"a"}).is_ok());
  wal->close();
  wal->close();
  auto r = wal->append_sync({"b"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(WalWriter, RejectsEmptyCalls) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(wal->append_sync({}).status().code(), StatusCode::kInvalidArgument);
}

TEST(WalWriter, GroupCommitDelayBatchesAsyncAppends) {
  TempDir dir;
  WalOptions o = small_options(dir.path());
  o.segment_bytes = 1 << 20;
  o.group_commit_delay = 50ms;
  auto wal = testing::open_or_die(o);
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) {
    wal->append({payload(i)}, [&](const Status& s, Lsn) {
      EXPECT_TRUE(s.is_ok());
      ++done;
    });
  }
  wal->close();
  EXPECT_EQ(done, 100);
  EXPECT_LE(wal->stats().groups_written, 3u);
}

TEST(WalWriter, GroupCommitDelayStillWritesALoneAppend) {
  TempDir dir;
  WalOptions o = small_options(dir.path());
  o.group_commit_delay = 2ms;
  std::promise<Status> written[3];  // outlive the WAL, whose close would run a late callback
  auto wal = testing::open_or_die(o);
  // One call with no others behind it is durable after the delay, without waiting for close.
  for (int i = 0; i < 3; ++i) {
    wal->append({payload(i)}, [&written, i](const Status& s, Lsn) { written[i].set_value(s); });
    auto f = written[i].get_future();
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready) << "append " << i;
    EXPECT_TRUE(f.get().is_ok());
  }
  EXPECT_EQ(wal->stats().groups_written, 3u);
}

TEST(WalWriter, MaxGroupBytesSplitsGroups) {
  TempDir dir;
  WalOptions o = small_options(dir.path());
  o.segment_bytes = 1 << 20;
  o.max_group_bytes = 1000;
  o.group_commit_delay = 20ms;
  auto wal = testing::open_or_die(o);
  for (int i = 0; i < 40; ++i) wal->append({payload(i, 100)}, [](const Status&, Lsn) {});
  wal->close();
  // 40 frames of 124 bytes, at most 8 per group.
  EXPECT_GE(wal->stats().groups_written, 5u);
  EXPECT_EQ(wal->stats().records_written, 40u);
}

}  // namespace
}  // namespace basalt::wal

namespace basalt::wal {
namespace {

TEST(WalWriter, DiskBudgetRefusesAppendsUntilAConsumerCommitsPastOldSegments) {
  testing::TempDir dir;
  WalOptions o = testing::small_options(dir.path());
  o.disk_budget_bytes = 3 * o.segment_bytes;
  auto wal = testing::open_or_die(o);
  ASSERT_TRUE(wal->register_consumer("sink:slow").is_ok());
  Status refused;
  int appended = 0;
  for (int i = 0; i < 1000 && refused.is_ok(); ++i) {
    auto lsn = wal->append_sync({testing::payload(i, 200)});
    if (lsn) {
      ++appended;
    } else {
      refused = lsn.status();
    }
  }
  ASSERT_FALSE(refused.is_ok()) << "the budget never applied";
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("disk budget"), std::string::npos) << refused.message();
  EXPECT_TRUE(wal->writable()) << "a full budget is not a write failure";
  WalStats s = wal->stats();
  EXPECT_EQ(s.durable_end, static_cast<Lsn>(appended)) << "nothing refused was written";
  EXPECT_GT(s.bytes_on_disk, o.disk_budget_bytes);

  // Skipping the consumer forward past the oldest segment frees room.
  Lsn end = wal->oldest_segment_end();
  EXPECT_GT(end, s.first_lsn);
  while (wal->stats().bytes_on_disk > o.disk_budget_bytes) {
    ASSERT_TRUE(wal->commit("sink:slow", wal->oldest_segment_end()).is_ok());
  }
  auto lsn = wal->append_sync({testing::payload(appended, 200)});
  ASSERT_TRUE(lsn.is_ok()) << lsn.status().to_string();
  EXPECT_EQ(*lsn, static_cast<Lsn>(appended));
}

TEST(WalWriter, OldestSegmentEndIsTheDurableEndWithOneSegment) {
  testing::TempDir dir;
  auto wal = testing::open_or_die(testing::small_options(dir.path()));
  ASSERT_TRUE(wal->append_sync({"a", "b"}).is_ok());
  EXPECT_EQ(wal->oldest_segment_end(), 2u);
}

}  // namespace
}  // namespace basalt::wal
