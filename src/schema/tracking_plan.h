#pragma once
// The tracking plan of a project (tracking/*.yaml): the global property dictionary, the
// events and the properties each carries, the user attributes with their merge rules, and the
// enforcement mode of each source. The file format is documented in docs/tracking_plan.md.
// Every definition remembers the file and line it came from, so later checks (breaking
// changes, `basalt validate`) can point at it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace basalt::schema {

enum class PropertyType : uint8_t { kString, kInt, kFloat, kBool, kTimestamp, kStringList, kJson };
enum class EventStatus : uint8_t { kActive, kDeprecated };
enum class MergeRule : uint8_t { kSet, kSetOnce, kUnset, kIncrement, kMax, kMin, kAppend };
enum class EnforcementMode : uint8_t { kStrict, kLenient, kOff };

std::string_view property_type_name(PropertyType type);  // "string", "int", …, "string[]"
std::optional<PropertyType> parse_property_type(std::string_view name);
std::string_view merge_rule_name(MergeRule rule);
std::optional<MergeRule> parse_merge_rule(std::string_view name);
std::string_view enforcement_mode_name(EnforcementMode mode);
std::optional<EnforcementMode> parse_enforcement_mode(std::string_view name);

// Where a definition is written: "tracking/events.yaml", line 12 (1-based).
struct SourceLocation {
  std::string file;
  int line = 0;
  std::string to_string() const;  // "file:line"
  bool operator==(const SourceLocation&) const = default;
};

struct PropertyDefinition {
  std::string name;  // a column-safe identifier: [a-z][a-z0-9_]{0,62}
  PropertyType type = PropertyType::kString;
  std::string description;
  std::string owner;
  bool pii = false;
  // Constraints; each applies only to the types named (the loader rejects the others).
  std::vector<std::string> allowed;  // string, string[] (each element)
  std::optional<double> min;         // int, float
  std::optional<double> max;         // int, float
  std::string regex;                 // string, string[] (each element); RE2 syntax, whole match
  SourceLocation location;
};

struct EventProperty {
  std::string name;
  bool required = false;
  SourceLocation location;
};

struct EventVersion {
  uint32_t version = 0;
  std::string date;  // YYYY-MM-DD
  std::string change;
  SourceLocation location;
};

struct EventDefinition {
  std::string name;  // 1..128 characters of [A-Za-z0-9 _.:-], starting with a letter or digit
  std::string description;
  std::string owner;
  EventStatus status = EventStatus::kActive;
  std::vector<EventProperty> properties;
  std::vector<EventVersion> versions;  // increasing version numbers
  SourceLocation location;
};

struct UserAttributeDefinition {
  std::string name;  // a column-safe identifier, like property names
  PropertyType type = PropertyType::kString;
  std::string description;
  std::string owner;
  bool pii = false;
  MergeRule merge = MergeRule::kSet;
  SourceLocation location;
};

struct SourceEnforcement {
  std::string source;  // a source name of basalt.yaml
  EnforcementMode mode = EnforcementMode::kLenient;
  SourceLocation location;
};

struct TrackingPlan {
  std::vector<PropertyDefinition> properties;
  std::vector<EventDefinition> events;
  std::vector<UserAttributeDefinition> attributes;
  std::vector<SourceEnforcement> sources;
  // The mode of sources the plan does not name.
  EnforcementMode default_mode = EnforcementMode::kLenient;

  const PropertyDefinition* find_property(std::string_view name) const;
  const EventDefinition* find_event(std::string_view name) const;
  const UserAttributeDefinition* find_attribute(std::string_view name) const;
  EnforcementMode mode_of(std::string_view source) const;
};

// One plan file's text, with the name errors should give it.
struct PlanFile {
  std::string path;
  std::string text;
};

// Parses and checks a whole plan made of `files`. `source_names` are the sources of
// basalt.yaml; a plan naming another source is an error. Every problem found is reported, one
// `file:line: message` per line of the kInvalidArgument message (in file order).
Result<TrackingPlan> parse_tracking_plan(const std::vector<PlanFile>& files,
                                         const std::vector<std::string>& source_names);

// Reads PROJECT_DIR/tracking/*.yaml (and *.yml) in name order. No tracking folder: an empty
// plan (every source in the default mode). Errors as parse_tracking_plan, plus kUnavailable
// when a file cannot be read. File names in errors are relative to the project folder.
Result<TrackingPlan> load_tracking_plan(const std::filesystem::path& project_dir,
                                        const std::vector<std::string>& source_names);

// Whether `name` may be a property or attribute name (it becomes a column p_<name>/a_<name>).
bool is_column_safe_name(std::string_view name);

}  // namespace basalt::schema
