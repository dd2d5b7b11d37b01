#pragma once
// The warehouse loader: moves events from the WAL into the warehouse in micro-batches, exactly
// once. The warehouse stores each batch with the consumer's next LSN in the same transaction,
// so the warehouse's offset is the source of truth; the WAL's committed offset only follows it
// (so old segments can be deleted). Events whose (source, message_id) was already loaded
// within the dedup window are dropped; records that cannot be decoded go to quarantine.
//
// Thread safety: start(), stop(), stats() and stuck() may be called from any thread; the loader
// runs its own thread between start() and stop().

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <functional>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "wal/wal.h"
#include "warehouse/warehouse.h"

namespace basalt::loader {

class DedupIndex;

struct LoaderOptions {
  std::string consumer = "warehouse";
  // Most records in one batch: room for a warehouse's bulk size (Warehouse::bulk_events(),
  // 245,760 for DuckDB) with some to spare for duplicates and quarantined records.
  size_t batch_events = 262144;
  size_t batch_bytes = 256ull << 20;                 // about this many record bytes at most
  std::chrono::milliseconds batch_interval{200};     // shortest time a batch gathers records
  // While the loader keeps up, it paces itself to be busy about this share of the time: after a
  // batch that took t (wall time) to store, the next one gathers records for
  // t × (1 − share) / share, between batch_interval and max_batch_interval. Storing has a fixed
  // cost per batch (a DuckDB transaction, the users merge), so when the ingest threads keep the
  // core busy and stores take longer, batches grow and each event costs less. A batch that
  // fills up (batch_events, batch_bytes) is stored at once. 1: no pacing (batch_interval only).
  double busy_share = 0.1;
  std::chrono::milliseconds max_batch_interval{2000};
  std::chrono::microseconds dedup_window = std::chrono::hours(24);
  size_t dedup_max_ids = 20'000'000;
  std::chrono::milliseconds stop_deadline{10000};    // stop() drains for at most this long
  std::chrono::milliseconds retry_initial{100};      // backoff after a failed load, doubling
  std::chrono::milliseconds retry_max{5000};
  std::chrono::seconds stuck_after{30};              // stuck(): lag and no commit for this long
  int thread_nice = 10;  // the loader thread's nice value: ingest gets the CPU first (0: as is)
  // The loader thread's disk I/O (DuckDB's commits) in the idle class, so the WAL's syncs do
  // not queue behind it.
  bool idle_io = false;
};

struct LoaderStats {
  uint64_t events = 0;       // events stored
  uint64_t quarantined = 0;  // quarantine rows stored (incl. undecodable records)
  uint64_t undecodable = 0;  // WAL records that could not be decoded
  uint64_t duplicates = 0;   // events dropped by the dedup index
  uint64_t batches = 0;      // batches committed
  uint64_t errors = 0;       // failed warehouse loads and WAL reads
  uint64_t missing_records = 0;  // records lost to deleted WAL segments at start
  wal::Lsn position = 0;     // next LSN to load
  uint64_t lag_events = 0;   // durable_end − position
  double lag_seconds = 0;
  size_t dedup_ids = 0;
  uint64_t dedup_evicted_early = 0;
};

// What one batch changes, for listeners (the result cache): its events' smallest and largest
// event time, and whether it touches the users table.
struct CommitInfo {
  uint64_t events = 0;
  int64_t min_event_us = 0;  // meaningful when events > 0
  int64_t max_event_us = 0;
  bool users_changed = false;  // some event had a user id (users rows merged)
  // false: the batch is about to be stored (its rows may be visible from then on); true: it is
  // stored, or given up (the loader stopped while retrying).
  bool stored = false;
};
using CommitListener = std::function<void(const CommitInfo&)>;

class Loader {
 public:
  // Borrows every argument; they must outlive the Loader. Metrics are registered in `metrics`.
  Loader(wal::Wal& wal, warehouse::Warehouse& warehouse, LoaderOptions options,
         const Clock& clock, MetricsRegistry& metrics);
  ~Loader();  // calls stop()
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Reads the consumer's offset from the warehouse, registers the consumer with the WAL,
  // rebuilds the dedup index from the warehouse, and starts the loader thread. Fails (and
  // starts nothing) when the warehouse or the WAL cannot be read. Call at most once.
  Status start();
  // Loads what is durable in the WAL when called (bounded by stop_deadline), commits it, and
  // joins the thread. Idempotent.
  void stop();

