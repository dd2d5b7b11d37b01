#pragma once
// Recovery: what open() does before the writer starts. Private to src/wal.
//
// Each segment is scanned frame by frame. A record is accepted when its frame is intact
// (magic, length, flags, crc32) and its LSN fits: the first record of a call must carry
// kFirstOfCall and an LSN above every LSN accepted before it (and inside the range the segment
// names allow); the following records of the call must carry the next LSNs, and the call counts
// only once a record with kLastOfCall closes it. So a call is recovered whole or not at all.
//
// When a frame does not fit, the scanner resynchronises: it looks, byte by byte from there, for
// the magic number of a frame that is intact and could start a call. Found: the bytes from the
// end of the last complete call up to it are a damaged span, reported and skipped (also by
// readers). Not found: what follows the last complete call is a tail; in the last segment it is
// a torn write and is cut (ftruncate), in an older segment it is reported as damaged. Each step
// either accepts a frame or moves the resync point forward, so the scan ends on any input.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "wal/file_system.h"
#include "wal/segment_table.h"
#include "wal/wal.h"

namespace basalt::wal {

struct SegmentScan {
  uint64_t records = 0;
  std::optional<Lsn> last_lsn;       // of the last complete call
  std::vector<ByteSpan> damaged;     // spans followed by valid records, ascending
  uint64_t tail_start = 0;           // end of the last complete call; no complete call after it
};

// Scans one segment's bytes. Accepts records with lowest_lsn <= LSN < end_lsn. Total on any
// input.
SegmentScan scan_segment(std::string_view bytes, Lsn lowest_lsn, Lsn end_lsn);

struct RecoveredLog {
  std::vector<SegmentEntry> segments;  // oldest first; empty for a new log
  Lsn next_lsn = 0;                    // the LSN the next append gets
  RecoveryReport report;
};

// Scans every segment in `dir`, cuts the torn tail of the last one, and reports what it found.
// An error only when the files cannot be listed, read or truncated.
Result<RecoveredLog> recover_log(WalFileSystem& fs, const std::filesystem::path& dir);

}  // namespace basalt::wal
