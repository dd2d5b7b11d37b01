#pragma once
// Text forms the warehouse writes and returns: ISO 8601 times in UTC, dates, and a UTF-8
// repair for strings DuckDB requires to be valid UTF-8. Private to warehouse/duckdb.

#include <cstdint>
#include <string>
#include <string_view>

namespace basalt::warehouse::duck {

// Microseconds since the epoch as "2026-11-24T10:00:00.123Z": no fraction when it is zero,
// milliseconds when they are exact, else microseconds. DuckDB's infinities give "infinity" and
// "-infinity".
std::string iso8601_utc(int64_t micros);
// Days since the epoch as "2026-11-24".
std::string iso_date(int32_t days);

// Whether `s` is one well-formed JSON value (simdjson's full validation).
bool is_valid_json(std::string_view s);
// `s` as a JSON string literal, e.g. {not json → "{not json".
std::string json_quote(std::string_view s);

// Whether `s` is valid UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view s);
// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string repair_utf8(std::string_view s);

}  // namespace basalt::warehouse::duck
