#include "stream/sink_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "event/event.h"
#include "stream/stream_record.h"

namespace basalt::stream {

SinkRunner::SinkRunner(wal::Wal& wal, std::unique_ptr<Sink> sink, SinkRunnerOptions options,
                       const Clock& clock, MetricsRegistry& metrics)
    : wal_(wal),
      sink_(std::move(sink)),
      options_(std::move(options)),
      consumer_("sink:" + options_.name),
      clock_(clock),
      delivered_metric_(metrics.counter("basalt_sink_delivered_total",
                                        "Events acknowledged by a stream sink",
                                        {{"sink", options_.name}})),
      errors_metric_(metrics.counter("basalt_sink_errors_total",
                                     "Failed deliveries of a stream sink (each retried)",
                                     {{"sink", options_.name}})),
      dropped_metric_(metrics.counter(
          "basalt_sink_dropped_total",
          "Events a stream sink never sent: skipped past the WAL disk budget (drop_oldest) "
          "or lost to deleted segments",
          {{"sink", options_.name}})) {
  metrics.gauge_callback(
      "basalt_sink_lag_events", "Durable WAL records a stream sink has not delivered yet",
      [this] { return static_cast<double>(stats().lag_events); }, {{"sink", options_.name}});
  metrics.gauge_callback("basalt_sink_up", "1 when the last delivery of a stream sink succeeded",
                         [this] { return connected_.load() ? 1.0 : 0.0; },
                         {{"sink", options_.name}});
}

SinkRunner::~SinkRunner() { stop(); }

Status SinkRunner::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return failed_precondition("sink " + options_.name + " already started");
  }
  BASALT_RETURN_IF_ERROR(wal_.register_consumer(consumer_));
  auto from = wal_.committed(consumer_);
  if (!from) return from.status();
  wal::Lsn first = wal_.stats().first_lsn;
  if (*from < first) {
    spdlog::warn("sink {}: records {}..{} were deleted from the WAL before it sent them",
                 options_.name, *from, first);
    dropped_ += first - *from;
    dropped_metric_.inc(first - *from);
    *from = first;
    BASALT_RETURN_IF_ERROR(wal_.commit(consumer_, first));
  }
  auto reader = wal_.reader(*from);
  if (!reader) return reader.status();
  reader_ = std::move(*reader);
  position_ = *from;
  pending_end_ = *from;
  last_progress_us_ = clock_.now_us();
  std::lock_guard lock(mu_);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void SinkRunner::stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || joined_) return;
    joined_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + options_.stop_deadline;
    drain_target_ = wal_.stats().durable_end;
    stopping_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  thread_.join();
}

SinkStats SinkRunner::stats() const {
  SinkStats s;
  s.delivered = delivered_;
  s.errors = errors_;
  s.dropped = dropped_;
  s.skipped = skipped_;
  s.position = position_;
  wal::Lsn end = wal_.stats().durable_end;
  s.lag_events = end > s.position ? end - s.position : 0;
  s.connected = connected_;
  std::lock_guard lock(mu_);
  s.last_error = last_error_;
  return s;
}

bool SinkRunner::stuck() const {
  SinkStats s = stats();
  return s.lag_events > 0 &&
         clock_.now_us() - last_progress_us_.load() >
             std::chrono::duration_cast<std::chrono::microseconds>(options_.stuck_after).count();
}

bool SinkRunner::wanted(const std::string& source) const {
  return options_.sources.empty() || std::find(options_.sources.begin(), options_.sources.end(),
                                               source) != options_.sources.end();
}

void SinkRunner::commit(wal::Lsn next) {
  if (next <= position_.load()) return;
  if (Status s = wal_.commit(consumer_, next); !s.is_ok()) {
    spdlog::warn("sink {}: committing LSN {} failed (resent after a restart): {}", options_.name,
                 next, s.to_string());
    return;
  }
  position_ = next;
  last_progress_us_ = clock_.now_us();
}

bool SinkRunner::backoff(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping(); });
  return !stopping();
}

