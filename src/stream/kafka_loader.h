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
// Thread safety: start(), stop() and stats() from any thread; the loader runs its own thread.

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
};

struct KafkaLoaderStats {
  uint64_t events = 0;       // events stored
  uint64_t quarantined = 0;  // records that were not stream records
  uint64_t batches = 0;
  uint64_t errors = 0;    // failed warehouse loads (each retried)
  uint64_t duplicates = 0;  // events dropped as (source, messageId) already loaded
  size_t partitions = 0;  // partitions assigned to this loader now
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

  struct State;  // librdkafka handles and per-partition batches, owned by the thread
  // The rebalance callback (on the loader thread): seeks assigned partitions to the
  // warehouse's offsets; drops what was read from revoked ones.
  void on_partitions(rd_kafka_s* rk, int err, rd_kafka_topic_partition_list_s* list);

 private:
  void run();
  // Loads every pending partition batch, retrying; false when stopping gave up on one.
  bool flush(bool final_flush);
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

  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace basalt::stream
