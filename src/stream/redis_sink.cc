#include "stream/redis_sink.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>

namespace basalt::stream {

namespace {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

bool parse_int(std::string_view s, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

class RedisSink final : public Sink {
 public:
  explicit RedisSink(RedisSinkOptions o) : options_(std::move(o)) {
    max_len_ = std::to_string(options_.max_len);
  }

  std::string description() const override {
    return "redis redis://" + options_.address.host + ":" + std::to_string(options_.address.port) +
           "/" + std::to_string(options_.address.db) + " stream " + options_.stream;
  }

  DeliveryReport deliver(std::span<const SinkRecord> records) override {
    DeliveryReport report;
    if (!ctx_) {
      report.status = connect();
      if (!report.status.is_ok()) return report;
    }
    // Pipelined: every XADD is buffered, then the buffer is written while replies are read.
    for (const auto& r : records) {
      std::string key = redis_stream_key(options_.stream, r.source);
      const char* argv[] = {"XADD",           key.c_str(), "MAXLEN", "~",
                            max_len_.c_str(), "*",         "data",   r.json.c_str()};
      size_t lens[] = {4, key.size(), 6, 1, max_len_.size(), 1, 4, r.json.size()};
      if (redisAppendCommandArgv(ctx_.get(), 8, argv, lens) != REDIS_OK) {
        report.status = lost_connection("queueing XADD");
        return report;
      }
    }
    for (size_t i = 0; i < records.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK) {
        report.status = lost_connection("reading the XADD reply");
        return report;
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        // The server refused this record (e.g. the key holds another type): stop here so
        // order is kept; the runner retries from this record.
        report.status = unavailable("redis refused XADD to " +
                                    redis_stream_key(options_.stream, records[i].source) + ": " +
                                    std::string(reply->str, reply->len));
        // Drain the replies still coming so the connection stays in step.
        for (size_t j = i + 1; j < records.size(); ++j) {
          void* rest = nullptr;
          if (redisGetReply(ctx_.get(), &rest) != REDIS_OK) {
            ctx_.reset();
            break;
          }
          freeReplyObject(rest);
        }
        return report;
      }
      ++report.acknowledged;
    }
    return report;
  }

 private:
  Status lost_connection(const char* what) {
    std::string why = ctx_ && ctx_->errstr[0] ? ctx_->errstr : "connection closed";
    ctx_.reset();
    return unavailable("redis at " + options_.address.host + ":" +
                       std::to_string(options_.address.port) + ": " + what + ": " + why);
  }

  Status command(std::initializer_list<std::string> args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!reply) return lost_connection(argv[0]);
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string err(reply->str, reply->len);
      ctx_.reset();
      return unavailable(std::string("redis refused ") + argv[0] + ": " + err);
    }
    return Status::ok();
  }

  Status connect() {
    ctx_.reset(redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port,
                                       to_timeval(options_.timeout)));
    if (!ctx_ || ctx_->err) {
      std::string why = ctx_ ? ctx_->errstr : "out of memory";
      ctx_.reset();
      return unavailable("cannot connect to redis at " + options_.address.host + ":" +
                         std::to_string(options_.address.port) + ": " + why);
    }
    redisSetTimeout(ctx_.get(), to_timeval(options_.timeout));
    redisEnableKeepAlive(ctx_.get());
    if (!options_.address.password.empty()) {
      BASALT_RETURN_IF_ERROR(command({"AUTH", options_.address.password}));
    }
    if (options_.address.db != 0) {
      BASALT_RETURN_IF_ERROR(command({"SELECT", std::to_string(options_.address.db)}));
    }
    return Status::ok();
  }

  const RedisSinkOptions options_;
  std::string max_len_;
  ContextPtr ctx_;
};

}  // namespace

std::string redis_stream_key(const std::string& stream, const std::string& source) {
  constexpr std::string_view kPlaceholder = "{source}";
  size_t at = stream.find(kPlaceholder);
  if (at == std::string::npos) return stream;
  std::string key = stream;
  key.replace(at, kPlaceholder.size(), source);
  return key;
}

Result<RedisAddress> parse_redis_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("redis URL '" + url + "': " + why +
                            " (use redis://[:password@]host:port/db)");
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return bad("not a redis:// URL");
  std::string rest = url.substr(kScheme.size());
  RedisAddress a;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest.resize(slash);
    if (!db.empty() && (!parse_int(db, a.db) || a.db < 0)) return bad("bad database number");
  }
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = cred.find(':');
    a.password = colon == std::string::npos ? cred : cred.substr(colon + 1);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    if (!parse_int(rest.substr(colon + 1), a.port) || a.port <= 0 || a.port > 65535) {
      return bad("bad port");
    }
    rest.resize(colon);
  }
  if (rest.empty()) return bad("no host");
  a.host = rest;
  return a;
}

std::unique_ptr<Sink> make_redis_sink(RedisSinkOptions options) {
  return std::make_unique<RedisSink>(std::move(options));
}

}  // namespace basalt::stream
