#include "stream/kafka_loader.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>
#include <set>
#include <unordered_set>

#include "common/clock.h"
#include "loader/dedup_index.h"
#include "stream/stream_record.h"

namespace basalt::stream {

namespace {

struct KafkaFree {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ListFree {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListFree>;

void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) {
    spdlog::warn("kafka: {}: {}", fac, buf);
  } else {
    spdlog::debug("kafka: {}: {}", fac, buf);
  }
}

}  // namespace

std::string kafka_consumer_name(const std::string& topic, int32_t partition) {
  return "kafka:" + topic + ":" + std::to_string(partition);
}

// A partition's records read and not loaded yet.
struct KafkaLoader::Batch {
  std::string topic;
  int32_t partition = 0;
  warehouse::LoadBatch batch;  // next_lsn: the partition offset after the batch
  size_t records = 0;          // Kafka records read: events, quarantined, duplicates dropped
  std::vector<std::pair<uint64_t, int64_t>> keys;  // (dedup key, received_at) of the events
  std::chrono::steady_clock::time_point first_read{};
};

struct KafkaLoader::State {
  KafkaLoader* owner = nullptr;
  std::unique_ptr<rd_kafka_t, KafkaFree> rk;
  // Everything below up to the counters: protected by KafkaLoader::mu_.
  struct Partition {
    Batch open;            // being filled by the reading thread
    bool loading = false;  // a batch of it is queued or loading
    bool revoked = false;  // the load in progress gives up after its attempt
    bool broken = false;   // a batch was dropped at stop: nothing after it may be loaded
  };
  std::map<std::pair<std::string, int32_t>, Partition> partitions;
  std::deque<Batch> queue;  // sealed batches, at most one per partition
  size_t open_records = 0;  // records in open batches
  bool exit_load_threads = false;
  // Dedup (null when off): loaded ids, the ids of batches not loaded yet, and the partitions
  // whose stored ids the index holds (all it was assigned since its last build).
  std::unique_ptr<loader::DedupIndex> dedup;
  std::unordered_set<uint64_t> pending_keys;
  std::set<std::pair<std::string, int32_t>> indexed;
  bool built_once = false;  // the index covers what was stored before the first assignment
  bool paused = false;      // reading paused (reading thread only)
  size_t load_threads = 1;
  std::atomic<size_t> buffered{0};  // records read and not loaded (open, queued, loading)
  std::atomic<uint64_t> events{0}, quarantined{0}, batches{0}, errors{0}, duplicates{0};
  std::atomic<size_t> partitions_assigned{0}, dedup_ids{0};
};

KafkaLoader::KafkaLoader(warehouse::Warehouse& warehouse, KafkaLoaderOptions options,
                         MetricsRegistry& metrics)
    : warehouse_(warehouse),
      options_(std::move(options)),
      state_(std::make_unique<State>()),
      events_metric_(metrics.counter("basalt_kafka_loader_events_total",
                                     "Events loaded from Kafka into the warehouse")),
      batches_metric_(metrics.counter("basalt_kafka_loader_batches_total",
                                      "Partition batches committed to the warehouse")),
      errors_metric_(metrics.counter("basalt_kafka_loader_errors_total",
                                     "Failed warehouse loads and offset lookups (each retried)")),
      duplicates_metric_(metrics.counter(
          "basalt_kafka_loader_duplicates_total",
          "Events dropped because their (source, messageId) was loaded within the window")),
      clock_(options_.clock ? *options_.clock : SystemClock::instance()) {
  state_->owner = this;
  State* s = state_.get();
  metrics.gauge_callback("basalt_kafka_loader_partitions", "Kafka partitions assigned",
                         [s] { return static_cast<double>(s->partitions_assigned.load()); });
  metrics.gauge_callback("basalt_kafka_loader_dedup_ids", "Message ids in the dedup index",
                         [s] { return static_cast<double>(s->dedup_ids.load()); });
  if (options_.dedup_window.count() > 0) {
    state_->dedup = std::make_unique<loader::DedupIndex>(
        std::chrono::duration_cast<std::chrono::microseconds>(options_.dedup_window).count(),
        options_.dedup_max_ids);
  }
}

Status KafkaLoader::rebuild_dedup() {
  if (!state_->dedup) return Status::ok();
  loader::DedupIndex& index = *state_->dedup;
  const int64_t now = clock_.now_us();
  index.expire(now);
  const int64_t window =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.dedup_window).count();
  std::lock_guard lock(mu_);
  Status s = warehouse_.for_each_loaded_message(
      now - window, [&](std::string_view source, std::string_view id, int64_t received_at) {
        index.insert(loader::DedupIndex::key_of(source, id), received_at);
      });
  state_->dedup_ids = index.size();
  return s;
}

