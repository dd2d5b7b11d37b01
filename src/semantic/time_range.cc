#include "semantic/time_range.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace basalt::semantic {

namespace {

using domino::CivilTime;
using domino::from_civil;
using domino::LocalSeconds;
using domino::to_civil;

constexpr int64_t kDay = 86400;

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

LocalSeconds add_months(LocalSeconds t, int months) {
  CivilTime c = to_civil(t);
  int total = c.year * 12 + (c.month - 1) + months;
  int y = total / 12, m = total % 12 + 1;
  int d = std::min(c.day, days_in_month(y, m));
  return from_civil(y, m, d, c.hour, c.minute, c.second);
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]" (a space instead of T too). `has_time` says which.
Result<LocalSeconds> parse_local(const std::string& s, bool& has_time) {
  auto digits = [&](size_t at, size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h = 0, mi = 0, se = 0;
  auto bad = [&] {
    return invalid_argument("'" + s +
                            "' is not a date (YYYY-MM-DD) or local time (YYYY-MM-DDTHH:MM[:SS])");
  };
  if (!digits(0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d)) {
    return bad();
  }
  has_time = false;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || !digits(11, 2, h) || s.size() < 16 || s[13] != ':' ||
        !digits(14, 2, mi)) {
      return bad();
    }
    if (s.size() > 16) {
      if (s.size() != 19 || s[16] != ':' || !digits(17, 2, se)) return bad();
    }
    has_time = true;
  }
  if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
      mi > 59 || se > 59) {
    return invalid_argument("'" + s + "' is not a valid date or time");
  }
  return from_civil(y, mo, d, h, mi, se);
}

LocalSeconds start_of_day(LocalSeconds t) { return t - ((t % kDay) + kDay) % kDay; }

}  // namespace

std::string local_text(LocalSeconds local) {
  CivilTime c = to_civil(local);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour,
                     c.minute, c.second);
}

std::string LocalRange::start_text() const { return local_text(start); }
std::string LocalRange::end_text() const { return local_text(end); }

Result<LocalRange> resolve_range(const TimeSpec& spec, int64_t now_us, const domino::TimeZone& tz) {
  LocalRange r;
  if (spec.relative.empty()) {
    bool start_time = false, end_time = false;
    auto s = parse_local(spec.start, start_time);
    if (!s) return s.status();
    auto e = parse_local(spec.end, end_time);
    if (!e) return e.status();
    r.start = *s;
    r.end = end_time ? *e : *e + kDay;
  } else {
    LocalSeconds now = tz.to_local(now_us / 1'000'000);
    LocalSeconds today = start_of_day(now);
    CivilTime c = to_civil(today);
    const std::string& n = spec.relative;
    if (n == "today") {
      r = {today, today + kDay};
    } else if (n == "yesterday") {
      r = {today - kDay, today};
    } else if (n == "this_week" || n == "last_week") {
      int since_monday = (c.weekday + 6) % 7;
      LocalSeconds monday = today - since_monday * kDay;
      r = n == "this_week" ? LocalRange{monday, monday + 7 * kDay}
                           : LocalRange{monday - 7 * kDay, monday};
    } else if (n == "this_month" || n == "last_month") {
      LocalSeconds first = from_civil(c.year, c.month, 1);
      r = n == "this_month" ? LocalRange{first, add_months(first, 1)}
                            : LocalRange{add_months(first, -1), first};
    } else if (n == "this_quarter") {
      LocalSeconds first = from_civil(c.year, (c.month - 1) / 3 * 3 + 1, 1);
      r = {first, add_months(first, 3)};
    } else if (n == "this_year" || n == "last_year") {
      LocalSeconds first = from_civil(c.year, 1, 1);
      r = n == "this_year" ? LocalRange{first, add_months(first, 12)}
                           : LocalRange{add_months(first, -12), first};
    } else if (n.starts_with("last_") && n.ends_with("_days") && n.size() > 10 && n.size() <= 14) {
      std::string digits = n.substr(5, n.size() - 10);
      if (!std::all_of(digits.begin(), digits.end(),
                       [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
        return invalid_argument("unknown time range '" + n + "'");
      }
      int days = std::stoi(digits);
      if (days < 1 || days > 3660) return invalid_argument("'" + n + "': from 1 to 3660 days");
      r = {today - (days - 1) * kDay, today + kDay};
    } else {
      return invalid_argument("unknown time range '" + n +
                              "' (known: today, yesterday, last_N_days, this_week, last_week, "
                              "this_month, last_month, this_quarter, this_year, last_year)");
    }
  }
  if (r.end <= r.start) return invalid_argument("the time range ends before it starts");
  if (r.end - r.start > 3660 * kDay)
    return invalid_argument("the time range is longer than 10 years");
  return r;
}

Shift compare_shift(Compare compare, const LocalRange& range) {
  Shift s;
  switch (compare) {
    case Compare::kNone:
      break;
    case Compare::kSamePeriodLastWeek:
      s.days = 7;
      break;
    case Compare::kSamePeriodLastYear:
      s.months = 12;
      break;
    case Compare::kPreviousPeriod: {
      CivilTime a = to_civil(range.start), b = to_civil(range.end);
      bool whole_months = a.day == 1 && b.day == 1 && a.hour == 0 && a.minute == 0 &&
                          a.second == 0 && b.hour == 0 && b.minute == 0 && b.second == 0;
      int64_t len = range.end - range.start;
      if (whole_months) {
        s.months = (b.year * 12 + b.month) - (a.year * 12 + a.month);
      } else if (len % kDay == 0 && range.start % kDay == 0) {
        s.days = static_cast<int>(len / kDay);
      } else {
        s.seconds = len;
      }
      break;
    }
  }
  return s;
}

LocalSeconds shift_local(LocalSeconds local, const Shift& shift, bool negate) {
  int sign = negate ? -1 : 1;
  LocalSeconds t = add_months(local, sign * shift.months);
  return t + sign * (shift.days * kDay + shift.seconds);
}

}  // namespace basalt::semantic
