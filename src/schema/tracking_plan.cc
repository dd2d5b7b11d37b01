#include "schema/tracking_plan.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/project_files.h"

namespace basalt::schema {

namespace {

constexpr std::string_view kTypeNames[] = {"string",    "int",      "float", "bool",
                                           "timestamp", "string[]", "json"};
constexpr std::string_view kMergeNames[] = {"set", "set_once", "unset", "increment",
                                            "max", "min",      "append"};
constexpr std::string_view kModeNames[] = {"strict", "lenient", "off"};
constexpr size_t kMaxEventNameBytes = 128;

template <typename Enum, size_t N>
std::optional<Enum> parse_name(std::string_view text, const std::string_view (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

template <size_t N>
std::string join_names(const std::string_view (&names)[N]) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

bool is_valid_event_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxEventNameBytes) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return alnum(c) || c == ' ' || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

// Reads every plan file into one TrackingPlan, collecting every problem instead of stopping
// at the first. A definition with an error is left out of the plan, so one mistake does not
// cascade into a list of consequences.
class PlanReader {
 public:
  explicit PlanReader(const std::vector<std::string>& source_names)
      : source_names_(source_names.begin(), source_names.end()) {}

  void read_file(const PlanFile& file) {
    file_ = file.path;
    YAML::Node root;
    try {
      root = YAML::Load(file.text);
    } catch (const YAML::Exception& e) {
      add(e.mark.line + 1, e.msg);
      return;
    }
    if (root.IsNull()) return;
    try {
      read_top(root);
    } catch (const YAML::Exception& e) {
      // A shape the checks below did not foresee: still an error about the file.
      add(e.mark.line + 1, e.msg);
    }
  }

  // Checks that need the whole plan: events naming properties that no file declares.
  void finish() {
    std::set<std::string_view> known;
    for (const auto& p : plan_.properties) known.insert(p.name);
    for (auto& e : plan_.events) {
      for (const auto& ep : e.properties) {
        if (!known.contains(ep.name) && !declared_with_error_.contains(ep.name)) {
          errors_.push_back(
              fmt::format("{}: event \"{}\" uses property \"{}\", which is not in "
                          "the property dictionary",
                          ep.location.to_string(), e.name, ep.name));
        }
      }
    }
  }

  TrackingPlan& plan() { return plan_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void add(int line, const std::string& message) {
    errors_.push_back(fmt::format("{}:{}: {}", file_, line, message));
  }
  void add(const YAML::Node& n, const std::string& message) { add(n.Mark().line + 1, message); }
  SourceLocation here(const YAML::Node& n) const { return {file_, n.Mark().line + 1}; }

  // False (with errors) when `n` is not a mapping or has keys outside `allowed`.
  bool check_keys(const YAML::Node& n, const std::string& what,
                  std::initializer_list<std::string_view> allowed) {
    if (!n.IsMap()) {
      add(n, what + " must be a mapping");
      return false;
    }
    bool ok = true;
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        add(kv.first, fmt::format("unknown key '{}' in {} (known: {})", key, what, list));
        ok = false;
      }
    }
    return ok;
  }

  static bool has(const YAML::Node& n, const char* key) {
    return n[key].IsDefined() && !n[key].IsNull();
  }

  bool get_string(const YAML::Node& n, const char* key, const std::string& what, std::string& out) {
    if (!has(n, key)) return true;
    const YAML::Node v = n[key];
    if (!v.IsScalar()) {
      add(v, fmt::format("{}.{} must be a string", what, key));
      return false;
    }
    out = v.Scalar();
    return true;
  }

  bool get_bool(const YAML::Node& n, const char* key, const std::string& what, bool& out) {
    if (!has(n, key)) return true;
    const YAML::Node v = n[key];
    const std::string t = v.IsScalar() ? v.Scalar() : "";
    if (t == "true" || t == "yes") {
      out = true;
    } else if (t == "false" || t == "no") {
      out = false;
    } else {
      add(v, fmt::format("{}.{} must be true or false", what, key));
      return false;
    }
    return true;
  }

  bool get_number(const YAML::Node& n, const char* key, const std::string& what,
                  std::optional<double>& out) {
    if (!has(n, key)) return true;
    const YAML::Node v = n[key];
    const std::string t = v.IsScalar() ? v.Scalar() : "";
    double d = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !std::isfinite(d)) {
      add(v, fmt::format("{}.{} must be a number", what, key));
      return false;
    }
    out = d;
    return true;
  }

