// Reading and binning on several threads while the caller prepares the next
// chunks (docs/spec.md section 7.2).
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fragcov {

// Runs queued jobs on `n_threads` worker threads (std::thread), so that the
// calling thread stays free to produce jobs and to poll for cancellation; a
// job runs with its worker's slot (0 .. n_threads - 1), which no other job
// uses at the same time (GroupedExporter::add_cells(chunk, slot)).
//
// Jobs start in the order they were submitted but finish in any order. When
// jobs fail, the error reported is that of the first failed job in submission
// order, whatever the threads' timing: every job before it has started, and
// jobs after it are skipped.
class WorkerTeam {
public:
    using Job = std::function<void(size_t slot)>;

    // At most `max_unfinished` jobs are queued or running at a time (>= 1):
    // what bounds the memory held by their inputs.
    WorkerTeam(size_t n_threads, size_t max_unfinished);
    // Drops the jobs not yet started, waits for the running ones.
    ~WorkerTeam();
    WorkerTeam(const WorkerTeam&) = delete;
    WorkerTeam& operator=(const WorkerTeam&) = delete;

    // Queues `job`, first waiting while max_unfinished jobs are unfinished.
    // While it waits, `cancelled` is polled every 100 ms (kCancelPollInterval); when it returns
    // true, the running jobs are waited for and fragcov::Cancelled is thrown.
    // Rethrows a failed job's exception (see above) instead of queueing.
    void submit(Job job, const std::function<bool()>& cancelled = {});
    // Waits until every submitted job has finished (polling `cancelled` as
    // submit does); rethrows a failed job's exception.
    void wait(const std::function<bool()>& cancelled = {});
    // Jobs 0 .. finished_prefix() - 1 (in submission order) have all finished:
    // their inputs may be released.
    uint64_t finished_prefix() const;

private:
    void work(size_t slot);
    void mark_finished(uint64_t index);  // with mutex_ held
    // Waits (mutex_ held through `lock`) until `ready()`, polling `cancelled`.
    void wait_until(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready,
                    const std::function<bool()>& cancelled);
    void rethrow_failure(std::unique_lock<std::mutex>& lock, const std::function<bool()>& cancelled);

    size_t max_unfinished_;
    mutable std::mutex mutex_;
    std::condition_variable work_cv_, done_cv_;
    std::deque<std::pair<uint64_t, Job>> queue_;
    uint64_t submitted_ = 0, finished_ = 0;
    uint64_t prefix_ = 0;           // jobs below this have finished
    std::deque<bool> finished_after_prefix_;  // finished flags of jobs prefix_, prefix_ + 1, ...
    uint64_t failed_index_ = UINT64_MAX;      // the first failed job, in submission order
    std::exception_ptr failure_;
    bool closing_ = false;
    std::vector<std::thread> workers_;  // slot = index
};

}  // namespace fragcov
