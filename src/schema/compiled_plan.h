#pragma once
// The tracking plan compiled for the ingest hot path: hash tables from event and property
// names to dense indexes, per-event slot tables, compiled regexes and allowed-value sets, built
// once per plan (at start and on reload). EventValidator checks one event's properties (or one
// identify call's traits) against it and returns the typed value of every declared property,
// for the typed warehouse columns. The rules are documented in docs/tracking_plan.md.
//
// Thread safety: a CompiledPlan is immutable and may be shared by every ingest thread; an
// EventValidator holds reusable buffers and belongs to one thread.

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "schema/tracking_plan.h"

namespace re2 {
class RE2;
}

namespace basalt::schema {

// A declared property's value after validation. Views point into the simdjson document the
// event was parsed into: they are valid while that document is.
struct TypedValue {
  bool present = false;  // false: absent, JSON null or invalid (the typed column holds NULL)
  bool invalid = false;  // a value was sent but broke a rule (its violation says which)
  PropertyType type = PropertyType::kString;
  int64_t int_value = 0;       // int; bool (0 or 1); timestamp (µs since the Unix epoch, UTC)
  double float_value = 0;      // float
  std::string_view text;       // string
  simdjson::dom::element raw;  // the JSON value (when present or invalid; string[], json use it)
};

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A property or attribute as the validator sees it.
struct CompiledProperty {
  std::string name;
  PropertyType type = PropertyType::kString;
  std::vector<std::string> allowed;  // in plan order, for messages
  std::unordered_set<std::string, TextHash, std::equal_to<>> allowed_set;
  std::optional<double> min;
  std::optional<double> max;
  std::shared_ptr<const re2::RE2> regex;  // null: no regex; RE2, whole match
  std::string regex_text;
};

struct CompiledEventProperty {
  uint32_t property = 0;  // index into CompiledPlan::properties()
  bool required = false;
};

struct CompiledEvent {
  std::string name;
  bool deprecated = false;
  std::vector<CompiledEventProperty> properties;  // in plan order: the order of TypedValues
  uint32_t required_count = 0;
};

class CompiledPlan {
 public:
  // REQUIRES: `plan` came from parse_tracking_plan/load_tracking_plan (names unique, every
  // event property in the dictionary, regexes valid).
  explicit CompiledPlan(const TrackingPlan& plan);

  CompiledPlan(CompiledPlan&&) noexcept = default;
  CompiledPlan& operator=(CompiledPlan&&) noexcept = default;

  EnforcementMode mode_of(std::string_view source) const;

  // A number unique to this compiled plan in the process (per-thread caches key on it).
  uint64_t generation() const { return generation_; }

  // Dense indexes, or nullopt when the name is not declared.
  std::optional<uint32_t> find_event(std::string_view name) const;
  std::optional<uint32_t> find_property(std::string_view name) const;
  std::optional<uint32_t> find_attribute(std::string_view name) const;

  const std::vector<CompiledEvent>& events() const { return events_; }
  const std::vector<CompiledProperty>& properties() const { return properties_; }
  // User attributes, as properties (their merge rules stay in the TrackingPlan).
  const std::vector<CompiledProperty>& attributes() const { return attributes_; }

  // The declared event name closest to `name` by edit distance, if close enough to be a
  // likely typo (distance at most 2, or a third of the name's length when longer).
  std::optional<std::string_view> suggest_event(std::string_view name) const;

 private:
  friend class EventValidator;
  using Index = std::unordered_map<std::string, uint32_t, TextHash, std::equal_to<>>;

  std::vector<CompiledProperty> properties_;
  std::vector<CompiledEvent> events_;
  std::vector<CompiledProperty> attributes_;
  Index property_index_;
  Index event_index_;
  Index attribute_index_;
  // slot_[event * properties_.size() + property]: the property's position in the event's
  // list, or kNoSlot.
  std::vector<uint16_t> slot_;
  std::unordered_map<std::string, EnforcementMode, TextHash, std::equal_to<>> modes_;
  EnforcementMode default_mode_ = EnforcementMode::kLenient;
  uint64_t generation_ = 0;
};

inline constexpr uint16_t kNoSlot = 0xffff;

struct Validation {
  // Strict: no violation and nothing undeclared. Lenient and off: always true.
  bool accepted = true;
  // The declared event, or null (undeclared event, identify traits, or mode off).
  const CompiledEvent* event = nullptr;
  bool undeclared_event = false;
  // Names of properties (or traits) the plan does not declare for this event, as views into
  // the document. Reported in lenient mode; in strict mode each is also a violation.
  std::vector<std::string_view> undeclared;
  // Precise reasons, e.g. `property "amount" expected float, got string "abc"`.
  std::vector<std::string> violations;
  // One per declared property of the event (CompiledEvent::properties order), or per user
  // attribute for traits (CompiledPlan::attributes order). Invalid values are not present.
  std::vector<TypedValue> values;

  // The violations joined with "; " (empty when there are none).
  std::string reason() const;
  // Back to an accepted, empty result, keeping the buffers' capacity.
  void clear();
};

class EventValidator {
 public:
  explicit EventValidator(const CompiledPlan& plan) : plan_(plan) {}

  // Checks a track event's `properties` (a JSON object, or null/absent as an empty one)
  // under `mode`. The result lives until the next call. Allocation-free on the success path
  // once the buffers have grown to the plan's largest event.
  const Validation& validate_event(EnforcementMode mode, std::string_view event,
                                   simdjson::dom::element properties);
  // Checks an identify call's traits against the user attributes (no attribute is required).
  const Validation& validate_traits(EnforcementMode mode, simdjson::dom::element traits);

 private:
  void check_value(const CompiledProperty& p, std::string_view kind, simdjson::dom::element value,
                   TypedValue& out);

  const CompiledPlan& plan_;
  Validation result_;
};

// Parses an ISO 8601 date-time: "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM:SS" with an optional
// fraction of 1 to 9 digits and an optional "Z", "±HH:MM" or "±HHMM" (none: UTC).
// Returns µs since the Unix epoch, or nullopt when the text is not such a time.
std::optional<int64_t> parse_timestamp(std::string_view text);

// Levenshtein distance (for suggestions).
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace basalt::schema
