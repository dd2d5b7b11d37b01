#include "warehouse/user_deltas.h"

#include <algorithm>
#include <unordered_map>

namespace basalt::warehouse {

std::vector<UserDelta> user_deltas(const std::vector<event::Event>& events) {
  std::vector<UserDelta> out;
  std::unordered_map<std::string_view, size_t> at;  // user id → index in out
  for (const event::Event& e : events) {
    if (e.user_id.empty()) continue;
    auto [it, fresh] = at.try_emplace(e.user_id, out.size());
    if (fresh) {
      out.emplace_back();
      out.back().user_id = e.user_id;
    }
    UserDelta& d = out[it->second];
    d.first_seen_us = std::min(d.first_seen_us, e.timestamp_us);
    d.last_seen_us = std::max(d.last_seen_us, e.timestamp_us);
    if (!e.anonymous_id.empty()) d.anonymous_ids.push_back(e.anonymous_id);
    // alias: previous_id is another id of the same person (usually the anonymous one).
    if (e.type == event::EventType::kAlias && !e.previous_id.empty()) {
      d.anonymous_ids.push_back(e.previous_id);
    }
    if (e.type == event::EventType::kIdentify) d.identifies.push_back(&e);
  }
  for (UserDelta& d : out) {
    std::sort(d.anonymous_ids.begin(), d.anonymous_ids.end());
    d.anonymous_ids.erase(std::unique(d.anonymous_ids.begin(), d.anonymous_ids.end()),
                          d.anonymous_ids.end());
  }
  return out;
}

}  // namespace basalt::warehouse
