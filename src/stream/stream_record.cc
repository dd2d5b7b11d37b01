#include "stream/stream_record.h"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

#include "common/json_string.h"

namespace basalt::stream {

namespace {

void member(std::string_view name, std::string_view value, std::string& out) {
  out.push_back(',');
  append_json_string(name, out);
  out.push_back(':');
  append_json_string(value, out);
}

void member_int(std::string_view name, int64_t value, std::string& out) {
  out.push_back(',');
  append_json_string(name, out);
  out.push_back(':');
  out += std::to_string(value);
}

void member_raw(std::string_view name, std::string_view json, std::string& out) {
  out.push_back(',');
  append_json_string(name, out);
  out.push_back(':');
  out += json.empty() ? std::string_view("{}") : json;
}

// The names of typed values in records: the tracking plan's type names, plus null.
constexpr std::pair<event::ValueType, std::string_view> kValueTypeNames[] = {
    {event::ValueType::kString, "string"},       {event::ValueType::kInt, "int"},
    {event::ValueType::kFloat, "float"},         {event::ValueType::kBool, "bool"},
    {event::ValueType::kTimestamp, "timestamp"}, {event::ValueType::kStringList, "string[]"},
    {event::ValueType::kJson, "json"},           {event::ValueType::kNull, "null"}};

std::string_view value_type_name(event::ValueType t) {
  for (const auto& [type, name] : kValueTypeNames) {
    if (type == t) return name;
  }
  return "null";
}

// `"typed":[[name, type, value], …]`: the validated values, so a loader fills typed columns.
void member_typed(const std::vector<event::TypedField>& typed, std::string& out) {
  out += ",\"typed\":[";
  bool first = true;
  for (const event::TypedField& f : typed) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('[');
    append_json_string(f.name, out);
    out.push_back(',');
    append_json_string(value_type_name(f.type), out);
    out.push_back(',');
    switch (f.type) {
      case event::ValueType::kString:
      case event::ValueType::kJson:
        append_json_string(f.text, out);
        break;
      case event::ValueType::kInt:
      case event::ValueType::kTimestamp:
        out += std::to_string(f.int_value);
        break;
      case event::ValueType::kBool:
        out += f.int_value ? "true" : "false";
        break;
      case event::ValueType::kFloat:
        out += nlohmann::json(f.float_value).dump();  // shortest round-trip form; null if not finite
        break;
      case event::ValueType::kStringList: {
        out.push_back('[');
        for (size_t i = 0; i < f.list.size(); ++i) {
          if (i) out.push_back(',');
          append_json_string(f.list[i], out);
        }
        out.push_back(']');
        break;
      }
      case event::ValueType::kNull:
        out += "null";
        break;
    }
    out.push_back(']');
  }
  out.push_back(']');
}

// The enrichment fields of an event and their member names.
template <typename E>
auto enrichment_members(E& e) {
  return std::array<std::pair<const char*, decltype(&e.browser)>, 10>{{
      {"browser", &e.browser},
      {"browser_version", &e.browser_version},
      {"os_family", &e.os_family},
      {"os_version", &e.os_version},
      {"device_family", &e.device_family},
      {"device_brand", &e.device_brand},
      {"device_model", &e.device_model},
      {"country", &e.country},
      {"region", &e.region},
      {"city", &e.city},
  }};
}

Status bad(std::string_view why) {
  return invalid_argument("not a stream record: " + std::string(why));
}

}  // namespace

std::string_view ordering_key(const event::Event& e) {
  return e.user_id.empty() ? std::string_view(e.anonymous_id) : std::string_view(e.user_id);
}

void append_stream_record(const event::Event& e, std::string& out) {
  out += "{\"schema_version\":";
  out += std::to_string(kStreamSchemaVersion);
  member("type", event::event_type_name(e.type), out);
  member("event_id", e.event_id, out);
  member("message_id", e.message_id, out);
  member("source", e.source, out);
  member("event", e.event, out);
  member("user_id", e.user_id, out);
  member("anonymous_id", e.anonymous_id, out);
  member("group_id", e.group_id, out);
  member("previous_id", e.previous_id, out);
  member_int("timestamp_us", e.timestamp_us, out);
  member_int("received_at_us", e.received_at_us, out);
  if (e.sent_at_us) member_int("sent_at_us", *e.sent_at_us, out);
  if (e.original_timestamp_us) member_int("original_timestamp_us", *e.original_timestamp_us, out);
  member("ip", e.ip, out);
  member("user_agent", e.user_agent, out);
  member("library_name", e.library_name, out);
  member("library_version", e.library_version, out);
  member("os_name", e.os_name, out);
  member("app_version", e.app_version, out);
  // Enrichment at collection (user agent, GeoIP): only what was found, so a loader stores
  // what the collector saw.
  for (const auto& [name, value] : enrichment_members(e)) {
    if (!value->empty()) member(name, *value, out);
  }
  member_raw("properties", e.properties_json, out);
  member_raw("traits", e.traits_json, out);
  member_raw("context", e.context_json, out);
  if (!e.typed.empty()) member_typed(e.typed, out);
  out.push_back('}');
}

