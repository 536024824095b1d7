#include "util/worker_team.hpp"

#include <algorithm>
#include <chrono>
#include <system_error>

#include "fragcov/cancelled.hpp"
#include "util/cancel_poll.hpp"
#include "util/wait.hpp"

namespace fragcov {

WorkerTeam::WorkerTeam(size_t n_threads, size_t max_unfinished)
    : max_unfinished_(std::max<size_t>(max_unfinished, 1)) {
    // Plain std::threads, not an OpenMP team: this was the only OpenMP use
    // besides GroupedExporter::finish, and without OpenMP the release wheels
    // can be built with a toolchain that has no OpenMP runtime (zig's clang,
    // for the glibc 2.28 floor) and carry no libgomp. Slot = the thread's
    // index, as omp_get_thread_num() was.
    const size_t n = std::max<size_t>(n_threads, 1);
    workers_.reserve(n);
    try {
        for (size_t slot = 0; slot < n; ++slot) workers_.emplace_back([this, slot] { work(slot); });
    } catch (const std::system_error&) {
        // out of threads: run with those that started (fewer slots in use
        // changes no output), or fail when none did
        if (workers_.empty()) throw;
    }
}

WorkerTeam::~WorkerTeam() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closing_ = true;
        for (auto& queued : queue_) mark_finished(queued.first);
        queue_.clear();
    }
    work_cv_.notify_all();
    for (std::thread& worker : workers_) worker.join();
}

void WorkerTeam::work(size_t slot) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wait_for_condition(work_cv_, lock, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;  // closing
        std::pair<uint64_t, Job> item = std::move(queue_.front());
        queue_.pop_front();
        if (item.first > failed_index_) {  // an earlier job failed: the export is over
            mark_finished(item.first);
            continue;
        }
        lock.unlock();
        std::exception_ptr error;
        try {
            item.second(slot);
        } catch (...) {  // reported to the submitting thread, in submission order
            error = std::current_exception();
        }
        item.second = nullptr;  // release what the job holds before it counts as finished
        lock.lock();
        if (error && item.first < failed_index_) {
            failed_index_ = item.first;
            failure_ = error;
        }
        mark_finished(item.first);
    }
}

void WorkerTeam::mark_finished(uint64_t index) {
    ++finished_;
    finished_after_prefix_[index - prefix_] = true;
    while (!finished_after_prefix_.empty() && finished_after_prefix_.front()) {
        finished_after_prefix_.pop_front();
        ++prefix_;
    }
    done_cv_.notify_all();
}

void WorkerTeam::wait_until(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready,
                            const std::function<bool()>& cancelled) {
    const bool finished = poll_until_ready(
        [&](auto interval) { return done_cv_.wait_for(lock, interval, ready); },
        [&] {
            if (!cancelled) return false;
            lock.unlock();
            const bool stop = cancelled();
            lock.lock();
            return stop;
        });
    if (finished) return;
    for (auto& queued : queue_) mark_finished(queued.first);  // dropped, never started
    queue_.clear();
    wait_for_condition(done_cv_, lock, [&] { return finished_ == submitted_; });
    throw Cancelled();
}

void WorkerTeam::rethrow_failure(std::unique_lock<std::mutex>& lock, const std::function<bool()>& cancelled) {
    // jobs before the failed one may still be running and may fail too: the
    // first failure in submission order is only known when all have finished
    wait_until(lock, [&] { return finished_ == submitted_; }, cancelled);
    std::rethrow_exception(failure_);
}

void WorkerTeam::submit(Job job, const std::function<bool()>& cancelled) {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_until(lock, [&] { return failure_ || submitted_ - finished_ < max_unfinished_; }, cancelled);
    if (failure_) rethrow_failure(lock, cancelled);
    queue_.emplace_back(submitted_++, std::move(job));
    finished_after_prefix_.push_back(false);
    lock.unlock();
    work_cv_.notify_one();
}

void WorkerTeam::wait(const std::function<bool()>& cancelled) {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_until(lock, [&] { return finished_ == submitted_; }, cancelled);
    if (failure_) std::rethrow_exception(failure_);
}

uint64_t WorkerTeam::finished_prefix() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return prefix_;
}

}  // namespace fragcov
