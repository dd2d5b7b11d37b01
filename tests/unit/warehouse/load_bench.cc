// Loading throughput of the DuckDB warehouse on realistic events: the game generator's Segment
// bodies, parsed by the ingest parser and decoded as the loader does, loaded batch by batch
// into one database file. Prints events/s per stretch of batches, so a reader sees the rate
// once the users table has grown, not only on an empty table. Not a CTest test. Run:
//   taskset -c 1 build-load/tests/unit/warehouse/warehouse_load_bench [players] [days] [batch]
//       [rollup zone | none]
// (defaults 20000 players, 30 days, 50000 events per batch, rollups with days in UTC;
// LOAD_BENCH_CHECKPOINT_MB sets warehouse.checkpoint_threshold, default 256).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "event/event.h"
#include "support/generated_history.h"
#include "warehouse/warehouse.h"

namespace {

using namespace basalt;
namespace fs = std::filesystem;

int fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.to_string().c_str());
  return 1;
}

int run(uint64_t players, uint32_t days, size_t batch_events, const std::string& rollup_zone) {
  auto history = testing::GeneratedHistory::create(players, days);
  if (!history) return fail("generator", history.status());

  fs::path dir = fs::temp_directory_path() / ("basalt_load_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  warehouse::WarehouseOptions wo;
  wo.path = (dir / "bench.duckdb").string();
  wo.rollup_timezone = rollup_zone;  // empty: no rollups
  if (const char* mb = std::getenv("LOAD_BENCH_CHECKPOINT_MB")) {
    wo.checkpoint_threshold_bytes = std::strtoull(mb, nullptr, 10) << 20;
  }
  auto wh = warehouse::make_warehouse(wo);
  if (!wh) return fail("open", wh.status());

  // The next batch of decoded events; empty when the history is done. Not timed.
  std::vector<event::Event> pending;
  auto next_batch = [&]() -> Result<std::vector<event::Event>> {
    while (pending.size() < batch_events) {
      auto body = (*history)->next();
      if (!body) return body.status();
      if (body->empty()) break;
      for (event::Event& e : *body) {
        e.received_at_us = e.timestamp_us + 20000;  // received as it happened
        pending.push_back(std::move(e));
      }
    }
    size_t n = std::min(pending.size(), batch_events);
    std::vector<event::Event> out(std::make_move_iterator(pending.begin()),
                                  std::make_move_iterator(pending.begin() +
                                                          static_cast<ptrdiff_t>(n)));
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(n));
    return out;
  };

  using Clk = std::chrono::steady_clock;
  double total = 0;
  double cpu = 0;
  double stretch_secs = 0;
  size_t stretch_events = 0;
  size_t stretch_batches = 0;
  size_t loaded = 0;
  double late_secs = 0;  // after the first 300k events
  size_t late_events = 0;
  uint64_t lsn = 0;
  while (true) {
    auto next = next_batch();
    if (!next) return fail("parse", next.status());
    if (next->empty()) break;
    warehouse::LoadBatch b;
    b.events = std::move(*next);
    lsn += b.events.size();
    b.next_lsn = lsn;
    auto t0 = Clk::now();
    double c0 = process_cpu_seconds();
    Status s = (*wh)->load(b, "warehouse");
    if (!s.is_ok()) return fail("load", s);
    cpu += process_cpu_seconds() - c0;
    double secs = std::chrono::duration<double>(Clk::now() - t0).count();
    total += secs;
    stretch_secs += secs;
    if (loaded >= 300000) {
      late_secs += secs;
      late_events += b.events.size();
    }
    loaded += b.events.size();
    stretch_events += b.events.size();
    if (++stretch_batches == 4) {
      std::printf("  events %8zu..%8zu: %8.0f events/s\n", loaded - stretch_events, loaded,
                  stretch_events / stretch_secs);
      std::fflush(stdout);
      stretch_secs = 0;
      stretch_events = 0;
      stretch_batches = 0;
    }
  }
  if (stretch_events > 0) {
    std::printf("  events %8zu..%8zu: %8.0f events/s\n", loaded - stretch_events, loaded,
                stretch_events / stretch_secs);
  }
  auto users = (*wh)->query("SELECT count(*) FROM users", {});
  std::printf("loaded %zu events from %llu players over %u days in %.2f s of "
              "load(): %.0f events/s overall",
              loaded, static_cast<unsigned long long>(players), days, total,
              loaded / total);
  if (late_events > 0) {
    std::printf(", %.0f events/s after the first 300k", late_events / late_secs);
  }
  std::printf("; %.0f events per CPU-second", loaded / cpu);
  if (!rollup_zone.empty()) {
    auto rows = (*wh)->query("SELECT count(*) FROM events_user_day", {});
    if (rows) {
      std::printf("; rollups in %s: %lld user-day rows", rollup_zone.c_str(),
                  static_cast<long long>(std::get<int64_t>(rows->rows[0][0])));
    }
  } else {
    std::printf("; no rollups");
  }
  if (users) {
    std::printf("; %lld users\n", static_cast<long long>(std::get<int64_t>(users->rows[0][0])));
  } else {
    std::printf("\n");
  }
  wh->reset();  // closes the database: its last checkpoint is in the file
  std::error_code ec;
  std::printf("database file after closing: %.1f MB\n",
              static_cast<double>(fs::file_size(dir / "bench.duckdb", ec)) / (1 << 20));
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t players = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  auto days = static_cast<uint32_t>(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 30);
  size_t batch = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 50000;
  // The rollups' zone, as `basalt up` keeps them by default; "none" loads without rollups.
  std::string rollups = argc > 4 ? argv[4] : "UTC";
  return run(players, days, batch == 0 ? 50000 : batch, rollups == "none" ? "" : rollups);
}
