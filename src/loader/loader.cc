#include "loader/loader.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>
#include <unordered_set>

#include "common/clock.h"
#include "common/thread_priority.h"
#include "event/event.h"
#include "loader/dedup_index.h"

namespace basalt::loader {

namespace {

// Undecodable records are kept as hex (they may not be UTF-8), up to this many bytes.
constexpr size_t kMaxRawBytes = 64 << 10;

std::string hex_of(std::string_view data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  size_t n = std::min(data.size(), kMaxRawBytes);
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    auto b = static_cast<unsigned char>(data[i]);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace

struct Loader::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : events(r.counter("basalt_loader_events_total", "Events stored in the warehouse.")),
        quarantined(r.counter("basalt_loader_quarantined_total",
                              "Quarantine rows stored in the warehouse.")),
        duplicates(r.counter("basalt_loader_duplicates_total",
                             "Events dropped as already loaded (same source and messageId).")),
        batches(r.counter("basalt_loader_batches_total", "Batches committed to the warehouse.")),
        errors(r.counter("basalt_loader_errors_total",
                         "Failed warehouse loads and WAL reads (each retried).")),
        batch_seconds(r.histogram("basalt_loader_batch_seconds",
                                  "Time to store one batch in the warehouse.",
                                  latency_buckets_seconds())),
        lag_events(r.gauge("basalt_loader_lag_events",
                           "Durable WAL records not yet loaded.")),
        lag_seconds(r.gauge("basalt_loader_lag_seconds",
                            "Age of the oldest unloaded event; 0 when caught up.")),
        dedup_ids(r.gauge("basalt_loader_dedup_ids", "Message ids in the dedup index.")),
        interval(r.gauge("basalt_loader_batch_interval_seconds",
                         "How long the current batch gathers records (paced by the last "
                         "batch's store time).")),
        cpu_seconds(r.gauge("basalt_loader_thread_cpu_seconds",
                            "CPU time the loader thread had used when it committed its last "
                            "batch (divided by basalt_loader_events_total: its cost an "
                            "event).")) {}

  Counter& events;
  Counter& quarantined;
  Counter& duplicates;
  Counter& batches;
  Counter& errors;
  Histogram& batch_seconds;
  Gauge& lag_events;
  Gauge& lag_seconds;
  Gauge& dedup_ids;
  Gauge& interval;
  Gauge& cpu_seconds;
};

// Records read from the WAL, and what they become.
struct Loader::Batch {
  std::vector<wal::WalRecord> records;
  wal::Lsn next_lsn = 0;
  warehouse::LoadBatch load;
  std::vector<uint64_t> keys;  // dedup keys of load.events, in order
  int64_t oldest_received_us = 0;
};

Loader::Loader(wal::Wal& wal, warehouse::Warehouse& warehouse, LoaderOptions options,
               const Clock& clock, MetricsRegistry& metrics)
    : wal_(wal),
      warehouse_(warehouse),
      options_(std::move(options)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      dedup_(std::make_unique<DedupIndex>(options_.dedup_window.count(),
                                          options_.dedup_max_ids)) {}

Loader::~Loader() { stop(); }

Status Loader::start() {
  std::lock_guard lock(mu_);
  if (started_) return failed_precondition("the loader was already started");
  auto stored = warehouse_.load_offset(options_.consumer);
  if (!stored) return stored.status();
  wal::WalStats ws = wal_.stats();
  wal::Lsn from = stored->value_or(ws.first_lsn);
  if (from < ws.first_lsn) {
    uint64_t missing = ws.first_lsn - from;
    missing_ += missing;
    spdlog::error(
        "loader {}: the warehouse has loaded up to LSN {} but the WAL starts at {}: {} records "
        "were deleted before they were loaded and are missing; continuing from LSN {}",
        options_.consumer, from, ws.first_lsn, missing, ws.first_lsn);
    from = ws.first_lsn;
  } else if (from > ws.durable_end) {
    // The WAL is behind the warehouse: it was replaced. Its records are all new.
    spdlog::error(
        "loader {}: the warehouse has loaded up to LSN {} but the WAL ends at {} (was the WAL "
        "directory replaced?); loading the WAL from LSN {}",
        options_.consumer, from, ws.durable_end, ws.first_lsn);
    from = ws.first_lsn;
  }
  BASALT_RETURN_IF_ERROR(wal_.register_consumer(options_.consumer));
  BASALT_RETURN_IF_ERROR(wal_.commit(options_.consumer, from));
  auto reader = wal_.reader(from);
  if (!reader) return reader.status();

  int64_t now = clock_.now_us();
  dedup_->expire(now);
  Status rebuilt = warehouse_.for_each_loaded_message(
      now - options_.dedup_window.count(),
      [&](std::string_view source, std::string_view id, int64_t received_at) {
        dedup_->insert(DedupIndex::key_of(source, id), received_at);
      });
  BASALT_RETURN_IF_ERROR(rebuilt);
  spdlog::info("loader {}: starting at LSN {} ({} ids in the dedup index)", options_.consumer,
               from, dedup_->size());

  reader_ = std::move(*reader);
  position_ = from;
  last_commit_us_ = now;
  last_caught_up_us_ = now;
  dedup_ids_ = dedup_->size();
  metrics_->dedup_ids.set(static_cast<double>(dedup_->size()));
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "loader");  // for top and perf
    run();
  });
  return Status::ok();
}

