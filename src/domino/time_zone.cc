#include "domino/time_zone.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

namespace basalt::domino {

namespace {

using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t read_be(const std::string& data, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[pos + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// Parses a POSIX TZ offset "[+-]hh[:mm[:ss]]" at `pos`; returns seconds.
bool parse_hms(const std::string& s, size_t& pos, int& out) {
  int sign = 1;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) sign = s[pos++] == '-' ? -1 : 1;
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (pos >= s.size() || !isdigit(static_cast<unsigned char>(s[pos]))) return i > 0;
    int v = 0;
    while (pos < s.size() && isdigit(static_cast<unsigned char>(s[pos]))) v = v * 10 + (s[pos++] - '0');
    parts[i] = v;
    out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    if (pos >= s.size() || s[pos] != ':') return true;
    ++pos;
  }
  return true;
}

bool skip_abbreviation(const std::string& s, size_t& pos) {
  if (pos < s.size() && s[pos] == '<') {
    auto end = s.find('>', pos);
    if (end == std::string::npos) return false;
    pos = end + 1;
    return true;
  }
  size_t start = pos;
  while (pos < s.size() && isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
  return pos - start >= 3;
}

// "Mm.w.d[/time]"; other rule forms (Jn, n) are not used by current tzdata footers.
bool parse_rule(const std::string& s, size_t& pos, int& m, int& w, int& d, int& time) {
  if (pos >= s.size() || s[pos] != 'M') return false;
  ++pos;
  int* fields[3] = {&m, &w, &d};
  for (int i = 0; i < 3; ++i) {
    int v = 0;
    if (pos >= s.size() || !isdigit(static_cast<unsigned char>(s[pos]))) return false;
    while (pos < s.size() && isdigit(static_cast<unsigned char>(s[pos]))) v = v * 10 + (s[pos++] - '0');
    *fields[i] = v;
    if (i < 2) {
      if (pos >= s.size() || s[pos] != '.') return false;
      ++pos;
    }
  }
  time = 7200;
  if (pos < s.size() && s[pos] == '/') {
    ++pos;
    if (!parse_hms(s, pos, time)) return false;
  }
  return m >= 1 && m <= 12 && w >= 1 && w <= 5 && d >= 0 && d <= 6;
}

// Day of month of the w-th (5: last) weekday d of month m in `y`.
int rule_day(int y, int m, int w, int d) {
  sys_days first{year{y} / month{static_cast<unsigned>(m)} / day{1}};
  int wd1 = static_cast<int>(std::chrono::weekday{first}.c_encoding());
  int dd = 1 + (d - wd1 + 7) % 7 + (w - 1) * 7;
  int dim = static_cast<int>(
      static_cast<unsigned>((year{y} / month{static_cast<unsigned>(m)} / std::chrono::last).day()));
  while (dd > dim) dd -= 7;
  return dd;
}

}  // namespace

CivilTime to_civil(LocalSeconds local) {
  int64_t d = floor_div(local, 86400);
  int64_t rem = local - d * 86400;
  sys_days sd{days{d}};
  year_month_day ymd{sd};
  CivilTime c{};
  c.year = static_cast<int>(ymd.year());
  c.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  c.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.second = static_cast<int>(rem % 60);
  c.weekday = static_cast<int>(std::chrono::weekday{sd}.c_encoding());
  return c;
}

LocalSeconds from_civil(int y, int m, int d, int hh, int mm, int ss) {
  // Months and days out of range roll over, like timegm: normalise the month first.
  int64_t months = static_cast<int64_t>(y) * 12 + (m - 1);
  int yy = static_cast<int>(floor_div(months, 12));
  unsigned mo = static_cast<unsigned>(months - static_cast<int64_t>(yy) * 12 + 1);
  sys_days first{year{yy} / month{mo} / day{1}};
  return (static_cast<int64_t>(first.time_since_epoch().count()) + (d - 1)) * 86400 +
         hh * 3600 + mm * 60 + ss;
}

TimeZone TimeZone::utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

Result<TimeZone> TimeZone::load(const std::string& name, const std::filesystem::path& dir) {
  if (name == "UTC" || name == "Etc/UTC") return utc();
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) {
    return invalid_argument(fmt::format("unknown time zone '{}'", name));
  }
  std::ifstream in(dir / name, std::ios::binary);
  if (!in) return invalid_argument(fmt::format("unknown time zone '{}' (no {} file)", name,
                                               (dir / name).string()));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const char* why) {
    return data_loss(fmt::format("time zone file {} is not valid TZif: {}",
                                 (dir / name).string(), why));
  };
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return bad("no TZif header");
  auto counts = [&](size_t base, int64_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = read_be(data, base + 20 + 4 * i, 4);
  };
  int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  size_t pos = 44;
  int time_bytes = 4;
  if (data[4] >= '2') {
    // Skip the version-1 block; the version-2 block after it has 64-bit times.
    pos += c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (data.size() < pos + 44 || data.compare(pos, 4, "TZif") != 0) return bad("no v2 header");
    counts(pos, c);
    pos += 44;
    time_bytes = 8;
  }
  const int64_t timecnt = c[3], typecnt = c[4];
  size_t need = pos + timecnt * time_bytes + timecnt + typecnt * 6 + c[5] +
                c[2] * (time_bytes + 4) + c[1] + c[0];
  if (typecnt < 1 || data.size() < need) return bad("truncated");
  std::vector<int> type_offsets(typecnt);
  std::vector<bool> type_dst(typecnt);
  size_t types_at = pos + timecnt * time_bytes + timecnt;
  for (int64_t i = 0; i < typecnt; ++i) {
    type_offsets[i] = static_cast<int>(read_be(data, types_at + i * 6, 4));
    type_dst[i] = data[types_at + i * 6 + 4] != 0;
  }
  TimeZone tz;
  tz.name_ = name;
  // RFC 8536: local time before the first transition uses type 0.
  tz.initial_offset_ = type_offsets[0];
  for (int64_t i = 0; i < timecnt; ++i) {
    int64_t at = read_be(data, pos + i * time_bytes, time_bytes);
    auto idx = static_cast<unsigned char>(data[pos + timecnt * time_bytes + i]);
    if (idx >= typecnt) return bad("transition type out of range");
    tz.transitions_.push_back({at, type_offsets[idx]});
  }
  if (time_bytes == 8) {
    auto nl = data.find('\n', need);
    auto nl2 = nl == std::string::npos ? nl : data.find('\n', nl + 1);
    if (nl != std::string::npos && nl2 != std::string::npos) {
      std::string footer = data.substr(nl + 1, nl2 - nl - 1);
      size_t p = 0;
      int std_west = 0;
      if (!footer.empty() && skip_abbreviation(footer, p) && parse_hms(footer, p, std_west)) {
        tz.std_offset_ = -std_west;
        tz.footer_valid_ = true;
        if (p < footer.size() && skip_abbreviation(footer, p)) {
          int dst_west = std_west - 3600;
          if (p < footer.size() && footer[p] != ',') parse_hms(footer, p, dst_west);
          tz.dst_offset_ = -dst_west;
          if (p < footer.size() && footer[p] == ',' &&
              parse_rule(footer, ++p, tz.start_month_, tz.start_week_, tz.start_wday_,
                         tz.start_time_) &&
              p < footer.size() && footer[p] == ',' &&
              parse_rule(footer, ++p, tz.end_month_, tz.end_week_, tz.end_wday_, tz.end_time_)) {
            tz.has_dst_ = true;
          } else {
            tz.footer_valid_ = false;  // a form we do not read: keep the last transition's offset
          }
        }
      }
    }
  }
  return tz;
}

