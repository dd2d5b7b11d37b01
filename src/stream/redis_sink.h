#pragma once
// The Redis Streams sink (hiredis): XADD of each record to a stream per source
// (`XADD <key> MAXLEN ~ <max_len> * data <json>`), pipelined — a whole batch is written before
// the replies are read — and a reconnect on the next call after any connection error.
// A record counts as acknowledged once its XADD reply arrived (with `appendfsync always` on
// the server that means it is on the server's disk).

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "stream/sink.h"

namespace basalt::stream {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // AUTH when not empty
};

// redis://[[user]:password@]host[:port][/db]; kInvalidArgument naming what is wrong.
Result<RedisAddress> parse_redis_url(const std::string& url);

struct RedisSinkOptions {
  RedisAddress address;
  std::string stream = "basalt:events:{source}";  // {source} is replaced by the source name
  uint64_t max_len = 1000000;                     // approximate cap of each stream
  std::chrono::milliseconds timeout{5000};        // connect and each reply
};

// The stream key of `source` for the template `stream`.
std::string redis_stream_key(const std::string& stream, const std::string& source);

std::unique_ptr<Sink> make_redis_sink(RedisSinkOptions options);

}  // namespace basalt::stream
