#pragma once
// The Kafka sink (librdkafka): one idempotent producer with acks=all, each record keyed by its
// ordering key (user id, else anonymous id) so one person's events keep their order within a
// partition, compressed with lz4 or zstd as configured. Every librdkafka property given in
// `properties` is passed through as is (security.protocol, ssl.*, sasl.*, …) and wins over
// the defaults here. A record counts as acknowledged once its delivery report is a success.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "stream/sink.h"

namespace basalt::stream {

struct KafkaSinkOptions {
  std::string brokers;                  // bootstrap servers, host:port,…
  std::string topic = "basalt-events";  // {source} is replaced by the source name
  std::string compression = "lz4";      // none | gzip | snappy | lz4 | zstd
  std::map<std::string, std::string> properties;
  std::chrono::milliseconds delivery_timeout{10000};  // message.timeout.ms unless in properties
};

// The topic of `source` for the template `topic`.
std::string kafka_topic_name(const std::string& topic, const std::string& source);

// Fails with kInvalidArgument naming the property librdkafka refused.
Result<std::unique_ptr<Sink>> make_kafka_sink(KafkaSinkOptions options);

}  // namespace basalt::stream
