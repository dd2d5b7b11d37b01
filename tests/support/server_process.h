#pragma once
// Helpers for tests that run a real server process (redis-server, clickhouse-server,
// PostgreSQL): a free TCP port on 127.0.0.1, a temporary folder, and a child process that dies
// with the test — also when the test process is killed (SIGKILL, a crash, a CTest timeout): the
// child asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), so no server
// outlives the test. The folders of killed tests are removed by the next test that makes one.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace basalt::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// A fresh folder under the system's temporary directory, removed with the object. It holds a
// file naming the owning process; folders whose owner is gone (a killed test) are removed
// when the next one is made.
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

// Marks `dir` (a test's temporary folder) as owned by this process, for
// remove_abandoned_dirs.
void mark_owned(const std::filesystem::path& dir);
// Removes the folders under the temporary directory marked by a process that no longer runs;
// how many.
size_t remove_abandoned_dirs();

// In a child between fork and exec: asks for `signal` when the parent dies, and exits at once
// when the parent (`parent`, its pid before the fork) is already gone. Call it after any
// setuid/setgid (a change of credentials clears the setting). The signal comes when the
// *thread* that forked ends, so fork from a thread that lives as long as the server should.
void die_with_parent(pid_t parent, int signal);

// The full path of `program` on PATH (and /usr/sbin, /usr/bin), or "" when it is not installed.
std::string find_program(const std::string& program);

// A child process with stdout and stderr appended to `log`. SIGKILLed when destroyed, and
// when this process dies.
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
