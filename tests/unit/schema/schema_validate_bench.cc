// The cost of checking events against the demo tracking plan, next to the cost of parsing
// them: generated game events (100 per batch body), validated under strict mode.
//   BM_Parse             simdjson DOM parse of the bodies
//   BM_ParseAndValidate  the same, then every event/identify checked against the plan
//   BM_ValidateOnly      the check alone, on bodies parsed once up front
//   BM_ValidateOnlyWithoutRegex  the same with the plan's regexes dropped

#include <benchmark/benchmark.h>

#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "gen/game_event_generator.h"
#include "schema/compiled_plan.h"

namespace {

using namespace basalt;

struct Fixture {
  std::vector<std::string> bodies;
  size_t events = 0;
  std::unique_ptr<schema::CompiledPlan> plan;
  std::unique_ptr<schema::CompiledPlan> plan_without_regex;  // to show what std::regex costs

  Fixture() {
    auto config = load_project_config(BASALT_DEMO_DIR);
    std::vector<std::string> sources;
    for (const auto& s : config->sources) sources.push_back(s.name);
    auto tracking = schema::load_tracking_plan(BASALT_DEMO_DIR, sources);
    if (!tracking.is_ok()) std::abort();
    plan = std::make_unique<schema::CompiledPlan>(*tracking);
    for (auto& p : tracking->properties) p.regex.clear();
    plan_without_regex = std::make_unique<schema::CompiledPlan>(*tracking);
    ManualClock clock(1714564800000000);
    gen::GenOptions options;
    options.users = 2000;
    options.days = 3;
    options.batch_size = 100;
    auto g = gen::GameEventGenerator::create(options, clock);
    while (auto body = g->next_body()) {
      if (bodies.size() == 200) break;
      bodies.push_back(std::move(*body));
    }
    events = bodies.size() * 100;
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

size_t validate_batch(schema::EventValidator& validator, simdjson::dom::element doc) {
  size_t rejected = 0;
  const simdjson::dom::array batch = doc["batch"].get_array().value_unsafe();
  for (simdjson::dom::element item : batch) {
    std::string_view type = item["type"].get_string().value_unsafe();
    if (type == "identify") {
      rejected +=
          !validator
               .validate_traits(schema::EnforcementMode::kStrict, item["traits"].value_unsafe())
               .accepted;
    } else {
      rejected += !validator
                       .validate_event(schema::EnforcementMode::kStrict,
                                       item["event"].get_string().value_unsafe(),
                                       item["properties"].value_unsafe())
                       .accepted;
    }
  }
  return rejected;
}

void BM_Parse(benchmark::State& state) {
  const Fixture& f = fixture();
  simdjson::dom::parser parser;
  for (auto _ : state) {
    for (const auto& body : f.bodies) benchmark::DoNotOptimize(parser.parse(body).value_unsafe());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.events));
}
BENCHMARK(BM_Parse);

void BM_ParseAndValidate(benchmark::State& state) {
  const Fixture& f = fixture();
  simdjson::dom::parser parser;
  schema::EventValidator validator(*f.plan);
  size_t rejected = 0;
  for (auto _ : state) {
    for (const auto& body : f.bodies)
      rejected += validate_batch(validator, parser.parse(body).value_unsafe());
  }
  if (rejected != 0) state.SkipWithError("the demo plan rejected generated events");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.events));
}
BENCHMARK(BM_ParseAndValidate);

void validate_only(benchmark::State& state, const schema::CompiledPlan& plan) {
  const Fixture& f = fixture();
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
  std::vector<simdjson::dom::element> docs;
  for (const auto& body : f.bodies) {
    parsers.push_back(std::make_unique<simdjson::dom::parser>());
    docs.push_back(parsers.back()->parse(body).value_unsafe());
  }
  schema::EventValidator validator(plan);
  size_t rejected = 0;
  for (auto _ : state) {
    for (auto doc : docs) rejected += validate_batch(validator, doc);
  }
  if (rejected != 0) state.SkipWithError("the demo plan rejected generated events");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.events));
}
void BM_ValidateOnly(benchmark::State& state) { validate_only(state, *fixture().plan); }
BENCHMARK(BM_ValidateOnly);
void BM_ValidateOnlyWithoutRegex(benchmark::State& state) {
  validate_only(state, *fixture().plan_without_regex);
}
BENCHMARK(BM_ValidateOnlyWithoutRegex);

}  // namespace

BENCHMARK_MAIN();
