// WAL throughput: appends of 400-byte records with fdatasync on, from 1, 8 and 64 blocking
// appenders (threads calling append_sync) and from one thread keeping many asynchronous calls in
// flight (the shape of an HTTP server on one core); then reader throughput.
//
//   wal_bench [--benchmark_filter=...]        BASALT_BENCH_DIR=/path picks the disk (default /tmp)
//
// Figures: records/s (items_per_second), groups/s (fdatasyncs), records per group.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "wal/wal.h"

namespace {

using basalt::Status;
using basalt::wal::Lsn;
using basalt::wal::Wal;
using basalt::wal::WalOptions;

constexpr size_t kRecordBytes = 400;

std::filesystem::path fresh_dir(const char* name) {
  const char* base = std::getenv("BASALT_BENCH_DIR");
  std::filesystem::path dir = std::filesystem::path(base ? base : "/tmp") /
                              ("basalt_wal_bench_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

std::unique_ptr<Wal> open_wal(const std::filesystem::path& dir, bool sync) {
  WalOptions o;
  o.dir = dir;
  o.sync = sync;
  auto wal = Wal::open(o);
  if (!wal) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), wal.status().to_string().c_str());
    std::abort();
  }
  return std::move(*wal);
}

std::vector<std::string> make_call(size_t records) {
  return std::vector<std::string>(records, std::string(kRecordBytes, 'x'));
}

void report(benchmark::State& state, const basalt::wal::WalStats& before,
            const basalt::wal::WalStats& after) {
  const double groups = static_cast<double>(after.groups_written - before.groups_written);
  const double records = static_cast<double>(after.records_written - before.records_written);
  state.counters["groups/s"] = benchmark::Counter(groups, benchmark::Counter::kIsRate);
  state.counters["records/group"] = groups > 0 ? records / groups : 0;
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(records * kRecordBytes));
}

// Blocking appenders: each benchmark thread calls append_sync with range(0) records a call.
std::unique_ptr<Wal> g_wal;
basalt::wal::WalStats g_before;
std::filesystem::path g_dir;

void BM_AppendSync(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_dir = fresh_dir("sync");
    g_wal = open_wal(g_dir, true);
    g_before = g_wal->stats();
  }
  const auto call = make_call(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto r = g_wal->append_sync(call);
    if (!r) state.SkipWithError(r.status().message().c_str());
  }
  if (state.thread_index() == 0) {
    report(state, g_before, g_wal->stats());
    g_wal.reset();
    std::filesystem::remove_all(g_dir);
  }
}
BENCHMARK(BM_AppendSync)->Arg(1)->Arg(10)->Threads(1)->Threads(8)->Threads(64)->UseRealTime();

// One thread, up to range(1) calls of range(0) records in flight, callbacks counting down.
void BM_AppendAsync(benchmark::State& state) {
  auto dir = fresh_dir("async");
  auto wal = open_wal(dir, true);
  const auto call = make_call(static_cast<size_t>(state.range(0)));
  const int64_t window = state.range(1);
  std::mutex mu;
  std::condition_variable cv;
  int64_t in_flight = 0;
  auto before = wal->stats();
  for (auto _ : state) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    wal->append(call, [&](const Status& s, Lsn) {
      if (!s.is_ok()) std::abort();
      std::lock_guard lock(mu);
      --in_flight;
      cv.notify_one();
    });
  }
  wal->close();
  report(state, before, wal->stats());
  wal.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendAsync)
    ->Args({1, 64})
    ->Args({1, 1024})
    ->Args({10, 256})
    ->Args({100, 64})
    ->UseRealTime();

// Reads back 200k records of 400 bytes written beforehand (sync off while preparing).
void BM_Read(benchmark::State& state) {
  auto dir = fresh_dir("read");
  auto wal = open_wal(dir, false);
  constexpr size_t kRecords = 200'000;
  const auto call = make_call(100);
  for (size_t i = 0; i < kRecords; i += 100) (void)wal->append_sync(call);
  size_t records = 0;
  for (auto _ : state) {
    auto reader = wal->reader(0);
    if (!reader) state.SkipWithError("reader");
    while (true) {
      auto batch = (*reader)->next(1000, 1 << 20, std::chrono::milliseconds(0));
      if (!batch || batch->empty()) break;
      records += batch->size();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(records * kRecordBytes));
  wal.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Read)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
