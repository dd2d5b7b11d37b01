#pragma once
// An event as JSON, the way /v1/validate shows it to an SDK developer: the Segment field
// names, ISO 8601 times, the JSON objects as sent (minified), the enrichment's fields and the
// typed values the warehouse columns would receive.

#include <string>

#include "event/event.h"

namespace basalt::collect {

// Appends the JSON object for `e` to `out`.
void append_event_json(const event::Event& e, std::string& out);

// "2024-02-29T13:45:00.123456Z" for µs since the Unix epoch.
std::string format_iso8601_us(int64_t us);

}  // namespace basalt::collect
