#pragma once
// A stream sink: a destination outside Basalt (Redis Streams, Kafka) that receives every event
// of its sources. A SinkRunner (sink_runner.h) drives each sink from the WAL; the sink only
// knows how to deliver records in order and say how many are acknowledged.
//
// Thread safety: a sink is used by one runner thread only.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "wal/wal.h"

namespace basalt::stream {

struct SinkRecord {
  wal::Lsn lsn = 0;
  std::string source;
  std::string key;   // ordering key: user id or anonymous id
  std::string json;  // the stream record (stream_record.h)
};

struct DeliveryReport {
  // How many records from the front were acknowledged by the destination (durably, as far as
  // the destination promises). Records after them may or may not have arrived.
  size_t acknowledged = 0;
  Status status;  // ok when all were acknowledged; else why delivery stopped
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Delivers `records` in order; blocks until each is acknowledged or failed. Connection
  // errors are reported, never thrown; the sink reconnects on a later call.
  virtual DeliveryReport deliver(std::span<const SinkRecord> records) = 0;
  // One line for logs and `basalt up`: type and destination, no secrets.
  virtual std::string description() const = 0;
};

}  // namespace basalt::stream
