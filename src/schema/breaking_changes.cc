#include "schema/breaking_changes.h"

#include <fmt/format.h>

#include <algorithm>

namespace basalt::schema {

namespace {

bool widens(PropertyType from, PropertyType to) {
  return from == to || to == PropertyType::kJson ||
         (from == PropertyType::kInt && to == PropertyType::kFloat);
}

int strictness(EnforcementMode mode) {
  switch (mode) {
    case EnforcementMode::kOff:
      return 0;
    case EnforcementMode::kLenient:
      return 1;
    case EnforcementMode::kStrict:
      return 2;
  }
  return 0;
}

class Finder {
 public:
  void add(const SourceLocation& at, std::string message) {
    changes_.push_back({at, std::move(message)});
  }

  void property(const PropertyDefinition& b, const PropertyDefinition& a) {
    const std::string what = "property \"" + a.name + "\"";
    if (!widens(b.type, a.type)) {
      add(a.location, fmt::format("{} type narrowed from {} to {}", what,
                                  property_type_name(b.type), property_type_name(a.type)));
    }
    if (!a.allowed.empty()) {
      if (b.allowed.empty()) {
        add(a.location, what + " now restricts its values to a list of allowed values");
      } else {
        for (const auto& v : b.allowed) {
          if (std::find(a.allowed.begin(), a.allowed.end(), v) == a.allowed.end()) {
            add(a.location, fmt::format("{}: allowed value \"{}\" was removed", what, v));
          }
        }
      }
    }
    if (a.min && (!b.min || *a.min > *b.min)) {
      add(a.location, b.min ? fmt::format("{} min raised from {} to {}", what, *b.min, *a.min)
                            : fmt::format("{} gained min {}", what, *a.min));
    }
    if (a.max && (!b.max || *a.max < *b.max)) {
      add(a.location, b.max ? fmt::format("{} max lowered from {} to {}", what, *b.max, *a.max)
                            : fmt::format("{} gained max {}", what, *a.max));
    }
    if (!a.regex.empty() && a.regex != b.regex) {
      add(a.location, b.regex.empty() ? fmt::format("{} gained regex /{}/", what, a.regex)
                                      : fmt::format("{} regex changed from /{}/ to /{}/", what,
                                                    b.regex, a.regex));
    }
  }

  void event(const EventDefinition& b, const EventDefinition& a) {
    auto find = [](const EventDefinition& e, const std::string& name) -> const EventProperty* {
      for (const auto& p : e.properties) {
        if (p.name == name) return &p;
      }
      return nullptr;
    };
    for (const auto& ap : a.properties) {
      const EventProperty* bp = find(b, ap.name);
      if (ap.required && !bp) {
        add(ap.location,
            fmt::format("event \"{}\" now requires new property \"{}\"", a.name, ap.name));
      } else if (ap.required && !bp->required) {
        add(ap.location, fmt::format("event \"{}\" property \"{}\" changed from optional to "
                                     "required",
                                     a.name, ap.name));
      }
    }
    for (const auto& bp : b.properties) {
      if (find(a, bp.name)) continue;
      add(a.location, bp.required
                          ? fmt::format("event \"{}\" no longer carries required property \"{}\"",
                                        a.name, bp.name)
                          : fmt::format("event \"{}\" no longer declares optional property \"{}\" "
                                        "(strict sources sending it are rejected)",
                                        a.name, bp.name));
    }
  }

  void attribute(const UserAttributeDefinition& b, const UserAttributeDefinition& a) {
    if (!widens(b.type, a.type)) {
      add(a.location, fmt::format("user attribute \"{}\" type narrowed from {} to {}", a.name,
                                  property_type_name(b.type), property_type_name(a.type)));
    }
    if (a.merge != b.merge) {
      add(a.location, fmt::format("user attribute \"{}\" merge rule changed from {} to {}", a.name,
                                  merge_rule_name(b.merge), merge_rule_name(a.merge)));
    }
  }

  std::vector<BreakingChange> take() { return std::move(changes_); }

 private:
  std::vector<BreakingChange> changes_;
};

}  // namespace

std::string BreakingChange::to_string() const {
  return fmt::format("{}: {}", location.to_string(), message);
}

std::vector<BreakingChange> find_breaking_changes(const TrackingPlan& before,
                                                  const TrackingPlan& after) {
  Finder f;
  for (const auto& a : after.properties) {
    if (const auto* b = before.find_property(a.name)) f.property(*b, a);
  }
  for (const auto& a : after.events) {
    if (const auto* b = before.find_event(a.name)) f.event(*b, a);
  }
  for (const auto& a : after.attributes) {
    if (const auto* b = before.find_attribute(a.name)) f.attribute(*b, a);
  }
  for (const auto& s : after.sources) {
    const EnforcementMode was = before.mode_of(s.source);
    if (strictness(s.mode) > strictness(was)) {
      f.add(s.location, fmt::format("source \"{}\" enforcement made stricter: {} → {}", s.source,
                                    enforcement_mode_name(was), enforcement_mode_name(s.mode)));
    }
  }
  if (strictness(after.default_mode) > strictness(before.default_mode)) {
    f.add({}, fmt::format("default enforcement made stricter: {} → {}",
                          enforcement_mode_name(before.default_mode),
                          enforcement_mode_name(after.default_mode)));
  }
  for (const auto& b : before.properties) {
    if (!after.find_property(b.name)) f.add(b.location, "property \"" + b.name + "\" was removed");
  }
  for (const auto& b : before.events) {
    if (!after.find_event(b.name)) f.add(b.location, "event \"" + b.name + "\" was removed");
  }
  for (const auto& b : before.attributes) {
    if (!after.find_attribute(b.name)) {
      f.add(b.location, "user attribute \"" + b.name + "\" was removed");
    }
  }
  return f.take();
}

}  // namespace basalt::schema