KafkaLoader::~KafkaLoader() { stop(); }

namespace {

// Runs on the loader thread inside rd_kafka_consumer_poll.
void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque);

}  // namespace

Status KafkaLoader::start() {
  if (Status s = rebuild_dedup(); !s.is_ok()) {
    return Status(s.code(),
                  "kafka loader: listing the loaded message ids for dedup: " + s.message());
  }
  spdlog::info("kafka loader: {} message ids in the dedup index", state_->dedup_ids.load());
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options_.brokers}, {"group.id", options_.group},
      {"enable.auto.commit", "false"},         {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},       {"isolation.level", "read_committed"},
  };
  for (const auto& [k, v] : options_.properties) props[k] = v;
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return invalid_argument("kafka property " + k + ": " + err);
    }
  }
  rd_kafka_conf_set_opaque(conf, state_.get());
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return invalid_argument(std::string("kafka consumer: ") + err);
  }
  state_->rk.reset(rk);
  rd_kafka_poll_set_consumer(rk);
  PartitionList topics(rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size())));
  for (const auto& t : options_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get()); e) {
    return invalid_argument(std::string("kafka subscribe: ") + rd_kafka_err2str(e));
  }
  state_->load_threads =
      warehouse_.concurrent_loads() ? std::max<size_t>(1, options_.load_threads) : 1;
  for (size_t i = 0; i < state_->load_threads; ++i) {
    load_threads_.emplace_back([this] { load_thread(); });
  }
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void KafkaLoader::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    give_up_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }
  cv_.notify_all();
  thread_.join();
}

KafkaLoaderStats KafkaLoader::stats() const {
  KafkaLoaderStats s;
  s.events = state_->events;
  s.quarantined = state_->quarantined;
  s.batches = state_->batches;
  s.errors = state_->errors;
  s.duplicates = state_->duplicates;
  s.partitions = state_->partitions_assigned;
  return s;
}

namespace {

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* state = static_cast<KafkaLoader::State*>(opaque);
  state->owner->on_partitions(rk, err, partitions);
}

}  // namespace

void KafkaLoader::on_partitions(rd_kafka_t* rk, int err, rd_kafka_topic_partition_list_t* list) {
  State& st = *state_;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // A partition the index does not cover (new to this loader, or back after a revocation)
    // may carry ids another loader stored since the index was built: read them again. The
    // first assignment after start is covered by the build in start().
    bool fresh_partition = false;
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < list->cnt; ++i) {
        fresh_partition |=
            st.indexed.insert({list->elems[i].topic, list->elems[i].partition}).second;
      }
    }
    if (fresh_partition && st.dedup && st.built_once) {
      std::chrono::milliseconds delay = options_.retry_initial;
      while (true) {
        Status s = rebuild_dedup();
        if (s.is_ok()) break;
        ++st.errors;
        errors_metric_.inc();
        spdlog::warn("kafka loader: listing the loaded message ids for dedup failed: {}",
                     s.to_string());
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, delay, [&] { return stopping_.load(); })) break;
        delay = std::min(delay * 2, options_.retry_max);
      }
    }
    st.built_once = true;
    // Start each partition where the warehouse says its rows end.
    for (int i = 0; i < list->cnt; ++i) {
      rd_kafka_topic_partition_t& p = list->elems[i];
      std::string name = kafka_consumer_name(p.topic, p.partition);
      std::chrono::milliseconds delay = options_.retry_initial;
      while (true) {
        auto offset = warehouse_.load_offset(name);
        if (offset) {
          p.offset = offset->has_value() ? static_cast<int64_t>(**offset) : RD_KAFKA_OFFSET_INVALID;
          break;
        }
        ++st.errors;
        errors_metric_.inc();
        spdlog::warn("kafka loader: reading the offset of {} from the warehouse failed: {}", name,
                     offset.status().to_string());
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, delay, [&] { return stopping_.load(); })) {
          p.offset = RD_KAFKA_OFFSET_INVALID;
          break;
        }
        delay = std::min(delay * 2, options_.retry_max);
      }
      spdlog::info("kafka loader: assigned {} from offset {}", name,
                   p.offset == RD_KAFKA_OFFSET_INVALID ? std::string("committed/earliest")
                                                       : std::to_string(p.offset));
    }
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < list->cnt; ++i) {
        Batch& open = st.partitions[{list->elems[i].topic, list->elems[i].partition}].open;
        open.topic = list->elems[i].topic;
        open.partition = list->elems[i].partition;
      }
    }
    rd_kafka_assign(rk, list);
    // librdkafka keeps a partition's pause across its revocation, and reading may have been
    // resumed while this loader had no partitions: set each new one to the reading state now.
    if (st.paused) {
      rd_kafka_pause_partitions(rk, list);
    } else {
      rd_kafka_resume_partitions(rk, list);
    }
    st.partitions_assigned = static_cast<size_t>(list->cnt);
    return;
  }
  // Revoked: a load in progress finishes its attempt first (the next owner reads the offset
  // it stores); what was read and not loaded is read again by the next owner, from the
  // warehouse's offset.
  std::unique_lock lock(mu_);
  auto drop = [&](Batch& b) {
    for (const auto& k : b.keys) st.pending_keys.erase(k.first);
    st.buffered -= b.records;
  };
  std::vector<std::pair<std::string, int32_t>> revoked;
  for (int i = 0; i < list->cnt; ++i) {
    std::pair<std::string, int32_t> key{list->elems[i].topic, list->elems[i].partition};
    // Another loader may store this partition's ids now: not covered once it comes back.
    st.indexed.erase(key);
    auto it = st.partitions.find(key);
    if (it == st.partitions.end()) continue;
    drop(it->second.open);
    st.open_records -= it->second.open.records;
    it->second.open = Batch{};
    it->second.revoked = true;
    revoked.push_back(key);
  }
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    auto p = st.partitions.find({it->topic, it->partition});
    if (p != st.partitions.end() && p->second.revoked) {
      drop(*it);
      p->second.loading = false;
      it = st.queue.erase(it);
    } else {
      ++it;
    }
  }
  cv_.notify_all();
  cv_.wait(lock, [&] {
    for (const auto& key : revoked) {
      if (st.partitions[key].loading) return false;
    }
    return true;
  });
  for (const auto& key : revoked) st.partitions.erase(key);
  lock.unlock();
  rd_kafka_assign(rk, nullptr);
  st.partitions_assigned = 0;
}

