// WorkerTeam: jobs run on distinct slots, errors are reported in submission
// order whatever the timing, cancellation stops the team.
#include "util/worker_team.hpp"

#include "fragcov/cancelled.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace fragcov;

TEST_CASE("WorkerTeam runs every job once, never two at a time on one slot") {
    const size_t n_threads = 3;
    WorkerTeam team(n_threads, 4);
    std::vector<std::atomic<int>> busy(n_threads);
    std::atomic<int> overlap{0}, ran{0};
    std::vector<int> seen(200, 0);
    for (int i = 0; i < 200; ++i) {
        team.submit([&, i](size_t slot) {
            REQUIRE(slot < n_threads);
            if (busy[slot].fetch_add(1) != 0) ++overlap;
            std::this_thread::sleep_for(std::chrono::microseconds(50 * (i % 5)));
            ++seen[static_cast<size_t>(i)];  // each job writes its own element
            busy[slot].fetch_sub(1);
            ++ran;
        });
        CHECK(team.finished_prefix() <= static_cast<uint64_t>(i + 1));
    }
    team.wait();
    CHECK(ran == 200);
    CHECK(overlap == 0);
    CHECK(team.finished_prefix() == 200);
    for (int s : seen) CHECK(s == 1);
}

TEST_CASE("WorkerTeam reports the first failed job in submission order") {
    for (int round = 0; round < 20; ++round) {
        WorkerTeam team(2, 8);
        std::atomic<int> after{0};
        std::string message;
        try {
            for (int i = 0; i < 50; ++i)
                team.submit([&, i](size_t) {
                    // job 7 fails slowly, job 9 fails at once: 7 must win
                    if (i == 7) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(5));
                        throw std::invalid_argument("job 7");
                    }
                    if (i == 9) throw std::invalid_argument("job 9");
                    if (i > 9) ++after;
                });
            team.wait();
        } catch (const std::invalid_argument& e) {
            message = e.what();
        }
        CHECK(message == "job 7");
        CHECK(after < 40);  // jobs after the failure were skipped or never submitted
    }
}

TEST_CASE("WorkerTeam bounds the unfinished jobs and stops when cancelled") {
    WorkerTeam team(1, 2);
    std::atomic<bool> release{false};
    std::atomic<int> started{0};
    auto slow = [&](size_t) {
        ++started;
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    team.submit(slow);
    team.submit(slow);
    int polls = 0;
    // a third job has to wait: the first two are unfinished; cancel while waiting
    CHECK_THROWS_AS(team.submit(slow, [&] {
        if (++polls == 2) release = true;  // let the running job end, as Ctrl-C lets the workers finish
        return polls >= 2;
    }),
                    Cancelled);
    CHECK(polls == 2);
    CHECK(started <= 2);
}