  bool get_string_list(const YAML::Node& n, const char* key, const std::string& what,
                       std::vector<std::string>& out) {
    if (!has(n, key)) return true;
    const YAML::Node v = n[key];
    if (!v.IsSequence()) {
      add(v, fmt::format("{}.{} must be a list", what, key));
      return false;
    }
    bool ok = true;
    for (const auto& item : v) {
      if (!item.IsScalar()) {
        add(item, fmt::format("{}.{} must be a list of strings", what, key));
        ok = false;
        continue;
      }
      out.push_back(item.Scalar());
    }
    return ok;
  }

  void read_top(const YAML::Node& root) {
    if (!check_keys(root, "the top level",
                    {"properties", "events", "user_attributes", "enforcement"})) {
      if (!root.IsMap()) return;
    }
    if (has(root, "properties"))
      read_list(root["properties"], "properties", &PlanReader::read_property);
    if (has(root, "events")) read_list(root["events"], "events", &PlanReader::read_event);
    if (has(root, "user_attributes")) {
      read_list(root["user_attributes"], "user_attributes", &PlanReader::read_attribute);
    }
    if (has(root, "enforcement")) read_enforcement(root["enforcement"]);
  }

  void read_list(const YAML::Node& list, const char* what,
                 void (PlanReader::*read)(const YAML::Node&)) {
    if (!list.IsSequence()) {
      add(list, fmt::format("{} must be a list", what));
      return;
    }
    for (const auto& item : list) (this->*read)(item);
  }

  // The `name` of a definition, checked; empty on error.
  std::string read_name(const YAML::Node& n, const char* kind, bool column_safe) {
    std::string name;
    if (!get_string(n, "name", kind, name)) return {};
    if (name.empty()) {
      add(n, fmt::format("a {} needs a name", kind));
      return {};
    }
    if (column_safe && !is_column_safe_name(name)) {
      add(n["name"], fmt::format("{} name \"{}\" must be a lower-case identifier "
                                 "([a-z][a-z0-9_]*, at most 63 characters): it names a column",
                                 kind, name));
      return {};
    }
    if (!column_safe && !is_valid_event_name(name)) {
      add(n["name"], fmt::format("event name \"{}\" must be 1 to 128 letters, digits, spaces "
                                 "or _ . : -, starting with a letter or digit",
                                 name));
      return {};
    }
    return name;
  }

  bool check_duplicate(std::map<std::string, SourceLocation, std::less<>>& seen,
                       const std::string& name, const YAML::Node& n, const char* kind) {
    auto [it, inserted] = seen.emplace(name, here(n));
    if (!inserted) {
      add(n, fmt::format("{} \"{}\" is declared twice (first at {})", kind, name,
                         it->second.to_string()));
      return false;
    }
    return true;
  }

  bool read_type(const YAML::Node& n, const std::string& what, PropertyType& out) {
    if (!has(n, "type")) {
      add(n, what + " needs a type (" + join_names(kTypeNames) + ")");
      return false;
    }
    const YAML::Node t = n["type"];
    auto type = parse_property_type(t.IsScalar() ? t.Scalar() : "");
    if (!type) {
      add(t, fmt::format("{}.type must be one of {}, got \"{}\"", what, join_names(kTypeNames),
                         t.IsScalar() ? t.Scalar() : "a non-scalar"));
      return false;
    }
    out = *type;
    return true;
  }

