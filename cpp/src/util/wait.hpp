// Waiting on a condition variable without std::condition_variable::wait.
#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace fragcov {

// Blocks until pred() holds, as cv.wait(lock, pred) does. Through wait_for on
// purpose: with GCC 12, condition_variable::wait is a GLIBCXX_3.4.30 symbol,
// which raises the wheel's floor from manylinux_2_34 (RHEL 9, GCC 11's
// libstdc++) to manylinux_2_35; wait_for is inlined to pthread_cond_clockwait
// (glibc 2.34). The hour is only an upper bound between checks of pred().
template <class Pred>
void wait_for_condition(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Pred pred) {
    while (!pred()) cv.wait_for(lock, std::chrono::hours(1));
}

}  // namespace fragcov
