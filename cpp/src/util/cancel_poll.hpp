// The one rule for waiting on work that can be cancelled: the waiting thread
// wakes every kCancelPollInterval to ask whether to stop. Python only sees a
// Ctrl-C on its main thread, between bytecodes, so a thread blocked in C++
// must come back regularly to look (docs/spec.md section 6.5.1).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace fragcov {

inline constexpr std::chrono::milliseconds kCancelPollInterval{100};

// Calls `wait_a_while(kCancelPollInterval)`, which waits at most that long and
// returns true once the awaited thing is ready, until it does; `between()`
// runs after each wait that timed out (to check for cancellation). Returns
// early, with false, when `between()` returns true (stop waiting).
template <class WaitFor, class Between>
bool poll_until_ready(WaitFor wait_a_while, Between between) {
    while (!wait_a_while(kCancelPollInterval)) {
        if (between()) return false;
    }
    return true;
}

// Runs `work()` (which must not throw) on a thread of its own while this thread
// waits, so that the caller's thread stays free to poll for cancellation
// (Ctrl-C in Python: signals are only seen on Python's main thread). Until
// `stop` is set, `cancelled()` (when given) is called every
// kCancelPollInterval, never concurrently; when it returns true, `stop` is
// set, and the wait goes on until `work()` has returned (it is expected to
// end soon after `stop`).
template <class Work>
void run_while_polling(Work work, const std::function<bool()>& cancelled, std::atomic<bool>& stop) {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::thread worker([&] {
        work();
        std::lock_guard<std::mutex> lock(mutex);
        done = true;
        done_cv.notify_all();
    });
    {
        std::unique_lock<std::mutex> lock(mutex);
        poll_until_ready([&](auto interval) { return done_cv.wait_for(lock, interval, [&] { return done; }); },
                         [&] {
                             if (cancelled && !stop) {
                                 lock.unlock();
                                 const bool c = cancelled();
                                 lock.lock();
                                 if (c) stop = true;
                             }
                             return false;  // keep waiting: the work stops soon after `stop`
                         });
    }
    worker.join();
}

}  // namespace fragcov
