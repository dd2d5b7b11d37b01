#include "collect/event_json.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "http/request.h"

namespace basalt::collect {

namespace {

void member(std::string_view key, std::string& out, bool& first) {
  if (!first) out.push_back(',');
  first = false;
  http::append_json_string(key, out);
  out.push_back(':');
}

void string_member(std::string_view key, std::string_view value, std::string& out, bool& first) {
  if (value.empty()) return;
  member(key, out, first);
  http::append_json_string(value, out);
}

void time_member(std::string_view key, int64_t us, std::string& out, bool& first) {
  member(key, out, first);
  http::append_json_string(format_iso8601_us(us), out);
}

void append_typed(const event::TypedField& f, std::string& out) {
  switch (f.type) {
    case event::ValueType::kString:
      http::append_json_string(f.text, out);
      break;
    case event::ValueType::kInt:
      out += std::to_string(f.int_value);
      break;
    case event::ValueType::kFloat:
      if (std::isfinite(f.float_value)) {
        out += fmt::format("{}", f.float_value);
      } else {
        out += "null";
      }
      break;
    case event::ValueType::kBool:
      out += f.int_value ? "true" : "false";
      break;
    case event::ValueType::kTimestamp:
      http::append_json_string(format_iso8601_us(f.int_value), out);
      break;
    case event::ValueType::kStringList: {
      out.push_back('[');
      for (size_t i = 0; i < f.list.size(); ++i) {
        if (i) out.push_back(',');
        http::append_json_string(f.list[i], out);
      }
      out.push_back(']');
      break;
    }
    case event::ValueType::kJson:
      out += f.text;
      break;
    case event::ValueType::kNull:
      out += "null";
      break;
  }
}

}  // namespace

std::string format_iso8601_us(int64_t us) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(us)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const auto in_day = t - day;
  const hh_mm_ss<microseconds> hms{duration_cast<microseconds>(in_day)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", int(ymd.year()),
                     unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

void append_event_json(const event::Event& e, std::string& out) {
  bool first = true;
  out.push_back('{');
  string_member("type", event::event_type_name(e.type), out, first);
  string_member(e.type == event::EventType::kTrack ? "event" : "name", e.event, out, first);
  string_member("messageId", e.message_id, out, first);
  string_member("eventId", e.event_id, out, first);
  string_member("source", e.source, out, first);
  string_member("userId", e.user_id, out, first);
  string_member("anonymousId", e.anonymous_id, out, first);
  string_member("groupId", e.group_id, out, first);
  string_member("previousId", e.previous_id, out, first);
  time_member("timestamp", e.timestamp_us, out, first);
  time_member("receivedAt", e.received_at_us, out, first);
  if (e.sent_at_us) time_member("sentAt", *e.sent_at_us, out, first);
  if (e.original_timestamp_us)
    time_member("originalTimestamp", *e.original_timestamp_us, out, first);
  string_member("ip", e.ip, out, first);
  string_member("userAgent", e.user_agent, out, first);
  string_member("libraryName", e.library_name, out, first);
  string_member("libraryVersion", e.library_version, out, first);
  string_member("osName", e.os_name, out, first);
  string_member("appVersion", e.app_version, out, first);
  // Enrichment: from the user agent and (with a GeoIP database) the client IP; absent when
  // nothing was found.
  string_member("browser", e.browser, out, first);
  string_member("browserVersion", e.browser_version, out, first);
  string_member("osFamily", e.os_family, out, first);
  string_member("osVersion", e.os_version, out, first);
  string_member("deviceFamily", e.device_family, out, first);
  string_member("deviceBrand", e.device_brand, out, first);
  string_member("deviceModel", e.device_model, out, first);
  string_member("country", e.country, out, first);
  string_member("region", e.region, out, first);
  string_member("city", e.city, out, first);
  member("properties", out, first);
  out += e.properties_json.empty() ? "{}" : e.properties_json;
  if (e.type == event::EventType::kIdentify || e.type == event::EventType::kGroup) {
    member("traits", out, first);
    out += e.traits_json.empty() ? "{}" : e.traits_json;
  }
  member("context", out, first);
  out += e.context_json.empty() ? "{}" : e.context_json;
  // The typed columns: p_<name> for a track event's properties, a_<name> for attributes.
  member("columns", out, first);
  out.push_back('{');
  const char* prefix = e.type == event::EventType::kIdentify ? "a_" : "p_";
  for (size_t i = 0; i < e.typed.size(); ++i) {
    if (i) out.push_back(',');
    http::append_json_string(prefix + e.typed[i].name, out);
    out.push_back(':');
    append_typed(e.typed[i], out);
  }
  out += "}}";
}

}  // namespace basalt::collect