  void read_property(const YAML::Node& n) {
    bool ok = check_keys(
        n, "a property",
        {"name", "type", "description", "owner", "pii", "allowed", "min", "max", "regex"});
    if (!n.IsMap()) return;
    PropertyDefinition p;
    p.location = here(n);
    p.name = read_name(n, "property", true);
    if (p.name.empty()) return;
    const std::string what = "property \"" + p.name + "\"";
    ok &= read_type(n, what, p.type);
    ok &= get_string(n, "description", what, p.description);
    ok &= get_string(n, "owner", what, p.owner);
    ok &= get_bool(n, "pii", what, p.pii);
    ok &= get_string_list(n, "allowed", what, p.allowed);
    ok &= get_number(n, "min", what, p.min);
    ok &= get_number(n, "max", what, p.max);
    ok &= get_string(n, "regex", what, p.regex);
    if (ok) {
      const bool textual = p.type == PropertyType::kString || p.type == PropertyType::kStringList;
      const bool numeric = p.type == PropertyType::kInt || p.type == PropertyType::kFloat;
      const std::string type_name(property_type_name(p.type));
      if (has(n, "allowed") && !textual) {
        add(n["allowed"], fmt::format("{}: allowed values apply to string and string[] "
                                      "properties, not {}",
                                      what, type_name));
        ok = false;
      }
      if (has(n, "allowed") && p.allowed.empty()) {
        add(n["allowed"], what + ": allowed must list at least one value");
        ok = false;
      }
      if (has(n, "regex") && !textual) {
        add(n["regex"], fmt::format("{}: regex applies to string and string[] properties, "
                                    "not {}",
                                    what, type_name));
        ok = false;
      }
      for (const char* key : {"min", "max"}) {
        if (has(n, key) && !numeric) {
          add(n[key], fmt::format("{}: {} applies to int and float properties, not {}", what, key,
                                  type_name));
          ok = false;
        }
      }
      if (p.min && p.max && *p.min > *p.max) {
        add(n["min"], fmt::format("{}: min {} is greater than max {}", what, *p.min, *p.max));
        ok = false;
      }
      if (!p.regex.empty()) {
        RE2::Options options;
        options.set_log_errors(false);
        const RE2 re(p.regex, options);
        if (!re.ok()) {
          add(n["regex"], fmt::format("{}: regex \"{}\" is not valid (RE2 syntax): {}", what,
                                      p.regex, re.error()));
          ok = false;
        }
      }
      std::set<std::string_view> values;
      for (const auto& v : p.allowed) {
        if (!values.insert(v).second) {
          add(n["allowed"], fmt::format("{}: allowed value \"{}\" is listed twice", what, v));
          ok = false;
        }
      }
    }
    if (!check_duplicate(property_names_, p.name, n, "property")) return;
    if (!ok) {
      declared_with_error_.insert(p.name);
      return;
    }
    plan_.properties.push_back(std::move(p));
  }

  void read_event(const YAML::Node& n) {
    bool ok =
        check_keys(n, "an event",
                   {"name", "description", "owner", "status", "required", "optional", "versions"});
    if (!n.IsMap()) return;
    EventDefinition e;
    e.location = here(n);
    e.name = read_name(n, "event", false);
    if (e.name.empty()) return;
    const std::string what = "event \"" + e.name + "\"";
    ok &= get_string(n, "description", what, e.description);
    ok &= get_string(n, "owner", what, e.owner);
    std::string status = "active";
    ok &= get_string(n, "status", what, status);
    if (status == "active") {
      e.status = EventStatus::kActive;
    } else if (status == "deprecated") {
      e.status = EventStatus::kDeprecated;
    } else {
      add(n["status"], what + ".status must be active or deprecated");
      ok = false;
    }
    std::map<std::string, SourceLocation, std::less<>> seen;
    for (const char* key : {"required", "optional"}) {
      if (!has(n, key)) continue;
      const YAML::Node list = n[key];
      if (!list.IsSequence()) {
        add(list, fmt::format("{}.{} must be a list of property names", what, key));
        ok = false;
        continue;
      }
      for (const auto& item : list) {
        if (!item.IsScalar()) {
          add(item, fmt::format("{}.{} must be a list of property names", what, key));
          ok = false;
          continue;
        }
        auto [it, inserted] = seen.emplace(item.Scalar(), here(item));
        if (!inserted) {
          add(item, fmt::format("{} lists property \"{}\" twice (first at {})", what, item.Scalar(),
                                it->second.to_string()));
          ok = false;
          continue;
        }
        e.properties.push_back({item.Scalar(), std::string_view(key) == "required", here(item)});
      }
    }
    if (has(n, "versions")) {
      const YAML::Node list = n["versions"];
      if (!list.IsSequence()) {
        add(list, what + ".versions must be a list");
        ok = false;
      } else {
        for (const auto& item : list) ok &= read_version(item, what, e.versions);
      }
    }
    if (!check_duplicate(event_names_, e.name, n, "event")) return;
    if (ok) plan_.events.push_back(std::move(e));
  }

