#include "collect/ingest_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>

#include "collect/iso8601.h"
#include "collect/json_text.h"
#include "common/ids.h"
#include "enrich/geo_ip.h"
#include "enrich/lua_transform.h"
#include "enrich/user_agent.h"
#include "http/client.h"
#include "http/request.h"
#include "schema/value_type.h"

namespace basalt::collect {

static_assert(kParserPadding >= simdjson::SIMDJSON_PADDING);

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::string_view type_name(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

// A JSON string literal of `s`, shortened for error messages.
std::string quoted(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out;
  if (s.size() > kMax) {
    http::append_json_string(s.substr(0, kMax), out);
    out.insert(out.size() - 1, "…");
  } else {
    http::append_json_string(s, out);
  }
  return out;
}

std::string must_be(std::string_view field, std::string_view what, element value) {
  std::string r;
  r.reserve(48);
  r.push_back('"');
  r.append(field);
  r.append("\" must be ");
  r.append(what);
  r.append(", got ");
  r.append(type_name(value.type()));
  return r;
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// A field that is present and not null, with its original text.
struct Field {
  element value;
  JsonSpan raw;
  bool present = false;
  void set(element v, JsonSpan r) {
    value = v;
    raw = r;
    present = true;
  }
};

struct ItemFields {
  Field type, user_id, anonymous_id, message_id, event, name, group_id, previous_id, timestamp,
      original_timestamp, sent_at, properties, traits, context;
};

// Reads the fields of `item`, whose text in `text` starts at raw.begin, and sets raw.end: one
// pass over the item's text, beside the parsed members (the parser keeps them in document
// order).
void collect_fields(object item, std::string_view text, JsonSpan& raw, ItemFields& f) {
  JsonMembers members(text, raw);
  for (auto [key, value] : item) {
    const JsonSpan span = members.next().value_or(JsonMember{}).value;
    if (value.is_null()) continue;
    switch (key.size()) {
      case 4:
        if (key == "type")
          f.type.set(value, span);
        else if (key == "name")
          f.name.set(value, span);
        break;
      case 5:
        if (key == "event") f.event.set(value, span);
        break;
      case 6:
        if (key == "userId")
          f.user_id.set(value, span);
        else if (key == "traits")
          f.traits.set(value, span);
        else if (key == "sentAt")
          f.sent_at.set(value, span);
        break;
      case 7:
        if (key == "groupId")
          f.group_id.set(value, span);
        else if (key == "context")
          f.context.set(value, span);
        break;
      case 9:
        if (key == "messageId")
          f.message_id.set(value, span);
        else if (key == "timestamp")
          f.timestamp.set(value, span);
        break;
      case 10:
        if (key == "previousId")
          f.previous_id.set(value, span);
        else if (key == "properties")
          f.properties.set(value, span);
        break;
      case 11:
        if (key == "anonymousId") f.anonymous_id.set(value, span);
        break;
      case 17:
        if (key == "originalTimestamp") f.original_timestamp.set(value, span);
        break;
      default:
        break;
    }
  }
  while (members.next()) {
  }
  raw.end = std::max(members.end(), raw.begin);
}

// An identifier: a string, or a number turned into its decimal text. Returns the reason when
// the value has another type.
std::string read_id(std::string_view name, const Field& f, std::string& out) {
  if (!f.present) return {};
  switch (f.value.type()) {
    case element_type::STRING: {
      out.assign(f.value.get_string().value_unsafe());
      return {};
    }
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      char buf[32];
      std::to_chars_result r{};
      if (f.value.type() == element_type::INT64) {
        r = std::to_chars(buf, buf + sizeof buf, int64_t(f.value.get_int64().value_unsafe()));
      } else if (f.value.type() == element_type::UINT64) {
        r = std::to_chars(buf, buf + sizeof buf, uint64_t(f.value.get_uint64().value_unsafe()));
      } else {
        r = std::to_chars(buf, buf + sizeof buf, double(f.value.get_double().value_unsafe()));
      }
      out.assign(buf, r.ptr);
      return {};
    }
    default:
      return must_be(name, "a string or a number", f.value);
  }
}

std::string read_time(std::string_view name, const Field& f, std::optional<int64_t>& out) {
  if (!f.present) return {};
  std::string_view s;
  if (f.value.get_string().get(s)) return must_be(name, "an ISO 8601 date-time string", f.value);
  out = parse_iso8601_us(s);
  if (!out) return "\"" + std::string(name) + "\" is not an ISO 8601 date-time: " + quoted(s);
  return {};
}

std::string read_object(std::string_view name, const Field& f, std::string_view text,
                        std::string& out) {
  if (!f.present) return {};
  if (f.value.type() != element_type::OBJECT) return must_be(name, "an object", f.value);
  out.clear();
  append_minified_json(text.substr(f.raw.begin, f.raw.size()), out);
  return {};
}

std::string_view string_member(const std::optional<element>& parent, std::string_view key) {
  std::string_view s;
  if (!parent || parent->type() != element_type::OBJECT || parent->at_key(key).get_string().get(s))
    return {};
  return s;
}

// What a batch gives every event in it.
struct BatchLevel {
  std::optional<int64_t> sent_at_us;
  bool has_context = false;
  object context;
  std::string context_json;  // minified, when has_context
  // Each member of the context: its key, and its `"key":value` text minified.
  std::vector<std::pair<std::string_view, std::string>> context_members;
};

// Gives `e` the state of a new event::Event while keeping the strings' buffers.
void reset_event(event::Event& e) {
  e.type = event::EventType::kTrack;
  for (std::string* s : {&e.event_id, &e.message_id, &e.source, &e.event, &e.user_id,
                         &e.anonymous_id, &e.group_id, &e.previous_id, &e.ip, &e.user_agent,
                         &e.library_name, &e.library_version, &e.os_name, &e.app_version})
    s->clear();
  e.typed.clear();
  for (std::string* s : {&e.browser, &e.browser_version, &e.os_family, &e.os_version,
                         &e.device_family, &e.device_brand, &e.device_model, &e.country,
                         &e.region, &e.city})
    s->clear();
  e.timestamp_us = 0;
  e.received_at_us = 0;
  e.sent_at_us.reset();
  e.original_timestamp_us.reset();
  e.properties_json.assign("{}");
  e.traits_json.assign("{}");
  e.context_json.assign("{}");
}

// The validator of this thread for `plan`: one per thread, rebuilt when the plan changes
// (its buffers then grow once to the plan's largest event and are reused).
schema::EventValidator& thread_validator(const schema::CompiledPlan& plan) {
  thread_local std::unique_ptr<schema::EventValidator> validator;
  thread_local const schema::CompiledPlan* for_plan = nullptr;
  thread_local uint64_t for_generation = 0;
  if (!validator || for_plan != &plan || for_generation != plan.generation()) {
    validator = std::make_unique<schema::EventValidator>(plan);
    for_plan = &plan;
    for_generation = plan.generation();
  }
  return *validator;
}

element empty_object() {
  thread_local simdjson::dom::parser parser;
  thread_local element doc = parser.parse(std::string_view("{}")).value_unsafe();
  return doc;
}

void add_typed(std::string_view name, const schema::TypedValue& v, event::Event& e) {
  event::TypedField& f = e.typed.emplace_back();
  f.name.assign(name);
  f.type = schema::value_type_of(v.type);
  switch (v.type) {
    case schema::PropertyType::kString:
      f.text.assign(v.text);
      break;
    case schema::PropertyType::kInt:
    case schema::PropertyType::kBool:
    case schema::PropertyType::kTimestamp:
      f.int_value = v.int_value;
      break;
    case schema::PropertyType::kFloat:
      f.float_value = v.float_value;
      break;
    case schema::PropertyType::kStringList: {
      const simdjson::dom::array items = v.raw.get_array().value_unsafe();
      for (element item : items) f.list.emplace_back(item.get_string().value_unsafe());
      break;
    }
    case schema::PropertyType::kJson:
      f.text = simdjson::minify(v.raw);
      break;
  }
}

// What lenient mode reports about an accepted event.
std::string lenient_report(const schema::Validation& v, std::string_view what,
                           std::string_view name) {
  std::string out;
  auto add = [&](std::string s) {
    if (!out.empty()) out.append("; ");
    out.append(s);
  };
  if (v.undeclared_event) add("event " + quoted(name) + " is not in the tracking plan");
  for (std::string_view u : v.undeclared) {
    add(std::string(what) + " " + quoted(u) + " is not declared" +
        (v.event ? " for event " + quoted(std::string_view(v.event->name)) : std::string()) +
        " (kept in the JSON column)");
  }
  // Lenient mode words no undeclared name as a violation: these are broken values.
  for (const auto& violation : v.violations)
    add(violation + " (stored as NULL in its typed column)");
  return out;
}

struct Enricher {
  const RequestMeta& meta;
  const std::string& source;
  const BatchLevel& batch;
  std::string_view text;  // the whole body
  const schema::CompiledPlan* plan = nullptr;
  schema::EnforcementMode mode = schema::EnforcementMode::kOff;
  std::string* warning = nullptr;  // set to what lenient mode reports (cleared per item)
  const Enrichment* enrichment = nullptr;

  // The user agent's browser, OS and device; the client IP's country, region and city.
  void enrich(event::Event& e) const {
    if (!enrichment) return;
    if (enrichment->user_agents && !e.user_agent.empty()) {
      std::shared_ptr<const enrich::UserAgentInfo> ua = enrichment->user_agents->parse(e.user_agent);
      e.browser = ua->browser_family;
      e.browser_version = ua->browser_version();
      e.os_family = ua->os_family;
      e.os_version = ua->os_version();
      e.device_family = ua->device_family;
      e.device_brand = ua->device_brand;
      e.device_model = ua->device_model;
    }
    if (enrichment->geo && enrichment->geo->enabled() && !e.ip.empty()) {
      auto found = enrichment->geo->lookup(e.ip);
      if (found && *found) {
        e.country = (*found)->country_iso;
        e.region = (*found)->region;
        e.city = (*found)->city;
      }
    }
  }

  // Checks a valid track or identify call against the plan; returns why strict mode rejects
  // it, or "" when it is accepted (with its typed values in `e`).
  std::string enforce(const ItemFields& f, event::Event& e) const {
    if (!plan || mode == schema::EnforcementMode::kOff) return {};
    schema::EventValidator& validator = thread_validator(*plan);
    if (e.type == event::EventType::kTrack) {
      const element props = f.properties.present ? f.properties.value : empty_object();
      const schema::Validation& v = validator.validate_event(mode, e.event, props);
      if (!v.accepted) return v.reason();
      if (v.event) {
        for (size_t i = 0; i < v.values.size(); ++i) {
          if (v.values[i].present)
            add_typed(plan->properties()[v.event->properties[i].property].name, v.values[i], e);
        }
      }
      if (warning && (v.undeclared_event || !v.undeclared.empty() || !v.violations.empty()))
        *warning = lenient_report(v, "property", e.event);
    } else if (e.type == event::EventType::kIdentify) {
      const element traits = f.traits.present ? f.traits.value : empty_object();
      const schema::Validation& v = validator.validate_traits(mode, traits);
      if (!v.accepted) return v.reason();
      const auto& attributes = plan->attributes();
      for (size_t i = 0; i < v.values.size(); ++i) {
        if (v.values[i].present) {
          add_typed(attributes[i].name, v.values[i], e);
        } else if (!v.values[i].invalid && f.traits.present) {
          // An explicit null: the `set` rule clears the attribute.
          element sent;
          if (f.traits.value.at_key(attributes[i].name).get(sent) == simdjson::SUCCESS &&
              sent.is_null()) {
            event::TypedField& n = e.typed.emplace_back();
            n.name = attributes[i].name;
            n.type = event::ValueType::kNull;
          }
        }
      }
      if (warning && (!v.undeclared.empty() || !v.violations.empty()))
        *warning = lenient_report(v, "trait", "");
    }
    return {};
  }

  // Fills `e` (reset) from the fields `f` of an item; returns why the item is invalid, or ""
  // when it is valid.
  std::string fill(const ItemFields& f, std::optional<event::EventType> fixed_type,
                   event::Event& e) const {
    if (fixed_type) {
      e.type = *fixed_type;
    } else {
      if (!f.type.present) return "\"type\" is required for an event in a batch";
      std::string_view t;
      if (f.type.value.get_string().get(t)) return must_be("type", "a string", f.type.value);
      auto parsed = event::parse_event_type(t);
      if (!parsed)
        return "unknown \"type\" " + quoted(t) +
               " (expected track, identify, page, screen, group or alias)";
      e.type = *parsed;
    }
    std::string r;
    if (!(r = read_id("userId", f.user_id, e.user_id)).empty()) return r;
    if (!(r = read_id("anonymousId", f.anonymous_id, e.anonymous_id)).empty()) return r;
    if (!(r = read_id("messageId", f.message_id, e.message_id)).empty()) return r;
    if (!(r = read_id("groupId", f.group_id, e.group_id)).empty()) return r;
    if (!(r = read_id("previousId", f.previous_id, e.previous_id)).empty()) return r;
    if (e.user_id.empty() && e.anonymous_id.empty())
      return "\"userId\" or \"anonymousId\" is required";

    switch (e.type) {
      case event::EventType::kTrack: {
        if (!f.event.present) return "\"event\" is required for a track call";
        std::string_view name;
        if (f.event.value.get_string().get(name))
          return must_be("event", "a string", f.event.value);
        if (name.empty()) return "\"event\" must not be empty";
        e.event.assign(name);
        break;
      }
      case event::EventType::kPage:
      case event::EventType::kScreen:
        if (f.name.present) {
          std::string_view name;
          if (f.name.value.get_string().get(name)) return must_be("name", "a string", f.name.value);
          e.event.assign(name);
        }
        break;
      case event::EventType::kGroup:
        if (e.group_id.empty()) return "\"groupId\" is required for a group call";
        break;
      case event::EventType::kAlias:
        if (e.previous_id.empty()) return "\"previousId\" is required for an alias call";
        if (e.user_id.empty()) return "\"userId\" is required for an alias call";
        break;
      case event::EventType::kIdentify:
        break;
    }

    if (!(r = read_object("properties", f.properties, text, e.properties_json)).empty()) return r;
    if (!(r = read_object("traits", f.traits, text, e.traits_json)).empty()) return r;
    if (f.context.present && f.context.value.type() != element_type::OBJECT)
      return must_be("context", "an object", f.context.value);

    std::optional<int64_t> timestamp, original, sent_at;
    if (!(r = read_time("timestamp", f.timestamp, timestamp)).empty()) return r;
    if (!(r = read_time("originalTimestamp", f.original_timestamp, original)).empty()) return r;
    if (!(r = read_time("sentAt", f.sent_at, sent_at)).empty()) return r;
    std::optional<int64_t> client_time = timestamp ? timestamp : original;
    if (!sent_at) sent_at = batch.sent_at_us;
    e.received_at_us = meta.received_at_us;
    e.sent_at_us = sent_at;
    e.original_timestamp_us = client_time;
    if (!client_time) {
      e.timestamp_us = meta.received_at_us;
    } else if (sent_at) {
      // The client's clock may be off; what it measured between the event and sending is not.
      e.timestamp_us = meta.received_at_us - (*sent_at - *client_time);
    } else {
      e.timestamp_us = *client_time;
    }

    if (!(r = enforce(f, e)).empty()) return r;

    fill_context(f.context, e);
    e.source.assign(source);
    e.ip.assign(meta.ip);
    auto& ids = thread_uuid_generator();
    e.event_id = ids.next();
    if (e.message_id.empty())
      e.message_id = meta.default_message_id.empty() ? ids.next() : meta.default_message_id;
    enrich(e);
    return {};
  }

  // The batch's context under the event's (the event's keys win), and what is read from it.
  void fill_context(const Field& own, event::Event& e) const {
    object mine;
    bool has_own = own.present && !own.value.get_object().get(mine);
    std::string& out = e.context_json;
    if (has_own && batch.has_context) {
      out.assign("{");
      bool first = true;
      JsonMembers raw(text, own.raw);
      while (auto m = raw.next()) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('"');
        out.append(m->key);
        out.append("\":");
        append_minified_json(text.substr(m->value.begin, m->value.size()), out);
      }
      for (const auto& [key, member] : batch.context_members) {
        element ignored;
        if (mine.at_key(key).get(ignored) == simdjson::SUCCESS) continue;
        if (!first) out.push_back(',');
        first = false;
        out.append(member);
      }
      out.push_back('}');
    } else if (has_own) {
      out.clear();
      append_minified_json(text.substr(own.raw.begin, own.raw.size()), out);
    } else if (batch.has_context) {
      out.assign(batch.context_json);
    }
    auto lookup = [&](std::string_view key) -> std::optional<element> {
      element v;
      if (has_own && mine.at_key(key).get(v) == simdjson::SUCCESS) return v;
      if (batch.has_context && batch.context.at_key(key).get(v) == simdjson::SUCCESS) return v;
      return std::nullopt;
    };
    std::string_view ua;
    if (auto v = lookup("userAgent"); v && v->type() == element_type::STRING)
      ua = v->get_string().value_unsafe();
    e.user_agent.assign(ua.empty() ? meta.user_agent : ua);
    auto library = lookup("library");
    e.library_name.assign(string_member(library, "name"));
    e.library_version.assign(string_member(library, "version"));
    e.os_name.assign(string_member(lookup("os"), "name"));
    e.app_version.assign(string_member(lookup("app"), "version"));
  }
};

std::optional<event::EventType> fixed_type_of(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kTrack:
      return event::EventType::kTrack;
    case Endpoint::kIdentify:
      return event::EventType::kIdentify;
    case Endpoint::kPage:
      return event::EventType::kPage;
    case Endpoint::kScreen:
      return event::EventType::kScreen;
    case Endpoint::kGroup:
      return event::EventType::kGroup;
    case Endpoint::kAlias:
      return event::EventType::kAlias;
    case Endpoint::kBatch:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string too_big(size_t size, size_t limit) {
  return "event is " + std::to_string(size) + " bytes, more than the limit of " +
         std::to_string(limit) + " bytes";
}

}  // namespace

SourceDirectory::SourceDirectory(const std::vector<SourceConfig>& sources) {
  for (const auto& s : sources) {
    by_key_.emplace(s.write_key, s.name);
    // An empty key names no source (find), so it gets no header either.
    if (!s.write_key.empty())
      by_basic_authorization_.emplace(http::basic_authorization(s.write_key), s.name);
  }
}

const std::string* SourceDirectory::find_basic_authorization(std::string_view header) const {
  auto it = by_basic_authorization_.find(header);
  return it == by_basic_authorization_.end() ? nullptr : &it->second;
}

const std::string* SourceDirectory::find(std::string_view write_key) const {
  if (write_key.empty()) return nullptr;
  auto it = by_key_.find(write_key);
  return it == by_key_.end() ? nullptr : &it->second;
}

Result<IngestBatch> IngestParser::parse(Endpoint endpoint, std::string& body,
                                        const RequestMeta& meta,
                                        const schema::CompiledPlan* plan,
                                        const Enrichment* enrichment) const {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  element doc;
  if (auto err = thread_parser().parse(body.data(), body.size(), false).get(doc); err)
    return invalid_argument(std::string("malformed JSON: ") + simdjson::error_message(err));
  object root;
  if (doc.get_object().get(root))
    return invalid_argument("the body must be a JSON object, got " +
                            std::string(type_name(doc.type())));

  IngestBatch out;
  if (!meta.source.empty()) {
    out.source = meta.source;
  } else {
    std::string_view key;
    element v;
    if (root.at_key("writeKey").get(v) != simdjson::SUCCESS || v.is_null())
      return Status(StatusCode::kUnauthenticated,
                    "missing write key: send it as the user name of HTTP Basic auth or as "
                    "\"writeKey\" in the body");
    if (v.get_string().get(key))
      return Status(StatusCode::kUnauthenticated, must_be("writeKey", "a string", v));
    const std::string* source = sources_.find(key);
    if (!source) return Status(StatusCode::kUnauthenticated, "unknown write key");
    out.source = *source;
  }

  const std::string_view text(body);
  BatchLevel batch;
  std::string warning;
  Enricher enricher{meta, out.source, batch, text, plan,
                    plan ? plan->mode_of(out.source) : schema::EnforcementMode::kOff, &warning,
                    enrichment};
  event::Event e;  // reused by every item: its strings keep their buffers
  std::string quarantine_raw;
  const enrich::TransformSet* transforms =
      enrichment && enrichment->transforms && enrichment->transforms->has(out.source)
          ? enrichment->transforms
          : nullptr;
  auto quarantine = [&](std::string reason, std::string_view raw_text, size_t index,
                        std::optional<event::EventType> type) {
    std::string record;
    event::QuarantinedEvent q{out.source, meta.received_at_us, reason, std::string(raw_text),
                              meta.ip, type, thread_uuid_generator().next()};
    event::encode(q, record);
    out.records.push_back(std::move(record));
    ++out.rejected;
    out.errors.push_back({index, std::move(reason)});
  };
  // The text a quarantine row keeps of the item whose text in the body is `raw`: minified for
  // a batch item, the body as it came for a single call. Made only when an item is refused.
  auto raw_of = [&](JsonSpan raw) -> std::string_view {
    quarantine_raw.clear();
    if (endpoint == Endpoint::kBatch) {
      append_minified_json(text.substr(raw.begin, raw.size()), quarantine_raw);
    } else {
      quarantine_raw.assign(text.substr(raw.begin, raw.size()));
    }
    return quarantine_raw;
  };
  // One event (an item with the fields `f`, or one of a transform's outputs) whose document
  // text is `raw_text` (nullopt: the item's own text in the body, raw_of(raw)).
  auto one = [&](const Enricher& en, const ItemFields& f, JsonSpan raw, size_t index,
                 std::optional<event::EventType> type,
                 std::optional<std::string_view> raw_text) {
    reset_event(e);
    warning.clear();
    std::string reason = en.fill(f, type, e);
    if (reason.empty()) {
      if (!warning.empty()) out.warnings.push_back({index, std::move(warning)});
      std::string record;
      event::encode(e, record);  // one allocation: encode makes its room at once
      out.records.push_back(std::move(record));
      ++out.accepted;
      return;
    }
    quarantine(std::move(reason), raw_text ? *raw_text : raw_of(raw), index, type);
  };
  // `item` is the parsed value of the text starting at `at`; returns the span of that text.
  auto add = [&](element item, size_t at, size_t index, std::optional<event::EventType> type,
                 bool check_size) -> JsonSpan {
    std::string reason;
    object obj;
    ItemFields f;
    JsonSpan raw{at, at};
    if (item.get_object().get(obj)) {
      raw = json_value_span(text, at);
      reason = "an event must be a JSON object, got " + std::string(type_name(item.type()));
    } else {
      collect_fields(obj, text, raw, f);
      if (check_size && raw.size() > limits_.max_event_bytes)
        reason = too_big(raw.size(), limits_.max_event_bytes);
    }
    if (!reason.empty()) {
      quarantine(std::move(reason), raw_of(raw), index, type);
      return raw;
    }
    if (!transforms) {
      one(enricher, f, raw, index, type, std::nullopt);
      return raw;
    }
    const std::string_view item_raw = raw_of(raw);  // quarantine_raw: a transform may fail

    // The transform sees the event as a batch item: with its "type".
    std::string input;
    append_minified_json(text.substr(raw.begin, raw.size()), input);
    element has_type;
    if (type && obj.at_key("type").get(has_type) != simdjson::SUCCESS) {
      input.insert(1, "\"type\":\"" + std::string(event::event_type_name(*type)) + "\"" +
                          (input.size() > 2 ? "," : ""));
    }
    auto outputs = transforms->apply(out.source, input);
    if (!outputs) {
      quarantine("transform of source \"" + out.source + "\" failed: " +
                     outputs.status().message(),
                 item_raw, index, type);
      return raw;
    }
    if (outputs->empty()) ++out.dropped;
    for (const std::string& produced : *outputs) {
      thread_local simdjson::dom::parser transform_parser;
      element doc2;
      object obj2;
      if (transform_parser.parse(produced).get(doc2) != simdjson::SUCCESS ||
          doc2.get_object().get(obj2) != simdjson::SUCCESS) {
        quarantine("transform of source \"" + out.source + "\" returned something not a JSON "
                   "object",
                   produced, index, type);
        continue;
      }
      Enricher sub = enricher;
      sub.text = produced;
      // The output names its type (it may change it); a single call's type applies otherwise.
      element t;
      std::optional<event::EventType> out_type =
          obj2.at_key("type").get(t) == simdjson::SUCCESS ? std::nullopt : type;
      JsonSpan produced_span = json_document_span(produced);
      ItemFields produced_fields;
      collect_fields(obj2, produced, produced_span, produced_fields);
      one(sub, produced_fields, produced_span, index, out_type, produced);
    }
    return raw;
  };

  const JsonSpan root_span = json_document_span(text);
  if (endpoint != Endpoint::kBatch) {
    out.records.reserve(1);
    add(doc, root_span.begin, 0, fixed_type_of(endpoint), true);
    return out;
  }

  // The root's members as parsed; the first of a name counts.
  std::optional<element> batch_value, sent_at, context;
  size_t batch_at = 0, context_at = 0;  // their positions among the members
  size_t at = 0;
  for (auto [key, value] : root) {
    if (key == "batch" && !batch_value) {
      batch_value = value;
      batch_at = at;
    } else if (key == "sentAt" && !sent_at) {
      sent_at = value;
    } else if (key == "context" && !context) {
      context = value;
      context_at = at;
    }
    ++at;
  }
  // And as written, as far as needed: where the batch starts, and the context's text. The
  // walk stops at the batch when no context follows it, so the batch is not read twice.
  JsonSpan batch_raw, context_raw;
  if (batch_value) {
    const size_t walk_to = context && context_at > batch_at ? context_at : batch_at;
    JsonMembers root_raw(text, root_span);
    for (size_t i = 0; i <= walk_to; ++i) {
      const JsonSpan span =
          (i == walk_to && i == batch_at ? root_raw.last() : root_raw.next())
              .value_or(JsonMember{})
              .value;
      if (i == batch_at) batch_raw = span;
      if (context && i == context_at) context_raw = span;
    }
  }
  if (!batch_value) return invalid_argument("\"batch\" is required: an array of events");
  array items;
  if (batch_value->get_array().get(items))
    return invalid_argument(must_be("batch", "an array", *batch_value));
  size_t count = items.size();
  if (count > limits_.max_batch_events)
    return Status(StatusCode::kPayloadTooLarge, "batch has " + std::to_string(count) +
                                                    " events, more than the limit of " +
                                                    std::to_string(limits_.max_batch_events));
  if (sent_at && !sent_at->is_null()) {
    std::string_view s;
    if (sent_at->get_string().get(s))
      return invalid_argument(must_be("sentAt", "an ISO 8601 date-time string", *sent_at));
    batch.sent_at_us = parse_iso8601_us(s);
    if (!batch.sent_at_us)
      return invalid_argument("\"sentAt\" is not an ISO 8601 date-time: " + quoted(s));
  }
  if (context && !context->is_null()) {
    if (context->get_object().get(batch.context))
      return invalid_argument(must_be("context", "an object", *context));
    batch.has_context = true;
    append_minified_json(text.substr(context_raw.begin, context_raw.size()), batch.context_json);
    JsonMembers raw(text, context_raw);
    for (auto [key, value] : batch.context) {
      (void)value;
      const JsonMember m = raw.next().value_or(JsonMember{});
      std::string member = "\"";
      member.append(m.key);
      member.append("\":");
      append_minified_json(text.substr(m.value.begin, m.value.size()), member);
      batch.context_members.emplace_back(key, std::move(member));
    }
  }
  // No item can be over the limit when the whole body is not.
  bool check_size = body.size() > limits_.max_event_bytes;
  out.records.reserve(count);
  size_t index = 0;
  size_t end = batch_raw.begin + 1;  // of the previous item, or the batch's '['
  for (element item : items) {
    end = add(item, json_next_item(text, end), index++, std::nullopt, check_size).end;
  }
  return out;
}

}  // namespace basalt::collect
