// Segments prepared in advance (WalOptions::preallocate): rotations land on a zero-filled file,
// recovery takes the zeros after the last record as free space, not as damage.

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "wal/wal.h"
#include "wal_test_support.h"

namespace basalt::wal {
namespace {

using namespace std::chrono_literals;
using testing::payload;
using testing::read_all;
using testing::segment_files;
using testing::TempDir;

constexpr uint64_t kSegmentBytes = 16 * 1024;

WalOptions preallocating(const std::filesystem::path& dir) {
  WalOptions o = testing::small_options(dir);
  o.segment_bytes = kSegmentBytes;
  o.preallocate = true;
  return o;
}

// Waits until the preparer has a spare ready (it needs a few milliseconds).
bool wait_for_spare(const Wal& wal) {
  for (int i = 0; i < 2000; ++i) {
    if (wal.stats().spare_ready) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// Appends calls of `per_call` 500-byte records until `segments` segments exist, waiting for the
// spare once the active segment is a quarter full (when it is asked for), so that every
// rotation can use one. Returns the records appended.
Lsn fill_segments(Wal& wal, size_t segments, size_t per_call = 3) {
  Lsn next = wal.stats().durable_end;
  while (wal.stats().segments < segments) {
    if (wal.stats().active_segment_bytes >= kSegmentBytes / 4) {
      EXPECT_TRUE(wait_for_spare(wal));
    }
    std::vector<std::string> call;
    for (size_t i = 0; i < per_call; ++i) call.push_back(payload(next + i, 500));
    auto lsn = wal.append_sync(call);
    EXPECT_TRUE(lsn.is_ok()) << lsn.status().to_string();
    next += per_call;
  }
  return next;
}

TEST(WalPreallocate, RotationsUseZeroFilledSegments) {
  TempDir dir;
  auto wal = testing::open_or_die(preallocating(dir.path()));
  const Lsn end = fill_segments(*wal, 5);
  WalStats s = wal->stats();
  // The first segment is created by open; each later one was prepared.
  EXPECT_EQ(s.preallocated_rotations, s.segments - 1);
  EXPECT_EQ(s.preallocation_failures, 0u);
  auto files = segment_files(dir.path());
  ASSERT_EQ(files.size(), 5u);
  for (size_t i = 1; i < files.size(); ++i) {
    EXPECT_EQ(std::filesystem::file_size(files[i]), kSegmentBytes) << files[i];
  }
  // Only the records are counted, not the prepared space.
  EXPECT_LT(s.bytes_on_disk, 5 * kSegmentBytes);
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), end);
  for (Lsn i = 0; i < end; ++i) EXPECT_EQ(records[i].data, payload(i, 500));
}

TEST(WalPreallocate, NoSpareBeforeTheActiveSegmentIsAQuarterFull) {
  TempDir dir;
  auto wal = testing::open_or_die(preallocating(dir.path()));
  ASSERT_TRUE(wal->append_sync({payload(0, 500)}).is_ok());
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(wal->stats().spare_ready);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "next-segment.tmp"));
  while (wal->stats().active_segment_bytes < kSegmentBytes / 4) {
    ASSERT_TRUE(wal->append_sync({payload(1, 500)}).is_ok());
  }
  EXPECT_TRUE(wait_for_spare(*wal));
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "next-segment.tmp"), kSegmentBytes);
}

TEST(WalPreallocate, RecoveryTakesZeroTailsAsFreeSpace) {
  TempDir dir;
  Lsn end = 0;
  {
    auto wal = testing::open_or_die(preallocating(dir.path()));
    end = fill_segments(*wal, 4);
  }
  auto last = segment_files(dir.path()).back();
  ASSERT_EQ(std::filesystem::file_size(last), kSegmentBytes);

  auto wal = testing::open_or_die(preallocating(dir.path()));
  const RecoveryReport& r = wal->recovery();
  EXPECT_EQ(r.records, end);
  EXPECT_EQ(r.corrupt_regions, 0u);
  EXPECT_EQ(r.truncated_bytes, 0u);
  EXPECT_TRUE(r.messages.empty()) << r.messages.front();
  // The active segment keeps its prepared space, and appends go on inside it.
  EXPECT_EQ(std::filesystem::file_size(last), kSegmentBytes);
  auto lsn = wal->append_sync({payload(end, 500)});
  ASSERT_TRUE(lsn.is_ok()) << lsn.status().to_string();
  EXPECT_EQ(*lsn, end);
  EXPECT_EQ(std::filesystem::file_size(last), kSegmentBytes);
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), end + 1);
  for (Lsn i = 0; i <= end; ++i) EXPECT_EQ(records[i].data, payload(i, 500));
}

TEST(WalPreallocate, TornWriteInPreparedSpaceIsCut) {
  TempDir dir;
  Lsn end = 0;
  uint64_t data_end = 0;
  {
    auto wal = testing::open_or_die(preallocating(dir.path()));
    end = fill_segments(*wal, 2);
    const WalStats s = wal->stats();
    // The active segment's records end where the table says; zeros follow.
    data_end = s.bytes_on_disk - std::filesystem::file_size(segment_files(dir.path()).front());
  }
  auto last = segment_files(dir.path()).back();
  std::string bytes = testing::read_bytes(last);
  ASSERT_EQ(bytes.size(), kSegmentBytes);
  // Half a frame header and a few payload bytes, as a crash in the middle of a write leaves.
  bytes.replace(data_end, 40, std::string(40, '\x5a'));
  testing::write_bytes(last, bytes);

  auto wal = testing::open_or_die(preallocating(dir.path()));
  const RecoveryReport& r = wal->recovery();
  EXPECT_EQ(r.records, end);
  EXPECT_EQ(r.corrupt_regions, 0u);
  EXPECT_EQ(r.truncated_bytes, kSegmentBytes - data_end);
  EXPECT_EQ(std::filesystem::file_size(last), data_end);
  auto lsn = wal->append_sync({payload(end, 500)});
  ASSERT_TRUE(lsn.is_ok()) << lsn.status().to_string();
  EXPECT_EQ(read_all(*wal).size(), end + 1);
}

TEST(WalPreallocate, RotationWithoutSpareCreatesTheSegment) {
  TempDir dir;
  // A directory where the spare file should go: the preparer cannot create it.
  std::filesystem::create_directories(dir.path() / "next-segment.tmp" / "x");
  auto wal = testing::open_or_die(preallocating(dir.path()));
  Lsn next = 0;
  while (wal->stats().segments < 3) {
    auto lsn = wal->append_sync({payload(next, 500), payload(next + 1, 500)});
    ASSERT_TRUE(lsn.is_ok()) << lsn.status().to_string();
    next += 2;
  }
  for (int i = 0; i < 2000 && wal->stats().preallocation_failures == 0; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  WalStats s = wal->stats();
  EXPECT_EQ(s.preallocated_rotations, 0u);
  EXPECT_GE(s.preallocation_failures, 1u);
  EXPECT_EQ(read_all(*wal).size(), next);
}

}  // namespace
}  // namespace basalt::wal
