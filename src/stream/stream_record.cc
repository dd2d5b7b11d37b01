#include "stream/stream_record.h"

#include <simdjson.h>

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
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
        out +=
            nlohmann::json(f.float_value).dump();  // shortest round-trip form; null if not finite
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

// The text member `key` of an event, or nullptr when `key` names none.
std::string* string_member(event::Event& e, std::string_view key) {
  std::pair<std::string_view, std::string*> members[] = {
      {"event_id", &e.event_id},
      {"message_id", &e.message_id},
      {"source", &e.source},
      {"event", &e.event},
      {"user_id", &e.user_id},
      {"anonymous_id", &e.anonymous_id},
      {"group_id", &e.group_id},
      {"previous_id", &e.previous_id},
      {"ip", &e.ip},
      {"user_agent", &e.user_agent},
      {"library_name", &e.library_name},
      {"library_version", &e.library_version},
      {"os_name", &e.os_name},
      {"app_version", &e.app_version},
  };
  for (const auto& [name, field] : members) {
    if (name == key) return field;
  }
  for (const auto& [name, field] : enrichment_members(e)) {
    if (key == name) return field;
  }
  return nullptr;
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

namespace {

namespace od = simdjson::ondemand;

// A simdjson error where a value of some type was expected: the value has another type (or
// is a number that does not fit), as opposed to text that is not JSON at all.
bool wrong_type(simdjson::error_code e) {
  return e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_ERROR ||
         e == simdjson::NUMBER_OUT_OF_RANGE;
}

// The reading of one record: the first problem found wins, except that text which is not
// JSON overrides everything (simdjson finds it lazily, wherever it is).
struct RecordReader {
  Status error;
  bool invalid_json = false;

  // kInvalidArgument naming `name` and `what` it must be when `e` is a type error; any other
  // error marks the text as not JSON. True when the value was read.
  bool check(simdjson::error_code e, std::string_view name, std::string_view what) {
    if (e == simdjson::SUCCESS) return true;
    if (!wrong_type(e)) {
      invalid_json = true;
    } else if (error.is_ok()) {
      error = bad(std::string(name) + " must be " + std::string(what));
    }
    return false;
  }
  void string(od::value& v, std::string_view name, std::string& out) {
    std::string_view s;
    if (check(v.get_string().get(s), name, "a string")) out.assign(s);
  }
  bool integer(od::value& v, std::string_view name, int64_t& out) {
    return check(v.get_int64().get(out), name, "an integer");
  }
  // The object's text as written (the writer embeds properties, traits and context minified).
  void object(od::value& v, std::string_view name, std::string& out) {
    od::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) {
      invalid_json = true;
      return;
    }
    if (t != od::json_type::object) {
      if (error.is_ok()) error = bad(std::string(name) + " must be an object");
      return;
    }
    od::object o;
    std::string_view raw;
    if (v.get_object().get(o) != simdjson::SUCCESS || o.raw_json().get(raw) != simdjson::SUCCESS) {
      invalid_json = true;
      return;
    }
    out.assign(raw);
  }
  // `"typed":[[name, type, value], …]`; the first problem as a Status.
  Status typed(od::value& v, std::vector<event::TypedField>& out) {
    od::array list;
    if (v.get_array().get(list) != simdjson::SUCCESS) return bad("typed must be an array");
    size_t i = 0;
    for (auto item : list) {
      auto wrong = [&](const std::string& why) {
        return bad("typed[" + std::to_string(i) + "] " + why);
      };
      od::array triple;
      if (item.get_array().get(triple) != simdjson::SUCCESS) {
        return wrong("must be [name, type, value]");
      }
      event::TypedField f;
      std::string_view type;
      size_t k = 0;
      bool fits = true;
      for (auto part : triple) {
        od::value x;
        if (part.get(x) != simdjson::SUCCESS) return bad("invalid JSON");
        if (k == 0 || k == 1) {
          std::string_view s;
          if (x.get_string().get(s) != simdjson::SUCCESS)
            return wrong("must be [name, type, value]");
          if (k == 0) {
            f.name.assign(s);
          } else {
            type = s;
            bool known = false;
            for (const auto& [vt, name] : kValueTypeNames) {
              if (name == type) {
                f.type = vt;
                known = true;
              }
            }
            if (!known) return wrong("has an unknown type '" + std::string(type) + "'");
          }
        } else if (k == 2) {
          fits = read_typed_value(x, f);
        }
        ++k;
      }
      if (k != 3) return wrong("must be [name, type, value]");
      if (!fits) return wrong("(" + f.name + ") is not a " + std::string(type) + " value");
      out.push_back(std::move(f));
      ++i;
    }
    return Status::ok();
  }
  static bool read_typed_value(od::value& v, event::TypedField& f) {
    switch (f.type) {
      case event::ValueType::kString:
      case event::ValueType::kJson: {
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS) return false;
        f.text.assign(s);
        return true;
      }
      case event::ValueType::kInt:
      case event::ValueType::kTimestamp:
        return v.get_int64().get(f.int_value) == simdjson::SUCCESS;
      case event::ValueType::kBool: {
        bool b = false;
        if (v.get_bool().get(b) != simdjson::SUCCESS) return false;
        f.int_value = b ? 1 : 0;
        return true;
      }
      case event::ValueType::kFloat:
        return v.get_double().get(f.float_value) == simdjson::SUCCESS;
      case event::ValueType::kStringList: {
        od::array a;
        if (v.get_array().get(a) != simdjson::SUCCESS) return false;
        for (auto x : a) {
          std::string_view s;
          if (x.get_string().get(s) != simdjson::SUCCESS) return false;
          f.list.emplace_back(s);
        }
        return true;
      }
      case event::ValueType::kNull:
        return v.is_null();
    }
    return false;
  }
};

