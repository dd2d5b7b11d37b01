#pragma once
// The record a stream sink sends for each event: the enriched event as one JSON object with a
// `schema_version`. The format is documented in docs/stream_record.md; these two functions are
// the only code that knows it.

#include <string>
#include <string_view>

#include "common/status.h"
#include "event/event.h"

namespace basalt::stream {

inline constexpr int kStreamSchemaVersion = 1;

// Appends the JSON record of `e` to `out` (UTF-8 as received; properties, traits and context
// are embedded as the JSON objects they hold).
void append_stream_record(const event::Event& e, std::string& out);
std::string stream_record(const event::Event& e);

// Parses a record written by append_stream_record. kInvalidArgument naming what is wrong for
// anything else (not JSON, a newer schema_version, a missing or mistyped member).
Result<event::Event> parse_stream_record(std::string_view json);

// The key that keeps one person's events in order: the user id, or the anonymous id when
// there is none.
std::string_view ordering_key(const event::Event& e);

}  // namespace basalt::stream
