#include "domino/cron_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>
#include <vector>

namespace basalt::domino {

namespace {

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldSpec {
  const char* name;
  int lo, hi;
  bool months, weekdays;
};

Result<int> parse_value(const std::string& s, const FieldSpec& f) {
  std::string up = s;
  std::transform(up.begin(), up.end(), up.begin(), ::toupper);
  if (f.months) {
    for (size_t i = 0; i < kMonthNames.size(); ++i) if (up == kMonthNames[i]) return static_cast<int>(i + 1);
  }
  if (f.weekdays) {
    for (size_t i = 0; i < kDayNames.size(); ++i) if (up == kDayNames[i]) return static_cast<int>(i);
  }
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return invalid_argument(fmt::format("'{}' is not a number", s));
  }
  int hi = f.weekdays ? 7 : f.hi;
  if (v < f.lo || v > hi) {
    return invalid_argument(fmt::format("{} is out of range {}-{}", v, f.lo, hi));
  }
  return v;
}

// Sets the bits of one field; `star` tells whether it was a bare "*".
template <size_t N>
Status parse_field(const std::string& text, const FieldSpec& f, std::bitset<N>& bits, bool& star) {
  star = text == "*" || text == "?";
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    any = true;
    int step = 1;
    auto slash = item.find('/');
    std::string range = item.substr(0, slash);
    if (slash != std::string::npos) {
      std::string st = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(st.data(), st.data() + st.size(), step);
      if (st.empty() || ec != std::errc() || end != st.data() + st.size() || step < 1) {
        return invalid_argument(fmt::format("bad step '{}' in {} field", st, f.name));
      }
    }
    int lo = f.lo, hi = f.hi;
    if (range != "*" && range != "?") {
      auto dash = range.find('-', 1);
      auto a = parse_value(range.substr(0, dash), f);
      if (!a) return invalid_argument(fmt::format("{} field: {}", f.name, a.status().message()));
      lo = *a;
      if (dash != std::string::npos) {
        auto b = parse_value(range.substr(dash + 1), f);
        if (!b) return invalid_argument(fmt::format("{} field: {}", f.name, b.status().message()));
        hi = *b;
        if (hi < lo) return invalid_argument(fmt::format("{} field: range {} is backwards", f.name, range));
      } else if (slash == std::string::npos) {
        hi = lo;
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(f.weekdays ? v % 7 : v);
  }
  if (!any) return invalid_argument(fmt::format("empty {} field", f.name));
  return Status::ok();
}

}  // namespace

Result<CronSchedule> CronSchedule::parse(const std::string& input) {
  std::string text = input;
  static const std::vector<std::pair<std::string, std::string>> kMacros = {
      {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"}};
  if (!text.empty() && text[0] == '@') {
    auto it = std::find_if(kMacros.begin(), kMacros.end(),
                           [&](const auto& m) { return m.first == text; });
    if (it == kMacros.end()) {
      return invalid_argument(fmt::format(
          "bad cron '{}': unknown macro (known: @hourly @daily @weekly @monthly @yearly)", input));
    }
    text = it->second;
  }
  std::vector<std::string> fields;
  std::stringstream ss(text);
  for (std::string f; ss >> f;) fields.push_back(f);
  if (fields.size() == 5) fields.insert(fields.begin(), "0");
  if (fields.size() != 6) {
    return invalid_argument(fmt::format("bad cron '{}': expected 5 or 6 fields, found {}", input,
                                        fields.size()));
  }
  CronSchedule c;
  c.text_ = input;
  bool star = false;
  auto wrap = [&](Status s) {
    return s.is_ok() ? s : invalid_argument(fmt::format("bad cron '{}': {}", input, s.message()));
  };
  BASALT_RETURN_IF_ERROR(wrap(parse_field(fields[0], {"second", 0, 59, false, false}, c.seconds_, star)));
  BASALT_RETURN_IF_ERROR(wrap(parse_field(fields[1], {"minute", 0, 59, false, false}, c.minutes_, star)));
  BASALT_RETURN_IF_ERROR(wrap(parse_field(fields[2], {"hour", 0, 23, false, false}, c.hours_, star)));
  BASALT_RETURN_IF_ERROR(wrap(parse_field(fields[3], {"day-of-month", 1, 31, false, false}, c.days_, c.days_star_)));
  BASALT_RETURN_IF_ERROR(wrap(parse_field(fields[4], {"month", 1, 12, true, false}, c.months_, star)));
  BASALT_RETURN_IF_ERROR(wrap(parse_field(fields[5], {"day-of-week", 0, 6, false, true}, c.weekdays_, c.weekdays_star_)));
  return c;
}

bool CronSchedule::day_matches(const CivilTime& c) const {
  bool dom = days_[c.day], dow = weekdays_[c.weekday];
  if (days_star_ && weekdays_star_) return true;
  if (days_star_) return dow;
  if (weekdays_star_) return dom;
  return dom || dow;
}

std::optional<LocalSeconds> CronSchedule::next_local_match(LocalSeconds from) const {
  LocalSeconds l = from;
  const int limit_year = to_civil(from).year + 10;
  while (true) {
    CivilTime c = to_civil(l);
    if (c.year > limit_year) return std::nullopt;
    if (!months_[c.month]) {
      l = from_civil(c.year, c.month + 1, 1);
    } else if (!day_matches(c)) {
      l = from_civil(c.year, c.month, c.day + 1);
    } else if (!hours_[c.hour]) {
      l = from_civil(c.year, c.month, c.day, c.hour + 1);
    } else if (!minutes_[c.minute]) {
      l = from_civil(c.year, c.month, c.day, c.hour, c.minute + 1);
    } else if (!seconds_[c.second]) {
      l += 1;
    } else {
      return l;
    }
  }
}

std::optional<UnixSeconds> CronSchedule::next_after(UnixSeconds after, const TimeZone& tz) const {
  // A wall-clock time L fires at L - o for one of the offsets o in force near `after`, so the
  // first candidate is at after + min(o) + 1, and once L - max(o) passes the best instant found
  // no later wall-clock time can fire earlier.
  int o_lo = std::min({tz.offset_at(after - 2 * 86400), tz.offset_at(after), tz.offset_at(after + 2 * 86400)});
  int o_hi = std::max({tz.offset_at(after - 2 * 86400), tz.offset_at(after), tz.offset_at(after + 2 * 86400)});
  std::optional<UnixSeconds> best;
  LocalSeconds l = after + o_lo + 1;
  while (true) {
    auto m = next_local_match(l);
    if (!m) return best;
    if (best && *m - o_hi > *best) return best;
    UnixSeconds u = tz.to_utc(*m);
    if (u > after && (!best || u < *best)) best = u;
    l = *m + 1;
  }
}

std::optional<UnixSeconds> CronSchedule::last_before(UnixSeconds before, const TimeZone& tz) const {
  for (int64_t window = 3600; window <= int64_t{11} * 366 * 86400; window *= 4) {
    auto first = next_after(before - window - 1, tz);
    if (!first || *first >= before) continue;
    UnixSeconds last = *first;
    while (true) {
      auto n = next_after(last, tz);
      if (!n || *n >= before) return last;
      last = *n;
    }
  }
  return std::nullopt;
}

}  // namespace basalt::domino
