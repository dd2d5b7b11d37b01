// The tracking plan's cost on the ingest hot path, per event, without the network: the
// generator's realistic game events (the bodies bench/ingest.sh posts) parsed by the ingest
// parser with no plan and with the demo game's plan (examples/demo/tracking) in strict mode,
// and the validator alone on already parsed events. The "plan" variants minus the "no plan"
// ones is what validation and the typed values cost; see bench/README.md.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "collect/ingest_parser.h"
#include "common/clock.h"
#include "gen/game_event_generator.h"
#include "schema/compiled_plan.h"
#include "schema/tracking_plan.h"

namespace {

using basalt::collect::Endpoint;
namespace schema = basalt::schema;

constexpr int64_t kEndUs = 1'715'731'200'000'000;  // 2024-05-15T00:00:00Z, as ingest.sh

std::vector<std::string> bodies(size_t batch_size, size_t max_bodies) {
  basalt::gen::GenOptions o;
  o.users = 1000;
  o.days = 14;
  o.seed = 1;
  o.end_time_us = kEndUs;
  o.batch_size = batch_size;
  basalt::ManualClock clock(kEndUs);
  auto g = basalt::gen::GameEventGenerator::create(o, clock);
  std::vector<std::string> out;
  while (out.size() < max_bodies) {
    auto b = g->next_body();
    if (!b) break;
    out.push_back(std::move(*b));
  }
  return out;
}

// Single events the way ingest.sh posts them, to /v1/track: the track calls only (its identify
// bodies are refused before the plan is looked at, in both set-ups).
const std::vector<std::string>& single_tracks() {
  static const std::vector<std::string> tracks = [] {
    std::vector<std::string> out;
    for (auto& b : bodies(1, 20000))
      if (b.find("\"type\":\"track\"") != std::string::npos) out.push_back(std::move(b));
    return out;
  }();
  return tracks;
}

const std::vector<std::string>& batches() {
  static const std::vector<std::string> b = bodies(100, 50);
  return b;
}

std::shared_ptr<const schema::CompiledPlan> demo_plan() {
  static const std::shared_ptr<const schema::CompiledPlan> plan = [] {
    auto loaded = schema::load_tracking_plan(BASALT_DEMO_PROJECT_DIR, {"game-client", "app"});
    if (!loaded) {
      fprintf(stderr, "plan_bench: %s\n", loaded.status().message().c_str());
      std::abort();
    }
    loaded->default_mode = schema::EnforcementMode::kStrict;
    loaded->sources.clear();
    return std::make_shared<const schema::CompiledPlan>(*loaded);
  }();
  return plan;
}

struct Fixture {
  basalt::collect::SourceDirectory sources{{{"app", "wk"}}};
  basalt::collect::IngestParser parser{basalt::collect::IngestLimits{}, sources};
  basalt::collect::RequestMeta meta;
  Fixture() {
    meta.received_at_us = kEndUs;
    meta.ip = "203.0.113.5";
    meta.source = "app";
  }
};

// arg 0: no plan; 1: the demo plan, strict.
void parse_bodies(benchmark::State& state, Endpoint endpoint, const std::vector<std::string>& in) {
  Fixture f;
  const schema::CompiledPlan* plan = state.range(0) ? demo_plan().get() : nullptr;
  size_t i = 0, events = 0, rejected = 0;
  std::string copy;
  for (auto _ : state) {
    copy = in[i++ % in.size()];
    auto r = f.parser.parse(endpoint, copy, f.meta, plan);
    events += r->records.size();
    rejected += r->rejected;
    benchmark::DoNotOptimize(r);
  }
  if (rejected) state.SkipWithError("the plan refused generated events");
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["ns/event"] = benchmark::Counter(
      static_cast<double>(events), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ParseSingle(benchmark::State& state) {
  parse_bodies(state, Endpoint::kTrack, single_tracks());
}
BENCHMARK(BM_ParseSingle)->ArgName("plan")->Arg(0)->Arg(1);

void BM_ParseBatch100(benchmark::State& state) {
  parse_bodies(state, Endpoint::kBatch, batches());
}
BENCHMARK(BM_ParseBatch100)->ArgName("plan")->Arg(0)->Arg(1);

// The validator alone: the events' properties (or traits) already parsed into one document.
void BM_ValidateEvent(benchmark::State& state) {
  const auto plan = demo_plan();
  schema::EventValidator validator(*plan);
  simdjson::dom::parser parser;
  struct Item {
    bool identify;
    std::string event;
    simdjson::dom::element fields;
  };
  std::vector<Item> items;
  std::string doc = "[";
  for (const auto& b : batches()) {
    if (doc.size() > 1) doc.push_back(',');
    doc += b;
  }
  doc += "]";
  const simdjson::dom::array root = parser.parse(doc).get_array().value();
  for (simdjson::dom::element body : root) {
    const simdjson::dom::array batch = body["batch"].get_array().value();
    for (simdjson::dom::element item : batch) {
      const std::string_view type = item["type"].get_string().value();
      if (type == "identify") {
        items.push_back({true, "", item["traits"].value()});
      } else if (type == "track") {
        items.push_back({false, std::string(item["event"].get_string().value()),
                         item["properties"].value()});
      }
    }
  }
  size_t i = 0, refused = 0;
  for (auto _ : state) {
    const Item& it = items[i++ % items.size()];
    const schema::Validation& v =
        it.identify ? validator.validate_traits(schema::EnforcementMode::kStrict, it.fields)
                    : validator.validate_event(schema::EnforcementMode::kStrict, it.event, it.fields);
    refused += v.accepted ? 0 : 1;
    benchmark::DoNotOptimize(&v);
  }
  if (refused) state.SkipWithError("the plan refused generated events");
  state.counters["events"] = static_cast<double>(items.size());
}
BENCHMARK(BM_ValidateEvent);

}  // namespace

BENCHMARK_MAIN();
