// One chromosome of one track: units -> bin counts -> (smoothed) step function.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace fragcov {

// A run of positions [start, end) whose coverage is `count`.
struct Run {
    int64_t start, end, count;
};

// Sorts `v` by least-significant-digit radix sort: as few passes as the
// largest value needs (two for the bins of a human chromosome at bin_size 10),
// each a counting pass over digits of at most 13 bits (a 32 KB histogram).
// Linear in v.size(); `scratch` is reused between calls.
inline void radix_sort(std::vector<uint32_t>& v, std::vector<uint32_t>& scratch) {
    const size_t n = v.size();
    if (n < 256) {
        std::sort(v.begin(), v.end());
        return;
    }
    const uint32_t max = *std::max_element(v.begin(), v.end());
    int bits = 0;
    while (bits < 32 && (max >> bits) != 0) ++bits;
    if (bits == 0) return;
    const int passes = (bits + 12) / 13;
    const int digit = (bits + passes - 1) / passes;
    const uint32_t mask = (1u << digit) - 1;
    scratch.resize(n);
    std::vector<size_t> count(size_t{1} << digit);
    for (int p = 0, shift = 0; p < passes; ++p, shift += digit) {
        std::fill(count.begin(), count.end(), 0);
        for (uint32_t x : v) ++count[(x >> shift) & mask];
        size_t sum = 0;
        for (size_t& c : count) {
            const size_t k = c;
            c = sum;
            sum += k;
        }
        for (uint32_t x : v) scratch[count[(x >> shift) & mask]++] = x;
        v.swap(scratch);
    }
}

// Bin coverage from units given as [first_bin, end_bin): sorts both arrays and
// sweeps them, so the cost is linear in units and nothing is proportional to
// the chromosome length. Calls emit(start, end, count) for each run with
// count > 0, in order, in base coordinates, equal neighbours merged and the
// last bin cut at `chrom_length`. Streaming (no vector of runs) keeps a
// writing thread's memory at its units (docs/spec.md 1.6.3): a dense
// chromosome has about two runs per unit, 24 bytes each.
template <class Emit>
void for_each_run(std::vector<uint32_t>& first_bins, std::vector<uint32_t>& end_bins, uint64_t bin_size,
                  uint64_t chrom_length, Emit emit) {
    std::vector<uint32_t> scratch;
    radix_sort(first_bins, scratch);
    radix_sort(end_bins, scratch);
    scratch = {};
    const size_t n = first_bins.size();
    const uint64_t none = std::numeric_limits<uint64_t>::max();
    size_t i = 0, j = 0;
    int64_t cov = 0;
    uint64_t pos = 0;
    Run pending{0, 0, 0};  // the run being extended; count 0: none yet
    while (i < n || j < n) {
        uint64_t next = std::min<uint64_t>(i < n ? first_bins[i] : none, j < n ? end_bins[j] : none);
        if (cov > 0 && next > pos) {
            int64_t s = static_cast<int64_t>(pos * bin_size);
            int64_t e = static_cast<int64_t>(std::min<uint64_t>(next * bin_size, chrom_length));
            if (pending.count == cov && pending.end == s) {
                pending.end = e;
            } else {
                if (pending.count > 0) emit(pending.start, pending.end, pending.count);
                pending = {s, e, cov};
            }
        }
        while (i < n && first_bins[i] == next) ++cov, ++i;
        while (j < n && end_bins[j] == next) --cov, ++j;
        pos = next;
    }
    if (pending.count > 0) emit(pending.start, pending.end, pending.count);
}

// for_each_run collected, for the callers that need the whole step function
// (smoothing looks ahead by its window; comparisons walk two tracks at once).
inline std::vector<Run> bin_runs(std::vector<uint32_t>& first_bins, std::vector<uint32_t>& end_bins,
                                 uint64_t bin_size, uint64_t chrom_length) {
    std::vector<Run> runs;
    for_each_run(first_bins, end_bins, bin_size, chrom_length,
                 [&](int64_t s, int64_t e, int64_t c) { runs.push_back({s, e, c}); });
    return runs;
}

// Reads a step function (sorted, non-overlapping runs; 0 elsewhere) at
// increasing positions.
class StepCursor {
public:
    explicit StepCursor(const std::vector<Run>& runs) : runs_(runs) {}
    // Value at x and the first position after x where the value may change.
    // x must not decrease between calls.
    int64_t value_at(int64_t x, int64_t& next_change) {
        while (k_ < runs_.size() && runs_[k_].end <= x) ++k_;
        if (k_ == runs_.size()) {
            next_change = std::numeric_limits<int64_t>::max();
            return 0;
        }
        const Run& r = runs_[k_];
        if (x < r.start) {
            next_change = r.start;
            return 0;
        }
        next_change = r.end;
        return r.count;
    }

private:
    const std::vector<Run>& runs_;
    size_t k_ = 0;
};

