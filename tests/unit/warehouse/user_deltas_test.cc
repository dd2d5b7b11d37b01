#include "warehouse/user_deltas.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::warehouse {
namespace {

event::Event make(event::EventType type, std::string user, std::string anonymous, int64_t ts) {
  event::Event e;
  e.type = type;
  e.user_id = std::move(user);
  e.anonymous_id = std::move(anonymous);
  e.timestamp_us = ts;
  return e;
}

TEST(UserDeltas, OnePerUserInFirstSeenOrderWithTheirOtherIds) {
  using T = event::EventType;
  std::vector<event::Event> events;
  events.push_back(make(T::kTrack, "u2", "a9", 50));
  events.push_back(make(T::kTrack, "", "a1", 10));  // anonymous only: no user
  events.push_back(make(T::kIdentify, "u1", "a3", 40));
  events.push_back(make(T::kAlias, "u2", "", 70));
  events.back().previous_id = "a1";
  events.push_back(make(T::kIdentify, "u2", "a9", 20));
  events.push_back(make(T::kTrack, "u1", "a2", 30));

  auto deltas = user_deltas(events);
  ASSERT_EQ(deltas.size(), 2u);
  const UserDelta& u2 = deltas[0];
  EXPECT_EQ(u2.user_id, "u2");
  EXPECT_EQ(u2.first_seen_us, 20);
  EXPECT_EQ(u2.last_seen_us, 70);
  EXPECT_EQ(u2.anonymous_ids, (std::vector<std::string_view>{"a1", "a9"}));  // sorted, distinct
  ASSERT_EQ(u2.identifies.size(), 1u);
  EXPECT_EQ(u2.identifies[0], &events[4]);

  const UserDelta& u1 = deltas[1];
  EXPECT_EQ(u1.user_id, "u1");
  EXPECT_EQ(u1.first_seen_us, 30);
  EXPECT_EQ(u1.last_seen_us, 40);
  EXPECT_EQ(u1.anonymous_ids, (std::vector<std::string_view>{"a2", "a3"}));
  ASSERT_EQ(u1.identifies.size(), 1u);
  EXPECT_EQ(u1.identifies[0], &events[2]);

  EXPECT_TRUE(user_deltas({}).empty());
}

}  // namespace
}  // namespace basalt::warehouse