void Loader::stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || joined_) return;
    if (!stopping_) {
      drain_target_ = wal_.stats().durable_end;
      drain_deadline_ = std::chrono::steady_clock::now() + options_.stop_deadline;
      stopping_.store(true, std::memory_order_release);
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  joined_ = true;
}

void Loader::run() {
  // Acknowledging events is the latency-critical work of the process; loading is throughput
  // work that may lag for a while and catch up. A positive nice value for this thread (Linux
  // applies setpriority to one thread when given its id) lets the scheduler give the I/O
  // threads the core first when both want it; DuckDB runs this batch's work on this thread.
  if (options_.thread_nice > 0) {
    if (Status s = set_current_thread_nice(options_.thread_nice); !s.is_ok()) {
      spdlog::warn("loader {}: cannot lower the thread's priority: {}", options_.consumer,
                   s.message());
    }
  }
  if (options_.idle_io) {
    if (Status s = lower_current_thread_io_priority(); !s.is_ok()) {
      spdlog::warn("loader {}: cannot lower the thread's I/O priority: {}", options_.consumer,
                   s.message());
    }
  }
  while (true) {
    // stopping() first: stop() sets the drain target before stopping_, so once stopping() is
    // seen the target read after it is the one stop() set (read first, it could be the 0 of
    // before and end the drain at once).
    const bool stop_asked = stopping();
    wal::Lsn target = drain_target_.load();
    std::chrono::steady_clock::time_point deadline;
    {
      std::lock_guard lock(mu_);
      deadline = drain_deadline_;
    }
    if (stop_asked && (next_unloaded() >= target ||
                       std::chrono::steady_clock::now() >= deadline)) {
      break;
    }
    Batch batch = read_batch();
    if (batch.records.empty()) {
      update_lag(0);
      if (stopping()) break;  // nothing more is durable: drained
      continue;
    }
    prepare(batch);
    update_lag(batch.oldest_received_us);
    if (!load_with_retry(batch)) break;
  }
  if (next_unloaded() < drain_target_) {
    spdlog::warn("loader {}: stopped at LSN {} before draining to {}; the rest loads at the "
                 "next start",
                 options_.consumer, position_.load(), drain_target_.load());
  }
}

std::chrono::milliseconds Loader::paced_interval(std::chrono::steady_clock::duration stored) const {
  if (options_.busy_share >= 1 || options_.busy_share <= 0) return options_.batch_interval;
  const double gather_s = std::chrono::duration<double>(stored).count() *
                          (1 - options_.busy_share) / options_.busy_share;
  const auto gather = std::chrono::milliseconds(static_cast<int64_t>(gather_s * 1000));
  return std::max(options_.batch_interval, std::min(gather, options_.max_batch_interval));
}

Loader::Batch Loader::read_batch() {
  Batch batch;
  auto start = std::chrono::steady_clock::now();
  interval_ = paced_interval(last_store_);
  metrics_->interval.set(std::chrono::duration<double>(interval_).count());
  size_t bytes = 0;
  batch.records = std::move(carry_);
  carry_.clear();
  for (const wal::WalRecord& r : batch.records) bytes += r.data.size();
  while (batch.records.size() < options_.batch_events && bytes < options_.batch_bytes) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (elapsed >= interval_) break;
    // Short waits, so stop() is noticed promptly; none while draining.
    auto wait = stopping() ? std::chrono::milliseconds(0)
                           : std::min(interval_ - elapsed, std::chrono::milliseconds(50));
    auto got = reader_->next(options_.batch_events - batch.records.size(),
                             options_.batch_bytes - bytes, wait);
    if (!got) {
      ++errors_;
      metrics_->errors.inc();
      spdlog::error("loader {}: reading the WAL at LSN {} failed: {}", options_.consumer,
                    reader_->position(), got.status().to_string());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.retry_initial, [&] { return stopping(); });
      break;
    }
    const bool got_some = !got->empty();
    for (auto& r : *got) {
      bytes += r.data.size();
      batch.records.push_back(std::move(r));
    }
    if (stopping() && (!got_some || reader_->position() >= drain_target_)) break;
    if (got_some && !stopping() && batch.records.size() < options_.batch_events &&
        bytes < options_.batch_bytes) {
      // Let records pile up instead of waking at every group the WAL makes durable (thousands
      // a second under load, each a context switch on the ingest threads' core): look again
      // after a slice of the interval, or at once when stop() is called.
      elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (elapsed >= interval_) break;
      const auto pause = std::min(interval_ - elapsed, read_pause());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, pause, [&] { return stopping(); });
    }
  }
  batch.next_lsn = reader_->position();
  return batch;
}