  bool read_version(const YAML::Node& n, const std::string& what, std::vector<EventVersion>& out) {
    if (!check_keys(n, what + ".versions[]", {"version", "date", "change"})) return false;
    EventVersion v;
    v.location = here(n);
    const std::string t = has(n, "version") && n["version"].IsScalar() ? n["version"].Scalar() : "";
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v.version);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v.version == 0) {
      add(has(n, "version") ? n["version"] : n, what +
                                                    ": a version needs a whole number "
                                                    "`version` from 1");
      return false;
    }
    bool ok = get_string(n, "date", what, v.date) && get_string(n, "change", what, v.change);
    static const RE2 kDate("\\d{4}-\\d{2}-\\d{2}");
    if (ok && !v.date.empty() && !RE2::FullMatch(v.date, kDate)) {
      add(n["date"],
          fmt::format("{}: version {} date \"{}\" must be YYYY-MM-DD", what, v.version, v.date));
      ok = false;
    }
    if (!out.empty() && v.version <= out.back().version) {
      add(n, fmt::format("{}: version {} must be greater than the version before it ({})", what,
                         v.version, out.back().version));
      ok = false;
    }
    if (ok) out.push_back(std::move(v));
    return ok;
  }

  void read_attribute(const YAML::Node& n) {
    bool ok =
        check_keys(n, "a user attribute", {"name", "type", "description", "owner", "pii", "merge"});
    if (!n.IsMap()) return;
    UserAttributeDefinition a;
    a.location = here(n);
    a.name = read_name(n, "user attribute", true);
    if (a.name.empty()) return;
    const std::string what = "user attribute \"" + a.name + "\"";
    ok &= read_type(n, what, a.type);
    ok &= get_string(n, "description", what, a.description);
    ok &= get_string(n, "owner", what, a.owner);
    ok &= get_bool(n, "pii", what, a.pii);
    if (has(n, "merge")) {
      const YAML::Node m = n["merge"];
      auto rule = parse_merge_rule(m.IsScalar() ? m.Scalar() : "");
      if (!rule) {
        add(m, fmt::format("{}.merge must be one of {}, got \"{}\"", what,
                           join_names(kMergeNames), m.IsScalar() ? m.Scalar() : "a non-scalar"));
        ok = false;
      } else {
        a.merge = *rule;
      }
    }
    if (ok) {
      const auto t = a.type;
      const bool numeric = t == PropertyType::kInt || t == PropertyType::kFloat;
      std::string_view need;
      if (a.merge == MergeRule::kIncrement && !numeric) need = "int or float";
      if ((a.merge == MergeRule::kMax || a.merge == MergeRule::kMin) && !numeric &&
          t != PropertyType::kTimestamp) {
        need = "int, float or timestamp";
      }
      if (a.merge == MergeRule::kAppend && t != PropertyType::kStringList) need = "string[]";
      if (!need.empty()) {
        add(n["merge"], fmt::format("{}: merge {} needs type {}, not {}", what,
                                    merge_rule_name(a.merge), need, property_type_name(t)));
        ok = false;
      }
    }
    if (!check_duplicate(attribute_names_, a.name, n, "user attribute")) return;
    if (ok) plan_.attributes.push_back(std::move(a));
  }

  void read_enforcement(const YAML::Node& n) {
    if (!check_keys(n, "enforcement", {"default", "sources"})) return;
    if (has(n, "default")) {
      const YAML::Node d = n["default"];
      auto mode = parse_enforcement_mode(d.IsScalar() ? d.Scalar() : "");
      if (!mode) {
        add(d, "enforcement.default must be one of " + join_names(kModeNames));
      } else if (default_set_) {
        add(d, "enforcement.default is set twice (first at " + default_at_.to_string() + ")");
      } else {
        plan_.default_mode = *mode;
        default_set_ = true;
        default_at_ = here(d);
      }
    }
    if (!has(n, "sources")) return;
    const YAML::Node sources = n["sources"];
    if (!sources.IsMap()) {
      add(sources, "enforcement.sources must be a mapping of source name to mode");
      return;
    }
    for (const auto& kv : sources) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!source_names_.contains(name)) {
        std::string list;
        for (const auto& s : source_names_) list += (list.empty() ? "" : ", ") + s;
        add(kv.first, fmt::format("source \"{}\" is not a source of basalt.yaml (sources: {})",
                                  name, list.empty() ? "none" : list));
        continue;
      }
      auto mode = parse_enforcement_mode(kv.second.IsScalar() ? kv.second.Scalar() : "");
      if (!mode) {
        add(kv.second, fmt::format("the mode of source \"{}\" must be one of {}", name,
                                   join_names(kModeNames)));
        continue;
      }
      if (!check_duplicate(source_modes_, name, kv.first, "the mode of source")) continue;
      plan_.sources.push_back({name, *mode, here(kv.first)});
    }
  }

  std::set<std::string, std::less<>> source_names_;
  std::string file_;
  TrackingPlan plan_;
  std::vector<std::string> errors_;
  std::map<std::string, SourceLocation, std::less<>> property_names_, event_names_,
      attribute_names_, source_modes_;
  std::set<std::string, std::less<>> declared_with_error_;
  bool default_set_ = false;
  SourceLocation default_at_;
};

