#pragma once
// The state the writer publishes and readers follow: the segments on disk and the durable end.
// Shared (std::shared_ptr) by the Wal and its readers so a reader outliving the Wal stays safe.
// Private to src/wal.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "wal/file_system.h"
#include "wal/wal.h"

namespace basalt::wal {

// Bytes [begin, end) of a segment file.
struct ByteSpan {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// What does not change once a segment is known.
struct SegmentMeta {
  Lsn base = 0;  // the LSN in the file name; every record in it has an LSN >= base
  std::filesystem::path path;
  std::vector<ByteSpan> skip;  // damaged spans found by recovery, ascending; readers jump them
};

struct SegmentEntry {
  std::shared_ptr<const SegmentMeta> meta;
  uint64_t durable_size = 0;  // readers may read [0, durable_size)
};

struct SegmentTable {
  explicit SegmentTable(std::shared_ptr<WalFileSystem> file_system)
      : fs(std::move(file_system)) {}

  const std::shared_ptr<WalFileSystem> fs;
  mutable std::mutex mu;
  // Signalled when durable_end advances, a segment is added, or the log closes.
  std::condition_variable durable_cv;
  // Protected by mu. Oldest first; back() is the active segment, written by the writer.
  std::vector<SegmentEntry> segments;
  Lsn durable_end = 0;  // protected by mu; one past the last durable LSN
  bool closed = false;  // protected by mu
};

}  // namespace basalt::wal