void KafkaLoader::add_record(const rd_kafka_message_t& m) {
  State& st = *state_;
  std::string topic = rd_kafka_topic_name(m.rkt);
  std::string_view payload(static_cast<const char*>(m.payload), m.len);
  // Parsed before taking the lock: the reading thread's CPU goes here.
  auto e = parse_stream_record(payload);
  std::optional<uint64_t> key;
  if (e && st.dedup) key = loader::DedupIndex::key_of(e->source, e->message_id);
  std::lock_guard lock(mu_);
  State::Partition& part = st.partitions[{topic, m.partition}];
  Batch& b = part.open;
  if (part.broken) return;  // stopping: nothing of it is loaded any more
  if (b.records == 0) {
    b.topic = topic;
    b.partition = m.partition;
    b.first_read = std::chrono::steady_clock::now();
  }
  if (e) {
    if (key && (st.dedup->contains(*key) || !st.pending_keys.insert(*key).second)) {
      ++st.duplicates;
      duplicates_metric_.inc();
    } else {
      if (key) b.keys.emplace_back(*key, e->received_at_us);
      b.batch.events.push_back(std::move(*e));
    }
  } else {
    event::QuarantinedEvent q;
    // The record's own time, so a record read again after a restart is the same row (the
    // ClickHouse engine recognises rows of an interrupted load by it).
    rd_kafka_timestamp_type_t type;
    int64_t ms = rd_kafka_message_timestamp(&m, &type);
    q.received_at_us = type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ms >= 0
                           ? ms * 1000
                           : SystemClock::instance().now_us();
    q.reason = "undecodable stream record at " + topic + "/" + std::to_string(m.partition) + "@" +
               std::to_string(m.offset) + ": " + e.status().message();
    q.raw_json = std::string(payload);
    b.batch.quarantined.push_back(std::move(q));
  }
  b.batch.next_lsn = static_cast<uint64_t>(m.offset + 1);
  ++b.records;
  ++st.open_records;
  ++st.buffered;
}

void KafkaLoader::seal_ready(bool all) {
  State& st = *state_;
  if (st.open_records == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // As one batch over all partitions: when the records read reach batch_events or the
  // oldest waits batch_interval, every partition that is not loading hands its batch over.
  bool due = all || st.open_records >= options_.batch_events;
  for (const auto& [key, p] : st.partitions) {
    if (p.open.records > 0 && now - p.open.first_read >= options_.batch_interval) due = true;
  }
  if (!due) return;
  bool sealed = false;
  for (auto& [key, p] : st.partitions) {
    if (p.loading || p.broken || p.open.records == 0) continue;
    st.open_records -= p.open.records;
    Batch next;
    next.topic = p.open.topic;
    next.partition = p.open.partition;
    st.queue.push_back(std::exchange(p.open, std::move(next)));
    p.loading = true;
    sealed = true;
  }
  if (sealed) cv_.notify_all();
}

void KafkaLoader::load_thread() {
  State& st = *state_;
  while (true) {
    Batch b;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !st.queue.empty() || st.exit_load_threads; });
      if (st.queue.empty()) return;
      b = std::move(st.queue.front());
      st.queue.pop_front();
    }
    bool stored = load_with_retry(b);
    finish(b, stored);
  }
}

