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

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

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

}  // namespace basalt::cli
