#pragma once
// Time comes from an injected Clock so tests are deterministic.

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace basalt {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in microseconds since the Unix epoch (UTC).
  virtual int64_t now_us() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // The process-wide instance; stateless, so sharing it is safe.
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock tests set by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_us = 0) : now_us_(now_us) {}
  int64_t now_us() const override { return now_us_.load(std::memory_order_relaxed); }
  void set_us(int64_t us) { now_us_.store(us, std::memory_order_relaxed); }
  void advance_us(int64_t us) { now_us_.fetch_add(us, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_us_;
};

// CPU time used so far, in seconds: by the calling thread, or by the whole process (all its
// threads). Not an injected Clock: what a thread costs is measured, never simulated.
inline double cpu_seconds_of(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
inline double thread_cpu_seconds() { return cpu_seconds_of(CLOCK_THREAD_CPUTIME_ID); }
inline double process_cpu_seconds() { return cpu_seconds_of(CLOCK_PROCESS_CPUTIME_ID); }

}  // namespace basalt
