#include "domino/task_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace basalt::domino {

Result<std::shared_ptr<AttemptLog>> AttemptLog::open(const std::filesystem::path& path,
                                                     uint64_t max_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return unavailable(fmt::format("cannot open log {}: {}", path.string(), std::strerror(errno)));
  return std::make_shared<AttemptLog>(path, fd, max_bytes);
}

Result<std::shared_ptr<AttemptLog>> AttemptLog::onto(int fd) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0)
    return unavailable(fmt::format("cannot duplicate fd {}: {}", fd, std::strerror(errno)));
  return std::make_shared<AttemptLog>(fmt::format("/dev/fd/{}", fd), copy, UINT64_MAX);
}

AttemptLog::~AttemptLog() { ::close(fd_); }

void AttemptLog::write(std::string_view text) {
  std::lock_guard lock(mu_);
  if (truncated_) return;
  if (written_ + text.size() > max_bytes_) {
    text = text.substr(0, max_bytes_ - written_);
    truncated_ = true;
  }
  while (!text.empty()) {
    ssize_t n = ::write(fd_, text.data(), text.size());
    if (n <= 0) {
      if (errno == EINTR) continue;
      return;
    }
    written_ += static_cast<uint64_t>(n);
    text.remove_prefix(static_cast<size_t>(n));
  }
  if (truncated_) {
    std::string note = fmt::format("\n[domino: log truncated at {} bytes]\n", max_bytes_);
    [[maybe_unused]] ssize_t n = ::write(fd_, note.data(), note.size());
  }
}

Result<std::unique_ptr<TaskProcess>> TaskProcess::start(const CommandPlan& plan,
                                                        const std::filesystem::path& cwd,
                                                        std::shared_ptr<AttemptLog> log) {
  if (plan.argv.empty()) return invalid_argument("empty command");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && plan.env.contains(std::string(kv.substr(0, eq)))) continue;
    env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : plan.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = plan.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string dir = cwd.string();

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return unavailable(fmt::format("pipe: {}", std::strerror(errno)));
  // posix_spawn (vfork underneath) rather than fork: the scheduler starts many short tasks,
  // and exec errors come back as the return value.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  if (!dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  sigset_t none, all;
  sigemptyset(&none);
  sigemptyset(&all);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2})
    sigaddset(&all, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, so a timeout kills the tree
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return invalid_argument(
        fmt::format("cannot run {} in {}: {}", plan.argv[0], dir, std::strerror(rc)));
  }
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return std::make_unique<TaskProcess>(pid, fds[0], open_exit_fd(pid), std::move(log));
}

TaskProcess::~TaskProcess() {
  if (!exit_code_) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  drain();
  ::close(out_fd_);
  if (exit_fd_ >= 0) ::close(exit_fd_);
}

void TaskProcess::drain() {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      log_->write(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) output_open_ = false;
    return;  // EAGAIN (nothing now) or EOF
  }
}

std::optional<int> TaskProcess::poll() {
  drain();
  if (exit_code_) return exit_code_;
  if (kill_group_on_exit_) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid != pid_) {
      return std::nullopt;  // still running
    }
    kill(-pid_, SIGKILL);
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    drain();
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exit_code_;
}

void TaskProcess::signal_group(int signal) { kill(-pid_, signal); }

int open_exit_fd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::string process_start_token(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!in || !std::getline(in, stat)) return "";
  // The command name (field 2) is in parentheses and may hold spaces: count from its end.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  for (int i = 3; i <= 22 && fields >> f; ++i) {
    if (i == 3 && f == "Z") return "";  // a zombie has finished
    if (i == 22) return f;
  }
  return "";
}

}  // namespace basalt::domino