template <typename T>
const T* find_by_name(const std::vector<T>& list, std::string_view name) {
  for (const auto& item : list) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

}  // namespace

std::string_view property_type_name(PropertyType type) {
  return kTypeNames[static_cast<size_t>(type)];
}
std::optional<PropertyType> parse_property_type(std::string_view name) {
  return parse_name<PropertyType>(name, kTypeNames);
}
std::string_view merge_rule_name(MergeRule rule) { return kMergeNames[static_cast<size_t>(rule)]; }
std::optional<MergeRule> parse_merge_rule(std::string_view name) {
  return parse_name<MergeRule>(name, kMergeNames);
}
std::string_view enforcement_mode_name(EnforcementMode mode) {
  return kModeNames[static_cast<size_t>(mode)];
}
std::optional<EnforcementMode> parse_enforcement_mode(std::string_view name) {
  return parse_name<EnforcementMode>(name, kModeNames);
}

std::string SourceLocation::to_string() const { return fmt::format("{}:{}", file, line); }

bool is_column_safe_name(std::string_view name) {
  if (name.empty() || name.size() > 63 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const PropertyDefinition* TrackingPlan::find_property(std::string_view name) const {
  return find_by_name(properties, name);
}
const EventDefinition* TrackingPlan::find_event(std::string_view name) const {
  return find_by_name(events, name);
}
const UserAttributeDefinition* TrackingPlan::find_attribute(std::string_view name) const {
  return find_by_name(attributes, name);
}
EnforcementMode TrackingPlan::mode_of(std::string_view source) const {
  for (const auto& s : sources) {
    if (s.source == source) return s.mode;
  }
  return default_mode;
}

Result<TrackingPlan> parse_tracking_plan(const std::vector<PlanFile>& files,
                                         const std::vector<std::string>& source_names) {
  PlanReader reader(source_names);
  for (const auto& f : files) reader.read_file(f);
  reader.finish();
  if (!reader.errors().empty()) {
    std::string message;
    for (const auto& e : reader.errors()) message += (message.empty() ? "" : "\n") + e;
    return invalid_argument(std::move(message));
  }
  return std::move(reader.plan());
}

Result<TrackingPlan> load_tracking_plan(const std::filesystem::path& project_dir,
                                        const std::vector<std::string>& source_names) {
  const std::filesystem::path dir = project_dir / "tracking";
  std::error_code ec;
  std::vector<std::filesystem::path> paths = yaml_files(dir, ec);
  if (ec) return unavailable(fmt::format("{}: {}", dir.string(), ec.message()));
  std::vector<PlanFile> files;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return unavailable(fmt::format("{}: cannot be read", p.string()));
    files.push_back({(std::filesystem::path("tracking") / p.filename()).string(), text.str()});
  }
  return parse_tracking_plan(files, source_names);
}

}  // namespace basalt::schema