  // Calls `listener` on the loader thread twice for every batch of events: before storing it
  // (stored = false) and once it is stored or given up (stored = true), with the same span
  // (from the next batch on; may be called at any time). The listener must be quick and must
  // not call back into the Loader.
  void add_commit_listener(CommitListener listener);

  LoaderStats stats() const;
  // For readiness: true when there is lag and no batch has committed for stuck_after.
  bool stuck() const;

 private:
  struct Batch;
  void run();
  Batch read_batch();
  // Decodes the records of `batch` and drops duplicates; keeps in carry_ the records past a
  // multiple of the warehouse's bulk size.
  void prepare(Batch& batch);
  // Adds one record to `batch`: an event (unless a duplicate), or a quarantine row.
  void decode_record(const wal::WalRecord& r, int64_t now, std::unordered_set<uint64_t>& in_batch,
                     Batch& batch);
  // Loads `batch` until it succeeds; false when stopping gave up on it.
  bool load_with_retry(Batch& batch);
  // Calls the commit listeners with `info` (nothing for a batch without events).
  void tell_listeners(CommitInfo& info, bool stored);
  void update_lag(int64_t oldest_unloaded_us);
  // How long read_batch waits between reads once a batch has records: an eighth of the batch
  // interval, at most 25 ms.
  std::chrono::milliseconds read_pause() const {
    return std::min(options_.batch_interval / 8, std::chrono::milliseconds(25));
  }
  // The gathering time of the next batch after one that took `stored` to store (busy_share).
  std::chrono::milliseconds paced_interval(std::chrono::steady_clock::duration stored) const;
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  struct Metrics;

  wal::Wal& wal_;
  warehouse::Warehouse& warehouse_;
  const LoaderOptions options_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;

  // The next LSN to load: the first carried record's, else the reader's position.
  wal::Lsn next_unloaded() const {
    return carry_.empty() ? reader_->position() : carry_.front().lsn;
  }

  // Owned by the loader thread once started.
  std::unique_ptr<wal::WalReader> reader_;
  // Records read from the WAL but left for the next batch, so a batch holds a multiple of the
  // warehouse's bulk_events(); the next batch starts with them.
  std::vector<wal::WalRecord> carry_;
  std::chrono::milliseconds interval_{0};  // the current batch's gathering time
  std::chrono::steady_clock::duration last_store_{0};  // wall time of the last stored batch
  std::unique_ptr<DedupIndex> dedup_;
  std::mutex listeners_mu_;
  std::vector<CommitListener> commit_listeners_;  // protected by listeners_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes backoff waits on stop
  bool started_ = false;        // protected by mu_
  bool joined_ = false;         // protected by mu_
  std::chrono::steady_clock::time_point drain_deadline_;  // protected by mu_
  std::atomic<bool> stopping_{false};
  std::atomic<wal::Lsn> drain_target_{0};  // set before stopping_
  std::thread thread_;

  // Written by the loader thread, read by stats()/stuck() from any thread.
  std::atomic<uint64_t> events_{0}, quarantined_{0}, undecodable_{0}, duplicates_{0},
      batches_{0}, errors_{0}, missing_{0};
  std::atomic<wal::Lsn> position_{0};
  std::atomic<uint64_t> lag_events_{0};
  std::atomic<double> lag_seconds_{0};
  std::atomic<size_t> dedup_ids_{0};
  std::atomic<uint64_t> dedup_evicted_{0};
  std::atomic<int64_t> last_commit_us_{0};
  std::atomic<int64_t> last_caught_up_us_{0};
};

}  // namespace basalt::loader
