#include "wal/wal_recovery.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "wal/record_format.h"

namespace basalt::wal {
namespace {

constexpr char kMagicFirstByte = static_cast<char>(kFrameMagic & 0xFF);

}  // namespace

SegmentScan scan_segment(std::string_view bytes, Lsn lowest_lsn, Lsn end_lsn) {
  SegmentScan scan;
  const size_t n = bytes.size();
  size_t pos = 0;
  size_t call_start = 0;  // end of the last complete call (or of the last damaged span)
  uint64_t pending = 0;   // records of the call being read
  Lsn pending_last = 0;

  auto starts_call = [&](const DecodedFrame& f) {
    Lsn min_lsn = scan.last_lsn ? *scan.last_lsn + 1 : lowest_lsn;
    return (f.flags & kFirstOfCall) != 0 && f.lsn >= min_lsn && f.lsn < end_lsn;
  };
  auto continues_call = [&](const DecodedFrame& f) {
    return (f.flags & kFirstOfCall) == 0 && pending_last != std::numeric_limits<Lsn>::max() &&
           f.lsn == pending_last + 1 && f.lsn < end_lsn;
  };

  while (pos < n) {
    DecodedFrame f = decode_frame(bytes.substr(pos));
    if (f.check == FrameCheck::kOk && (pending > 0 ? continues_call(f) : starts_call(f))) {
      ++pending;
      pending_last = f.lsn;
      pos += f.frame_bytes;
      if (f.flags & kLastOfCall) {
        scan.records += pending;
        scan.last_lsn = f.lsn;
        pending = 0;
        call_start = pos;
      }
      continue;
    }
    // Resynchronise: the next intact frame that may start a call. Searching from `pos` itself
    // matters when a call was cut short and a new call starts right here; otherwise `pos` was
    // just rejected as a call start, so the search moves forward.
    size_t q = pos;
    bool found = false;
    while (q < n) {
      const void* hit = std::memchr(bytes.data() + q, kMagicFirstByte, n - q);
      if (hit == nullptr) break;
      q = static_cast<size_t>(static_cast<const char*>(hit) - bytes.data());
      DecodedFrame g = decode_frame(bytes.substr(q));
      if (g.check == FrameCheck::kOk && starts_call(g) && (q > pos || pending > 0)) {
        found = true;
        break;
      }
      ++q;
    }
    if (!found) break;
    scan.damaged.push_back({call_start, q});
    pending = 0;
    pos = call_start = q;
  }
  scan.tail_start = call_start;
  return scan;
}

Result<RecoveredLog> recover_log(WalFileSystem& fs, const std::filesystem::path& dir) {
  auto names = fs.list(dir);
  if (!names) return names.status();
  std::vector<std::pair<Lsn, std::string>> files;
  for (const auto& name : *names) {
    if (auto base = parse_segment_file_name(name)) files.emplace_back(*base, name);
  }
  std::sort(files.begin(), files.end());

  RecoveredLog log;
  RecoveryReport& report = log.report;
  std::optional<Lsn> last_lsn;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [base, name] = files[i];
    const bool is_last = i + 1 == files.size();
    std::filesystem::path path = dir / name;
    auto bytes = fs.read_file(path);
    if (!bytes) return bytes.status();
    const uint64_t size = bytes->size();

    Lsn lowest = last_lsn ? std::max(base, *last_lsn + 1) : base;
    Lsn end = is_last ? std::numeric_limits<Lsn>::max() : files[i + 1].first;
    SegmentScan scan = scan_segment(*bytes, lowest, end);
    // Zeros after the last complete call are space prepared in advance (WalOptions::preallocate)
    // and not yet written: neither torn nor damaged. The file keeps them.
    const bool zero_tail = std::all_of(bytes->begin() + static_cast<ptrdiff_t>(scan.tail_start),
                                       bytes->end(), [](char c) { return c == '\0'; });
    bytes->clear();
    bytes->shrink_to_fit();

    auto meta = std::make_shared<SegmentMeta>();
    meta->base = base;
    meta->path = path;
    for (const ByteSpan& span : scan.damaged) {
      ++report.corrupt_regions;
      report.corrupt_bytes += span.end - span.begin;
      report.messages.push_back(name + ": damaged bytes [" + std::to_string(span.begin) + ", " +
                                std::to_string(span.end) + ") skipped");
      meta->skip.push_back(span);
    }
    uint64_t durable_size = size;
    if (scan.tail_start < size && zero_tail) {
      durable_size = scan.tail_start;
    } else if (scan.tail_start < size) {
      const uint64_t tail = size - scan.tail_start;
      if (is_last) {
        auto file = fs.open(path, OpenMode::kWrite);
        if (!file) return file.status();
        BASALT_RETURN_IF_ERROR((*file)->truncate(scan.tail_start));
        BASALT_RETURN_IF_ERROR((*file)->sync());
        report.truncated_bytes += tail;
        report.messages.push_back(name + ": torn tail of " + std::to_string(tail) +
                                  " bytes at offset " + std::to_string(scan.tail_start) + " cut");
        durable_size = scan.tail_start;
      } else {
        ++report.corrupt_regions;
        report.corrupt_bytes += tail;
        report.messages.push_back(name + ": damaged bytes [" + std::to_string(scan.tail_start) +
                                  ", " + std::to_string(size) + ") at the end skipped");
        meta->skip.push_back({scan.tail_start, size});
      }
    }
    report.records += scan.records;
    if (scan.last_lsn) last_lsn = scan.last_lsn;
    log.segments.push_back({std::move(meta), durable_size});
  }
  report.segments = log.segments.size();
  if (!log.segments.empty()) {
    Lsn base = log.segments.back().meta->base;
    log.next_lsn = last_lsn ? std::max(*last_lsn + 1, base) : base;
  }
  return log;
}

}  // namespace basalt::wal
