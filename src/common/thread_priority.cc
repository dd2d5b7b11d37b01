#include "common/thread_priority.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

namespace basalt {
namespace {

// From linux/ioprio.h, which glibc does not wrap.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassIdle = 3;
constexpr int kIoprioClassShift = 13;

}  // namespace

Status set_current_thread_nice(int nice) {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) {
    return unavailable(std::string("setpriority: ") + std::strerror(errno));
  }
  return Status::ok();
}

Status lower_current_thread_io_priority() {
  const int value = kIoprioClassIdle << kIoprioClassShift;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, ::gettid(), value) != 0) {
    return unavailable(std::string("ioprio_set: ") + std::strerror(errno));
  }
  return Status::ok();
}

size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<size_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace basalt