std::string stream_record(const event::Event& e) {
  std::string out;
  out.reserve(512 + e.properties_json.size() + e.context_json.size() + e.traits_json.size());
  append_stream_record(e, out);
  return out;
}

Result<event::Event> parse_stream_record(std::string_view json) {
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("invalid JSON");
  if (!j.is_object()) return bad("not a JSON object");
  auto version = j.find("schema_version");
  if (version == j.end() || !version->is_number_integer()) return bad("no schema_version");
  if (version->get<int64_t>() > kStreamSchemaVersion || version->get<int64_t>() < 1) {
    return bad("schema_version " + std::to_string(version->get<int64_t>()) +
               " is not supported (this build reads 1 to " + std::to_string(kStreamSchemaVersion) +
               ")");
  }
  event::Event e;
  Status error;
  auto str = [&](const char* name, std::string& out) {
    auto it = j.find(name);
    if (it == j.end()) return;
    if (!it->is_string()) {
      if (error.is_ok()) error = bad(std::string(name) + " must be a string");
      return;
    }
    out = it->get<std::string>();
  };
  auto num = [&](const char* name, int64_t& out, bool required) {
    auto it = j.find(name);
    if (it == j.end()) {
      if (required && error.is_ok()) error = bad(std::string("no ") + name);
      return false;
    }
    if (!it->is_number_integer()) {
      if (error.is_ok()) error = bad(std::string(name) + " must be an integer");
      return false;
    }
    out = it->get<int64_t>();
    return true;
  };
  auto obj = [&](const char* name, std::string& out) {
    auto it = j.find(name);
    if (it == j.end()) return;
    if (!it->is_object()) {
      if (error.is_ok()) error = bad(std::string(name) + " must be an object");
      return;
    }
    out = it->dump();
  };
  std::string type;
  str("type", type);
  auto parsed_type = event::parse_event_type(type);
  if (!parsed_type) return bad("unknown type '" + type + "'");
  e.type = *parsed_type;
  str("event_id", e.event_id);
  str("message_id", e.message_id);
  str("source", e.source);
  str("event", e.event);
  str("user_id", e.user_id);
  str("anonymous_id", e.anonymous_id);
  str("group_id", e.group_id);
  str("previous_id", e.previous_id);
  num("timestamp_us", e.timestamp_us, true);
  num("received_at_us", e.received_at_us, true);
  int64_t v = 0;
  if (num("sent_at_us", v, false)) e.sent_at_us = v;
  if (num("original_timestamp_us", v, false)) e.original_timestamp_us = v;
  str("ip", e.ip);
  str("user_agent", e.user_agent);
  str("library_name", e.library_name);
  str("library_version", e.library_version);
  str("os_name", e.os_name);
  str("app_version", e.app_version);
  for (const auto& [name, value] : enrichment_members(e)) str(name, *value);
  obj("properties", e.properties_json);
  obj("traits", e.traits_json);
  obj("context", e.context_json);
  if (auto typed = j.find("typed"); typed != j.end() && error.is_ok()) {
    auto wrong = [&](size_t i, const std::string& why) {
      return bad("typed[" + std::to_string(i) + "] " + why);
    };
    if (!typed->is_array()) return bad("typed must be an array");
    for (size_t i = 0; i < typed->size(); ++i) {
      const auto& t = (*typed)[i];
      if (!t.is_array() || t.size() != 3 || !t[0].is_string() || !t[1].is_string()) {
        return wrong(i, "must be [name, type, value]");
      }
      event::TypedField f;
      f.name = t[0].get<std::string>();
      std::string type = t[1].get<std::string>();
      bool known = false;
      for (const auto& [vt, name] : kValueTypeNames) {
        if (name == type) {
          f.type = vt;
          known = true;
        }
      }
      if (!known) return wrong(i, "has an unknown type '" + type + "'");
      const auto& v = t[2];
      bool fits = true;
      switch (f.type) {
        case event::ValueType::kString:
        case event::ValueType::kJson:
          fits = v.is_string();
          if (fits) f.text = v.get<std::string>();
          break;
        case event::ValueType::kInt:
        case event::ValueType::kTimestamp:
          fits = v.is_number_integer();
          if (fits) f.int_value = v.get<int64_t>();
          break;
        case event::ValueType::kBool:
          fits = v.is_boolean();
          if (fits) f.int_value = v.get<bool>() ? 1 : 0;
          break;
        case event::ValueType::kFloat:
          fits = v.is_number();
          if (fits) f.float_value = v.get<double>();
          break;
        case event::ValueType::kStringList:
          fits = v.is_array();
          for (size_t k = 0; fits && k < v.size(); ++k) {
            fits = v[k].is_string();
            if (fits) f.list.push_back(v[k].get<std::string>());
          }
          break;
        case event::ValueType::kNull:
          fits = v.is_null();
          break;
      }
      if (!fits) return wrong(i, "(" + f.name + ") is not a " + type + " value");
      e.typed.push_back(std::move(f));
    }
  }
  if (!error.is_ok()) return error;
  if (e.message_id.empty()) return bad("no message_id");
  return e;
}

}  // namespace basalt::stream
