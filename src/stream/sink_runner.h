#pragma once
// Drives one Sink from the WAL: a named WAL consumer ("sink:<name>") with its own committed
// offset and its own thread. Delivery is at least once: the offset is committed only past
// records the sink acknowledged, so a restart resends at most the unacknowledged tail. A slow
// or dead sink never blocks ingestion or other sinks: it retries with backoff while its lag
// grows. Past the WAL's disk budget, a `drop_oldest` sink is skipped forward a segment at a
// time (counting the records it never sent) so the WAL can delete segments; a `block` sink
// keeps its segments and the WAL refuses appends (ingest answers 503) until it catches up.
//
// Thread safety: start(), stop(), stats() and stuck() may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "stream/sink.h"
#include "wal/wal.h"

namespace basalt::stream {

enum class OverflowPolicy { kBlock, kDropOldest };

struct SinkRunnerOptions {
  std::string name;                  // the sink's name; the WAL consumer is "sink:<name>"
  std::vector<std::string> sources;  // forwarded sources; empty: all
  OverflowPolicy overflow = OverflowPolicy::kBlock;
  uint64_t disk_budget_bytes = 0;        // the WAL's budget (0: none)
  uint64_t segment_bytes = 64ull << 20;  // the WAL's segment size: drop_oldest acts one early
  size_t batch_events = 1000;
  size_t batch_bytes = 8ull << 20;
  std::chrono::milliseconds poll_wait{200};
  std::chrono::milliseconds retry_initial{100};  // backoff after a failed delivery, doubling
  std::chrono::milliseconds retry_max{5000};
  std::chrono::milliseconds stop_deadline{5000};  // stop() delivers what is durable, this long
  std::chrono::seconds stuck_after{30};
};

struct SinkStats {
  uint64_t delivered = 0;   // records acknowledged
  uint64_t errors = 0;      // failed deliveries (each retried)
  uint64_t dropped = 0;     // records skipped by drop_oldest or lost to deleted segments
  uint64_t skipped = 0;     // records not for this sink (other sources, quarantine)
  wal::Lsn position = 0;    // committed: the next LSN to deliver
  uint64_t lag_events = 0;  // durable_end − position
  bool connected = false;   // the last delivery succeeded
  std::string last_error;
};

class SinkRunner {
 public:
  // Borrows `wal`, `clock` and `metrics`; owns `sink`. Metrics carry the label sink=<name>.
  SinkRunner(wal::Wal& wal, std::unique_ptr<Sink> sink, SinkRunnerOptions options,
             const Clock& clock, MetricsRegistry& metrics);
  ~SinkRunner();  // calls stop()
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  // Registers the consumer (keeping its committed offset) and starts the thread. Fails when
  // the WAL cannot be read. Call at most once.
  Status start();
  // Delivers what is durable for at most stop_deadline, then joins. Idempotent.
  void stop();

  SinkStats stats() const;
  // True when there is lag and nothing was delivered for stuck_after.
  bool stuck() const;
  const std::string& name() const { return options_.name; }
  std::string description() const { return sink_->description(); }

 private:
  void run();
  bool wanted(const std::string& source) const;
  // Reads the next records into pending_; false on a WAL read error.
  bool fill();
  void maybe_drop_oldest();
  void commit(wal::Lsn next);
  // Waits `d` or until stop; false when stopping.
  bool backoff(std::chrono::milliseconds d);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  wal::Wal& wal_;
  std::unique_ptr<Sink> sink_;
  const SinkRunnerOptions options_;
  const std::string consumer_;
  const Clock& clock_;

  Counter& delivered_metric_;
  Counter& errors_metric_;
  Counter& dropped_metric_;

  // Owned by the runner thread.
  std::unique_ptr<wal::WalReader> reader_;
  std::vector<SinkRecord> pending_;  // read, not yet all acknowledged
  size_t pending_acked_ = 0;         // acknowledged prefix of pending_
  wal::Lsn pending_end_ = 0;         // reader position after pending_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;                                  // protected by mu_
  bool joined_ = false;                                   // protected by mu_
  std::string last_error_;                                // protected by mu_
  std::chrono::steady_clock::time_point drain_deadline_;  // protected by mu_
  std::atomic<bool> stopping_{false};
  std::atomic<wal::Lsn> drain_target_{0};
  std::thread thread_;

  std::atomic<uint64_t> delivered_{0}, errors_{0}, dropped_{0}, skipped_{0};
  std::atomic<wal::Lsn> position_{0};
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> last_progress_us_{0};
};

}  // namespace basalt::stream
