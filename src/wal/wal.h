#pragma once
// The write-ahead log: a segmented, checksummed, append-only log on local disk with group
// commit, and committed offsets for its consumers (the warehouse loader, stream sinks).
//
// Records are opaque byte strings numbered by a log sequence number (LSN) from 0 upwards, with
// no gaps except where recovery found corruption. The on-disk format is in docs/wal_format.md.
//
// Thread safety: every member of Wal may be called from any thread. A WalReader belongs to one
// thread at a time.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace basalt::wal {

using Lsn = uint64_t;

struct WalOptions {
  std::filesystem::path dir;
  // A segment is closed and a new one started once it holds this many bytes.
  uint64_t segment_bytes = 64ull << 20;
  // fdatasync each group before acknowledging it. Off only in tests that measure other things.
  bool sync = true;
  // The writer waits up to this long for more appends before a group is written; 0 writes as
  // soon as the previous group's sync has finished (concurrent appends still share a sync).
  std::chrono::microseconds group_commit_delay{0};
  // Largest group written with one sync.
  uint64_t max_group_bytes = 8ull << 20;
  // Keep the next segment ready: a background thread writes it full of zeros and syncs it
  // before it is needed, so appends overwrite blocks already allocated and each group's
  // fdatasync writes only its own data, with no file-system journal commit that would wait
  // for other files' writes (the warehouse's) on the same disk. Off by default: beside the
  // warehouse's bursts the zero-filling's own writes cost more tail latency than the journal
  // commits it saves (bench/wal_sync_latency, figures in bench/README.md).
  bool preallocate = false;
  // Disk budget of the segments (0: none). While the segments on disk hold more than this,
  // append refuses new records with kResourceExhausted (the ingest API answers 503 with
  // Retry-After), until consumers commit past old segments so they can be deleted.
  uint64_t disk_budget_bytes = 0;
};

// What recovery found when the log was opened.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t records = 0;           // valid records found
  uint64_t truncated_bytes = 0;   // torn tail cut from the last segment
  uint64_t corrupt_regions = 0;   // damaged spans skipped (not at the tail)
  uint64_t corrupt_bytes = 0;
  std::vector<std::string> messages;  // one human-readable line per finding, with file and offset
};

struct WalStats {
  Lsn first_lsn = 0;        // oldest LSN still on disk
  Lsn durable_end = 0;      // one past the last durable LSN
  uint64_t bytes_on_disk = 0;
  uint64_t segments = 0;
  uint64_t groups_written = 0;
  uint64_t records_written = 0;
  uint64_t preallocated_rotations = 0;  // rotations onto a segment prepared in advance
  uint64_t preallocation_failures = 0;  // spare segments that could not be prepared
  bool spare_ready = false;             // a prepared segment waits for the next rotation
  uint64_t active_segment_bytes = 0;    // bytes of records in the active segment
};

struct WalRecord {
  Lsn lsn = 0;
  std::string data;
};

class WalReader {
 public:
  virtual ~WalReader() = default;
  // Returns the next durable records in LSN order: at most `max_records` and about `max_bytes`
  // (at least one record when any is available). When none is available it waits until one
  // is or `wait` has passed, then returns what there is (possibly nothing). Skips LSNs lost to
  // corruption. An error means the log on disk could not be read.
  virtual Result<std::vector<WalRecord>> next(size_t max_records, size_t max_bytes,
                                              std::chrono::milliseconds wait) = 0;
  // The LSN the next call starts from.
  virtual Lsn position() const = 0;
};

class Wal {
 public:
  // Called once a group is durable (status ok, first_lsn = LSN of the first record appended by
  // that call) or failed to be written (nothing of the call is in the log). Runs on the WAL's
  // writer thread: it must be quick and must not call append_sync.
  using AppendCallback = std::function<void(const Status& status, Lsn first_lsn)>;

  virtual ~Wal() = default;

  // Opens (creating if needed) the log in options.dir and runs recovery: a torn tail is cut,
  // corrupt spans in the middle are skipped and reported, never fatal.
  static Result<std::unique_ptr<Wal>> open(const WalOptions& options);

  // Appends `records` as one atomic unit (all or none after a crash) and calls `done` once
  // they are durable. A write or sync failure (disk full, read-only) fails the call with
  // kUnavailable and leaves the log as it was before it; later appends may succeed.
  virtual void append(std::vector<std::string> records, AppendCallback done) = 0;
  // Has `listener` called on the writer thread after the callbacks of each group have run (all
  // of them, ok or failed), so a caller can gather a group's completions and hand them on with
  // one wake-up per thread instead of one per call. An empty function removes the listener;
  // once this returns, the previous one is not running and will not run again. Returns false
  // when this WAL has no such groups (its callbacks may run anywhere, e.g. inside append):
  // the caller must then hand on each completion as it comes. Callbacks that append runs
  // itself (a call refused at once) are never followed by the listener.
  virtual bool set_group_listener(std::function<void()> listener) {
    (void)listener;
    return false;
  }
  // Blocking form of append; returns the first LSN.
  virtual Result<Lsn> append_sync(std::vector<std::string> records) = 0;

  // A reader starting at `from`. An error when `from` is before first_lsn (those segments were
  // deleted) or after durable_end.
  virtual Result<std::unique_ptr<WalReader>> reader(Lsn from) = 0;

  // Consumers: each named consumer has a committed LSN (the next LSN it needs). Segments every
  // registered consumer has committed past are deleted. Committed offsets persist in the log's
  // directory. Registering an existing name keeps its offset; a new one starts at first_lsn.
  virtual Status register_consumer(const std::string& name) = 0;
  virtual Status commit(const std::string& name, Lsn next_needed) = 0;
  virtual Result<Lsn> committed(const std::string& name) const = 0;

  // The first LSN after the oldest segment on disk: committing a consumer there lets that
  // segment go (once every other consumer is past it too). durable_end when only the active
  // segment is left. The default (for logs without segments) is stats().first_lsn.
  virtual Lsn oldest_segment_end() const { return stats().first_lsn; }

  // Whether the last write succeeded (for readiness checks).
  virtual bool writable() const = 0;
  virtual WalStats stats() const = 0;
  virtual const RecoveryReport& recovery() const = 0;

  // Writes and syncs what is queued, then stops the writer. Appends after close fail with
  // kUnavailable. Idempotent; the destructor calls it.
  virtual void close() = 0;
};

}  // namespace basalt::wal
