#include "stream/stream_sinks.h"

#include <nlohmann/json.hpp>

#include "stream/kafka_sink.h"
#include "stream/redis_sink.h"

namespace basalt::stream {

Result<std::unique_ptr<Sink>> make_sink(const SinkConfig& config) {
  if (config.type == "redis") {
    auto address = parse_redis_url(config.url);
    if (!address) return address.status();
    RedisSinkOptions o;
    o.address = *address;
    o.stream = config.stream;
    o.max_len = config.max_len;
    return make_redis_sink(std::move(o));
  }
  if (config.type == "kafka") {
    KafkaSinkOptions o;
    o.brokers = config.brokers;
    o.topic = config.topic;
    o.compression = config.compression;
    o.properties = config.properties;
    return make_kafka_sink(std::move(o));
  }
  return invalid_argument("sink '" + config.name + "': unknown type '" + config.type +
                          "' (supported: redis, kafka)");
}

Result<std::unique_ptr<StreamSinks>> StreamSinks::create(const std::vector<SinkConfig>& sinks,
                                                         const WalConfig& wal_config, wal::Wal& wal,
                                                         const Clock& clock,
                                                         MetricsRegistry& metrics) {
  std::unique_ptr<StreamSinks> set(new StreamSinks());
  for (const auto& c : sinks) {
    auto sink = make_sink(c);
    if (!sink)
      return Status(sink.status().code(), "sink '" + c.name + "': " + sink.status().message());
    SinkRunnerOptions o;
    o.name = c.name;
    o.sources = c.sources;
    o.overflow = c.overflow == "drop_oldest" ? OverflowPolicy::kDropOldest : OverflowPolicy::kBlock;
    o.disk_budget_bytes = wal_config.disk_budget_bytes;
    o.segment_bytes = wal_config.segment_bytes;
    o.batch_events = c.batch_events;
    set->runners_.push_back(
        std::make_unique<SinkRunner>(wal, std::move(*sink), std::move(o), clock, metrics));
  }
  return set;
}

StreamSinks::~StreamSinks() { stop(); }

Status StreamSinks::start() {
  for (auto& r : runners_) {
    if (Status s = r->start(); !s.is_ok()) {
      return Status(s.code(), "sink '" + r->name() + "': " + s.message());
    }
  }
  return Status::ok();
}

void StreamSinks::stop() {
  for (auto& r : runners_) r->stop();
}

std::vector<std::string> StreamSinks::descriptions() const {
  std::vector<std::string> out;
  for (const auto& r : runners_) out.push_back(r->name() + ": " + r->description());
  return out;
}

std::string StreamSinks::detail_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : runners_) {
    SinkStats s = r->stats();
    list.push_back({{"name", r->name()},
                    {"lag_events", s.lag_events},
                    {"delivered", s.delivered},
                    {"dropped", s.dropped},
                    {"errors", s.errors},
                    {"position", s.position},
                    {"connected", s.connected},
                    {"stuck", r->stuck()},
                    {"last_error", s.last_error}});
  }
  return list.dump();
}

}  // namespace basalt::stream