// Whether `json` is JSON at all (for the message of a record that is not an object).
bool is_json(std::string_view json) {
  simdjson::dom::parser parser;
  return parser.parse(json.data(), json.size()).error() == simdjson::SUCCESS;
}

}  // namespace

Result<event::Event> parse_stream_record(std::string_view json) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the text: a reused padded copy per thread.
  thread_local od::parser parser;
  thread_local std::string buffer;
  buffer.assign(json);
  buffer.resize(json.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  if (parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc) != simdjson::SUCCESS) {
    return bad("invalid JSON");
  }
  od::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) {
    return bad(is_json(json) ? "not a JSON object" : "invalid JSON");
  }
  event::Event e;
  RecordReader r;
  std::optional<int64_t> version, timestamp, received_at;
  bool version_mistyped = false;
  std::string type;
  Status typed_error;
  for (auto member : root) {
    std::string_view key;
    od::value v;
    if (member.unescaped_key().get(key) != simdjson::SUCCESS ||
        member.value().get(v) != simdjson::SUCCESS) {
      r.invalid_json = true;
      break;
    }
    int64_t n = 0;
    if (key == "schema_version") {
      if (v.get_int64().get(n) == simdjson::SUCCESS) {
        version = n;
      } else {
        version_mistyped = true;
      }
    } else if (key == "type") {
      r.string(v, key, type);
    } else if (key == "timestamp_us") {
      if (r.integer(v, key, n)) timestamp = n;
    } else if (key == "received_at_us") {
      if (r.integer(v, key, n)) received_at = n;
    } else if (key == "sent_at_us") {
      if (r.integer(v, key, n)) e.sent_at_us = n;
    } else if (key == "original_timestamp_us") {
      if (r.integer(v, key, n)) e.original_timestamp_us = n;
    } else if (key == "properties") {
      r.object(v, key, e.properties_json);
    } else if (key == "traits") {
      r.object(v, key, e.traits_json);
    } else if (key == "context") {
      r.object(v, key, e.context_json);
    } else if (key == "typed") {
      typed_error = r.typed(v, e.typed);
      if (!typed_error.is_ok()) break;  // the rest is not read
    } else if (std::string* field = string_member(e, key)) {
      r.string(v, key, *field);
    }
    // Other members (a later minor addition) are skipped.
  }
  if (r.invalid_json) return bad("invalid JSON");
  if (!version || version_mistyped) return bad("no schema_version");
  if (*version > kStreamSchemaVersion || *version < 1) {
    return bad("schema_version " + std::to_string(*version) +
               " is not supported (this build reads 1 to " + std::to_string(kStreamSchemaVersion) +
               ")");
  }
  auto parsed_type = event::parse_event_type(type);
  if (!parsed_type) return bad("unknown type '" + type + "'");
  e.type = *parsed_type;
  if (!r.error.is_ok()) return r.error;
  if (!typed_error.is_ok()) return typed_error;
  if (!timestamp) return bad("no timestamp_us");
  if (!received_at) return bad("no received_at_us");
  e.timestamp_us = *timestamp;
  e.received_at_us = *received_at;
  if (e.message_id.empty()) return bad("no message_id");
  return e;
}

}  // namespace basalt::stream
