#include "schema/compiled_plan.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

namespace basalt::schema {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53: doubles are exact up to here
constexpr size_t kQuotedChars = 64;                  // of a bad value, in messages

CompiledProperty compile(const std::string& name, PropertyType type,
                         const std::vector<std::string>& allowed, std::optional<double> min,
                         std::optional<double> max, const std::string& regex) {
  CompiledProperty p;
  p.name = name;
  p.type = type;
  p.allowed = allowed;
  p.allowed_set.insert(allowed.begin(), allowed.end());
  p.min = min;
  p.max = max;
  if (!regex.empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    p.regex = std::make_shared<const RE2>(regex, options);
    p.regex_text = regex;
  }
  return p;
}

std::string quoted(std::string_view s) {
  if (s.size() <= kQuotedChars) return fmt::format("\"{}\"", s);
  return fmt::format("\"{}…\"", s.substr(0, kQuotedChars));
}

// "string \"abc\"", "int 5", "float 1.5", "bool true", "null", "an array", "an object".
std::string describe(element v) {
  switch (v.type()) {
    case element_type::STRING:
      return "string " + quoted(v.get_string().value_unsafe());
    case element_type::INT64:
      return fmt::format("int {}", v.get_int64().value_unsafe());
    case element_type::UINT64:
      return fmt::format("int {}", v.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return fmt::format("float {}", v.get_double().value_unsafe());
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? "bool true" : "bool false";
    case element_type::NULL_VALUE:
      return "null";
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
  }
  return "an unknown value";
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Reads exactly `n` digits at `pos`; false if they are not all digits.
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

template <typename Candidates>
std::optional<std::string_view> closest(std::string_view name, const Candidates& names) {
  std::optional<std::string_view> best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (std::string_view candidate : names) {
    const size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::optional<std::string_view> suggestion) {
  return suggestion ? fmt::format(" (did you mean \"{}\"?)", *suggestion) : "";
}

}  // namespace

CompiledPlan::CompiledPlan(const TrackingPlan& plan) : default_mode_(plan.default_mode) {
  static std::atomic<uint64_t> generations{0};
  generation_ = ++generations;
  for (const auto& p : plan.properties) {
    property_index_.emplace(p.name, static_cast<uint32_t>(properties_.size()));
    properties_.push_back(compile(p.name, p.type, p.allowed, p.min, p.max, p.regex));
  }
  for (const auto& a : plan.attributes) {
    attribute_index_.emplace(a.name, static_cast<uint32_t>(attributes_.size()));
    attributes_.push_back(compile(a.name, a.type, {}, std::nullopt, std::nullopt, ""));
  }
  const size_t width = properties_.size();
  slot_.assign(plan.events.size() * width, kNoSlot);
  for (const auto& e : plan.events) {
    const uint32_t index = static_cast<uint32_t>(events_.size());
    event_index_.emplace(e.name, index);
    CompiledEvent ce;
    ce.name = e.name;
    ce.deprecated = e.status == EventStatus::kDeprecated;
    for (const auto& ep : e.properties) {
      auto p = property_index_.find(ep.name);
      assert(p != property_index_.end() && "the loader checks event properties exist");
      assert(ce.properties.size() < kNoSlot && "an event has fewer than 65535 properties");
      slot_[index * width + p->second] = static_cast<uint16_t>(ce.properties.size());
      ce.properties.push_back({p->second, ep.required});
      ce.required_count += ep.required ? 1 : 0;
    }
    events_.push_back(std::move(ce));
  }
  for (const auto& s : plan.sources) modes_.emplace(s.source, s.mode);
}

EnforcementMode CompiledPlan::mode_of(std::string_view source) const {
  auto it = modes_.find(source);
  return it == modes_.end() ? default_mode_ : it->second;
}

std::optional<uint32_t> CompiledPlan::find_event(std::string_view name) const {
  auto it = event_index_.find(name);
  if (it == event_index_.end()) return std::nullopt;
  return it->second;
}
std::optional<uint32_t> CompiledPlan::find_property(std::string_view name) const {
  auto it = property_index_.find(name);
  if (it == property_index_.end()) return std::nullopt;
  return it->second;
}
std::optional<uint32_t> CompiledPlan::find_attribute(std::string_view name) const {
  auto it = attribute_index_.find(name);
  if (it == attribute_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> CompiledPlan::suggest_event(std::string_view name) const {
  std::vector<std::string_view> names;
  for (const auto& e : events_) names.push_back(e.name);
  return closest(name, names);
}

std::string Validation::reason() const {
  std::string out;
  for (const auto& v : violations) out += (out.empty() ? "" : "; ") + v;
  return out;
}

void Validation::clear() {
  accepted = true;
  event = nullptr;
  undeclared_event = false;
  undeclared.clear();
  violations.clear();
  values.clear();
}

void EventValidator::check_value(const CompiledProperty& p, std::string_view kind, element v,
                                 TypedValue& out) {
  auto fail = [&](std::string message) { result_.violations.push_back(std::move(message)); };
  auto expected = [&](std::string_view what) {
    fail(fmt::format("{} \"{}\" expected {}, got {}", kind, p.name, what, describe(v)));
  };
  auto check_range = [&](double d) {
    if (p.min && d < *p.min) {
      fail(fmt::format("{} \"{}\" must be at least {}, got {}", kind, p.name, *p.min, describe(v)));
      return false;
    }
    if (p.max && d > *p.max) {
      fail(fmt::format("{} \"{}\" must be at most {}, got {}", kind, p.name, *p.max, describe(v)));
      return false;
    }
    return true;
  };
  auto check_text = [&](std::string_view s, std::string_view where) {
    if (!p.allowed_set.empty() && !p.allowed_set.contains(s)) {
      fail(fmt::format("{} \"{}\"{} must be one of {}, got {}", kind, p.name, where,
                       join(p.allowed), quoted(s)));
      return false;
    }
    if (p.regex && !RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *p.regex)) {
      fail(fmt::format("{} \"{}\"{} must match /{}/, got {}", kind, p.name, where, p.regex_text,
                       quoted(s)));
      return false;
    }
    return true;
  };

  out.raw = v;
  out.invalid = true;  // until every check has passed
  const element_type t = v.type();
  switch (p.type) {
    case PropertyType::kString: {
      if (t != element_type::STRING) return expected("string");
      const std::string_view s = v.get_string().value_unsafe();
      if (!check_text(s, "")) return;
      out.text = s;
      break;
    }
    case PropertyType::kInt: {
      int64_t i = 0;
      if (t == element_type::INT64) {
        i = v.get_int64().value_unsafe();
      } else if (t == element_type::DOUBLE) {
        // A whole float (3.0, 1e3) is an int: some SDKs send every number as a double.
        const double d = v.get_double().value_unsafe();
        if (d != std::trunc(d) || std::fabs(d) > kMaxExactInt) return expected("int");
        i = static_cast<int64_t>(d);
      } else if (t == element_type::UINT64) {
        return expected("int (a signed 64-bit integer)");
      } else {
        return expected("int");
      }
      if (!check_range(static_cast<double>(i))) return;
      out.int_value = i;
      break;
    }
    case PropertyType::kFloat: {
      double d = 0;
      if (t == element_type::DOUBLE) {
        d = v.get_double().value_unsafe();
      } else if (t == element_type::INT64) {
        d = static_cast<double>(v.get_int64().value_unsafe());
      } else if (t == element_type::UINT64) {
        d = static_cast<double>(v.get_uint64().value_unsafe());
      } else {
        return expected("float");
      }
      if (!check_range(d)) return;
      out.float_value = d;
      break;
    }
    case PropertyType::kBool:
      if (t != element_type::BOOL) return expected("bool");
      out.int_value = v.get_bool().value_unsafe() ? 1 : 0;
      break;
    case PropertyType::kTimestamp: {
      if (t != element_type::STRING) return expected("an ISO 8601 timestamp string");
      auto us = parse_timestamp(v.get_string().value_unsafe());
      if (!us) return expected("an ISO 8601 timestamp");
      out.int_value = *us;
      break;
    }
    case PropertyType::kStringList: {
      if (t != element_type::ARRAY) return expected("string[]");
      size_t i = 0;
      const simdjson::dom::array items = v.get_array().value_unsafe();
      for (element item : items) {
        if (item.type() != element_type::STRING) {
          fail(fmt::format("{} \"{}\"[{}] expected string, got {}", kind, p.name, i,
                           describe(item)));
          return;
        }
        if (!check_text(item.get_string().value_unsafe(), fmt::format("[{}]", i))) return;
        ++i;
      }
      break;
    }
    case PropertyType::kJson:
      break;
  }
  out.invalid = false;
  out.present = true;
}

const Validation& EventValidator::validate_event(EnforcementMode mode, std::string_view name,
                                                 element properties) {
  Validation& r = result_;
  r.clear();
  if (mode == EnforcementMode::kOff) return r;
  const bool strict = mode == EnforcementMode::kStrict;

  auto found = plan_.event_index_.find(name);
  if (found == plan_.event_index_.end()) {
    r.undeclared_event = true;
    if (strict) {
      r.violations.push_back(fmt::format("event \"{}\" is not in the tracking plan{}", name,
                                         did_you_mean(plan_.suggest_event(name))));
      r.accepted = false;
    }
    return r;
  }
  const uint32_t index = found->second;
  const CompiledEvent& event = plan_.events_[index];
  r.event = &event;
  r.values.resize(event.properties.size());
  for (size_t i = 0; i < event.properties.size(); ++i) {
    r.values[i].type = plan_.properties_[event.properties[i].property].type;
  }

  const size_t width = plan_.properties_.size();
  const uint16_t* slots = plan_.slot_.data() + index * width;
  if (properties.type() == element_type::OBJECT) {
    const simdjson::dom::object fields = properties.get_object().value_unsafe();
    for (auto field : fields) {
      auto p = plan_.property_index_.find(field.key);
      const uint16_t slot = p == plan_.property_index_.end() ? kNoSlot : slots[p->second];
      if (slot == kNoSlot) {
        r.undeclared.push_back(field.key);
        if (strict) {
          std::vector<std::string_view> names;
          for (const auto& ep : event.properties)
            names.push_back(plan_.properties_[ep.property].name);
          r.violations.push_back(fmt::format("property \"{}\" is not declared for event \"{}\"{}",
                                             field.key, event.name,
                                             did_you_mean(closest(field.key, names))));
        }
        continue;
      }
      if (field.value.type() == element_type::NULL_VALUE) continue;  // as if absent
      check_value(plan_.properties_[event.properties[slot].property], "property", field.value,
                  r.values[slot]);
    }
  } else if (properties.type() != element_type::NULL_VALUE) {
    r.violations.push_back(
        fmt::format("properties must be an object, got {}", describe(properties)));
  }

  if (event.required_count > 0) {
    uint32_t present = 0;
    for (size_t i = 0; i < event.properties.size(); ++i) {
      present += event.properties[i].required && r.values[i].present ? 1 : 0;
    }
    if (present < event.required_count) {
      for (size_t i = 0; i < event.properties.size(); ++i) {
        const auto& ep = event.properties[i];
        // A required property with an invalid value already has its violation.
        if (!ep.required || r.values[i].present || r.values[i].invalid) continue;
        r.violations.push_back(fmt::format("property \"{}\" is required by event \"{}\"",
                                           plan_.properties_[ep.property].name, event.name));
      }
    }
  }
  r.accepted = !strict || r.violations.empty();
  return r;
}

const Validation& EventValidator::validate_traits(EnforcementMode mode, element traits) {
  Validation& r = result_;
  r.clear();
  if (mode == EnforcementMode::kOff) return r;
  const bool strict = mode == EnforcementMode::kStrict;
  r.values.resize(plan_.attributes_.size());
  for (size_t i = 0; i < plan_.attributes_.size(); ++i)
    r.values[i].type = plan_.attributes_[i].type;
  if (traits.type() == element_type::OBJECT) {
    const simdjson::dom::object fields = traits.get_object().value_unsafe();
    for (auto field : fields) {
      auto a = plan_.attribute_index_.find(field.key);
      if (a == plan_.attribute_index_.end()) {
        r.undeclared.push_back(field.key);
        if (strict) {
          std::vector<std::string_view> names;
          for (const auto& attr : plan_.attributes_) names.push_back(attr.name);
          r.violations.push_back(
              fmt::format("trait \"{}\" is not a user attribute of the "
                          "tracking plan{}",
                          field.key, did_you_mean(closest(field.key, names))));
        }
        continue;
      }
      if (field.value.type() == element_type::NULL_VALUE) continue;
      check_value(plan_.attributes_[a->second], "trait", field.value, r.values[a->second]);
    }
  } else if (traits.type() != element_type::NULL_VALUE) {
    r.violations.push_back(fmt::format("traits must be an object, got {}", describe(traits)));
  }
  r.accepted = !strict || r.violations.empty();
  return r;
}

std::optional<int64_t> parse_timestamp(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(mo),
                                         std::chrono::day(d)};
  if (!date.ok()) return std::nullopt;
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::sys_days(date).time_since_epoch())
                   .count();
  if (s.size() == 10) return us;
  if (s.size() < 19 || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec) || h > 23 || mi > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  us += ((h * 60LL + mi) * 60 + sec) * 1'000'000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t fraction = 0;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) fraction = fraction * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (size_t i = n; i < 6; ++i) fraction *= 10;
    us += fraction;
  }
  if (pos == s.size()) return us;
  if (s[pos] == 'Z') return pos + 1 == s.size() ? std::optional<int64_t>(us) : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '+' ? 1 : -1;
  int oh = 0, om = 0;
  if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
  size_t after = pos + 3;
  if (after < s.size() && s[after] == ':') ++after;
  if (!digits(s, after, 2, om) || after + 2 != s.size() || oh > 23 || om > 59) return std::nullopt;
  return us - sign * (oh * 60LL + om) * 60 * 1'000'000;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace basalt::schema
