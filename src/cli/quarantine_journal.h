#pragma once
// Where a collector node keeps what it refuses. A collector has no warehouse and its stream
// sinks forward events only (docs/stream_record.md), so the quarantine records ingest writes
// to its WAL would otherwise be deleted with their segments unseen. The journal is a WAL
// consumer ("quarantine-journal") that appends each quarantine record, as one JSON line, to a
// local file (DATA_DIR/quarantine.jsonl), syncs the file, and only then commits its offset:
// a WAL segment holding a refused event is deleted only once that event is on disk in the
// file. At least once: after a crash between the sync and the commit a line is written again
// (same quarantine_id). The line format is in docs/ingest_api.md ("Collector nodes").
//
// Thread safety: start() and stop() from the owning thread; written() from any thread.
//
// Also here: reading such a file (and the record of which of its events were replayed) for
// `basalt quarantine list|replay --data DIR`, and the lock that keeps a replay from writing a
// collector's WAL while the collector runs.

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "wal/wal.h"

namespace basalt::cli {

class QuarantineJournal {
 public:
  // Borrows `wal` and `metrics`.
  QuarantineJournal(wal::Wal& wal, std::filesystem::path file, MetricsRegistry& metrics);
  ~QuarantineJournal();  // calls stop()
  QuarantineJournal(const QuarantineJournal&) = delete;
  QuarantineJournal& operator=(const QuarantineJournal&) = delete;

  // Registers the consumer, opens the file for appending and starts the thread.
  Status start();
  // Writes every record durable in the WAL now, then joins. Idempotent.
  void stop();
  // The next write goes to a file opened anew at path() (after a log rotation moved the old
  // one away; `basalt collect` asks on SIGHUP). Any thread.
  void reopen() { reopen_ = true; }

  const std::filesystem::path& path() const { return file_; }
  uint64_t written() const { return written_.load(); }

 private:
  void run();
  // Reads one batch from the WAL and journals its quarantine records; false on an error.
  bool step();
  // Opens path() for appending as fd_ (closing the previous one) and notes a torn last line.
  Status open_file();

  wal::Wal& wal_;
  const std::filesystem::path file_;
  Counter& written_metric_;
  Counter& errors_metric_;
  int fd_ = -1;
  bool torn_ = false;  // the file may end inside a line (a failed write, a crash); thread only
  std::unique_ptr<wal::WalReader> reader_;  // owned by the thread
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reopen_{false};
  std::atomic<wal::Lsn> drain_target_{0};
  std::atomic<uint64_t> written_{0};
  std::thread thread_;
};

// One line of a quarantine file (docs/ingest_api.md, "Collector nodes"). A WAL record that could
// not be decoded has neither id nor time.
struct QuarantineEntry {
  std::optional<std::string> quarantine_id;
  std::optional<int64_t> received_at_us;
  std::string source;
  std::string reason;
  std::string raw;
  std::string ip;
  std::string call_type;  // "" when the event came in a batch
};

// The entries of the quarantine file `file` in the order written: each quarantine_id once (a
// line written again after a crash is skipped), lines that are not a whole JSON object (torn by
// a crash) skipped. A missing file has none.
Result<std::vector<QuarantineEntry>> read_quarantine_file(const std::filesystem::path& file);

// Which entries a replay stored, and when: DATA_DIR/quarantine_replays.jsonl, one JSON object a
// line, {"quarantine_id":"…","replayed_at_us":…,"events":n}, appended and synced by each replay.
std::filesystem::path quarantine_replays_path(const std::filesystem::path& data_dir);
// quarantine_id → replayed_at_us of the first replay that stored it (a missing file: none).
Result<std::map<std::string, int64_t>> read_quarantine_replays(const std::filesystem::path& file);

// An exclusive lock on a collector's data folder (flock of DATA_DIR/collector.lock), held by
// `basalt collect` while it runs and by `basalt quarantine replay --data` while it appends to
// the folder's WAL: only one process ever writes that WAL. Released when destroyed.
class DataDirLock {
 public:
  // kFailedPrecondition when another process holds it.
  static Result<std::unique_ptr<DataDirLock>> acquire(const std::filesystem::path& data_dir);
  explicit DataDirLock(int fd) : fd_(fd) {}  // use acquire(); takes ownership of `fd`
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_;
};

}  // namespace basalt::cli
