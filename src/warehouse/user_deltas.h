// What a load batch says about each user it names, as both warehouse engines merge it into
// their `users` table.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace basalt::warehouse {

// The batch's facts about one user id. Views and pointers are into the batch's events.
struct UserDelta {
  std::string_view user_id;
  int64_t first_seen_us = std::numeric_limits<int64_t>::max();
  int64_t last_seen_us = std::numeric_limits<int64_t>::min();
  // The person's other ids: anonymousIds, and the previousId of an alias. Sorted, distinct.
  std::vector<std::string_view> anonymous_ids;
  std::vector<const event::Event*> identifies;  // in batch order
};

// One delta per user id of `events` (events without a user id say nothing of a user), in the
// order of each id's first event.
std::vector<UserDelta> user_deltas(const std::vector<event::Event>& events);

}  // namespace basalt::warehouse
