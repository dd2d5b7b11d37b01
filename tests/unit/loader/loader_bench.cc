// The loader's own cost an event, on a core to itself: the game generator's history is parsed
// by the ingest parser and written to a WAL on disk (not timed), then a Loader stores all of it
// into a fresh DuckDB file as `basalt up` would (rollups in UTC, default batches), reading the
// WAL, decoding, deduplicating and loading. Prints the loader thread's CPU time per event,
// which beside the ingest threads of `basalt up` is what decides whether it keeps up. Not a
// CTest test. Run:
//   taskset -c 1 build/tests/unit/loader/loader_bench [players] [days]
// (defaults 20000 players over 30 days: 1,106,761 events).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "event/event.h"
#include "loader/loader.h"
#include "support/generated_history.h"
#include "wal/wal.h"
#include "warehouse/warehouse.h"

namespace {

using namespace basalt;
namespace fs = std::filesystem;

int fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "loader_bench: %s: %s\n", what.c_str(), s.to_string().c_str());
  return 1;
}

// Writes the generator's history to `wal`, one append per body, all received at the history's
// end (as a live load is: the dedup index then holds every id); returns the events written.
Result<uint64_t> write_history(uint64_t players, uint32_t days, wal::Wal& wal) {
  auto history = testing::GeneratedHistory::create(players, days);
  if (!history) return history.status();
  uint64_t events = 0;
  while (true) {
    auto body = (*history)->next();
    if (!body) return body.status();
    if (body->empty()) return events;
    std::vector<std::string> records;
    for (const event::Event& e : *body) event::encode(e, records.emplace_back());
    events += records.size();
    auto lsn = wal.append_sync(std::move(records));
    if (!lsn) return lsn.status();
  }
}

int run(uint64_t players, uint32_t days) {
  fs::path dir = fs::temp_directory_path() / ("basalt_loader_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  wal::WalOptions wo;
  wo.dir = dir / "wal";
  wo.sync = false;  // written before the clock starts; only read while timed
  auto wal = wal::Wal::open(wo);
  if (!wal) return fail("wal", wal.status());
  auto written = write_history(players, days, **wal);
  if (!written) return fail("writing the WAL", written.status());

  warehouse::WarehouseOptions ho;
  ho.path = (dir / "bench.duckdb").string();
  ho.rollup_timezone = "UTC";  // basalt up's default
  auto wh = warehouse::make_warehouse(ho);
  if (!wh) return fail("warehouse", wh.status());

  testing::HistoryEndClock clock;
  MetricsRegistry metrics;
  loader::LoaderOptions lo;
  lo.thread_nice = 0;  // alone on its core here
  loader::Loader loader(**wal, **wh, lo, clock, metrics);
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = loader.start(); !s.is_ok()) return fail("loader", s);
  const wal::Lsn end = (*wal)->stats().durable_end;
  while (loader.stats().position < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0;
  const double thread_cpu = metrics.gauge("basalt_loader_thread_cpu_seconds", "").value();
  loader.stop();
  const loader::LoaderStats st = loader.stats();
  std::printf(
      "loaded %llu of %llu events (%llu duplicates) in %llu batches, %.2f s: %.0f "
      "events/s; loader thread %.2f CPU-s, %.2f us an event; process %.2f us an event\n",
      static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(*written),
      static_cast<unsigned long long>(st.duplicates), static_cast<unsigned long long>(st.batches),
      wall, static_cast<double>(st.events) / wall, thread_cpu,
      thread_cpu / static_cast<double>(st.events) * 1e6,
      cpu / static_cast<double>(st.events) * 1e6);
  wh->reset();
  wal->reset();
  fs::remove_all(dir);
  return st.events == *written ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t players = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  auto days = static_cast<uint32_t>(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 30);
  return run(players, days);
}
