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

// Expects `c`'s SQL and parameters to equal the golden file `path` (rewrites it instead when
// BASALT_UPDATE_GOLDEN is set); `name` labels the failure.
void expect_golden_file(const CompiledQuery& c, const std::string& path, const std::string& name);

}  // namespace basalt::semantic::testing
