#pragma once
// The collected event: what the ingest API produces, the WAL stores and every consumer (the
// warehouse loader, stream sinks) reads. Its binary record form is documented in
// docs/event_record.md; encode/decode here are the only code that knows it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace basalt::event {

enum class EventType : uint8_t { kTrack = 1, kIdentify, kPage, kScreen, kGroup, kAlias };

std::string_view event_type_name(EventType type);  // "track", "identify", …
std::optional<EventType> parse_event_type(std::string_view name);

// The type of a validated value (the tracking plan's property types, plus null: an explicit
// JSON null sent for a declared user attribute, which the `set` merge rule applies).
enum class ValueType : uint8_t {
  kString = 1,
  kInt,
  kFloat,
  kBool,
  kTimestamp,
  kStringList,
  kJson,
  kNull
};

// One declared property (track) or user attribute (identify) after validation against the
// tracking plan: the value its typed warehouse column (p_<name> / a_<name>) receives.
struct TypedField {
  std::string name;
  ValueType type = ValueType::kString;
  int64_t int_value = 0;          // int; bool (0/1); timestamp (µs since the Unix epoch, UTC)
  double float_value = 0;         // float
  std::string text;               // string; json (minified JSON text)
  std::vector<std::string> list;  // string[]

  bool operator==(const TypedField&) const = default;
};

// Times are microseconds since the Unix epoch, UTC. JSON members hold minified JSON text of an
// object ("{}" when absent).
struct Event {
  EventType type = EventType::kTrack;
  std::string event_id;    // server-assigned UUID, unique per stored row
  std::string message_id;  // the client's id (or a generated one); the dedup key with `source`
  std::string source;      // name of the source whose write key sent it
  std::string event;       // track: event name; page/screen: the page or screen name
  std::string user_id;
  std::string anonymous_id;
  std::string group_id;     // group calls
  std::string previous_id;  // alias calls
  int64_t timestamp_us = 0;    // skew-corrected event time
  int64_t received_at_us = 0;  // server time on receipt
  std::optional<int64_t> sent_at_us;
  std::optional<int64_t> original_timestamp_us;  // the client's timestamp before correction
  std::string ip;
  std::string user_agent;
  std::string library_name;
  std::string library_version;
  std::string os_name;
  std::string app_version;
  std::string properties_json = "{}";
  std::string traits_json = "{}";  // identify and group traits
  std::string context_json = "{}";
  // Enrichment (src/enrich): from the user agent ("" when not parsed; "Other" when parsed
  // and unknown) and from the client IP (when a GeoIP database is configured).
  std::string browser;
  std::string browser_version;
  std::string os_family;
  std::string os_version;
  std::string device_family;
  std::string device_brand;
  std::string device_model;
  std::string country;  // ISO 3166-1 alpha-2
  std::string region;
  std::string city;
  // Validated values: the declared properties of a track event, or the declared attributes of
  // an identify call's traits, in plan order. Empty when the source's mode is off or the event
  // is not declared (the JSON columns always hold everything that was sent).
  std::vector<TypedField> typed;

  bool operator==(const Event&) const = default;
};

// An event refused at collection, kept whole with the reason so nothing is lost.
struct QuarantinedEvent {
  std::string source;
  int64_t received_at_us = 0;
  std::string reason;
  std::string raw_json;
  std::string ip;
  // The call type when the event came alone on /v1/<type> (its raw JSON then has no "type"),
  // so a replay can re-submit it; absent for batch items, whose raw JSON names its type.
  std::optional<EventType> type{};
  std::string quarantine_id{};  // unique per row (a UUID); empty in version 1 records

  bool operator==(const QuarantinedEvent&) const = default;
};

enum class RecordKind : uint8_t { kEvent = 1, kQuarantine = 2 };

// Appends the record form of `e` to `out`.
void encode(const Event& e, std::string& out);
void encode(const QuarantinedEvent& q, std::string& out);

// What kind of record `record` is; an error when it is empty or of an unknown kind/version.
Result<RecordKind> record_kind(std::string_view record);
Result<Event> decode_event(std::string_view record);
// The same into `out`, every field of which it sets, reusing its strings' buffers (a caller
// decoding many records into one Event allocates only when a field outgrows its buffer). On an
// error `out` holds part of the record.
Status decode_event(std::string_view record, Event& out);
Result<QuarantinedEvent> decode_quarantined(std::string_view record);

}  // namespace basalt::event
