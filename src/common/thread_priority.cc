#include "common/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

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

}  // namespace basalt
