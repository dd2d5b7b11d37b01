#include "warehouse/duckdb/value_text.h"

#include <chrono>
#include <cstdio>
#include <limits>

#include <simdjson.h>

#include "common/json_string.h"

namespace basalt::warehouse::duck {

namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// Floor division, so times before 1970 fall on the right day.
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void append_date(int64_t days, std::string& out) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  out.append(buf, static_cast<size_t>(n));
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when there is none.
size_t sequence_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t min;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string iso8601_utc(int64_t micros) {
  if (micros == std::numeric_limits<int64_t>::max()) return "infinity";
  if (micros == -std::numeric_limits<int64_t>::max()) return "-infinity";
  int64_t days = floor_div(micros, kMicrosPerDay);
  int64_t in_day = micros - days * kMicrosPerDay;
  std::string out;
  out.reserve(28);
  append_date(days, out);
  int64_t secs = in_day / 1'000'000;
  int64_t frac = in_day % 1'000'000;
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(secs / 3600),
                        static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  out.append(buf, static_cast<size_t>(n));
  if (frac != 0 && frac % 1000 == 0) {
    n = std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(frac / 1000));
    out.append(buf, static_cast<size_t>(n));
  } else if (frac != 0) {
    n = std::snprintf(buf, sizeof buf, ".%06d", static_cast<int>(frac));
    out.append(buf, static_cast<size_t>(n));
  }
  out.push_back('Z');
  return out;
}

std::string iso_date(int32_t days) {
  if (days == std::numeric_limits<int32_t>::max()) return "infinity";
  if (days == -std::numeric_limits<int32_t>::max()) return "-infinity";
  std::string out;
  append_date(days, out);
  return out;
}

bool is_valid_json(std::string_view s) {
  thread_local simdjson::dom::parser parser;
  return parser.parse(s.data(), s.size(), /*realloc_if_needed=*/true).error() == simdjson::SUCCESS;
}

std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(s, out);
  return out;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    size_t n = sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    size_t n = sequence_length(s, i);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace basalt::warehouse::duck
