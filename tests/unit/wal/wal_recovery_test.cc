#include "wal/wal_recovery.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "wal/record_format.h"
#include "wal_test_support.h"

namespace basalt::wal {
namespace {

using testing::Faults;
using testing::FaultyFileSystem;
using testing::payload;
using testing::read_all;
using testing::read_bytes;
using testing::segment_files;
using testing::small_options;
using testing::TempDir;
using testing::write_bytes;

bool mentions(const RecoveryReport& r, const std::string& text) {
  for (const auto& m : r.messages) {
    if (m.find(text) != std::string::npos) return true;
  }
  return false;
}

// Writes `calls` single-record calls of `bytes`-byte payloads and closes the log.
void write_log(const std::filesystem::path& dir, int calls, size_t bytes = 40,
               uint64_t segment_bytes = 4096) {
  WalOptions o = small_options(dir);
  o.segment_bytes = segment_bytes;
  auto wal = testing::open_or_die(o);
  for (int i = 0; i < calls; ++i) ASSERT_TRUE(wal->append_sync({payload(i, bytes)}).is_ok());
}

TEST(WalRecovery, EmptyDirectoryStartsAtZero) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path() / "new" / "wal"));
  EXPECT_EQ(wal->stats().durable_end, 0u);
  EXPECT_EQ(wal->stats().segments, 1u);
  EXPECT_EQ(wal->recovery().records, 0u);
  EXPECT_TRUE(read_all(*wal).empty());
  EXPECT_EQ(segment_files(dir.path() / "new" / "wal").size(), 1u);
}

TEST(WalRecovery, TornTailIsCut) {
  TempDir dir;
  write_log(dir.path(), 10);
  auto last = segment_files(dir.path()).back();
  std::string bytes = read_bytes(last);
  const uint64_t good = bytes.size();
  // Half of a copy of the first frame: a write torn by a crash.
  write_bytes(last, bytes + bytes.substr(0, 30));

  auto wal = testing::open_or_die(small_options(dir.path()));
  const RecoveryReport& r = wal->recovery();
  EXPECT_EQ(r.truncated_bytes, 30u);
  EXPECT_EQ(r.corrupt_regions, 0u);
  EXPECT_EQ(r.records, 10u);
  EXPECT_TRUE(mentions(r, last.filename().string())) << r.messages.size();
  EXPECT_TRUE(mentions(r, "offset " + std::to_string(good)));
  EXPECT_EQ(std::filesystem::file_size(last), good);
  auto lsn = wal->append_sync({"after"});
  ASSERT_TRUE(lsn.is_ok());
  EXPECT_EQ(*lsn, 10u);
  EXPECT_EQ(read_all(*wal).size(), 11u);
}

TEST(WalRecovery, MultiRecordCallIsAllOrNothingAfterATornWrite) {
  const size_t frame = frame_bytes_of(40);
  // Cut the write of a three-record call at every interesting point, including exactly at the
  // end of its first and second records.
  for (size_t cut : {size_t{0}, size_t{10}, frame, frame + 5, 2 * frame, 3 * frame - 1}) {
    SCOPED_TRACE(cut);
    TempDir dir;
    {
      auto faults = std::make_shared<Faults>();
      auto wal = open_wal(small_options(dir.path()), std::make_shared<FaultyFileSystem>(faults));
      ASSERT_TRUE(wal.is_ok());
      ASSERT_TRUE((*wal)->append_sync({payload(0), payload(1)}).is_ok());
      faults->crash_after_bytes = static_cast<int64_t>(cut);
      auto r = (*wal)->append_sync({payload(2), payload(3), payload(4)});
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
      // The "machine died": the truncate back failed too, the torn bytes stay on disk.
    }
    auto wal = testing::open_or_die(small_options(dir.path()));
    EXPECT_EQ(wal->recovery().records, 2u);
    EXPECT_EQ(wal->recovery().truncated_bytes, cut);
    auto records = read_all(*wal);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(wal->stats().durable_end, 2u);
    auto lsn = wal->append_sync({payload(2)});
    ASSERT_TRUE(lsn.is_ok());
    EXPECT_EQ(*lsn, 2u);
  }
}

