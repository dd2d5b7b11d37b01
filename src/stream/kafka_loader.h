#pragma once
// The loader of a loader node (`basalt load --from kafka`): a Kafka consumer in a consumer
// group reading the stream records the collectors' Kafka sinks wrote, loading them into the
// warehouse in micro-batches. Several loaders with the same group share the partitions.
//
// Exactly once: each partition is a warehouse consumer of its own ("kafka:<topic>:<partition>")
// whose offset the warehouse stores with the rows (Warehouse::load). When a partition is
// assigned, reading starts from the warehouse's offset, so the group's committed offsets —
// committed only after the warehouse commit, for monitoring and tools — are never trusted
// over it. Records that are not stream records go to quarantine.
//
// Duplicates: as the WAL loader, an event whose (source, messageId) was loaded within
// `dedup_window` (by received_at) is dropped — a client's retry that reached two collectors,
// or one collector twice. The index (loader/dedup_index.h) is built from the warehouse at
// start, and again when the group assigns this loader a partition it did not have, so a
// partition moved from another loader keeps dropping what that loader stored. Within one
// loader, duplicates in batches not yet loaded are dropped too.
//
// Pipeline: one thread reads and parses records into a batch per partition; load threads
// store sealed batches meanwhile — several partitions at once when the warehouse allows
// concurrent loads (Warehouse::concurrent_loads), one batch of a partition at a time and in
// order, so each partition's offsets stay exact. While a partition's batch loads, its next
// batch keeps growing (a slow warehouse gets bigger, fewer loads); past `max_buffered` records
// read and not loaded, reading pauses until loads catch up. When the group revokes a
// partition, the revocation waits for its load in progress (the next owner reads the offset
// that load stored) and drops the rest.
//
// Thread safety: start(), stop() and stats() from any thread; the loader runs its own threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "warehouse/warehouse.h"

struct rd_kafka_s;
struct rd_kafka_topic_partition_list_s;
struct rd_kafka_message_s;

namespace basalt::stream {

struct KafkaLoaderOptions {
  std::string brokers;
  std::vector<std::string> topics = {"basalt-events"};
  std::string group = "basalt-loader";
  std::map<std::string, std::string> properties;  // librdkafka properties as is (TLS, SASL)
  size_t batch_events = 50000;
  std::chrono::milliseconds batch_interval{500};
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{5000};
  // (source, messageId) pairs loaded within this window are dropped (loader.dedup_window);
  // 0 turns dedup off.
  std::chrono::seconds dedup_window{24 * 3600};
  size_t dedup_max_ids = 20'000'000;  // memory bound of the index (loader.dedup_max_ids)
  const Clock* clock = nullptr;       // borrowed; nullptr: the system clock
  // Partition batches loaded at once when the warehouse allows concurrent loads; else one.
  size_t load_threads = 4;
  // Records read and not loaded yet, at most (0: 4 × batch_events); reading pauses past it.
  size_t max_buffered = 0;
};

struct KafkaLoaderStats {
  uint64_t events = 0;       // events stored
  uint64_t quarantined = 0;  // records that were not stream records
  uint64_t batches = 0;
  uint64_t errors = 0;      // failed warehouse loads (each retried)
  uint64_t duplicates = 0;  // events dropped as (source, messageId) already loaded
  size_t partitions = 0;    // partitions assigned to this loader now
};

// The warehouse consumer name of one partition.
std::string kafka_consumer_name(const std::string& topic, int32_t partition);

class KafkaLoader {
 public:
  // Borrows `warehouse` and `metrics`.
  KafkaLoader(warehouse::Warehouse& warehouse, KafkaLoaderOptions options,
              MetricsRegistry& metrics);
  ~KafkaLoader();
  KafkaLoader(const KafkaLoader&) = delete;
  KafkaLoader& operator=(const KafkaLoader&) = delete;

  // Builds the dedup index from the warehouse, creates the consumer and subscribes;
  // kInvalidArgument for a property librdkafka refuses, the warehouse's error when it cannot
  // list what it stored.
  Status start();
  // Loads what was read, leaves the group and joins the thread. Idempotent.
  void stop();
  KafkaLoaderStats stats() const;

  struct State;  // librdkafka handles, per-partition batches, the load queue
  // The rebalance callback (on the reading thread): seeks assigned partitions to the
  // warehouse's offsets; for revoked ones, waits for their loads in progress and drops the
  // rest of what was read.
  void on_partitions(rd_kafka_s* rk, int err, rd_kafka_topic_partition_list_s* list);

 private:
  struct Batch;
  // The reading thread: polls, parses, batches; at stop, hands over and waits for the rest.
  void run();
  // Adds one record read to its partition's batch (dedup, quarantine).
  void add_record(const rd_kafka_message_s& m);
  // Queues the batches that are ready (all of them when `all`). REQUIRES mu_ held.
  void seal_ready(bool all);
  // A load thread: loads queued batches until told to exit.
  void load_thread();
  // Loads `b`, retrying; false when its partition was revoked or stopping gave up on it.
  bool load_with_retry(Batch& b);
  // After a load: counts, dedup index, group offset; frees the partition for its next batch.
  void finish(Batch& b, bool stored);
  // Pauses reading past max_buffered and resumes it below half of it (reading thread).
  void pace_reading();
  // Adds what the warehouse stored within the dedup window to the index.
  Status rebuild_dedup();

  warehouse::Warehouse& warehouse_;
  const KafkaLoaderOptions options_;
  std::unique_ptr<State> state_;
  Counter& events_metric_;
  Counter& batches_metric_;
  Counter& errors_metric_;
  Counter& duplicates_metric_;
  const Clock& clock_;

  std::mutex mu_;               // the batches, the queue, the dedup state (in State)
  std::condition_variable cv_;  // any change of them, and stop()
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point give_up_at_;  // stop() + 10 s; protected by mu_
  std::thread thread_;
  std::vector<std::thread> load_threads_;
};

}  // namespace basalt::stream
