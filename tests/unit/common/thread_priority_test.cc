// usable_cpus follows the process's affinity mask, not the machine's CPU count.

#include "common/thread_priority.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace basalt {
namespace {

TEST(UsableCpus, FollowsTheAffinityMask) {
  cpu_set_t all;
  CPU_ZERO(&all);
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(usable_cpus(), static_cast<size_t>(CPU_COUNT(&all)));

  // Pinned to one of its CPUs (as `taskset -c N` does), the process has one to use, however
  // many the machine has.
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  size_t pinned = usable_cpus();
  ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(pinned, 1u);
}

}  // namespace
}  // namespace basalt
