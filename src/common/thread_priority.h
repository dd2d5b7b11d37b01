#pragma once
// Priorities of the calling thread, for background work that must not delay acknowledging
// events (the WAL's segment preparer, the warehouse loader), and the CPUs the process may use,
// for sizing thread pools. Linux applies both priorities to one thread when given its id.

#include <cstddef>

#include "common/status.h"

namespace basalt {

// Sets the calling thread's nice value (0..19; higher yields the CPU to others).
Status set_current_thread_nice(int nice);

// Puts the calling thread's disk I/O in the idle class: the block layer serves it when no
// other I/O waits (with the kernel's aging, so it is delayed, never starved). Best effort: a
// failure leaves the thread as it was and is returned for the caller to report.
Status lower_current_thread_io_priority();

// The CPUs this process may run on: its affinity mask (taskset, a container's cpuset), not
// the machine's count; at least 1.
size_t usable_cpus();

}  // namespace basalt
