#pragma once
// ISO 8601 / RFC 3339 date-times as SDKs send them, parsed by hand because this runs for every
// timestamp of every event and no Debian library offers a strict, allocation-free parser.

#include <cstdint>
#include <optional>
#include <string_view>

namespace basalt::collect {

// "2024-02-29T13:45:00.123456Z", "2024-02-29T13:45:00+02:00", "…-0530", "2024-02-29 13:45:00"
// (no zone means UTC), "2024-02-29" (midnight UTC) → microseconds since the Unix epoch (UTC).
// Fractions of any length are accepted (beyond microseconds truncated). Impossible dates
// (2023-02-29, month 13, hour 24) and anything else → nullopt.
std::optional<int64_t> parse_iso8601_us(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date. REQUIRES: a valid date.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

}  // namespace basalt::collect