void Loader::prepare(Batch& batch) {
  const int64_t now = clock_.now_us();
  dedup_->expire(now);
  std::unordered_set<uint64_t> in_batch;
  in_batch.reserve(batch.records.size());  // rehashing it was 1 % of the loader's time
  batch.oldest_received_us = 0;
  batch.load.events.reserve(batch.records.size());
  // With more records than the warehouse's bulk size, a multiple of it is loaded (while
  // draining: everything) and the records after the last of its events wait for the next
  // batch, undecoded.
  const size_t bulk = warehouse_.bulk_events();
  size_t target = SIZE_MAX;
  if (bulk > 0 && !stopping() && batch.records.size() >= bulk) {
    target = batch.records.size() / bulk * bulk;
  }
  for (size_t i = 0; i < batch.records.size(); ++i) {
    if (batch.load.events.size() == target) {
      batch.next_lsn = batch.records[i].lsn;
      carry_.assign(std::make_move_iterator(batch.records.begin() + static_cast<ptrdiff_t>(i)),
                    std::make_move_iterator(batch.records.end()));
      break;
    }
    decode_record(batch.records[i], now, in_batch, batch);
    // The batch holds its own copies: freeing the record now keeps the batch's peak memory
    // near its decoded size instead of the sum of both.
    std::string().swap(batch.records[i].data);
  }
  batch.load.next_lsn = batch.next_lsn;
  batch.records.clear();
  batch.records.shrink_to_fit();
}

void Loader::decode_record(const wal::WalRecord& r, int64_t now,
                           std::unordered_set<uint64_t>& in_batch, Batch& batch) {
  auto kind = event::record_kind(r.data);
  Status why = kind.status();
  if (kind && *kind == event::RecordKind::kEvent) {
    // Decoded in its place in the batch, and taken out again when it is not loaded.
    event::Event& e = batch.load.events.emplace_back();
    why = event::decode_event(r.data, e);
    if (why.is_ok()) {
      if (batch.oldest_received_us == 0 || e.received_at_us < batch.oldest_received_us) {
        batch.oldest_received_us = e.received_at_us;
      }
      uint64_t key = DedupIndex::key_of(e.source, e.message_id);
      if (dedup_->contains(key) || !in_batch.insert(key).second) {
        ++duplicates_;
        metrics_->duplicates.inc();
        batch.load.events.pop_back();
        return;
      }
      batch.keys.push_back(key);
      return;
    }
    batch.load.events.pop_back();
  } else if (kind && *kind == event::RecordKind::kQuarantine) {
    auto q = event::decode_quarantined(r.data);
    if (q) {
      batch.load.quarantined.push_back(std::move(*q));
      return;
    }
    why = q.status();
  }
  // Undecodable: logged once here (a retried batch is not decoded again) and kept.
  ++undecodable_;
  spdlog::error("loader {}: WAL record at LSN {} cannot be decoded ({}); storing it in "
                "quarantine",
                options_.consumer, r.lsn, why.to_string());
  event::QuarantinedEvent q;
  q.received_at_us = now;
  q.reason = "undecodable WAL record: " + why.message() + " (LSN " + std::to_string(r.lsn) +
             ", raw shown as hex)";
  q.raw_json = hex_of(r.data);
  batch.load.quarantined.push_back(std::move(q));
}

void Loader::add_commit_listener(CommitListener listener) {
  std::lock_guard lock(listeners_mu_);
  commit_listeners_.push_back(std::move(listener));
}

void Loader::tell_listeners(CommitInfo& info, bool stored) {
  if (info.events == 0) return;
  info.stored = stored;
  std::lock_guard listeners_lock(listeners_mu_);
  for (const auto& l : commit_listeners_) l(info);
}

