#include "support/redis_server.h"

#include <hiredis/hiredis.h>

#include <fstream>
#include <stdexcept>

namespace basalt::testing {

namespace {

void flatten(const redisReply* r, std::vector<std::string>& out) {
  switch (r->type) {
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) flatten(r->element[i], out);
      break;
    case REDIS_REPLY_INTEGER:
      out.push_back(std::to_string(r->integer));
      break;
    case REDIS_REPLY_NIL:
      out.push_back("(nil)");
      break;
    default:
      out.emplace_back(r->str, r->len);
  }
}

}  // namespace

RedisServer::RedisServer() {
  binary_ = find_program("redis-server");
  if (binary_.empty()) {
    throw std::runtime_error(
        "redis-server is not installed: install the Debian package redis-server "
        "(scripts/setup.sh does)");
  }
  port_ = free_port();
  start_process();
}

RedisServer::~RedisServer() { process_.kill9(); }

void RedisServer::restart() { start_process(); }

void RedisServer::start_process() {
  std::filesystem::path conf = dir_.path() / "redis.conf";
  std::ofstream(conf) << "bind 127.0.0.1\n"
                      << "port " << port_ << "\n"
                      << "dir " << dir_.path().string() << "\n"
                      << "appendonly yes\n"
                      << "appendfsync always\n"
                      << "save \"\"\n"
                      << "daemonize no\n"
                      << "protected-mode yes\n";
  process_.start({binary_, conf.string()}, dir_.path() / "redis.log");
  bool up = wait_until(
      [&] {
        redisContext* c = redisConnect("127.0.0.1", port_);
        bool ok = c != nullptr && c->err == 0;
        if (ok) {
          auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
          ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
          if (r) freeReplyObject(r);
        }
        if (c) redisFree(c);
        return ok;
      },
      std::chrono::seconds(20));
  if (!up) {
    std::ifstream log(dir_.path() / "redis.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + ": " +
                             text);
  }
}

std::vector<std::string> RedisServer::command(const std::vector<std::string>& args, int db) const {
  timeval tv{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    throw std::runtime_error("cannot reach redis-server on port " + std::to_string(port_));
  }
  if (db != 0) {
    auto* sel = static_cast<redisReply*>(redisCommand(c, "SELECT %d", db));
    if (sel) freeReplyObject(sel);
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.c_str());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (r == nullptr) {
    redisFree(c);
    throw std::runtime_error("redis command failed");
  }
  std::vector<std::string> out;
  flatten(r, out);
  freeReplyObject(r);
  redisFree(c);
  return out;
}

}  // namespace basalt::testing
