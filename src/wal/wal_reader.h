#pragma once
// The WalReader over segment files: reads only up to the durable end the writer publishes,
// with pread on its own file handle, and waits on the table's condition variable for more.
// Private to src/wal; created by Wal::reader().

#include <memory>

#include "wal/segment_table.h"
#include "wal/wal.h"

namespace basalt::wal {

// REQUIRES: `from` lies in [first_lsn, durable_end] of `table` (Wal::reader checks).
std::unique_ptr<WalReader> make_segment_reader(std::shared_ptr<SegmentTable> table, Lsn from);

}  // namespace basalt::wal
