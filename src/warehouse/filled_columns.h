// What both warehouse engines share about the tracking plan's typed columns: the columns they
// fill (p_<property> on events, a_<attribute> on users) and the merge of an identify's typed
// attributes into a user's stored ones.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "event/event.h"
#include "schema/attribute_merge.h"

namespace basalt::warehouse {

struct FilledColumn {
  std::string name;    // the plan's name
  std::string column;  // p_<name> / a_<name>
  event::ValueType type = event::ValueType::kString;
  schema::MergeRule merge = schema::MergeRule::kSet;
};

// A user's attribute values and their times, one slot per user column (empty: neither).
using AttributeStates = std::vector<std::optional<schema::AttributeState>>;

// The merges a column's rule refused: how many, and the first one's reason.
struct MergeRefusals {
  size_t count = 0;
  std::string first;
};

// Merges each typed field of identify `e` that names a user column (`index`: plan name →
// `columns`) into `state`, by the column's merge rule at the event's time. A field of another
// type than its column is skipped; a refused merge is counted in `refusals` and leaves the slot.
// Returns whether a slot changed.
bool merge_attributes(const event::Event& e, const std::vector<FilledColumn>& columns,
                      const std::unordered_map<std::string, size_t>& index, AttributeStates& state,
                      MergeRefusals& refusals);

}  // namespace basalt::warehouse
