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

// The threads of a request for `n_jobs` (docs/spec.md 7.1): every processor for
// n_jobs <= 0, else n_jobs but never more than the processors, so that
// n_jobs=1000 on two processors starts two threads, not a thousand (more threads
// than processors only add memory and start-up). The one home of this rule:
// binning, writing, BGZF decompression and parsing all take their count from it.
inline int thread_count(long long n_jobs) {
    const int procs = processor_count();
    return n_jobs <= 0 || n_jobs > procs ? procs : static_cast<int>(n_jobs);
}

}  // namespace fragcov
