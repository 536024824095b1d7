// The one rule for waiting on work that can be cancelled: the waiting thread
// wakes every kCancelPollInterval to ask whether to stop. Python only sees a
// Ctrl-C on its main thread, between bytecodes, so a thread blocked in C++
// must come back regularly to look (docs/spec.md section 6.5.1).
#pragma once
#include <chrono>

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

}  // namespace fragcov