// Distance from x to `next` (a next_change of a cursor), INT64_MAX for "never":
// next - x would overflow when next is INT64_MAX and x is negative.
inline int64_t steps_until(int64_t next, int64_t x) {
    return next == std::numeric_limits<int64_t>::max() ? next : next - x;
}

// minuend - subtrahend of two step functions, read at increasing positions as
// StepCursor reads one: the rest of a group (all groups minus it, docs/spec.md
// 14.2) without building its runs. An empty subtrahend reads the minuend as is.
class DifferenceCursor {
public:
    DifferenceCursor(const std::vector<Run>& minuend, const std::vector<Run>& subtrahend)
        : a_(minuend), b_(subtrahend) {}
    int64_t value_at(int64_t x, int64_t& next_change) {
        int64_t na, nb;
        const int64_t v = a_.value_at(x, na) - b_.value_at(x, nb);
        next_change = std::min(na, nb);
        return v;
    }

private:
    StepCursor a_, b_;
};

// The window sums of smooth_runs (below) read at increasing positions, like a
// StepCursor, from any cursor of unsmoothed values: value_at(x) is the sum at
// base x, next_change the next base where it may differ (x + 1 on a slope).
// Comparisons walk two smoothed sides at once with it, so neither side's
// per-base values are ever held (docs/spec.md 1.6.3); the sums are the same
// integers smooth_runs emits.
template <class Cursor>
class SmoothCursor {
public:
    SmoothCursor(const Cursor& values, uint64_t window, int64_t chrom_length)
        : entering_(values), leaving_(values), length_(chrom_length) {
        const int64_t w = static_cast<int64_t>(window);
        left_ = (w - 1) / 2;
        right_ = w - 1 - left_;
        Cursor head(values);  // the window sum at base 0: f over [0, left]
        for (int64_t x = 0; x <= left_;) {
            int64_t next;
            const int64_t v = head.value_at(x, next);
            const int64_t e = std::min(next, left_ + 1);
            sum_ += v * (e - x);
            x = e;
        }
        start_segment(0);
    }
    int64_t value_at(int64_t x, int64_t& next_change) {
        while (x >= seg_end_) {
            sum_ += (seg_end_ - seg_start_) * slope_;
            start_segment(seg_end_);
        }
        if (slope_ == 0) {
            next_change = seg_end_;
            return sum_;
        }
        next_change = x + 1;
        return sum_ + (x - seg_start_) * slope_;
    }

private:
    // The piece from base i on where the sum changes by a constant slope per base.
    void start_segment(int64_t i) {
        seg_start_ = i;
        if (i >= length_) {  // past the chromosome: nothing is read there
            slope_ = 0;
            seg_end_ = std::numeric_limits<int64_t>::max();
            return;
        }
        // moving from i to i+1, base i+left+1 enters the window and base i-right leaves it
        const int64_t a = i + left_ + 1, t = i - right_;
        int64_t next_a, next_t;
        slope_ = entering_.value_at(a, next_a) - leaving_.value_at(t, next_t);
        seg_end_ = i + std::min({steps_until(next_a, a), steps_until(next_t, t), length_ - i});
    }

    Cursor entering_, leaving_;
    int64_t length_, left_ = 0, right_ = 0;
    int64_t sum_ = 0, slope_ = 0, seg_start_ = 0, seg_end_ = 0;
};

// Moving-window sum at base resolution (docs/spec.md section 3.7): out(i) = sum of f over
// [i - right, i + left], with left = (w-1)/2, right = w-1-left, f = 0 outside
// the chromosome. The sum is piecewise linear in i, so it is emitted as a
// constant run where its slope is 0 and base by base elsewhere: the work is
// O(runs + bases within a window of a change), never O(chromosome length).
// emit(start, end, window_sum) is called in order, including zero sums.
template <class Emit>
void smooth_runs(const std::vector<Run>& runs, uint64_t window, int64_t chrom_length, Emit emit) {
    const int64_t w = static_cast<int64_t>(window);
    const int64_t left = (w - 1) / 2, right = w - 1 - left;
    int64_t sum = 0;  // window sum at base 0
    for (const Run& r : runs) {
        if (r.start > left) break;
        sum += r.count * (std::min(r.end, left + 1) - r.start);
    }
    StepCursor entering(runs), leaving(runs);
    int64_t i = 0;
    while (i < chrom_length) {
        // moving from i to i+1, base i+left+1 enters the window and base i-right leaves it
        int64_t a = i + left + 1, t = i - right, next_a, next_t;
        int64_t slope = entering.value_at(a, next_a) - leaving.value_at(t, next_t);
        int64_t len = std::min({steps_until(next_a, a), steps_until(next_t, t), chrom_length - i});
        if (slope == 0) {
            emit(i, i + len, sum);
        } else {
            for (int64_t k = 0; k < len; ++k) emit(i + k, i + k + 1, sum + k * slope);
        }
        sum += len * slope;
        i += len;
    }
}

}  // namespace fragcov
