#include "collect/iso8601.h"

namespace basalt::collect {

namespace {

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  out = v;
  return true;
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Shift the year to start in March so the leap day is the last day of the year.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> parse_iso8601_us(std::string_view s) {
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0;
  if (!digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  int64_t us = days_from_civil(year, month, day) * 86'400'000'000LL;
  if (pos == s.size()) return us;

  char sep = s[pos++];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  unsigned hour = 0, minute = 0, second = 0;
  if (!digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
      !digits(s, pos, 2, minute))
    return std::nullopt;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!digits(s, pos, 2, second)) return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;  // 60: a leap second
  int64_t fraction_us = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    size_t n = 0;
    int64_t scale = 100'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) {
        fraction_us += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
      ++n;
    }
    if (n == 0) return std::nullopt;
  }
  us += ((hour * 60LL + minute) * 60LL + second) * 1'000'000LL + fraction_us;
  if (pos == s.size()) return us;

  char zone = s[pos++];
  if (zone == 'Z' || zone == 'z') return pos == s.size() ? std::optional<int64_t>(us) : std::nullopt;
  if (zone != '+' && zone != '-') return std::nullopt;
  unsigned off_h = 0, off_m = 0;
  if (!digits(s, pos, 2, off_h)) return std::nullopt;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!digits(s, pos, 2, off_m)) return std::nullopt;
  }
  if (pos != s.size() || off_h > 23 || off_m > 59) return std::nullopt;
  int64_t offset_us = (off_h * 60LL + off_m) * 60'000'000LL;
  return zone == '+' ? us - offset_us : us + offset_us;
}

}  // namespace basalt::collect
