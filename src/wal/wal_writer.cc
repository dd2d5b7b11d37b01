#include "wal/wal_writer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <utility>
#include <vector>

#include "common/thread_priority.h"
#include "wal/consumers.h"
#include "wal/record_format.h"
#include "wal/segment_table.h"
#include "wal/wal_reader.h"
#include "wal/wal_recovery.h"

namespace basalt::wal {
namespace {

// One append call waiting for the writer.
struct PendingCall {
  std::vector<std::string> records;
  Wal::AppendCallback done;
  uint64_t bytes = 0;  // framed size
};

Status as_unavailable(const Status& s) { return unavailable(s.message()); }

// The spare segment's file name; recovery ignores it (it is no segment name).
constexpr const char* kSpareSegmentName = "next-segment.tmp";
// Zeros written (and synced) per step when a spare segment is prepared.
constexpr uint64_t kPreallocateStepBytes = 1 << 20;

class SegmentedWal final : public Wal {
 public:
  SegmentedWal(WalOptions options, std::shared_ptr<SegmentTable> table, RecoveryReport report,
               ConsumerOffsets consumers, std::unique_ptr<WalFile> active, uint64_t active_size,
               Lsn next_lsn)
      : options_(std::move(options)),
        table_(std::move(table)),
        report_(std::move(report)),
        consumers_(std::move(consumers)),
        active_(std::move(active)),
        active_size_(active_size),
        next_lsn_(next_lsn),
        spare_path_(options_.dir / kSpareSegmentName) {
    if (options_.preallocate) {
      // Whatever an earlier process left there is rewritten from scratch.
      (void)table_->fs->remove(spare_path_);
      preparer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "wal-prealloc");
        preparer_loop();
      });
    }
    active_segment_bytes_.store(active_size_, std::memory_order_relaxed);
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "wal-writer");  // for top and perf
      writer_loop();
    });
  }

  ~SegmentedWal() override { close(); }

  void append(std::vector<std::string> records, AppendCallback done) override {
    if (records.empty()) {
      done(invalid_argument("append of no records"), 0);
      return;
    }
    uint64_t bytes = 0;
    for (const auto& r : records) {
      if (r.size() > kMaxRecordBytes) {
        done(invalid_argument("WAL record of " + std::to_string(r.size()) + " bytes exceeds " +
                              std::to_string(kMaxRecordBytes)),
             0);
        return;
      }
      bytes += frame_bytes_of(r.size());
    }
    if (options_.disk_budget_bytes > 0) {
      uint64_t on_disk = segment_bytes_on_disk();
      if (on_disk > options_.disk_budget_bytes) {
        done(Status(StatusCode::kResourceExhausted,
                    "the WAL holds " + std::to_string(on_disk) + " bytes, past its disk budget of " +
                        std::to_string(options_.disk_budget_bytes) +
                        " bytes: a consumer (a stream sink or the loader) lags"),
             0);
        return;
      }
    }
    std::unique_lock lock(queue_mu_);
    if (stopping_) {
      lock.unlock();
      done(unavailable("the WAL is closed"), 0);
      return;
    }
    queue_.push_back({std::move(records), std::move(done), bytes});
    queued_bytes_ += bytes;
    // With a delay the writer is woken by the call that starts a group (it then waits out the
    // delay) and by the one that fills it; the calls between only join the queue.
    bool wake = writer_waiting_ && (options_.group_commit_delay.count() == 0 || queue_.size() == 1 ||
                                    queued_bytes_ >= options_.max_group_bytes);
    lock.unlock();
    if (wake) queue_cv_.notify_one();
  }

  Result<Lsn> append_sync(std::vector<std::string> records) override {
    struct Waiter {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      Status status;
      Lsn lsn = 0;
    } w;
    append(std::move(records), [&w](const Status& s, Lsn lsn) {
      std::lock_guard lock(w.mu);
      w.status = s;
      w.lsn = lsn;
      w.done = true;
      w.cv.notify_one();  // under the lock: `w` lives until the waiter sees done
    });
    std::unique_lock lock(w.mu);
    w.cv.wait(lock, [&] { return w.done; });
    if (!w.status.is_ok()) return w.status;
    return w.lsn;
  }

  bool set_group_listener(std::function<void()> listener) override {
    std::lock_guard lock(listener_mu_);
    group_listener_ = std::move(listener);
    return true;
  }

  Result<std::unique_ptr<WalReader>> reader(Lsn from) override {
    std::lock_guard lock(table_->mu);
    Lsn first = table_->segments.front().meta->base;
    if (from < first) {
      return not_found("WAL position " + std::to_string(from) + " was deleted (first is " +
                       std::to_string(first) + ")");
    }
    if (from > table_->durable_end) {
      return invalid_argument("WAL position " + std::to_string(from) + " is past the durable end " +
                              std::to_string(table_->durable_end));
    }
    return make_segment_reader(table_, from);
  }

  Status register_consumer(const std::string& name) override {
    if (!valid_consumer_name(name)) return invalid_argument("bad WAL consumer name: " + name);
    std::lock_guard lock(consumers_mu_);
    if (consumers_.offsets().contains(name)) return Status::ok();
    return consumers_.set(name, stats().first_lsn);
  }

  Status commit(const std::string& name, Lsn next_needed) override {
    {
      std::lock_guard lock(consumers_mu_);
      if (!consumers_.offsets().contains(name)) return not_found("no WAL consumer " + name);
      Lsn end = stats().durable_end;
      if (next_needed > end) {
        return invalid_argument("commit of " + name + " at " + std::to_string(next_needed) +
                                " past the durable end " + std::to_string(end));
      }
      BASALT_RETURN_IF_ERROR(consumers_.set(name, next_needed));
    }
    return delete_consumed_segments();
  }

  Result<Lsn> committed(const std::string& name) const override {
    std::lock_guard lock(consumers_mu_);
    auto it = consumers_.offsets().find(name);
    if (it == consumers_.offsets().end()) return not_found("no WAL consumer " + name);
    return it->second;
  }

  bool writable() const override { return writable_.load(std::memory_order_relaxed); }

  WalStats stats() const override {
    WalStats s;
    {
      std::lock_guard lock(table_->mu);
      s.first_lsn = table_->segments.front().meta->base;
      s.durable_end = table_->durable_end;
      s.segments = table_->segments.size();
      for (const auto& e : table_->segments) s.bytes_on_disk += e.durable_size;
    }
    s.groups_written = groups_written_.load(std::memory_order_relaxed);
    s.records_written = records_written_.load(std::memory_order_relaxed);
    s.preallocated_rotations = preallocated_rotations_.load(std::memory_order_relaxed);
    s.preallocation_failures = preallocation_failures_.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(spare_mu_);
      s.spare_ready = spare_ready_;
    }
    s.active_segment_bytes = active_segment_bytes_.load(std::memory_order_relaxed);
    return s;
  }

  const RecoveryReport& recovery() const override { return report_; }

  Lsn oldest_segment_end() const override {
    std::lock_guard lock(table_->mu);
    const auto& segs = table_->segments;
    return segs.size() > 1 ? segs[1].meta->base : table_->durable_end;
  }

  uint64_t segment_bytes_on_disk() const {
    std::lock_guard lock(table_->mu);
    uint64_t bytes = 0;
    for (const auto& e : table_->segments) bytes += e.durable_size;
    return bytes;
  }

  void close() override {
    std::lock_guard close_lock(close_mu_);
    if (closed_) return;
    closed_ = true;
    {
      std::lock_guard lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_.join();
    if (preparer_.joinable()) {
      {
        std::lock_guard lock(spare_mu_);
        spare_stopping_ = true;
      }
      spare_cv_.notify_all();
      preparer_.join();
    }
    active_.reset();
    {
      std::lock_guard lock(table_->mu);
      table_->closed = true;
    }
    table_->durable_cv.notify_all();
  }

 private:
  // Runs on the writer thread until close: takes a group, writes it, acknowledges it.
  void writer_loop() {
    std::vector<PendingCall> group;
    while (true) {
      bool rotate = false;
      {
        std::unique_lock lock(queue_mu_);
        writer_waiting_ = true;
        queue_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping, everything written
        if (options_.group_commit_delay.count() > 0 && !stopping_) {
          queue_cv_.wait_for(lock, options_.group_commit_delay, [&] {
            return queued_bytes_ >= options_.max_group_bytes || stopping_;
          });
        }
        writer_waiting_ = false;
        rotate = must_rotate_ ||
                 (active_size_ > 0 && active_size_ + queue_.front().bytes > options_.segment_bytes);
        uint64_t room = options_.segment_bytes - (rotate ? 0 : active_size_);
        uint64_t budget = std::min<uint64_t>(options_.max_group_bytes, room);
        uint64_t taken = 0;
        while (!queue_.empty() && (group.empty() || taken + queue_.front().bytes <= budget)) {
          taken += queue_.front().bytes;
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        queued_bytes_ -= taken;
      }
      write_group(group, rotate);
      group.clear();
      std::lock_guard lock(listener_mu_);
      if (group_listener_) group_listener_();
    }
  }

  void fail_group(std::vector<PendingCall>& group, const Status& s) {
    writable_.store(false, std::memory_order_relaxed);
    for (auto& call : group) call.done(s, 0);
  }

  void write_group(std::vector<PendingCall>& group, bool rotate) {
    if (rotate) {
      Status s = rotate_segment();
      if (!s.is_ok()) {
        fail_group(group, as_unavailable(s));
        return;
      }
    }
    uint64_t total = 0;
    size_t records = 0;
    for (const auto& call : group) {
      total += call.bytes;
      records += call.records.size();
    }
    if (buf_capacity_ < total) {
      buf_capacity_ = std::max<uint64_t>(total, buf_capacity_ * 2);
      buf_ = std::make_unique_for_overwrite<char[]>(buf_capacity_);
    }
    char* p = buf_.get();
    Lsn lsn = next_lsn_;
    for (const auto& call : group) {
      const size_t n = call.records.size();
      for (size_t i = 0; i < n; ++i) {
        uint8_t flags = (i == 0 ? kFirstOfCall : 0) | (i + 1 == n ? kLastOfCall : 0);
        p += encode_frame(p, lsn++, flags, call.records[i]);
      }
    }
    Status s = active_->write_at(active_size_, std::string_view(buf_.get(), total));
    if (s.is_ok() && options_.sync) s = active_->sync();
    if (!s.is_ok()) {
      // Restore the file to its size before the group so the log stays valid. If even that
      // fails, the next group starts a new segment named by the LSN this group would have had,
      // which makes recovery reject whatever is left of this group.
      if (!active_->truncate(active_size_).is_ok()) must_rotate_ = true;
      fail_group(group, as_unavailable(s));
      return;
    }
    active_size_ += total;
    // The spare is asked for once the active segment is a quarter full: early enough to be
    // ready at the rotation, late enough that a log that never fills a segment (a short run, a
    // test) writes no segment of zeros.
    if (!spare_asked_ && active_size_ >= options_.segment_bytes / 4) {
      spare_asked_ = true;
      want_spare();
    }
    const Lsn first = next_lsn_;
    next_lsn_ = lsn;
    {
      std::lock_guard lock(table_->mu);
      table_->segments.back().durable_size = active_size_;
      table_->durable_end = next_lsn_;
    }
    active_segment_bytes_.store(active_size_, std::memory_order_relaxed);
    writable_.store(true, std::memory_order_relaxed);
    groups_written_.fetch_add(1, std::memory_order_relaxed);
    records_written_.fetch_add(records, std::memory_order_relaxed);
    Lsn call_lsn = first;
    for (auto& call : group) {
      call.done(Status::ok(), call_lsn);
      call_lsn += call.records.size();
    }
    // Readers (the loader, sinks) after the acknowledgements: they are not in a hurry.
    table_->durable_cv.notify_all();
  }

  // Starts a new active segment named by next_lsn_: the prepared spare renamed, or a new empty
  // file when none is ready. Writer thread only.
  Status rotate_segment() {
    auto meta = std::make_shared<SegmentMeta>();
    meta->base = next_lsn_;
    meta->path = options_.dir / segment_file_name(next_lsn_);
    Result<std::unique_ptr<WalFile>> file = unavailable("no spare segment");
    if (take_spare() && table_->fs->rename(spare_path_, meta->path).is_ok()) {
      file = table_->fs->open(meta->path, OpenMode::kWrite);
      if (file) preallocated_rotations_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!file) file = table_->fs->open(meta->path, OpenMode::kCreateWrite);
    if (!file) return file.status();
    BASALT_RETURN_IF_ERROR(table_->fs->sync_dir(options_.dir));
    {
      std::lock_guard lock(table_->mu);
      if (table_->segments.back().meta->base == meta->base) {
        // An earlier rotation created this file but failed after; replace it.
        table_->segments.back() = {meta, 0};
      } else {
        table_->segments.push_back({meta, 0});
      }
    }
    table_->durable_cv.notify_all();
    active_ = std::move(*file);
    active_size_ = 0;
    active_segment_bytes_.store(0, std::memory_order_relaxed);
    spare_asked_ = false;
    must_rotate_ = false;
    // A sealed segment may already be consumed by everyone.
    (void)delete_consumed_segments();
    return Status::ok();
  }

  // True when a spare is ready; it is the caller's from then on. Writer thread only.
  bool take_spare() {
    std::lock_guard lock(spare_mu_);
    if (!spare_ready_) return false;
    spare_ready_ = false;
    return true;
  }

  void want_spare() {
    if (!options_.preallocate) return;
    {
      std::lock_guard lock(spare_mu_);
      if (spare_ready_ || spare_wanted_) return;
      spare_wanted_ = true;
    }
    spare_cv_.notify_one();
  }

  // Runs on the preparer thread until close: whenever a spare is wanted, writes one segment's
  // worth of zeros to the spare file in small synced steps, then marks it ready. Its I/O is
  // background work: it runs at the idle I/O class, and in steps small enough that a group's
  // sync never queues behind much of it.
  void preparer_loop() {
    // Best effort: at the normal class the steps are small enough to interleave with groups.
    (void)lower_current_thread_io_priority();
    while (true) {
      {
        std::unique_lock lock(spare_mu_);
        spare_cv_.wait(lock, [&] { return spare_wanted_ || spare_stopping_; });
        if (spare_stopping_) return;
      }
      Status s = prepare_spare();
      std::lock_guard lock(spare_mu_);
      spare_wanted_ = false;
      if (s.is_ok()) {
        spare_ready_ = true;
      } else if (!spare_stopping_) {
        // The next rotation creates its segment the old way and asks again.
        preallocation_failures_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  Status prepare_spare() {
    static const std::string kZeros(kPreallocateStepBytes, '\0');
    auto file = table_->fs->open(spare_path_, OpenMode::kCreateWrite);
    if (!file) return file.status();
    for (uint64_t at = 0; at < options_.segment_bytes; at += kPreallocateStepBytes) {
      {
        std::lock_guard lock(spare_mu_);
        if (spare_stopping_) return unavailable("the WAL is closing");
      }
      const uint64_t n = std::min<uint64_t>(kPreallocateStepBytes, options_.segment_bytes - at);
      BASALT_RETURN_IF_ERROR((*file)->write_at(at, std::string_view(kZeros.data(), n)));
      BASALT_RETURN_IF_ERROR((*file)->sync());
    }
    return Status::ok();
  }

  // Deletes the sealed segments whose records every registered consumer has committed past.
  Status delete_consumed_segments() {
    std::vector<std::filesystem::path> doomed;
    {
      std::lock_guard consumers_lock(consumers_mu_);
      const auto& offsets = consumers_.offsets();
      if (offsets.empty()) return Status::ok();
      Lsn min_committed = std::numeric_limits<Lsn>::max();
      for (const auto& [name, lsn] : offsets) min_committed = std::min(min_committed, lsn);
      std::lock_guard lock(table_->mu);
      auto& segs = table_->segments;
      size_t n = 0;
      // Segment i holds LSNs below the base of segment i + 1; the active one is never deleted.
      while (n + 1 < segs.size() && segs[n + 1].meta->base <= min_committed) ++n;
      for (size_t i = 0; i < n; ++i) doomed.push_back(segs[i].meta->path);
      segs.erase(segs.begin(), segs.begin() + static_cast<ptrdiff_t>(n));
    }
    if (doomed.empty()) return Status::ok();
    for (const auto& path : doomed) BASALT_RETURN_IF_ERROR(table_->fs->remove(path));
    return table_->fs->sync_dir(options_.dir);
  }

  const WalOptions options_;
  const std::shared_ptr<SegmentTable> table_;
  const RecoveryReport report_;

  mutable std::mutex consumers_mu_;  // taken before table_->mu when both are needed
  ConsumerOffsets consumers_;        // protected by consumers_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<PendingCall> queue_;  // protected by queue_mu_
  uint64_t queued_bytes_ = 0;      // protected by queue_mu_
  bool stopping_ = false;          // protected by queue_mu_
  bool writer_waiting_ = false;    // protected by queue_mu_

  // Owned by the writer thread (and by close() once it has been joined). active_size_ is also
  // read under queue_mu_ by the writer itself only.
  std::unique_ptr<WalFile> active_;
  uint64_t active_size_ = 0;
  Lsn next_lsn_ = 0;
  bool must_rotate_ = false;
  bool spare_asked_ = false;  // a spare was asked for while this segment is active
  std::unique_ptr<char[]> buf_;
  uint64_t buf_capacity_ = 0;

  std::atomic<bool> writable_{true};
  std::atomic<uint64_t> groups_written_{0};
  std::atomic<uint64_t> records_written_{0};
  std::atomic<uint64_t> active_segment_bytes_{0};  // active_size_ for stats()
  std::atomic<uint64_t> preallocated_rotations_{0};
  std::atomic<uint64_t> preallocation_failures_{0};

  // The spare segment (options_.preallocate): the preparer thread writes it, the writer thread
  // renames it into place at a rotation.
  const std::filesystem::path spare_path_;
  mutable std::mutex spare_mu_;
  std::condition_variable spare_cv_;
  bool spare_wanted_ = false;    // protected by spare_mu_: the preparer should make one
  bool spare_ready_ = false;     // protected by spare_mu_: a complete, synced spare exists
  bool spare_stopping_ = false;  // protected by spare_mu_
  std::thread preparer_;

  std::mutex listener_mu_;  // held while the listener runs
  std::function<void()> group_listener_;  // protected by listener_mu_

  std::mutex close_mu_;
  bool closed_ = false;  // protected by close_mu_
  std::thread writer_;
};

}  // namespace

Result<std::unique_ptr<Wal>> open_wal(const WalOptions& options,
                                      std::shared_ptr<WalFileSystem> fs) {
  if (options.dir.empty()) return invalid_argument("WAL directory not set");
  if (options.segment_bytes == 0 || options.max_group_bytes == 0) {
    return invalid_argument("WAL segment_bytes and max_group_bytes must be positive");
  }
  BASALT_RETURN_IF_ERROR(fs->create_dirs(options.dir));
  auto recovered = recover_log(*fs, options.dir);
  if (!recovered) return recovered.status();
  auto consumers = ConsumerOffsets::load(fs, options.dir);
  if (!consumers) return consumers.status();

  auto table = std::make_shared<SegmentTable>(fs);
  table->segments = std::move(recovered->segments);
  table->durable_end = recovered->next_lsn;
  std::unique_ptr<WalFile> active;
  if (table->segments.empty()) {
    auto meta = std::make_shared<SegmentMeta>();
    meta->base = recovered->next_lsn;
    meta->path = options.dir / segment_file_name(meta->base);
    auto file = fs->open(meta->path, OpenMode::kCreateWrite);
    if (!file) return file.status();
    BASALT_RETURN_IF_ERROR(fs->sync_dir(options.dir));
    active = std::move(*file);
    table->segments.push_back({std::move(meta), 0});
  } else {
    auto file = fs->open(table->segments.back().meta->path, OpenMode::kWrite);
    if (!file) return file.status();
    active = std::move(*file);
  }
  const uint64_t active_size = table->segments.back().durable_size;
  return std::unique_ptr<Wal>(std::make_unique<SegmentedWal>(
      options, std::move(table), std::move(recovered->report), std::move(*consumers),
      std::move(active), active_size, recovered->next_lsn));
}

Result<std::unique_ptr<Wal>> Wal::open(const WalOptions& options) {
  return open_wal(options, posix_wal_file_system());
}

}  // namespace basalt::wal
