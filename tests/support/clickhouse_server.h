#pragma once
// A real clickhouse-server for tests: its config written in a temporary folder (own HTTP, TCP
// and interserver ports, data and tmp paths there, a one-shard cluster `test_cluster` naming
// itself for Distributed tables), started as this user and killed with the object. A missing
// clickhouse-server fails the test naming the package.

#include <string>

#include "support/server_process.h"

namespace basalt::testing {

class ClickHouseServer {
 public:
  ClickHouseServer();  // starts it; throws std::runtime_error when it cannot
  ~ClickHouseServer();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  int http_port() const { return http_port_; }
  void kill9() { process_.kill9(); }
  pid_t pid() const { return process_.pid(); }  // the server process (-1 when not running)
  const std::filesystem::path& dir() const { return dir_.path(); }
  void restart();  // after kill9, same ports and data

 private:
  void start_process();
  ScratchDir dir_{"clickhouse_test"};
  std::string binary_;
  int http_port_ = 0;
  int tcp_port_ = 0;
  int interserver_port_ = 0;
  ChildProcess process_;
};

}  // namespace basalt::testing