int TimeZone::footer_offset(UnixSeconds t) const {
  if (!has_dst_) return std_offset_;
  int y = to_civil(t + std_offset_).year;
  UnixSeconds start =
      from_civil(y, start_month_, rule_day(y, start_month_, start_week_, start_wday_)) +
      start_time_ - std_offset_;
  UnixSeconds end = from_civil(y, end_month_, rule_day(y, end_month_, end_week_, end_wday_)) +
                    end_time_ - dst_offset_;
  bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? dst_offset_ : std_offset_;
}

int TimeZone::offset_at(UnixSeconds t) const {
  if (transitions_.empty()) return footer_valid_ ? footer_offset(t) : initial_offset_;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
                             [](UnixSeconds v, const Transition& tr) { return v < tr.at; });
  if (it == transitions_.begin()) return initial_offset_;
  if (it == transitions_.end() && footer_valid_) return footer_offset(t);
  return std::prev(it)->offset;
}

int TimeZone::occurrences(LocalSeconds local) const {
  int before = offset_at(local - 86400 - 14 * 3600);
  int after = offset_at(local + 86400 + 14 * 3600);
  int n = offset_at(local - before) == before ? 1 : 0;
  if (after != before && offset_at(local - after) == after) ++n;
  return n;
}

UnixSeconds TimeZone::to_utc(LocalSeconds local) const {
  // Transitions are far more than a day apart in every zone, so the offsets a day either side
  // are the two candidates.
  int before = offset_at(local - 86400 - 14 * 3600);
  int after = offset_at(local + 86400 + 14 * 3600);
  bool before_ok = offset_at(local - before) == before;
  bool after_ok = offset_at(local - after) == after;
  if (before_ok && after_ok) return std::min(local - before, local - after);  // first occurrence
  if (before_ok) return local - before;
  if (after_ok) return local - after;
  // In the gap: read the wall clock with the offset in force before the gap, which lands the
  // instant as far past the gap's end as the wall clock was past its start.
  return local - before;
}

