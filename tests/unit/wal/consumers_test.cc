#include "wal/consumers.h"

#include <gtest/gtest.h>

#include "wal_test_support.h"

namespace basalt::wal {
namespace {

using testing::payload;
using testing::read_all;
using testing::segment_files;
using testing::small_options;
using testing::TempDir;

TEST(Consumers, SerializeAndParse) {
  std::map<std::string, Lsn> offsets{{"loader", 42}, {"stream:redis", 7}};
  auto parsed = parse_consumers(serialize_consumers(offsets));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(*parsed, offsets);
  EXPECT_TRUE(parse_consumers(serialize_consumers({})).is_ok());
  for (const char* bad : {"", "nonsense\n", "basalt-wal-consumers 1\n12x loader\n",
                          "basalt-wal-consumers 1\n12 bad name\n",
                          "basalt-wal-consumers 1\n12 loader"}) {
    auto r = parse_consumers(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  }
  EXPECT_FALSE(valid_consumer_name(""));
  EXPECT_FALSE(valid_consumer_name("a/b"));
  EXPECT_TRUE(valid_consumer_name("warehouse-loader.v2"));
}

TEST(Consumers, RegisterCommitAndErrors) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  ASSERT_TRUE(wal->append_sync({"a", "b", "c"}).is_ok());
  ASSERT_TRUE(wal->register_consumer("loader").is_ok());
  EXPECT_EQ(*wal->committed("loader"), 0u);
  ASSERT_TRUE(wal->commit("loader", 2).is_ok());
  ASSERT_TRUE(wal->register_consumer("loader").is_ok());  // keeps its offset
  EXPECT_EQ(*wal->committed("loader"), 2u);
  EXPECT_EQ(wal->commit("nobody", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(wal->committed("nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(wal->commit("loader", 4).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wal->register_consumer("no spaces").code(), StatusCode::kInvalidArgument);
}

TEST(Consumers, OffsetsPersistAcrossReopen) {
  TempDir dir;
  {
    auto wal = testing::open_or_die(small_options(dir.path()));
    ASSERT_TRUE(wal->append_sync({"a", "b", "c"}).is_ok());
    ASSERT_TRUE(wal->register_consumer("loader").is_ok());
    ASSERT_TRUE(wal->register_consumer("redis").is_ok());
    ASSERT_TRUE(wal->commit("loader", 3).is_ok());
    ASSERT_TRUE(wal->commit("redis", 1).is_ok());
  }
  auto wal = testing::open_or_die(small_options(dir.path()));
  EXPECT_EQ(*wal->committed("loader"), 3u);
  EXPECT_EQ(*wal->committed("redis"), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "consumers.tmp"));
}

TEST(Consumers, SegmentsAreDeletedOnlyOnceEveryConsumerCommittedPast) {
  TempDir dir;
  auto wal = testing::open_or_die(small_options(dir.path()));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(wal->append_sync({payload(i, 200)}).is_ok());
  const auto files = segment_files(dir.path());
  ASSERT_GE(files.size(), 4u);
  const Lsn third_base = std::stoull(files[2].stem().string());

  // With no consumer nothing is ever deleted.
  ASSERT_TRUE(wal->register_consumer("loader").is_ok());
  ASSERT_TRUE(wal->register_consumer("redis").is_ok());
  ASSERT_TRUE(wal->commit("loader", 100).is_ok());
  EXPECT_EQ(segment_files(dir.path()).size(), files.size());  // redis is still at 0

  ASSERT_TRUE(wal->commit("redis", third_base - 1).is_ok());  // inside the second segment
  EXPECT_EQ(segment_files(dir.path()).size(), files.size() - 1);
  EXPECT_FALSE(std::filesystem::exists(files[0]));

  ASSERT_TRUE(wal->commit("redis", third_base).is_ok());  // past the second segment
  EXPECT_EQ(segment_files(dir.path()).size(), files.size() - 2);
  EXPECT_EQ(wal->stats().first_lsn, third_base);
  EXPECT_EQ(wal->reader(0).status().code(), StatusCode::kNotFound);
  auto rest = read_all(*wal, third_base);
  ASSERT_EQ(rest.size(), 100 - third_base);

  // Everything consumed: the active segment stays.
  ASSERT_TRUE(wal->commit("redis", 100).is_ok());
  auto left = segment_files(dir.path());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], files.back());
  EXPECT_EQ(wal->stats().segments, 1u);
  EXPECT_EQ(*wal->append_sync({"more"}), 100u);
  // A consumer registered now starts at the oldest LSN still on disk.
  ASSERT_TRUE(wal->register_consumer("late").is_ok());
  EXPECT_EQ(*wal->committed("late"), std::stoull(files.back().stem().string()));
}

}  // namespace
}  // namespace basalt::wal
