// Unit tests for coverage.hpp: radix sort, binning and smoothing, with values
// worked out by hand from docs/spec.md section 3.
#include "export/coverage.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <vector>

using namespace fragcov;

namespace {

// The per-base values of the step function smooth_runs emits; also checks that
// the emitted pieces tile [0, chrom_length) in order.
std::vector<int64_t> smoothed(const std::vector<Run>& runs, uint64_t window, int64_t chrom_length) {
    std::vector<int64_t> out;
    smooth_runs(runs, window, chrom_length, [&](int64_t s, int64_t e, int64_t sum) {
        REQUIRE(s == static_cast<int64_t>(out.size()));
        REQUIRE(e > s);
        out.insert(out.end(), static_cast<size_t>(e - s), sum);
    });
    REQUIRE(static_cast<int64_t>(out.size()) == chrom_length);
    return out;
}

}  // namespace

TEST_CASE("radix_sort sorts short and long inputs of any width") {
    std::vector<uint32_t> scratch;
    std::vector<uint32_t> small{5, 3, 9, 3, 0};
    radix_sort(small, scratch);
    CHECK(small == std::vector<uint32_t>{0, 3, 3, 5, 9});

    for (uint32_t top : {1000u, 1u << 20, 1u << 31}) {  // one, two and three digits of <= 13 bits
        std::vector<uint32_t> v(5000);
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint32_t>((i * 2654435761u) % top);
        std::vector<uint32_t> expected = v;
        std::stable_sort(expected.begin(), expected.end());
        radix_sort(v, scratch);
        CHECK(v == expected);
    }
    std::vector<uint32_t> zeros(1000, 0);
    radix_sort(zeros, scratch);
    CHECK(zeros == std::vector<uint32_t>(1000, 0));
}

TEST_CASE("bin_runs counts units per bin, merges equal neighbours, cuts the last bin") {
    // bin_size 10, chromosome of 95 bases: units over bins [0,2), [1,3), [9,10)
    std::vector<uint32_t> first{9, 1, 0}, end{10, 3, 2};
    const std::vector<Run> runs = bin_runs(first, end, 10, 95);
    REQUIRE(runs.size() == 4);
    CHECK((runs[0].start == 0 && runs[0].end == 10 && runs[0].count == 1));
    CHECK((runs[1].start == 10 && runs[1].end == 20 && runs[1].count == 2));
    CHECK((runs[2].start == 20 && runs[2].end == 30 && runs[2].count == 1));
    CHECK((runs[3].start == 90 && runs[3].end == 95 && runs[3].count == 1));  // partial last bin

    // touching units of equal count become one run; a gap keeps them apart
    std::vector<uint32_t> f2{0, 1, 5}, e2{1, 2, 6};
    const std::vector<Run> merged = bin_runs(f2, e2, 10, 1000);
    REQUIRE(merged.size() == 2);
    CHECK((merged[0].start == 0 && merged[0].end == 20 && merged[0].count == 1));
    CHECK((merged[1].start == 50 && merged[1].end == 60 && merged[1].count == 1));

    std::vector<uint32_t> none_f, none_e;
    CHECK(bin_runs(none_f, none_e, 10, 1000).empty());
}

TEST_CASE("smooth_runs: odd window, centred") {
    // w = 3: left = 1, right = 1; value 2 on bases 5 and 6 of a 10-base chromosome
    CHECK(smoothed({{5, 7, 2}}, 3, 10) == std::vector<int64_t>{0, 0, 0, 0, 2, 4, 4, 2, 0, 0});
}

TEST_CASE("smooth_runs: even window reaches one base further back") {
    // w = 4: left = 1, right = 2: out(i) = f(i-2) + ... + f(i+1)
    CHECK(smoothed({{5, 7, 2}}, 4, 10) == std::vector<int64_t>{0, 0, 0, 0, 2, 4, 4, 4, 2, 0});
}

TEST_CASE("smooth_runs: bases outside the chromosome count as zero") {
    // w = 5 at the chromosome start: value 1 on bases 0 and 1 of a 6-base chromosome
    CHECK(smoothed({{0, 2, 1}}, 5, 6) == std::vector<int64_t>{2, 2, 2, 1, 0, 0});
    // and at its end: value 3 on base 5 of 6
    CHECK(smoothed({{5, 6, 3}}, 3, 6) == std::vector<int64_t>{0, 0, 0, 0, 3, 3});
}

