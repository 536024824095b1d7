// The one parallel loop of the library: a dynamic schedule over std::threads.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace fragcov {

// Runs body(i) for every i in [0, n) on min(n, n_threads) threads (this one and
// the others it starts), each taking the next i as it finishes one: items that
// differ in size (groups, chromosomes) keep every thread busy, as OpenMP's
// schedule(dynamic, 1) did. A body that fails does not stop the others (a body
// that should stop checks a flag of its caller); the first exception thrown is
// rethrown once every thread has joined. std::thread rather than OpenMP, so that
// the release wheels need no OpenMP runtime (worker_team.cpp says why).
template <class Body>
void parallel_for(size_t n, int n_threads, Body body) {
    std::exception_ptr error;
    std::mutex error_mutex;
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
            try {
                body(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
            }
        }
    };
    std::vector<std::thread> helpers;
    try {
        for (size_t t = 1; t < std::min(n, static_cast<size_t>(std::max(n_threads, 1))); ++t)
            helpers.emplace_back(work);
    } catch (const std::system_error&) {
        // out of threads: those that started (and this one) do every i
    }
    work();
    for (std::thread& helper : helpers) helper.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace fragcov
