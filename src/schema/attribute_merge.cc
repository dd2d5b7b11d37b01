#include "schema/attribute_merge.h"

#include <fmt/format.h>

#include <algorithm>

namespace basalt::schema {

namespace {

bool is_null(const AttributeValue& v) { return std::holds_alternative<std::monostate>(v); }
bool is_number(const AttributeValue& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}
double as_double(const AttributeValue& v) {
  return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v))
                                            : std::get<double>(v);
}

Status not_combinable(MergeRule rule, std::string_view what) {
  return invalid_argument(
      fmt::format("merge rule {} needs {} values", merge_rule_name(rule), what));
}

}  // namespace

Result<AttributeState> merge_attribute(MergeRule rule, const std::optional<AttributeState>& stored,
                                       const AttributeState& update) {
  const bool newer = !stored || update.time_us >= stored->time_us;
  const int64_t time = stored ? std::max(stored->time_us, update.time_us) : update.time_us;
  switch (rule) {
    case MergeRule::kSet:
      return newer ? update : *stored;
    case MergeRule::kUnset:
      return newer ? AttributeState{std::monostate{}, update.time_us} : *stored;
    case MergeRule::kSetOnce:
      if (!stored) return update;
      // A cleared value newer than the update stays cleared; otherwise the oldest value wins.
      if (is_null(stored->value)) return newer ? update : *stored;
      return update.time_us < stored->time_us && !is_null(update.value) ? update : *stored;
    case MergeRule::kIncrement: {
      if (is_null(update.value)) return stored ? *stored : update;
      if (!is_number(update.value)) return not_combinable(rule, "number");
      if (!stored || is_null(stored->value)) return AttributeState{update.value, time};
      if (!is_number(stored->value)) return not_combinable(rule, "number");
      if (std::holds_alternative<int64_t>(stored->value) &&
          std::holds_alternative<int64_t>(update.value)) {
        int64_t sum = 0;
        if (__builtin_add_overflow(std::get<int64_t>(stored->value),
                                   std::get<int64_t>(update.value), &sum)) {
          return invalid_argument("merge rule increment overflows a 64-bit integer");
        }
        return AttributeState{sum, time};
      }
      return AttributeState{as_double(stored->value) + as_double(update.value), time};
    }
    case MergeRule::kMax:
    case MergeRule::kMin: {
      if (is_null(update.value)) return stored ? *stored : update;
      if (!is_number(update.value)) return not_combinable(rule, "number");
      if (!stored || is_null(stored->value)) return AttributeState{update.value, time};
      if (!is_number(stored->value)) return not_combinable(rule, "number");
      const double a = as_double(stored->value), b = as_double(update.value);
      const bool take_update = rule == MergeRule::kMax ? b > a : b < a;
      return AttributeState{take_update ? update.value : stored->value, time};
    }
    case MergeRule::kAppend: {
      if (is_null(update.value)) return stored ? *stored : update;
      std::vector<std::string> list;
      if (stored && !is_null(stored->value)) {
        if (!std::holds_alternative<std::vector<std::string>>(stored->value)) {
          return not_combinable(rule, "string list");
        }
        list = std::get<std::vector<std::string>>(stored->value);
      }
      if (const auto* s = std::get_if<std::string>(&update.value)) {
        list.push_back(*s);
      } else if (const auto* l = std::get_if<std::vector<std::string>>(&update.value)) {
        list.insert(list.end(), l->begin(), l->end());
      } else {
        return not_combinable(rule, "string or string list");
      }
      return AttributeState{std::move(list), time};
    }
  }
  return internal_error("unknown merge rule");
}

AttributeValue attribute_value_of(const event::TypedField& f) {
  switch (f.type) {
    case event::ValueType::kString:
    case event::ValueType::kJson:
      return f.text;
    case event::ValueType::kInt:
    case event::ValueType::kTimestamp:
      return f.int_value;
    case event::ValueType::kFloat:
      return f.float_value;
    case event::ValueType::kBool:
      return f.int_value != 0;
    case event::ValueType::kStringList:
      return f.list;
    case event::ValueType::kNull:
      return std::monostate{};
  }
  return std::monostate{};
}

}  // namespace basalt::schema
