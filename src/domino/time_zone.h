#pragma once
// IANA time zones read from the system's tz database (TZif files under /usr/share/zoneinfo).
//
// Why our own reader: g++ 12's libstdc++ has no C++20 <chrono> time zones, and the C library's
// localtime_r/mktime read the zone from the process-global TZ variable, which a scheduler
// evaluating many DAGs in many zones from several threads cannot switch safely. TZif is a small,
// documented format (RFC 8536); this reads version 2+ files (64-bit transition times) and the
// POSIX TZ footer for instants after the last listed transition.
//
// Thread safety: a TimeZone is immutable after load(); share it freely.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace basalt::domino {

// Seconds since 1970-01-01T00:00:00 UTC.
using UnixSeconds = int64_t;
// Seconds since 1970-01-01T00:00:00 of a wall clock (local time read as if it were UTC).
using LocalSeconds = int64_t;

class TimeZone {
 public:
  // "UTC" needs no file. Other names are looked up under `zoneinfo_dir`; names with ".." or a
  // leading '/' are refused.
  static Result<TimeZone> load(const std::string& name,
                               const std::filesystem::path& zoneinfo_dir = "/usr/share/zoneinfo");
  static TimeZone utc();

  const std::string& name() const { return name_; }

  // UTC offset in seconds (east positive) in effect at `t`.
  int offset_at(UnixSeconds t) const;
  LocalSeconds to_local(UnixSeconds t) const { return t + offset_at(t); }

  // The instant of wall-clock time `local`, under the DST policy of Domino:
  //  - a time that exists once maps to that instant;
  //  - an ambiguous time (autumn fall-back) maps to its FIRST occurrence;
  //  - a nonexistent time (spring-forward gap) is shifted forward by the length of the gap
  //    (02:30 in a one-hour gap becomes 03:30), as java.time's ZonedDateTime.of does.
  UnixSeconds to_utc(LocalSeconds local) const;

  // Number of instants whose wall clock reads `local`: 0 (gap), 1, or 2 (overlap).
  int occurrences(LocalSeconds local) const;

 private:
  struct Rule;  // POSIX TZ footer rule
  struct Transition {
    UnixSeconds at;
    int offset;
  };
  int footer_offset(UnixSeconds t) const;

  std::string name_;
  std::vector<Transition> transitions_;  // sorted by `at`
  int initial_offset_ = 0;               // before the first transition
  // The POSIX footer: standard offset, and DST offset with its yearly start/end rules.
  bool footer_valid_ = false;
  int std_offset_ = 0;
  bool has_dst_ = false;
  int dst_offset_ = 0;
  int start_month_ = 0, start_week_ = 0, start_wday_ = 0, start_time_ = 0;
  int end_month_ = 0, end_week_ = 0, end_wday_ = 0, end_time_ = 0;
};

// Civil-time helpers on LocalSeconds.
struct CivilTime {
  int year, month, day, hour, minute, second;
  int weekday;  // 0 = Sunday
};
CivilTime to_civil(LocalSeconds local);
LocalSeconds from_civil(int year, int month, int day, int hour = 0, int minute = 0,
                        int second = 0);

// "2026-11-23T02:00:00+08:00" for instant `t` in zone `tz`.
std::string format_iso8601(UnixSeconds t, const TimeZone& tz);
// "2026-11-23" (the date of `t` in `tz`).
std::string format_date(UnixSeconds t, const TimeZone& tz);
// Parses "2026-11-23", "2026-11-23T02:00", "2026-11-23T02:00:00", "2026-11-23 02:00:00", with an
// optional "Z" or "+08:00" offset; without an offset the time is read in `tz`.
Result<UnixSeconds> parse_time(const std::string& text, const TimeZone& tz);

}  // namespace basalt::domino
