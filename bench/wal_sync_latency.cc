// WAL acknowledgement latency beside a warehouse writing to the same disk: paced append calls
// (the shape of ingest at a steady rate) while another thread writes bursts to a file of its
// own and fsyncs them (the shape of the loader's DuckDB commits). Prints p50/p99/max of the
// append latency for each WAL setting side by side, alternating them in rounds so that the
// machine's other work weighs on each alike.
//
//   wal_sync_latency [--seconds S] [--rounds R] [--rate CALLS_PER_S] [--records N]
//                    [--burst-mb MB] [--burst-every-ms MS]
//   BASALT_BENCH_DIR=/path picks the disk (default /tmp).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_priority.h"
#include "wal/wal.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  int seconds = 10;
  int rounds = 2;
  int rate = 500;     // append calls per second
  int records = 100;  // records of 400 bytes per call (a 100-event batch)
  int burst_mb = 8;   // bytes the "warehouse" writes per commit
  int burst_every_ms = 200;
};

struct Variant {
  const char* name;
  bool preallocate;
  bool burst;
  bool burst_idle_io;
};

std::filesystem::path fresh_dir(const std::string& name) {
  const char* base = std::getenv("BASALT_BENCH_DIR");
  auto dir = std::filesystem::path(base ? base : "/tmp") /
             ("basalt_wal_latency_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes burst_mb to its own file and fsyncs it, every burst_every_ms, until told to stop.
void warehouse_bursts(const std::filesystem::path& file, const Settings& s, bool idle_io,
                      const std::atomic<bool>& stop) {
  if (idle_io) (void)basalt::lower_current_thread_io_priority();
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open burst file");
    std::abort();
  }
  const std::string chunk(1 << 20, 'w');
  while (!stop.load()) {
    for (int i = 0; i < s.burst_mb; ++i) {
      if (::write(fd, chunk.data(), chunk.size()) < 0) std::abort();
    }
    if (::fsync(fd) != 0) std::abort();
    std::this_thread::sleep_for(std::chrono::milliseconds(s.burst_every_ms));
  }
  ::close(fd);
}

// One measurement: returns the latencies (ms) of the paced calls.
std::vector<double> measure(const Variant& v, const Settings& s, int round) {
  auto dir = fresh_dir(std::string(v.name) + "_" + std::to_string(round));
  basalt::wal::WalOptions o;
  o.dir = dir / "wal";
  o.preallocate = v.preallocate;
  o.segment_bytes = 64ull << 20;
  auto wal = basalt::wal::Wal::open(o);
  if (!wal) {
    std::fprintf(stderr, "open: %s\n", wal.status().to_string().c_str());
    std::abort();
  }
  std::atomic<bool> stop{false};
  std::thread bursts;
  if (v.burst)
    bursts = std::thread(warehouse_bursts, dir / "warehouse", std::cref(s), v.burst_idle_io,
                         std::cref(stop));
  const std::vector<std::string> call(static_cast<size_t>(s.records), std::string(400, 'e'));
  std::vector<double> latencies;
  std::atomic<int> pending{0};
  std::mutex mu;
  const auto period = std::chrono::nanoseconds(1'000'000'000 / s.rate);
  const auto start = Clock::now();
  auto next = start;
  while (Clock::now() - start < std::chrono::seconds(s.seconds)) {
    std::this_thread::sleep_until(next);
    next += period;
    const auto sent = Clock::now();
    ++pending;
    (*wal)->append(call, [&, sent](const basalt::Status& st, basalt::wal::Lsn) {
      if (!st.is_ok()) std::abort();
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
      std::lock_guard lock(mu);
      latencies.push_back(ms);
      --pending;
    });
  }
  while (pending.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  if (bursts.joinable()) bursts.join();
  (*wal)->close();
  wal->reset();
  std::filesystem::remove_all(dir);
  return latencies;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--seconds")
      s.seconds = value;
    else if (flag == "--rounds")
      s.rounds = value;
    else if (flag == "--rate")
      s.rate = value;
    else if (flag == "--records")
      s.records = value;
    else if (flag == "--burst-mb")
      s.burst_mb = value;
    else if (flag == "--burst-every-ms")
      s.burst_every_ms = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const std::vector<Variant> variants = {
      {"append, quiet disk", false, false, false},
      {"preallocated, quiet disk", true, false, false},
      {"append, warehouse bursts", false, true, false},
      {"preallocated, warehouse bursts", true, true, false},
      {"preallocated, idle-class bursts", true, true, true},
  };
  std::vector<std::vector<double>> all(variants.size());
  for (int r = 0; r < s.rounds; ++r) {
    for (size_t i = 0; i < variants.size(); ++i) {
      auto l = measure(variants[i], s, r);
      all[i].insert(all[i].end(), l.begin(), l.end());
    }
  }
  std::printf(
      "%d calls/s of %d x 400 B for %d s x %d rounds; bursts of %d MB + fsync every %d ms\n",
      s.rate, s.records, s.seconds, s.rounds, s.burst_mb, s.burst_every_ms);
  std::printf("%-34s %8s %8s %8s %8s %8s\n", "WAL", "calls", "p50 ms", "p99 ms", "p99.9", "max");
  for (size_t i = 0; i < variants.size(); ++i) {
    auto& v = all[i];
    double max = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
    std::printf("%-34s %8zu %8.2f %8.2f %8.2f %8.2f\n", variants[i].name, v.size(),
                percentile(v, 0.5), percentile(v, 0.99), percentile(v, 0.999), max);
  }
  return 0;
}
