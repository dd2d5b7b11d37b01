// Fuzzes the tracking plan reader and compiler: arbitrary YAML gives a plan or `file:line`
// errors, never a crash; a plan that loads compiles and validates an event and traits, and
// compares with itself without breaking changes.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "schema/breaking_changes.h"
#include "schema/compiled_plan.h"
#include "schema/tracking_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt::schema;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto plan = parse_tracking_plan({{"tracking/fuzz.yaml", text}}, {"app", "web"});
  if (!plan) return 0;
  CompiledPlan compiled(*plan);
  EventValidator validator(compiled);
  static simdjson::dom::parser parser;
  simdjson::dom::element props =
      parser.parse(std::string_view(R"({"amount":1.5,"level":3,"currency":"EUR","tags":["a"],"x":null})"))
          .value_unsafe();
  for (const auto& e : plan->events) {
    (void)validator.validate_event(EnforcementMode::kStrict, e.name, props);
    (void)validator.validate_event(EnforcementMode::kLenient, e.name, props);
  }
  (void)validator.validate_event(EnforcementMode::kStrict, "no_such_event", props);
  (void)validator.validate_traits(EnforcementMode::kStrict, props);
  if (!find_breaking_changes(*plan, *plan).empty()) __builtin_trap();  // a plan never breaks itself
  return 0;
}
