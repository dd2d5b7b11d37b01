#pragma once
// JSON string literals, written by hand where a document is built as text on a hot path (ingest
// answers, event JSON, query results, stream records, Lua transform output).

#include <string>
#include <string_view>

namespace basalt {

// Appends `s` to `out` as a quoted JSON string: `"` and `\` escaped, \n \r \t as such, other
// control characters as \u00XX; every other byte as it is (the caller guarantees UTF-8).
void append_json_string(std::string_view s, std::string& out);

}  // namespace basalt
