#pragma once
// Breaking changes between two versions of a tracking plan: changes after which data that was
// valid is rejected, or that queries relying on the old plan can no longer trust.
//
//   - a property, event or user attribute removed;
//   - a type narrowed (every change except int → float and anything → json);
//   - a constraint tightened: allowed values added to a free property or an allowed value
//     removed, min raised or added, max lowered or added, a regex added or changed;
//   - an event's property removed (required: consumers lose it; optional: strict sources that
//     send it are rejected), added as required, or changed from optional to required;
//   - a user attribute's merge rule changed;
//   - a source's enforcement made stricter (off → lenient → strict).
//
// Pure function; thread-safe.

#include <string>
#include <vector>

#include "schema/tracking_plan.h"

namespace basalt::schema {

struct BreakingChange {
  // In `after`, or in `before` for something removed.
  SourceLocation location;
  std::string message;
  std::string to_string() const;  // "file:line: message"
};

// In the order of `after`'s definitions, removals last.
std::vector<BreakingChange> find_breaking_changes(const TrackingPlan& before,
                                                  const TrackingPlan& after);

}  // namespace basalt::schema
