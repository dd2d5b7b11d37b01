#include "stream/kafka_loader.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

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

struct KafkaLoader::State {
  KafkaLoader* owner = nullptr;
  std::unique_ptr<rd_kafka_t, KafkaFree> rk;
  struct Pending {
    std::string topic;
    int32_t partition = 0;
    warehouse::LoadBatch batch;  // next_lsn: the partition offset after the batch
    size_t records = 0;          // Kafka records read: events, quarantined, duplicates dropped
    std::vector<std::pair<uint64_t, int64_t>> keys;  // (dedup key, received_at) of the events
  };
  std::map<std::pair<std::string, int32_t>, Pending> pending;
  size_t pending_records = 0;
  // Dedup (null when off): loaded ids, the ids of pending batches, and the partitions whose
  // stored ids the index holds (all it was assigned since its last build).
  std::unique_ptr<loader::DedupIndex> dedup;
  std::unordered_set<uint64_t> pending_keys;
  std::set<std::pair<std::string, int32_t>> indexed;
  bool built_once = false;  // the index covers what was stored before the first assignment
  std::atomic<uint64_t> events{0}, quarantined{0}, batches{0}, errors{0}, duplicates{0};
  std::atomic<size_t> partitions{0}, dedup_ids{0};
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
                         [s] { return static_cast<double>(s->partitions.load()); });
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
    return Status(s.code(), "kafka loader: listing the loaded message ids for dedup: " +
                                s.message());
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
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void KafkaLoader::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
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
  s.partitions = state_->partitions;
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
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // A partition the index does not cover (new to this loader, or back after a revocation)
    // may carry ids another loader stored since the index was built: read them again. The
    // first assignment after start is covered by the build in start().
    bool fresh_partition = false;
    for (int i = 0; i < list->cnt; ++i) {
      fresh_partition |=
          state_->indexed.insert({list->elems[i].topic, list->elems[i].partition}).second;
    }
    if (fresh_partition && state_->dedup && state_->built_once) {
      std::chrono::milliseconds delay = options_.retry_initial;
      while (true) {
        Status s = rebuild_dedup();
        if (s.is_ok()) break;
        ++state_->errors;
        errors_metric_.inc();
        spdlog::warn("kafka loader: listing the loaded message ids for dedup failed: {}",
                     s.to_string());
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, delay, [&] { return stopping_.load(); })) break;
        delay = std::min(delay * 2, options_.retry_max);
      }
    }
    state_->built_once = true;
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
        ++state_->errors;
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
    rd_kafka_assign(rk, list);
    state_->partitions = static_cast<size_t>(list->cnt);
  } else {
    // Revoked: what was read but not loaded is read again by the next owner, from the
    // warehouse's offset.
    for (int i = 0; i < list->cnt; ++i) {
      // Another loader may store this partition's ids now: not covered once it comes back.
      state_->indexed.erase({list->elems[i].topic, list->elems[i].partition});
      auto it = state_->pending.find({list->elems[i].topic, list->elems[i].partition});
      if (it != state_->pending.end()) {
        state_->pending_records -= it->second.records;
        for (const auto& k : it->second.keys) state_->pending_keys.erase(k.first);
        state_->pending.erase(it);
      }
    }
    rd_kafka_assign(rk, nullptr);
    state_->partitions = 0;
  }
}

bool KafkaLoader::flush(bool final_flush) {
  if (state_->dedup) state_->dedup->expire(clock_.now_us());
  auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto it = state_->pending.begin(); it != state_->pending.end();) {
    State::Pending& p = it->second;
    std::string name = kafka_consumer_name(p.topic, p.partition);
    std::chrono::milliseconds delay = options_.retry_initial;
    while (true) {
      Status s = warehouse_.load(p.batch, name);
      if (s.is_ok()) break;
      ++state_->errors;
      errors_metric_.inc();
      spdlog::warn("kafka loader: loading {} records of {} failed, retrying: {}",
                   p.batch.events.size(), name, s.to_string());
      std::unique_lock lock(mu_);
      bool stop = cv_.wait_for(lock, delay, [&] { return stopping_.load(); });
      if (stop && (!final_flush || std::chrono::steady_clock::now() > give_up_at)) return false;
      delay = std::min(delay * 2, options_.retry_max);
    }
    state_->events += p.batch.events.size();
    state_->quarantined += p.batch.quarantined.size();
    ++state_->batches;
    events_metric_.inc(p.batch.events.size());
    batches_metric_.inc();
    // The group's offset follows the warehouse's (for lag monitoring and tools).
    PartitionList offsets(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(offsets.get(), p.topic.c_str(), p.partition)->offset =
        static_cast<int64_t>(p.batch.next_lsn);
    if (rd_kafka_resp_err_t e = rd_kafka_commit(state_->rk.get(), offsets.get(), 0); e) {
      spdlog::warn(
          "kafka loader: committing the group offset of {} failed (the warehouse has "
          "it): {}",
          name, rd_kafka_err2str(e));
    }
    if (state_->dedup) {
      for (const auto& [key, received_at] : p.keys) {
        state_->dedup->insert(key, received_at);
        state_->pending_keys.erase(key);
      }
      state_->dedup_ids = state_->dedup->size();
    }
    state_->pending_records -= p.records;
    it = state_->pending.erase(it);
  }
  return true;
}

void KafkaLoader::run() {
  rd_kafka_t* rk = state_->rk.get();
  auto last_flush = std::chrono::steady_clock::now();
  while (!stopping_) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m != nullptr) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::string topic = rd_kafka_topic_name(m->rkt);
        State::Pending& p = state_->pending[{topic, m->partition}];
        p.topic = topic;
        p.partition = m->partition;
        std::string_view payload(static_cast<const char*>(m->payload), m->len);
        auto e = parse_stream_record(payload);
        if (e) {
          uint64_t key = loader::DedupIndex::key_of(e->source, e->message_id);
          if (state_->dedup &&
              (state_->dedup->contains(key) || !state_->pending_keys.insert(key).second)) {
            ++state_->duplicates;
            duplicates_metric_.inc();
          } else {
            if (state_->dedup) p.keys.emplace_back(key, e->received_at_us);
            p.batch.events.push_back(std::move(*e));
          }
        } else {
          event::QuarantinedEvent q;
          q.received_at_us = SystemClock::instance().now_us();
          q.reason = "undecodable stream record at " + topic + "/" + std::to_string(m->partition) +
                     "@" + std::to_string(m->offset) + ": " + e.status().message();
          q.raw_json = std::string(payload);
          p.batch.quarantined.push_back(std::move(q));
        }
        p.batch.next_lsn = static_cast<uint64_t>(m->offset + 1);
        ++p.records;
        ++state_->pending_records;
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("kafka loader: {}", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    auto now = std::chrono::steady_clock::now();
    if (state_->pending_records >= options_.batch_events ||
        (state_->pending_records > 0 && now - last_flush >= options_.batch_interval)) {
      if (!flush(false)) break;
      last_flush = std::chrono::steady_clock::now();
    }
  }
  flush(true);
  rd_kafka_consumer_close(rk);
}

}  // namespace basalt::stream
