#include "warehouse/filled_columns.h"

#include <utility>

namespace basalt::warehouse {

bool merge_attributes(const event::Event& e, const std::vector<FilledColumn>& columns,
                      const std::unordered_map<std::string, size_t>& index, AttributeStates& state,
                      MergeRefusals& refusals) {
  bool changed = false;
  for (const event::TypedField& f : e.typed) {
    auto c = index.find(f.name);
    if (c == index.end()) continue;
    const FilledColumn& col = columns[c->second];
    if (f.type != col.type && f.type != event::ValueType::kNull) continue;
    auto merged = schema::merge_attribute(col.merge, state[c->second],
                                          {schema::attribute_value_of(f), e.timestamp_us});
    if (!merged) {
      if (refusals.count++ == 0) refusals.first = merged.status().message();
      continue;
    }
    state[c->second] = std::move(*merged);
    changed = true;
  }
  return changed;
}

}  // namespace basalt::warehouse
