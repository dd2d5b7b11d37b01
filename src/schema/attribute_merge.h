#pragma once
// How an update of a user attribute (from an identify call's traits) merges with the stored
// value, for each merge rule of the tracking plan. Updates are ordered by their skew-corrected
// event time, not by arrival: an update that arrives late never overwrites a newer one.
//
//   set        the value of the newest update wins (equal times: the later arrival wins).
//   set_once   the value of the oldest update wins: a late update older than the stored one
//              replaces it, since it was truly the first.
//   unset      clears the value if the update is not older than the stored one; the cleared
//              state keeps its time, so an older `set` arriving after it stays cleared.
//   increment  adds the update to the stored number (order does not matter).
//   max / min  keeps the larger / smaller of the two (order does not matter).
//   append     adds the update (a string or a list of strings) to the end of the stored list;
//              nothing is lost, but a late update lands at the end (the list is in arrival
//              order).
// A null update (JSON null) clears the value under set (when it is the newest) and changes
// nothing under set_once, increment, max, min and append. The merged time of increment, max,
// min and append is the newer of the two times.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "event/event.h"
#include "schema/tracking_plan.h"

namespace basalt::schema {

// null, bool, int (and timestamp µs), float, string (and json text), string[].
using AttributeValue =
    std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;

struct AttributeState {
  AttributeValue value;  // std::monostate: no value (never set, or unset)
  int64_t time_us = 0;   // event time of the update that produced the value
  bool operator==(const AttributeState&) const = default;
};

// The merged state. `stored` is nullopt when the user never had this attribute.
// Errors: kInvalidArgument when the rule cannot combine the values (increment/max/min of a
// non-number, append of something other than a string or list of strings).
Result<AttributeState> merge_attribute(MergeRule rule, const std::optional<AttributeState>& stored,
                                       const AttributeState& update);

// A validated value of an event (an identify's trait) as the value an update carries.
AttributeValue attribute_value_of(const event::TypedField& f);

}  // namespace basalt::schema