TEST(WalRecovery, CorruptRecordInTheMiddleIsSkippedAndReported) {
  TempDir dir;
  write_log(dir.path(), 20, 40, 1 << 20);
  auto seg = segment_files(dir.path()).front();
  std::string bytes = read_bytes(seg);
  const size_t frame = frame_bytes_of(40);
  bytes[5 * frame + kFrameHeaderBytes + 3] ^= 0x01;  // a payload byte of LSN 5
  write_bytes(seg, bytes);

  auto wal = testing::open_or_die(small_options(dir.path()));
  const RecoveryReport& r = wal->recovery();
  EXPECT_EQ(r.corrupt_regions, 1u);
  EXPECT_EQ(r.corrupt_bytes, frame);
  EXPECT_EQ(r.truncated_bytes, 0u);
  EXPECT_EQ(r.records, 19u);
  EXPECT_TRUE(mentions(r, seg.filename().string() + ": damaged bytes [" +
                              std::to_string(5 * frame) + ", " + std::to_string(6 * frame) + ")"))
      << (r.messages.empty() ? "" : r.messages[0]);
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), 19u);
  for (const auto& rec : records) {
    EXPECT_NE(rec.lsn, 5u);
    EXPECT_EQ(rec.data, payload(rec.lsn));
  }
  EXPECT_EQ(records.back().lsn, 19u);
  // Reading from the lost LSN starts at the next one.
  auto from5 = read_all(*wal, 5);
  ASSERT_FALSE(from5.empty());
  EXPECT_EQ(from5.front().lsn, 6u);
  auto lsn = wal->append_sync({"next"});
  ASSERT_TRUE(lsn.is_ok());
  EXPECT_EQ(*lsn, 20u);
}

TEST(WalRecovery, DamageInsideAMultiRecordCallDropsTheWholeCall) {
  TempDir dir;
  {
    auto wal = testing::open_or_die(small_options(dir.path()));
    ASSERT_TRUE(wal->append_sync({payload(0)}).is_ok());
    ASSERT_TRUE(wal->append_sync({payload(1), payload(2), payload(3)}).is_ok());
    ASSERT_TRUE(wal->append_sync({payload(4)}).is_ok());
  }
  auto seg = segment_files(dir.path()).front();
  std::string bytes = read_bytes(seg);
  const size_t frame = frame_bytes_of(40);
  bytes[2 * frame + kFrameHeaderBytes] ^= 0x40;  // LSN 2, the middle of the call
  write_bytes(seg, bytes);
  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(wal->recovery().corrupt_regions, 1u);
  EXPECT_EQ(wal->recovery().corrupt_bytes, 3 * frame);
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].lsn, 0u);
  EXPECT_EQ(records[1].lsn, 4u);
}

TEST(WalRecovery, ZeroLengthLastSegmentKeepsItsLsn) {
  TempDir dir;
  write_log(dir.path(), 5);
  write_bytes(dir.path() / segment_file_name(100), "");
  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(wal->recovery().segments, 2u);
  EXPECT_EQ(wal->stats().durable_end, 100u);
  auto lsn = wal->append_sync({"x"});
  ASSERT_TRUE(lsn.is_ok());
  EXPECT_EQ(*lsn, 100u);
  auto records = read_all(*wal);
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records.back().lsn, 100u);
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(WalRecovery, GarbageLastSegmentIsCut) {
  TempDir dir;
  write_log(dir.path(), 5);
  std::mt19937_64 rng(7);
  write_bytes(dir.path() / segment_file_name(50), random_bytes(rng, 5000));
  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(wal->recovery().truncated_bytes, 5000u);
  EXPECT_EQ(wal->recovery().records, 5u);
  EXPECT_EQ(read_all(*wal).size(), 5u);
  EXPECT_EQ(*wal->append_sync({"x"}), 50u);
}

TEST(WalRecovery, GarbageMiddleSegmentIsSkipped) {
  TempDir dir;
  write_log(dir.path(), 100, 200);
  auto files = segment_files(dir.path());
  ASSERT_GE(files.size(), 3u);
  std::mt19937_64 rng(11);
  const uint64_t size = std::filesystem::file_size(files[1]);
  write_bytes(files[1], random_bytes(rng, size));
  const Lsn lost_from = std::stoull(files[1].stem().string());
  const Lsn lost_to = std::stoull(files[2].stem().string());

  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(wal->recovery().corrupt_regions, 1u);
  EXPECT_EQ(wal->recovery().corrupt_bytes, size);
  EXPECT_EQ(wal->recovery().truncated_bytes, 0u);
  auto records = read_all(*wal);
  EXPECT_EQ(records.size(), 100 - (lost_to - lost_from));
  for (const auto& r : records) {
    EXPECT_TRUE(r.lsn < lost_from || r.lsn >= lost_to) << r.lsn;
    EXPECT_EQ(r.data, payload(r.lsn, 200));
  }
  EXPECT_EQ(*wal->append_sync({"x"}), 100u);
}

TEST(WalRecovery, ScanIsTotalOnRandomInput) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string bytes = random_bytes(rng, rng() % 3000);
    // Sprinkle magic numbers so the resync path is exercised.
    for (int k = 0; k < 20 && bytes.size() > 4; ++k) {
      size_t at = rng() % (bytes.size() - 3);
      bytes[at] = '\xB7', bytes[at + 1] = '\x5A', bytes[at + 2] = '\x17', bytes[at + 3] = '\xE1';
    }
    SegmentScan scan = scan_segment(bytes, 0, UINT64_MAX);
    EXPECT_LE(scan.tail_start, bytes.size());
    EXPECT_EQ(scan.records, 0u);
    uint64_t prev = 0;
    for (const auto& span : scan.damaged) {
      EXPECT_LE(prev, span.begin);
      EXPECT_LT(span.begin, span.end);
      EXPECT_LE(span.end, bytes.size());
      prev = span.end;
    }
  }
}

