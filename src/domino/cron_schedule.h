#pragma once
// Cron expressions evaluated on the wall clock of a time zone.
//
// Accepted: 5 fields (minute hour day-of-month month day-of-week), 6 fields (second first),
// the macros @hourly @daily @midnight @weekly @monthly @yearly @annually. Fields take `*`,
// numbers, ranges `a-b`, steps `*/n` `a-b/n` `a/n`, lists, month names JAN-DEC and day names
// SUN-SAT (0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted a day
// matches if either matches.
//
// DST policy (see TimeZone::to_utc): a wall-clock time inside a spring-forward gap fires at the
// instant the gap shifts it to (02:30 → 03:30); a wall-clock time that happens twice in the
// autumn fires once, at its first occurrence. Fire instants are therefore strictly increasing
// and never duplicated even when two wall-clock times shift onto one instant.
//
// Thread safety: immutable after parse().

#include <bitset>
#include <optional>
#include <string>

#include "common/status.h"
#include "domino/time_zone.h"

namespace basalt::domino {

class CronSchedule {
 public:
  static Result<CronSchedule> parse(const std::string& text);

  const std::string& text() const { return text_; }

  // The first fire instant strictly after `after`, or nullopt when none comes within 10 years
  // (e.g. "0 0 30 2 *").
  std::optional<UnixSeconds> next_after(UnixSeconds after, const TimeZone& tz) const;
  // The last fire instant strictly before `before`, or nullopt.
  std::optional<UnixSeconds> last_before(UnixSeconds before, const TimeZone& tz) const;

 private:
  bool day_matches(const CivilTime& c) const;
  std::optional<LocalSeconds> next_local_match(LocalSeconds from) const;

  std::string text_;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;
  std::bitset<13> months_;
  std::bitset<7> weekdays_;
  bool days_star_ = true, weekdays_star_ = true;
};

}  // namespace basalt::domino
