#pragma once
// Resolves a query's time range to local (wall-clock) bounds in the project's time zone, and
// the shift of a comparison period.
//
// Ranges: [start, end] of dates ("2026-10-01", the end date included whole) or local times
// ("2026-10-01T08:00[:00]", the end excluded); or a name: today, yesterday, last_N_days
// (N days ending today, today included), this_week, last_week (weeks start on Monday),
// this_month, last_month, this_quarter, this_year, last_year.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "domino/time_zone.h"
#include "semantic/dialect.h"
#include "semantic/query.h"

namespace basalt::semantic {

struct LocalRange {
  domino::LocalSeconds start = 0;  // inclusive
  domino::LocalSeconds end = 0;    // exclusive
  std::string start_text() const;  // "YYYY-MM-DD HH:MM:SS"
  std::string end_text() const;
};

// REQUIRES: spec parsed by parse_query. kInvalidArgument for malformed dates, an end before
// the start, a range longer than 10 years or an unknown name.
Result<LocalRange> resolve_range(const TimeSpec& spec, int64_t now_us, const domino::TimeZone& tz);

// The shift from the comparison period to the queried one: previous_period is the range's own
// length (in months when it spans whole months, else days when whole days, else seconds).
Shift compare_shift(Compare compare, const LocalRange& range);

// `local` moved by `shift` (negate=true: backwards).
domino::LocalSeconds shift_local(domino::LocalSeconds local, const Shift& shift, bool negate);

std::string local_text(domino::LocalSeconds local);  // "YYYY-MM-DD HH:MM:SS"

}  // namespace basalt::semantic