TEST_CASE("smooth_runs: window 1 is the identity") {
    CHECK(smoothed({{1, 3, 7}, {3, 4, 2}}, 1, 5) == std::vector<int64_t>{0, 7, 7, 2, 0});
}

namespace {

// The per-base values a cursor reads over [0, length), asking at every base
// (whatever next_change says) and at the positions next_change gives.
template <class Cursor>
std::vector<int64_t> read_every_base(Cursor c, int64_t length) {
    std::vector<int64_t> out;
    for (int64_t x = 0; x < length; ++x) {
        int64_t next;
        out.push_back(c.value_at(x, next));
        REQUIRE(next > x);
    }
    return out;
}

template <class Cursor>
std::vector<int64_t> read_by_steps(Cursor c, int64_t length) {
    std::vector<int64_t> out;
    for (int64_t x = 0; x < length;) {
        int64_t next;
        const int64_t v = c.value_at(x, next);
        REQUIRE(next > x);
        const int64_t e = std::min(next, length);
        out.insert(out.end(), static_cast<size_t>(e - x), v);
        x = e;
    }
    return out;
}

}  // namespace

TEST_CASE("DifferenceCursor: minuend - subtrahend, 0 outside both") {
    const std::vector<Run> total{{2, 6, 3}, {8, 9, 1}}, group{{4, 6, 1}, {8, 9, 1}}, none;
    const std::vector<int64_t> rest{0, 0, 3, 3, 2, 2, 0, 0, 0, 0};
    CHECK(read_every_base(DifferenceCursor(total, group), 10) == rest);
    CHECK(read_by_steps(DifferenceCursor(total, group), 10) == rest);
    CHECK(read_by_steps(DifferenceCursor(group, none), 10) == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 0, 0, 1, 0});
    CHECK(read_by_steps(DifferenceCursor(none, none), 4) == std::vector<int64_t>{0, 0, 0, 0});
}

TEST_CASE("SmoothCursor reads the window sums smooth_runs emits, by hand and on many step functions") {
    const std::vector<Run> none;
    // the hand-worked cases above
    CHECK(read_by_steps(SmoothCursor<DifferenceCursor>(DifferenceCursor({{5, 7, 2}}, none), 3, 10), 10) ==
          std::vector<int64_t>{0, 0, 0, 0, 2, 4, 4, 2, 0, 0});
    CHECK(read_every_base(SmoothCursor<DifferenceCursor>(DifferenceCursor({{5, 7, 2}}, none), 4, 10), 10) ==
          std::vector<int64_t>{0, 0, 0, 0, 2, 4, 4, 4, 2, 0});
    CHECK(read_by_steps(SmoothCursor<DifferenceCursor>(DifferenceCursor({{0, 2, 1}}, none), 5, 6), 6) ==
          std::vector<int64_t>{2, 2, 2, 1, 0, 0});
    // an empty side (a group without units on the chromosome) is 0 everywhere, for any window
    CHECK(read_by_steps(SmoothCursor<DifferenceCursor>(DifferenceCursor(none, none), 7, 9), 9) ==
          std::vector<int64_t>(9, 0));
    // pseudo-random step functions, windows 1-40: the same values as smooth_runs, and the rest
    // (total - group) smoothed equals smooth_runs of the rest's own runs
    uint64_t state = 12345;
    auto rnd = [&](uint64_t n) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (state >> 33) % n;
    };
    for (int trial = 0; trial < 200; ++trial) {
        const int64_t length = 1 + static_cast<int64_t>(rnd(300));
        std::vector<Run> group, total, rest;
        for (int64_t x = static_cast<int64_t>(rnd(20)); x < length;) {
            const int64_t e = std::min(length, x + 1 + static_cast<int64_t>(rnd(30)));
            const int64_t g = static_cast<int64_t>(rnd(3)), r = 1 + static_cast<int64_t>(rnd(4));
            if (g) group.push_back({x, e, g});
            total.push_back({x, e, g + r});
            rest.push_back({x, e, r});
            x = e + static_cast<int64_t>(rnd(25));
        }
        const uint64_t w = 1 + rnd(40);
        CAPTURE(trial);
        CAPTURE(w);
        CHECK(read_by_steps(SmoothCursor<DifferenceCursor>(DifferenceCursor(group, none), w, length), length) ==
              smoothed(group, w, length));
        CHECK(read_every_base(SmoothCursor<DifferenceCursor>(DifferenceCursor(total, group), w, length), length) ==
              smoothed(rest, w, length));
    }
}
