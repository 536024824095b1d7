// The number of processors this process may run on.
#pragma once
#include <thread>
#if defined(__linux__)
#include <sched.h>
#endif

namespace fragcov {

// As omp_get_num_procs() did before the threads became std::thread (see
// worker_team.cpp): the CPU affinity mask's size where there is one (Linux:
// taskset, cgroup cpusets, Slurm's binding), else all hardware threads; >= 1.
inline int processor_count() {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace fragcov