std::string format_iso8601(UnixSeconds t, const TimeZone& tz) {
  int off = tz.offset_at(t);
  CivilTime c = to_civil(t + off);
  int a = off < 0 ? -off : off;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", c.year, c.month, c.day,
                     c.hour, c.minute, c.second, off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

std::string format_date(UnixSeconds t, const TimeZone& tz) {
  CivilTime c = to_civil(tz.to_local(t));
  return fmt::format("{:04}-{:02}-{:02}", c.year, c.month, c.day);
}

Result<UnixSeconds> parse_time(const std::string& text, const TimeZone& tz) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  auto bad = [&] {
    return invalid_argument(fmt::format(
        "'{}' is not a date or time (expected 2026-11-23 or 2026-11-23T02:00:00[+08:00])", text));
  };
  auto num = [&](size_t pos, size_t len, int& out) {
    if (pos + len > text.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!isdigit(static_cast<unsigned char>(text[i]))) return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  if (!num(0, 4, y) || text.size() < 10 || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' ||
      !num(8, 2, d)) {
    return bad();
  }
  size_t p = 10;
  if (p < text.size()) {
    if (text[p] != 'T' && text[p] != ' ') return bad();
    if (!num(p + 1, 2, h) || p + 3 >= text.size() || text[p + 3] != ':' || !num(p + 4, 2, mi)) {
      return bad();
    }
    p += 6;
    if (p < text.size() && text[p] == ':') {
      if (!num(p + 1, 2, s)) return bad();
      p += 3;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return bad();
  LocalSeconds local = from_civil(y, mo, d, h, mi, s);
  if (p == text.size()) return tz.to_utc(local);
  if (text.substr(p) == "Z") return local;
  int oh = 0, om = 0;
  if ((text[p] != '+' && text[p] != '-') || !num(p + 1, 2, oh) || p + 3 >= text.size() ||
      text[p + 3] != ':' || !num(p + 4, 2, om) || p + 6 != text.size()) {
    return bad();
  }
  int off = (oh * 3600 + om * 60) * (text[p] == '-' ? -1 : 1);
  return local - off;
}

}  // namespace basalt::domino
