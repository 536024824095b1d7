// One item in preparation on a thread of its own while the caller uses the
// previous one (a reader's next chunk, an importer's next batch of cells).
#pragma once
#include <functional>
#include <future>
#include <optional>
#include <utility>

#include "fragcov/cancelled.hpp"
#include "util/cancel_poll.hpp"

namespace fragcov {

// Runs `produce(item)` for the next item on a worker thread (std::async) while
// the caller handles the previous one; `produce` returns false at the end.
// `cancel` stops a producer mid-item (e.g. FragmentFileReader::cancel).
template <class Item>
class Prefetcher {
public:
    template <class F>
    Prefetcher(F produce, std::function<void()> cancel) : produce_(std::move(produce)), cancel_(std::move(cancel)) {}
    ~Prefetcher() {
        if (pending_.valid()) {
            cancel_();
            pending_.wait();  // the worker uses this object's state
        }
    }
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;

    // The next item, or nullopt at the end; the one after it is started at
    // once. While it waits, `cancelled` (when set) is polled every
    // kCancelPollInterval; when it returns true the producer is cancelled and
    // waited for, and fragcov::Cancelled is thrown. A producer's exception (a
    // malformed line) is rethrown; either ends the items.
    std::optional<Item> next(const std::function<bool()>& cancelled = {}) {
        if (done_) return std::nullopt;
        if (!pending_.valid()) launch();
        std::optional<Item> item;
        try {
            const bool ready = poll_until_ready(
                [&](auto interval) { return pending_.wait_for(interval) == std::future_status::ready; },
                [&] { return cancelled && cancelled(); });
            if (!ready) {
                cancel_();
                pending_.wait();
                throw Cancelled();
            }
            item = pending_.get();
        } catch (...) {
            done_ = true;
            if (pending_.valid()) pending_.wait();
            throw;
        }
        if (item) launch();
        else done_ = true;
        return item;
    }
    // Waits for the item in preparation (statistics are read after it).
    void wait() {
        if (pending_.valid()) pending_.wait();
    }

private:
    void launch() {
        pending_ = std::async(std::launch::async, [this]() -> std::optional<Item> {
            Item item;
            if (!produce_(item)) return std::nullopt;
            return item;
        });
    }
    std::function<bool(Item&)> produce_;
    std::function<void()> cancel_;
    std::future<std::optional<Item>> pending_;
    bool done_ = false;
};

}  // namespace fragcov