// Where each call of a pristine log lies on disk.
struct CallExtent {
  std::string file;
  uint64_t begin = 0, end = 0;
  Lsn first = 0;
  size_t records = 0;
};

std::vector<CallExtent> map_calls(const std::filesystem::path& dir) {
  std::vector<CallExtent> calls;
  for (const auto& f : segment_files(dir)) {
    std::string bytes = read_bytes(f);
    size_t pos = 0;
    while (pos < bytes.size()) {
      DecodedFrame d = decode_frame(std::string_view(bytes).substr(pos));
      EXPECT_EQ(d.check, FrameCheck::kOk);
      if (d.check != FrameCheck::kOk) break;
      if (d.flags & kFirstOfCall) calls.push_back({f.filename().string(), pos, pos, d.lsn, 0});
      calls.back().end = pos + d.frame_bytes;
      ++calls.back().records;
      pos += d.frame_bytes;
    }
  }
  return calls;
}

TEST(WalRecovery, RandomDamageNeverCrashesAndKeepsEveryIntactCall) {
  TempDir dir;
  std::map<Lsn, std::string> written;
  {
    auto wal = testing::open_or_die(small_options(dir.path()));
    Lsn next = 0;
    for (int c = 0; c < 120; ++c) {
      std::vector<std::string> call;
      for (int i = 0; i < 1 + c % 3; ++i) call.push_back(payload(next + i, 30 + (c * 7) % 90));
      auto lsn = wal->append_sync(call);
      ASSERT_TRUE(lsn.is_ok());
      for (size_t i = 0; i < call.size(); ++i) written[*lsn + i] = call[i];
      next += call.size();
    }
  }
  const auto calls = map_calls(dir.path());
  std::map<std::string, std::string> pristine;
  for (const auto& f : segment_files(dir.path())) pristine[f.filename().string()] = read_bytes(f);
  ASSERT_GE(pristine.size(), 4u);
  std::vector<std::string> names;
  for (const auto& [name, _] : pristine) names.push_back(name);

  std::mt19937_64 rng(12345);
  for (int round = 0; round < 150; ++round) {
    SCOPED_TRACE(round);
    std::map<std::string, std::string> files = pristine;
    std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> touched;  // [a, b)
    const int flips = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < flips; ++k) {
      const std::string& name = names[rng() % names.size()];
      std::string& bytes = files[name];
      if (bytes.empty()) continue;
      if (rng() % 8 == 0) {  // cut the file short
        uint64_t at = rng() % bytes.size();
        bytes.resize(at);
        touched[name].push_back({at, UINT64_MAX});
      } else {
        uint64_t at = rng() % bytes.size();
        bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
        touched[name].push_back({at, at + 1});
      }
    }
    for (const auto& [name, bytes] : files) write_bytes(dir.path() / name, bytes);

    auto opened = Wal::open(small_options(dir.path()));
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    auto& wal = **opened;
    auto records = read_all(wal);
    std::set<Lsn> got;
    Lsn prev = 0;
    for (const auto& r : records) {
      ASSERT_TRUE(written.contains(r.lsn)) << r.lsn;
      EXPECT_EQ(r.data, written[r.lsn]) << r.lsn;
      if (!got.empty()) {
        EXPECT_GT(r.lsn, prev);
      }
      prev = r.lsn;
      got.insert(r.lsn);
    }
    EXPECT_EQ(wal.recovery().records, records.size());
    for (const auto& call : calls) {
      bool damaged = false;
      for (const auto& [a, b] : touched[call.file]) damaged |= a < call.end && call.begin < b;
      size_t present = 0;
      for (size_t i = 0; i < call.records; ++i) present += got.contains(call.first + i);
      if (!damaged) {
        EXPECT_EQ(present, call.records) << "intact call at LSN " << call.first;
      }
      EXPECT_TRUE(present == 0 || present == call.records) << "split call at " << call.first;
    }
    if (round % 10 == 0) {
      auto lsn = wal.append_sync({"appended after damage"});
      ASSERT_TRUE(lsn.is_ok());
      EXPECT_GE(*lsn, got.empty() ? 0 : *got.rbegin() + 1);
      auto again = read_all(wal, *lsn);
      ASSERT_EQ(again.size(), 1u);
      EXPECT_EQ(again[0].data, "appended after damage");
    }
    wal.close();
    // Restore the pristine log (recovery cut tails; appends added bytes or files).
    for (const auto& f : segment_files(dir.path())) {
      if (!pristine.contains(f.filename().string())) std::filesystem::remove(f);
    }
    for (const auto& [name, bytes] : pristine) write_bytes(dir.path() / name, bytes);
  }
}

}  // namespace
}  // namespace basalt::wal