bool KafkaLoader::load_with_retry(Batch& b) {
  State& st = *state_;
  std::string name = kafka_consumer_name(b.topic, b.partition);
  std::chrono::milliseconds delay = options_.retry_initial;
  if (st.dedup) {
    std::lock_guard lock(mu_);
    st.dedup->expire(clock_.now_us());
  }
  while (true) {
    Status s = warehouse_.load(b.batch, name);
    if (s.is_ok()) return true;
    ++st.errors;
    errors_metric_.inc();
    spdlog::warn("kafka loader: loading {} records of {} failed, retrying: {}",
                 b.batch.events.size(), name, s.to_string());
    std::unique_lock lock(mu_);
    auto give_up = [&] {
      return st.partitions[{b.topic, b.partition}].revoked ||
             (stopping_ && std::chrono::steady_clock::now() > give_up_at_);
    };
    cv_.wait_for(lock, delay, give_up);
    if (give_up()) return false;
    delay = std::min(delay * 2, options_.retry_max);
  }
}

void KafkaLoader::finish(Batch& b, bool stored) {
  State& st = *state_;
  std::lock_guard lock(mu_);
  State::Partition& p = st.partitions[{b.topic, b.partition}];
  if (stored) {
    st.events += b.batch.events.size();
    st.quarantined += b.batch.quarantined.size();
    ++st.batches;
    events_metric_.inc(b.batch.events.size());
    batches_metric_.inc();
    // The group's offset follows the warehouse's (for lag monitoring and tools); asynchronous,
    // as nothing relies on it.
    PartitionList offsets(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(offsets.get(), b.topic.c_str(), b.partition)->offset =
        static_cast<int64_t>(b.batch.next_lsn);
    if (rd_kafka_resp_err_t e = rd_kafka_commit(st.rk.get(), offsets.get(), /*async=*/1); e) {
      spdlog::warn(
          "kafka loader: committing the group offset of {} failed (the warehouse has it): {}",
          kafka_consumer_name(b.topic, b.partition), rd_kafka_err2str(e));
    }
    if (st.dedup) {
      for (const auto& [key, received_at] : b.keys) {
        st.dedup->insert(key, received_at);
        st.pending_keys.erase(key);
      }
      st.dedup_ids = st.dedup->size();
    }
  } else {
    for (const auto& k : b.keys) st.pending_keys.erase(k.first);
    if (!p.revoked) {
      // Given up at stop: what was read after it must not be loaded over the gap.
      p.broken = true;
      for (const auto& k : p.open.keys) st.pending_keys.erase(k.first);
      st.open_records -= p.open.records;
      st.buffered -= p.open.records;
      p.open = Batch{};
    }
  }
  st.buffered -= b.records;
  p.loading = false;
  // Its next batch may be due already (it grew while this one loaded).
  seal_ready(/*all=*/stopping_);
  cv_.notify_all();
}

void KafkaLoader::pace_reading() {
  State& st = *state_;
  const size_t limit =
      options_.max_buffered > 0 ? options_.max_buffered : 4 * options_.batch_events;
  const size_t buffered = st.buffered;
  if (st.paused == (buffered >= limit) || (st.paused && buffered >= limit / 2)) return;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(st.rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionList assigned(raw);
  if (st.paused) {
    rd_kafka_resume_partitions(st.rk.get(), assigned.get());
  } else {
    rd_kafka_pause_partitions(st.rk.get(), assigned.get());
  }
  st.paused = !st.paused;
}

void KafkaLoader::run() {
  State& st = *state_;
  rd_kafka_t* rk = st.rk.get();
  while (!stopping_) {
    pace_reading();
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 50);
    if (m != nullptr) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        add_record(*m);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("kafka loader: {}", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    std::lock_guard lock(mu_);
    seal_ready(/*all=*/false);
  }
  // Stopping: load what was read (each partition's batches in order), then let the load
  // threads go.
  {
    std::unique_lock lock(mu_);
    while (true) {
      seal_ready(/*all=*/true);
      bool busy = !st.queue.empty();
      for (const auto& [key, p] : st.partitions)
        busy = busy || p.loading || (p.open.records > 0 && !p.broken);
      if (!busy) break;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    st.exit_load_threads = true;
  }
  cv_.notify_all();
  for (auto& t : load_threads_) t.join();
  load_threads_.clear();
  rd_kafka_consumer_close(rk);
}

}  // namespace basalt::stream
