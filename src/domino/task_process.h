#pragma once
// A task's process: started in its own process group (so a timeout can kill the whole tree),
// stdin from /dev/null, stdout and stderr through one pipe into the attempt's log file, which
// is written while the process runs and capped at a size.
//
// Thread safety: one owner thread (the scheduler loop).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "domino/task_type.h"

namespace basalt::domino {

// Appends to a log file up to a byte cap; past it writes one note and drops the rest.
// Thread-safe.
class AttemptLog {
 public:
  static Result<std::shared_ptr<AttemptLog>> open(const std::filesystem::path& path,
                                                  uint64_t max_bytes);
  // A log onto a duplicate of `fd` (e.g. 1 for stdout), without a cap.
  static Result<std::shared_ptr<AttemptLog>> onto(int fd);
  // Use open() or onto(). Takes ownership of `fd`.
  AttemptLog(std::filesystem::path path, int fd, uint64_t max_bytes)
      : path_(std::move(path)), fd_(fd), max_bytes_(max_bytes) {}
  ~AttemptLog();
  void write(std::string_view text);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::mutex mu_;
  int fd_;                // protected by mu_
  uint64_t written_ = 0;  // protected by mu_
  uint64_t max_bytes_;
  bool truncated_ = false;  // protected by mu_
};

class TaskProcess {
 public:
  // Starts argv (looked up on PATH) in `cwd` with `plan.env` added to this process's environment.
  static Result<std::unique_ptr<TaskProcess>> start(const CommandPlan& plan,
                                                    const std::filesystem::path& cwd,
                                                    std::shared_ptr<AttemptLog> log);
  // Use start(). Takes ownership of `out_fd`, the read end of the output pipe, and of
  // `exit_fd` (a pidfd of the process, or -1).
  TaskProcess(pid_t pid, int out_fd, int exit_fd, std::shared_ptr<AttemptLog> log)
      : pid_(pid), out_fd_(out_fd), exit_fd_(exit_fd), log_(std::move(log)) {}
  // Kills the process group (SIGKILL) if it still runs, and reaps the process.
  ~TaskProcess();
  TaskProcess(const TaskProcess&) = delete;
  TaskProcess& operator=(const TaskProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Moves available output to the log; the exit code once the process has exited
  // (128 + signal number when a signal ended it).
  std::optional<int> poll();
  // Sends `signal` to the whole process group.
  void signal_group(int signal);
  // From now on, once the process has exited, poll() SIGKILLs whatever is left of its group
  // before reaping it (a timeout's SIGTERM ends the shell, but a child that ignores SIGTERM
  // would outlive it). The unreaped process keeps the group's id from being reused, so the
  // signal cannot reach an unrelated group.
  void kill_group_on_exit() { kill_group_on_exit_ = true; }

  // For an event loop: a descriptor readable when the process has exited (a pidfd; -1 when
  // the kernel has none), and one readable when output is waiting (-1 once the output pipe
  // reached its end). pump_output() moves waiting output to the log without reaping.
  int exit_fd() const { return exit_fd_; }
  int output_fd() const { return output_open_ ? out_fd_ : -1; }
  void pump_output() { drain(); }

 private:
  void drain();

  pid_t pid_;
  int out_fd_;
  int exit_fd_;
  bool output_open_ = true;
  bool kill_group_on_exit_ = false;
  std::shared_ptr<AttemptLog> log_;
  std::optional<int> exit_code_;
};

// The start time of process `pid` (field 22 of /proc/PID/stat), "" when there is no such
// process. Pairs with the pid to recognise a process after a restart.
std::string process_start_token(pid_t pid);

// A pidfd of process `pid` (readable once it has exited), or -1. The caller owns it.
int open_exit_fd(pid_t pid);

}  // namespace basalt::domino