bool Loader::load_with_retry(Batch& batch) {
  CommitInfo info;
  info.events = batch.load.events.size();
  info.min_event_us = INT64_MAX;
  info.max_event_us = INT64_MIN;
  for (const auto& e : batch.load.events) {
    info.min_event_us = std::min(info.min_event_us, e.timestamp_us);
    info.max_event_us = std::max(info.max_event_us, e.timestamp_us);
    if (!e.user_id.empty()) info.users_changed = true;
  }
  tell_listeners(info, false);
  auto backoff = options_.retry_initial;
  bool failed_before = false;
  while (true) {
    auto t0 = std::chrono::steady_clock::now();
    Status s = warehouse_.load(batch.load, options_.consumer);
    if (s.is_ok()) {
      last_store_ = std::chrono::steady_clock::now() - t0;
      metrics_->batch_seconds.observe(std::chrono::duration<double>(last_store_).count());
      break;
    }
    ++errors_;
    metrics_->errors.inc();
    if (!failed_before) {
      spdlog::error("loader {}: storing the batch up to LSN {} failed, retrying with backoff: {}",
                    options_.consumer, batch.next_lsn, s.to_string());
      failed_before = true;
    }
    update_lag(batch.oldest_received_us);
    std::unique_lock lock(mu_);
    if (stopping() && std::chrono::steady_clock::now() >= drain_deadline_) {
      lock.unlock();
      tell_listeners(info, true);
      return false;
    }
    auto wait = backoff;
    if (stopping()) {
      wait = std::min<std::chrono::milliseconds>(
          wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                    drain_deadline_ - std::chrono::steady_clock::now()));
    }
    cv_.wait_for(lock, wait);
    backoff = std::min(backoff * 2, options_.retry_max);
  }
  if (failed_before) {
    spdlog::info("loader {}: the batch up to LSN {} is stored after retries", options_.consumer,
                 batch.next_lsn);
  }
  tell_listeners(info, true);

  // Stored: the warehouse now holds the offset; the WAL may drop what is before it.
  Status c = wal_.commit(options_.consumer, batch.next_lsn);
  if (!c.is_ok()) {
    spdlog::warn("loader {}: committing LSN {} to the WAL failed (segments are kept longer): {}",
                 options_.consumer, batch.next_lsn, c.to_string());
  }
  for (size_t i = 0; i < batch.keys.size(); ++i) {
    dedup_->insert(batch.keys[i], batch.load.events[i].received_at_us);
  }
  metrics_->cpu_seconds.set(thread_cpu_seconds());  // before the events it covers
  events_ += batch.load.events.size();
  quarantined_ += batch.load.quarantined.size();
  ++batches_;
  metrics_->events.inc(batch.load.events.size());
  metrics_->quarantined.inc(batch.load.quarantined.size());
  metrics_->batches.inc();
  position_ = batch.next_lsn;
  last_commit_us_ = clock_.now_us();
  dedup_ids_ = dedup_->size();
  dedup_evicted_ = dedup_->evicted_early();
  metrics_->dedup_ids.set(static_cast<double>(dedup_->size()));
  update_lag(0);
  return true;
}

void Loader::update_lag(int64_t oldest_unloaded_us) {
  wal::WalStats ws = wal_.stats();
  wal::Lsn pos = position_;
  uint64_t lag = ws.durable_end > pos ? ws.durable_end - pos : 0;
  int64_t now = clock_.now_us();
  double seconds = 0;
  if (lag == 0) {
    last_caught_up_us_ = now;
  } else {
    int64_t since = oldest_unloaded_us > 0 ? std::min<int64_t>(oldest_unloaded_us, now)
                                           : last_caught_up_us_.load();
    seconds = static_cast<double>(now - since) / 1e6;
  }
  lag_events_ = lag;
  lag_seconds_ = seconds;
  metrics_->lag_events.set(static_cast<double>(lag));
  metrics_->lag_seconds.set(seconds);
}

LoaderStats Loader::stats() const {
  LoaderStats s;
  s.events = events_;
  s.quarantined = quarantined_;
  s.undecodable = undecodable_;
  s.duplicates = duplicates_;
  s.batches = batches_;
  s.errors = errors_;
  s.missing_records = missing_;
  s.position = position_;
  s.lag_events = lag_events_;
  s.lag_seconds = lag_seconds_;
  s.dedup_ids = dedup_ids_;
  s.dedup_evicted_early = dedup_evicted_;
  return s;
}

bool Loader::stuck() const {
  wal::WalStats ws = wal_.stats();
  bool lag = ws.durable_end > position_.load();
  return lag && clock_.now_us() - last_commit_us_.load() >
                    std::chrono::duration_cast<std::chrono::microseconds>(options_.stuck_after)
                        .count();
}

}  // namespace basalt::loader
