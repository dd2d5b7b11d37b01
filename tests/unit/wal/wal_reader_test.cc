#include <gtest/gtest.h>

#include <thread>

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

TEST(WalReader, WaitsForNewData) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  auto reader = wal->reader(0);
  ASSERT_TRUE(reader.is_ok());
  auto empty = (*reader)->next(10, 1 << 20, 20ms);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());

  std::thread appender([&] {
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(wal->append_sync({"late"}).is_ok());
  });
  auto start = std::chrono::steady_clock::now();
  auto got = (*reader)->next(10, 1 << 20, 10s);
  auto waited = std::chrono::steady_clock::now() - start;
  appender.join();
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].data, "late");
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ((*reader)->position(), 1u);
}

// The loader's pattern: read to the end of a segment, commit, and keep reading after the WAL
// rotated and deleted the segment the reader was positioned in.
TEST(WalReader, FollowsTheLogWhenItsFinishedSegmentIsDeleted) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  ASSERT_TRUE(wal->register_consumer("loader").is_ok());
  auto reader = wal->reader(0);
  ASSERT_TRUE(reader.is_ok());
  Lsn next = 0;
  // One record a round, so the reader sits at the very end of a full segment when the next
  // append rotates and deletes it.
  for (int round = 0; round < 100; ++round) {
    ASSERT_TRUE(wal->append_sync({payload(next, 100)}).is_ok());
    ++next;
    while ((*reader)->position() < next) {
      auto got = (*reader)->next(1000, 1 << 20, 0ms);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      ASSERT_FALSE(got->empty());
      for (const auto& r : *got) EXPECT_EQ(r.data, payload(r.lsn, 100));
    }
    ASSERT_TRUE(wal->commit("loader", (*reader)->position()).is_ok());
  }
  EXPECT_GT(wal->stats().first_lsn, 0u);  // segments were deleted under the reader
  EXPECT_EQ((*reader)->position(), next);
}

TEST(WalReader, SeesOnlyDurableRecords) {
  TempDir dir;
  auto faults = std::make_shared<Faults>();
  auto opened = open_wal(small_options(dir.path()), std::make_shared<FaultyFileSystem>(faults));
  ASSERT_TRUE(opened.is_ok());
  auto& wal = **opened;
  ASSERT_TRUE(wal.append_sync({"first"}).is_ok());
  auto reader = wal.reader(0);
  ASSERT_TRUE(reader.is_ok());

  faults->set_hold_syncs(true);
  std::atomic<bool> acked{false};
  wal.append({"second"}, [&](const Status& s, Lsn) {
    EXPECT_TRUE(s.is_ok());
    acked = true;
  });
  while (faults->syncs_waiting.load() == 0) std::this_thread::sleep_for(1ms);
  // Written but not synced: invisible.
  auto got = (*reader)->next(10, 1 << 20, 30ms);
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].data, "first");
  got = (*reader)->next(10, 1 << 20, 30ms);
  ASSERT_TRUE(got.is_ok());
  EXPECT_TRUE(got->empty());
  EXPECT_EQ(wal.stats().durable_end, 1u);
  EXPECT_FALSE(acked);

  faults->set_hold_syncs(false);
  got = (*reader)->next(10, 1 << 20, 5s);
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].data, "second");
  wal.close();
  EXPECT_TRUE(acked);
}

TEST(WalReader, HonoursLimitsAndStartPosition) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(wal->append_sync({payload(i, 100)}).is_ok());
  auto reader = wal->reader(17);
  ASSERT_TRUE(reader.is_ok());
  auto got = (*reader)->next(5, 1 << 20, 0ms);
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[0].lsn, 17u);
  EXPECT_EQ((*got)[4].lsn, 21u);
  // A byte budget smaller than one record still returns one.
  got = (*reader)->next(100, 1, 0ms);
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].lsn, 22u);
  got = (*reader)->next(100, 250, 0ms);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->size(), 3u);  // stops once 250 bytes are reached
  EXPECT_EQ((*reader)->position(), 26u);
}

TEST(WalReader, RejectsPositionsPastTheDurableEnd) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  ASSERT_TRUE(wal->append_sync({"a", "b"}).is_ok());
  EXPECT_TRUE(wal->reader(2).is_ok());
  auto r = wal->reader(3);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(WalReader, FollowsALiveWriterAcrossRotations) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  constexpr int kRecords = 400;
  std::thread writer([&] {
    for (int i = 0; i < kRecords; i += 4) {
      ASSERT_TRUE(
          wal->append_sync({payload(i, 90), payload(i + 1, 90), payload(i + 2, 90),
                            payload(i + 3, 90)})
              .is_ok());
    }
  });
  auto reader = wal->reader(0);
  ASSERT_TRUE(reader.is_ok());
  std::vector<WalRecord> got;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < kRecords && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*reader)->next(7, 1 << 20, 100ms);
    ASSERT_TRUE(batch.is_ok()) << batch.status().to_string();
    for (auto& r : *batch) got.push_back(std::move(r));
  }
  writer.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_EQ(got[i].lsn, static_cast<Lsn>(i));
    EXPECT_EQ(got[i].data, payload(i, 90));
  }
  EXPECT_GT(wal->stats().segments, 5u);
}

TEST(WalReader, ReturnsAfterClose) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  auto reader = wal->reader(0);
  ASSERT_TRUE(reader.is_ok());
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    wal->close();
  });
  auto start = std::chrono::steady_clock::now();
  auto got = (*reader)->next(10, 1 << 20, 30s);
  closer.join();
  ASSERT_TRUE(got.is_ok());
  EXPECT_TRUE(got->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  wal.reset();  // the reader outlives the log safely
  got = (*reader)->next(10, 1 << 20, 0ms);
  EXPECT_TRUE(got.is_ok());
}

}  // namespace
}  // namespace basalt::wal
