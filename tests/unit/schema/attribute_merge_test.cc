#include "schema/attribute_merge.h"

#include <gtest/gtest.h>

namespace basalt::schema {
namespace {

using List = std::vector<std::string>;

AttributeState at(AttributeValue v, int64_t t) { return {std::move(v), t}; }

AttributeState merge(MergeRule rule, std::optional<AttributeState> stored, AttributeState update) {
  auto r = merge_attribute(rule, stored, update);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : AttributeState{};
}

TEST(AttributeMergeTest, SetKeepsTheNewest) {
  EXPECT_EQ(merge(MergeRule::kSet, std::nullopt, at(std::string("eu-01"), 5)),
            at(std::string("eu-01"), 5));
  EXPECT_EQ(merge(MergeRule::kSet, at(std::string("eu-01"), 5), at(std::string("na-02"), 9)),
            at(std::string("na-02"), 9));
  // A late update older than the stored value does not overwrite it.
  EXPECT_EQ(merge(MergeRule::kSet, at(std::string("eu-01"), 5), at(std::string("na-02"), 3)),
            at(std::string("eu-01"), 5));
  // Equal times: the later arrival wins.
  EXPECT_EQ(merge(MergeRule::kSet, at(true, 5), at(false, 5)), at(false, 5));
  // Null clears.
  EXPECT_EQ(merge(MergeRule::kSet, at(true, 5), at(std::monostate{}, 6)), at(std::monostate{}, 6));
}

TEST(AttributeMergeTest, SetOnceKeepsTheOldest) {
  EXPECT_EQ(merge(MergeRule::kSetOnce, std::nullopt, at(std::string("organic"), 5)),
            at(std::string("organic"), 5));
  EXPECT_EQ(merge(MergeRule::kSetOnce, at(std::string("organic"), 5), at(std::string("tiktok"), 9)),
            at(std::string("organic"), 5));
  // A late update that happened first is the real first value.
  EXPECT_EQ(merge(MergeRule::kSetOnce, at(std::string("organic"), 5), at(std::string("tiktok"), 2)),
            at(std::string("tiktok"), 2));
  // A null update never clears it.
  EXPECT_EQ(merge(MergeRule::kSetOnce, at(std::string("organic"), 5), at(std::monostate{}, 2)),
            at(std::string("organic"), 5));
}

TEST(AttributeMergeTest, UnsetClearsUnlessOlder) {
  EXPECT_EQ(merge(MergeRule::kUnset, at(int64_t{3}, 5), at(int64_t{0}, 6)),
            at(std::monostate{}, 6));
  EXPECT_EQ(merge(MergeRule::kUnset, at(int64_t{3}, 5), at(int64_t{0}, 4)), at(int64_t{3}, 5));
  EXPECT_EQ(merge(MergeRule::kUnset, std::nullopt, at(int64_t{0}, 4)), at(std::monostate{}, 4));
  // The cleared state keeps its time: an older set arriving after it does not bring it back.
  const AttributeState cleared = at(std::monostate{}, 6);
  EXPECT_EQ(merge(MergeRule::kSet, cleared, at(int64_t{7}, 4)), cleared);
  EXPECT_EQ(merge(MergeRule::kSetOnce, cleared, at(int64_t{7}, 4)), cleared);
  EXPECT_EQ(merge(MergeRule::kSetOnce, cleared, at(int64_t{7}, 8)), at(int64_t{7}, 8));
}

TEST(AttributeMergeTest, IncrementAddsInAnyOrder) {
  EXPECT_EQ(merge(MergeRule::kIncrement, std::nullopt, at(int64_t{2}, 5)), at(int64_t{2}, 5));
  EXPECT_EQ(merge(MergeRule::kIncrement, at(int64_t{2}, 5), at(int64_t{3}, 1)), at(int64_t{5}, 5));
  EXPECT_EQ(merge(MergeRule::kIncrement, at(int64_t{2}, 5), at(int64_t{-3}, 9)),
            at(int64_t{-1}, 9));
  EXPECT_EQ(merge(MergeRule::kIncrement, at(int64_t{2}, 5), at(0.5, 9)), at(2.5, 9));
  EXPECT_EQ(merge(MergeRule::kIncrement, at(int64_t{2}, 5), at(std::monostate{}, 9)),
            at(int64_t{2}, 5));
  EXPECT_FALSE(
      merge_attribute(MergeRule::kIncrement, at(int64_t{2}, 5), at(std::string("1"), 9)).is_ok());
  EXPECT_FALSE(merge_attribute(MergeRule::kIncrement, at(INT64_MAX, 5), at(int64_t{1}, 9)).is_ok());
}

TEST(AttributeMergeTest, MaxAndMinKeepTheExtreme) {
  EXPECT_EQ(merge(MergeRule::kMax, at(int64_t{12}, 5), at(int64_t{9}, 7)), at(int64_t{12}, 7));
  EXPECT_EQ(merge(MergeRule::kMax, at(int64_t{12}, 5), at(int64_t{15}, 3)), at(int64_t{15}, 5));
  EXPECT_EQ(merge(MergeRule::kMax, std::nullopt, at(int64_t{4}, 3)), at(int64_t{4}, 3));
  EXPECT_EQ(merge(MergeRule::kMin, at(2.5, 5), at(int64_t{3}, 7)), at(2.5, 7));
  EXPECT_EQ(merge(MergeRule::kMin, at(2.5, 5), at(int64_t{1}, 7)), at(int64_t{1}, 7));
  EXPECT_EQ(merge(MergeRule::kMin, at(2.5, 5), at(std::monostate{}, 7)), at(2.5, 5));
  EXPECT_FALSE(merge_attribute(MergeRule::kMax, at(int64_t{2}, 5), at(true, 9)).is_ok());
}

TEST(AttributeMergeTest, AppendKeepsEverything) {
  EXPECT_EQ(merge(MergeRule::kAppend, std::nullopt, at(std::string("a"), 1)), at(List{"a"}, 1));
  EXPECT_EQ(merge(MergeRule::kAppend, at(List{"a"}, 1), at(List{"b", "c"}, 2)),
            at((List{"a", "b", "c"}), 2));
  // A late (older) update is still appended: nothing is lost.
  EXPECT_EQ(merge(MergeRule::kAppend, at(List{"a"}, 5), at(std::string("z"), 2)),
            at((List{"a", "z"}), 5));
  EXPECT_EQ(merge(MergeRule::kAppend, at(List{"a"}, 5), at(std::monostate{}, 9)), at(List{"a"}, 5));
  EXPECT_FALSE(merge_attribute(MergeRule::kAppend, at(List{"a"}, 5), at(int64_t{1}, 9)).is_ok());
}

TEST(AttributeMergeTest, ReplayingInAnyOrderGivesTheSameResult) {
  // Updates of one user, in event-time order; every arrival order must end in the same state
  // for the order-independent rules and for set/set_once/max.
  const std::vector<AttributeState> updates = {at(int64_t{3}, 10), at(int64_t{7}, 20),
                                               at(int64_t{5}, 30)};
  for (MergeRule rule : {MergeRule::kSet, MergeRule::kSetOnce, MergeRule::kMax, MergeRule::kMin,
                         MergeRule::kIncrement}) {
    std::vector<size_t> order = {0, 1, 2};
    std::optional<AttributeState> expected;
    do {
      std::optional<AttributeState> state;
      for (size_t i : order) state = merge(rule, state, updates[i]);
      if (!expected) expected = state;
      EXPECT_EQ(state, expected) << merge_rule_name(rule);
    } while (std::next_permutation(order.begin(), order.end()));
  }
}

}  // namespace
}  // namespace basalt::schema
