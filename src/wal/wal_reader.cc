#include "wal/wal_reader.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "wal/record_format.h"

namespace basalt::wal {
namespace {

constexpr size_t kReadChunkBytes = 1 << 20;

class SegmentReader final : public WalReader {
 public:
  SegmentReader(std::shared_ptr<SegmentTable> table, Lsn from)
      : table_(std::move(table)), pos_(from) {}

  Result<std::vector<WalRecord>> next(size_t max_records, size_t max_bytes,
                                      std::chrono::milliseconds wait) override {
    std::vector<WalRecord> out;
    size_t out_bytes = 0;
    std::unique_lock lock(table_->mu);
    table_->durable_cv.wait_for(lock, wait,
                                [&] { return table_->durable_end > pos_ || table_->closed; });
    while (out.size() < max_records && (out.empty() || out_bytes < max_bytes) &&
           table_->durable_end > pos_) {
      // Where the current segment ends for us, read under the lock with the durable end.
      if (meta_ == nullptr) {
        Status s = locate_segment();
        if (!s.is_ok()) return s;
      }
      auto it = find_entry(meta_->base);
      if (it == table_->segments.end()) {
        // Deleted once every consumer had committed past it. That is no loss when this reader
        // is past it too (its consumer committed what it read); locate_segment() fails if not.
        meta_.reset();
        Status s = locate_segment();
        if (!s.is_ok()) {
          return not_found("WAL segment holding position " + std::to_string(pos_) +
                           " was deleted before this reader finished it");
        }
        it = find_entry(meta_->base);
      }
      const uint64_t limit = it->durable_size;
      const bool sealed = std::next(it) != table_->segments.end();
      const Lsn durable_end = table_->durable_end;
      if (offset_ >= limit) {
        if (sealed) {
          move_to(std::next(it)->meta);
          continue;
        }
        pos_ = std::max(pos_, durable_end);  // LSNs before it were lost to corruption
        break;
      }
      lock.unlock();
      Status s = read_frames(limit, max_records, max_bytes, out, out_bytes);
      lock.lock();
      if (!s.is_ok()) return s;
    }
    return out;
  }

  Lsn position() const override { return pos_; }

 private:
  // REQUIRES: table_->mu held.
  std::vector<SegmentEntry>::iterator find_entry(Lsn base) {
    auto& segs = table_->segments;
    auto it = std::lower_bound(segs.begin(), segs.end(), base,
                               [](const SegmentEntry& e, Lsn b) { return e.meta->base < b; });
    return it != segs.end() && it->meta->base == base ? it : segs.end();
  }

  // The segment holding pos_: the last whose base is <= pos_. REQUIRES: table_->mu held.
  Status locate_segment() {
    auto& segs = table_->segments;
    auto it = std::upper_bound(segs.begin(), segs.end(), pos_,
                               [](Lsn p, const SegmentEntry& e) { return p < e.meta->base; });
    if (it == segs.begin()) {
      return not_found("WAL position " + std::to_string(pos_) + " was deleted");
    }
    move_to(std::prev(it)->meta);
    return Status::ok();
  }

  void move_to(std::shared_ptr<const SegmentMeta> meta) {
    meta_ = std::move(meta);
    file_.reset();
    offset_ = 0;
    next_skip_ = 0;
    buf_len_ = 0;
    buf_offset_ = 0;
    pos_ = std::max(pos_, meta_->base);
  }

  // Appends the frames in [offset_, limit) of the current segment to `out`, within the limits.
  // Runs without the table lock: the bytes below `limit` are durable and never change.
  Status read_frames(uint64_t limit, size_t max_records, size_t max_bytes,
                     std::vector<WalRecord>& out, size_t& out_bytes) {
    if (file_ == nullptr) {
      auto file = table_->fs->open(meta_->path, OpenMode::kRead);
      if (!file) return file.status();
      file_ = std::move(*file);
    }
    while (offset_ < limit && out.size() < max_records && (out.empty() || out_bytes < max_bytes)) {
      const auto& skip = meta_->skip;
      while (next_skip_ < skip.size() && skip[next_skip_].begin < offset_) ++next_skip_;
      if (next_skip_ < skip.size() && skip[next_skip_].begin == offset_) {
        offset_ = skip[next_skip_].end;
        continue;
      }
      std::string_view avail = buffered(offset_);
      DecodedFrame f = decode_frame(avail);
      if (f.check == FrameCheck::kIncomplete || avail.size() < kFrameHeaderBytes) {
        size_t want = std::max<size_t>(kReadChunkBytes, f.frame_bytes);
        BASALT_RETURN_IF_ERROR(fill(offset_, std::min<uint64_t>(want, limit - offset_)));
        avail = buffered(offset_);
        f = decode_frame(avail);
      }
      if (f.check != FrameCheck::kOk || offset_ + f.frame_bytes > limit) {
        return data_loss("WAL segment " + meta_->path.filename().string() +
                         ": unreadable record at offset " + std::to_string(offset_));
      }
      offset_ += f.frame_bytes;
      if (f.lsn < pos_) continue;  // before the reader's start
      out_bytes += f.payload.size();
      out.push_back({f.lsn, std::string(f.payload)});
      pos_ = f.lsn + 1;
    }
    return Status::ok();
  }

  // Buffered bytes from file offset `at`, possibly none.
  std::string_view buffered(uint64_t at) const {
    if (at < buf_offset_ || at >= buf_offset_ + buf_len_) return {};
    return std::string_view(buf_.data() + (at - buf_offset_), buf_len_ - (at - buf_offset_));
  }

  Status fill(uint64_t at, uint64_t bytes) {
    if (buf_.size() < bytes) buf_.resize(bytes);
    auto n = file_->read_at(at, std::span<char>(buf_.data(), bytes));
    if (!n) return n.status();
    buf_offset_ = at;
    buf_len_ = *n;
    return Status::ok();
  }

  std::shared_ptr<SegmentTable> table_;
  Lsn pos_;
  std::shared_ptr<const SegmentMeta> meta_;  // the segment being read; null before the first
  std::unique_ptr<WalFile> file_;
  uint64_t offset_ = 0;  // next byte to decode in the current segment
  size_t next_skip_ = 0;
  std::vector<char> buf_;
  uint64_t buf_offset_ = 0;
  size_t buf_len_ = 0;
};

}  // namespace

std::unique_ptr<WalReader> make_segment_reader(std::shared_ptr<SegmentTable> table, Lsn from) {
  return std::make_unique<SegmentReader>(std::move(table), from);
}

}  // namespace basalt::wal