bool SinkRunner::fill() {
  auto got = reader_->next(options_.batch_events, options_.batch_bytes, options_.poll_wait);
  if (!got) {
    spdlog::error("sink {}: reading the WAL at {} failed: {}", options_.name, reader_->position(),
                  got.status().to_string());
    return false;
  }
  for (auto& r : *got) {
    auto kind = event::record_kind(r.data);
    if (!kind || *kind != event::RecordKind::kEvent) {
      ++skipped_;  // quarantined events stay in the warehouse; undecodable ones too
      continue;
    }
    auto e = event::decode_event(r.data);
    if (!e) {
      ++skipped_;
      continue;
    }
    if (!wanted(e->source)) {
      ++skipped_;
      continue;
    }
    SinkRecord rec;
    rec.lsn = r.lsn;
    rec.source = e->source;
    rec.key = std::string(ordering_key(*e));
    rec.json = stream_record(*e);
    pending_.push_back(std::move(rec));
  }
  pending_end_ = reader_->position();
  return true;
}

void SinkRunner::maybe_drop_oldest() {
  if (options_.overflow != OverflowPolicy::kDropOldest || options_.disk_budget_bytes == 0) return;
  wal::WalStats ws = wal_.stats();
  if (ws.bytes_on_disk + options_.segment_bytes <= options_.disk_budget_bytes) return;
  wal::Lsn at = pending_.empty() ? pending_end_ : pending_[pending_acked_].lsn;
  wal::Lsn end = wal_.oldest_segment_end();
  if (at >= end) return;  // not this sink that holds the oldest segment
  auto reader = wal_.reader(end);
  if (!reader) {
    spdlog::error("sink {}: cannot skip to LSN {}: {}", options_.name, end,
                  reader.status().to_string());
    return;
  }
  uint64_t skipped = end - at;
  spdlog::warn("sink {}: the WAL is past its disk budget: dropping {} records (LSN {}..{})",
               options_.name, skipped, at, end);
  dropped_ += skipped;
  dropped_metric_.inc(skipped);
  reader_ = std::move(*reader);
  pending_.clear();
  pending_acked_ = 0;
  pending_end_ = end;
  commit(end);
}

void SinkRunner::run() {
  std::chrono::milliseconds delay = options_.retry_initial;
  while (true) {
    if (stopping()) {
      std::lock_guard lock(mu_);
      wal::Lsn at = pending_.empty() ? pending_end_ : pending_[pending_acked_].lsn;
      if (at >= drain_target_.load() || std::chrono::steady_clock::now() > drain_deadline_) break;
    }
    maybe_drop_oldest();
    if (pending_.empty()) {
      if (!fill()) {
        errors_metric_.inc();
        ++errors_;
        if (!backoff(delay)) break;
        delay = std::min(delay * 2, options_.retry_max);
        continue;
      }
      if (pending_.empty()) {
        commit(pending_end_);  // nothing for this sink in what was read
        continue;
      }
    }
    std::span<const SinkRecord> rest(pending_.data() + pending_acked_,
                                     pending_.size() - pending_acked_);
    DeliveryReport report = sink_->deliver(rest);
    report.acknowledged = std::min(report.acknowledged, rest.size());
    if (report.acknowledged > 0) {
      delivered_ += report.acknowledged;
      delivered_metric_.inc(report.acknowledged);
      pending_acked_ += report.acknowledged;
    }
    if (pending_acked_ == pending_.size()) {
      pending_.clear();
      pending_acked_ = 0;
      commit(pending_end_);
      connected_ = true;
      delay = options_.retry_initial;
      continue;
    }
    commit(pending_[pending_acked_].lsn);
    connected_ = false;
    ++errors_;
    errors_metric_.inc();
    {
      std::lock_guard lock(mu_);
      if (last_error_ != report.status.message()) {
        spdlog::warn("sink {} ({}): delivery failed, retrying with backoff: {}", options_.name,
                     sink_->description(), report.status.to_string());
      }
      last_error_ = report.status.message();
    }
    if (!backoff(delay)) break;  // a failing sink does not hold up stopping
    delay = std::min(delay * 2, options_.retry_max);
  }
}

}  // namespace basalt::stream
