#include "loader/dedup_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace basalt::loader {
namespace {

constexpr int64_t kHour = 3600'000'000;

TEST(TaggedHashSet, MatchesAReferenceSetThroughGrowthAndBulkRemoval) {
  TaggedHashSet set(1 << 18);
  std::unordered_map<uint64_t, uint8_t> ref;  // key (low byte cleared) → tag
  std::mt19937_64 rng(7);
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 20000; ++i) {
      uint64_t k = rng() & ~uint64_t{0xFF};
      uint8_t tag = static_cast<uint8_t>(rng() % 8);
      set.insert(k, tag);
      ref[k] = tag;
    }
    uint8_t gone = static_cast<uint8_t>(round % 8);
    size_t expect_removed = 0;
    for (auto it = ref.begin(); it != ref.end();) {
      if (it->second == gone) {
        it = ref.erase(it);
        ++expect_removed;
      } else {
        ++it;
      }
    }
    EXPECT_EQ(set.remove_tag(gone), expect_removed);
    ASSERT_EQ(set.size(), ref.size());
    for (auto& [k, tag] : ref) ASSERT_EQ(set.find(k), tag);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(set.find(rng() & ~uint64_t{0xFF}), -1);
  }
  EXPECT_LE(set.capacity(), size_t{1} << 18);
}

TEST(DedupIndex, RemembersWithinTheWindowAndForgetsAfter) {
  DedupIndex idx(24 * kHour, 1000);
  int64_t t0 = 1000 * kHour;
  uint64_t a = DedupIndex::key_of("web", "m1");
  uint64_t b = DedupIndex::key_of("ios", "m1");
  EXPECT_NE(a, b);
  idx.insert(a, t0);
  EXPECT_TRUE(idx.contains(a));
  EXPECT_FALSE(idx.contains(b));
  idx.expire(t0 + 23 * kHour);
  EXPECT_TRUE(idx.contains(a));
  idx.expire(t0 + 26 * kHour);
  EXPECT_FALSE(idx.contains(a));
  EXPECT_EQ(idx.size(), 0u);
  // Ids already older than the window are not recorded.
  idx.insert(a, t0);
  EXPECT_FALSE(idx.contains(a));
}

TEST(DedupIndex, TheBoundDropsTheOldestBucketsFirst) {
  DedupIndex idx(24 * kHour, 100);
  int64_t t0 = 1000 * kHour;
  for (int i = 0; i < 60; ++i) idx.insert(DedupIndex::key_of("s", "old" + std::to_string(i)), t0);
  for (int i = 0; i < 60; ++i) {
    idx.insert(DedupIndex::key_of("s", "new" + std::to_string(i)), t0 + kHour);
  }
  EXPECT_LE(idx.size(), 100u);
  EXPECT_EQ(idx.evicted_early(), 60u);
  EXPECT_FALSE(idx.contains(DedupIndex::key_of("s", "old0")));
  for (int i = 0; i < 60; ++i) {
    EXPECT_TRUE(idx.contains(DedupIndex::key_of("s", "new" + std::to_string(i))));
  }
  EXPECT_LE(idx.memory_bytes(), 100u * 16 + 1024 * 8);
}

}  // namespace
}  // namespace basalt::loader
