#pragma once
// A real redis-server for tests: started on a free port with its data in a temporary folder,
// append-only with fsync on every write (so what it acknowledged survives a kill -9), and
// killed with the object. A missing redis-server fails the test naming the package.

#include <memory>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace basalt::testing {

class RedisServer {
 public:
  RedisServer();  // starts it; throws std::runtime_error naming the package when missing
  ~RedisServer();

  int port() const { return port_; }
  std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }
  void kill9() { process_.kill9(); }
  pid_t pid() const { return process_.pid(); }  // the server process (-1 when not running)
  const std::filesystem::path& dir() const { return dir_.path(); }
  // Starts it again on the same port and data (after kill9).
  void restart();

  // Runs one command on database `db` through hiredis; the reply as text lines (arrays
  // flattened). Throws when the server cannot be reached.
  std::vector<std::string> command(const std::vector<std::string>& args, int db = 0) const;

 private:
  void start_process();
  ScratchDir dir_{"redis_test"};
  std::string binary_;
  int port_ = 0;
  ChildProcess process_;
};

}  // namespace basalt::testing
