#pragma once
// Test data for the semantic layer: the game generator's events, parsed and loaded as the
// loader does into an in-memory DuckDB warehouse, plus the typed columns the demo model reads
// (events.p_amount from properties.amount, users.a_channel from traits.channel).

#include <memory>
#include <string>
#include <vector>

#include "event/event.h"
#include "semantic/compiler.h"
#include "semantic/model.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic::testing {

constexpr int64_t kEndUs = 1795514400'000000;  // 2026-11-24T10:00:00Z, end of the history

// A warehouse with `players` players over `days` days ending at kEndUs (shared by the tests of
// one binary for the same arguments).
warehouse::Warehouse& generated_warehouse(uint64_t players = 400, uint32_t days = 21);

// The generator's events for `players` players over `days` days ending at kEndUs, as the
// loader gets them from the WAL (timestamps from the clients, typed values not filled).
std::vector<event::Event> game_events(uint64_t players, uint32_t days, uint64_t seed);

// Loads the generator's events (seed 11) for `players` players over `days` days ending at kEndUs
// into `w` through its load() as the loader does (any engine; typed columns not filled).
void load_game_events(warehouse::Warehouse& w, uint64_t players, uint32_t days);

// The demo project's models.
const ModelSet& demo_models();

// First column of the first row as a double (integers converted); fails the test on error.
double scalar(warehouse::Warehouse& w, const std::string& sql);

// The query shapes with a golden SQL file per dialect (golden/<name>.sql,
// golden/clickhouse/<name>.sql).
struct GoldenQuery {
  const char* name;
  const char* json;
};
inline constexpr GoldenQuery kGoldenQueries[] = {
    {"totals", R"({"model":"events","metrics":["events","dau"]})"},
    {"issue_example",
     R"({"model":"events","metrics":["dau","revenue","arpu"],"dimensions":["channel"],
    "time":{"range":["2026-10-01","2026-10-31"],"grain":"day"},
    "filters":[{"dimension":"event","op":"in","values":["login","pay"]}],
    "compare":"previous_period","order":[{"metric":"revenue","desc":true}],"limit":100})"},
    {"filters", R"({"model":"events","metrics":["events","pay_rate"],"dimensions":["os"],
    "time":{"range":"last_7_days"},
    "filters":[{"dimension":"event","op":"=","value":"login"},{"dimension":"event","op":"!=","value":"pay"},
      {"dimension":"os","op":"not_in","values":["x","y"]},{"dimension":"app_version","op":">","value":"1"},
      {"dimension":"app_version","op":">=","value":"1"},{"dimension":"app_version","op":"<","value":"9"},
      {"dimension":"app_version","op":"<=","value":"9"},{"dimension":"app_version","op":"between","values":["1","9"]},
      {"dimension":"os","op":"contains","value":"O"},{"dimension":"os","op":"starts_with","value":"i"},
      {"dimension":"channel","op":"is_not_null"},{"dimension":"amount_band","op":"is_null"},
      {"metric":"events","op":">","value":10},{"metric":"pay_rate","op":"between","values":[0,1]}]})"},
    {"month_last_year", R"({"model":"events","metrics":["revenue"],
    "time":{"range":"this_year","grain":"month"},"compare":"same_period_last_year"})"},
    {"funnel", R"({"type":"funnel","model":"events","steps":["install",{"event":"pay","filters":[
    {"dimension":"amount_band","op":"=","value":"large"}]}],"window":"7d","breakdown":"channel",
    "time":{"range":["2026-11-01","2026-11-07"]}})"},
    {"retention", R"({"type":"retention","model":"events","start":"install","return":"login",
    "period":"week","periods":4,"time":{"range":["2026-11-01","2026-11-30"]}})"},
    {"distribution",
     R"({"type":"distribution","model":"events","measure":"revenue","buckets":[1,10],
    "time":{"range":"yesterday"}})"},
    {"activity",
     R"({"type":"activity","model":"events","time":{"range":["2026-11-20","2026-11-23"]}})"},
};

// Expects `c`'s SQL and parameters to equal the golden file `path` (rewrites it instead when
// BASALT_UPDATE_GOLDEN is set); `name` labels the failure.
void expect_golden_file(const CompiledQuery& c, const std::string& path, const std::string& name);

}  // namespace basalt::semantic::testing
