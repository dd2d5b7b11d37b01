#pragma once
// Helpers for tests that run a real server process (redis-server, clickhouse-server): a free
// TCP port on 127.0.0.1, a temporary folder, and a child process that is killed with the test.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace basalt::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// A fresh folder under the system's temporary directory, removed with the object.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The full path of `program` on PATH (and /usr/sbin, /usr/bin), or "" when it is not installed.
std::string find_program(const std::string& program);

// A child process with stdout and stderr appended to `log`. SIGKILLed when destroyed.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { kill9(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void start(const std::vector<std::string>& argv, const std::filesystem::path& log);
  void kill9();
  int terminate();  // SIGTERM and wait; the exit status, or -1 when not running
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Polls `ready` every 50 ms until it is true or `timeout` passed; returns the last answer.
bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

}  // namespace basalt::testing
