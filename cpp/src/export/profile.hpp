// The profile kernel (docs/spec.md section 16.10): while chunks are binned,
// each unit that reaches the window of an anchor is kept at base resolution;
// when tracks are written, each (group, chromosome) pair's units are sorted
// and swept across every anchor window of the chromosome, so that a bin's
// value comes from an exact integer sum: time linear in units plus anchors x
// bins, memory one pair's units per thread (plus the result).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fragcov/genome.hpp"
#include "fragcov/profile.hpp"
#include "fragcov/regions.hpp"
#include "export/normalization.hpp"
#include "export/unit_store.hpp"

namespace fragcov {

// Coverage sums of units given as sorted starts and sorted ends (each unit
// [s, e) with s < e): sums[k] = the sum over bases x in [lo + k w, lo + (k +
// 1) w) of c(x), the number of units holding x, for k = 0..n-1. Exact
// integers; the cost is two binary searches plus the units that start or end
// inside the ranges, plus n.
void range_sums(const std::vector<uint32_t>& starts, const std::vector<uint32_t>& ends, int64_t lo, int64_t w,
                size_t n, int64_t* sums);

// The same sums for one (group, chromosome)'s units, each call by the cheaper
// of two exact ways: range_sums' sweep over the units inside the ranges, or,
// when they are many more than the ranges (a huge window, a dense
// chromosome), two binary searches per range edge into prefix sums of the
// starts and ends (made at the first such call): the integral I(x) = sum of
// c below x is x * (#starts < x - #ends < x) - (sum of those starts - sum of
// those ends), computed modulo 2^64, which is exact since every true value
// (a sum of unit lengths) is below 2^63. Not for concurrent calls.
class UnitCoverage {
public:
    UnitCoverage(const std::vector<uint32_t>& sorted_starts, const std::vector<uint32_t>& sorted_ends);
    void sums(int64_t lo, int64_t w, size_t n, int64_t* out);
    void sums_by_search(int64_t lo, int64_t w, size_t n, int64_t* out);  // the second way, always

private:
    uint64_t integral(int64_t x) const;
    const std::vector<uint32_t>& starts_;
    const std::vector<uint32_t>& ends_;
    std::vector<uint64_t> start_sums_, end_sums_;  // prefix sums: [i] = the first i values summed (mod 2^64)
    uint64_t log_n_ = 1;
};

class ProfileCollector {
public:
    // Throws std::invalid_argument for options that break section 16.4.1, an
    // anchor on a chromosome `genome` does not have or with a position outside
    // 0 <= a < 2^62, an anchor on a chromosome of 2^32 bases or more, or a
    // result larger than the machine's physical memory (16.10.2).
    ProfileCollector(const Genome& genome, std::vector<ProfileAnchor> anchors, const ProfileOptions& options,
                     size_t n_groups, size_t n_shards, uint64_t memory_budget_bytes, const std::string& tempdir);

    // A unit [start, end) of `group`, already cut to its chromosome (start <
    // end): kept when it overlaps the window of an anchor (the profile's or
    // the TSS enrichment's). Calls with different shards may run at once.
    void add(size_t shard, size_t group, uint32_t chrom, int64_t start, int64_t end) {
        if (windows_.overlaps(chrom, start, end))
            units_.add(shard, group, chrom, static_cast<uint32_t>(start), static_cast<uint32_t>(end));
    }

    // The work after binning: one task per (group, chromosome with anchors).
    size_t n_tasks() const { return tasks_.size(); }
    // Fills task k's rows: value = float32 of the bin's sum made a value by
    // scales[group] over bin_size bases (its mean's value; denominator 0:
    // zeros), NaN outside the chromosome. Tasks may run at once on different
    // threads; `stop` is polled every few hundred anchors (true: throws
    // fragcov::Cancelled).
    void run_task(size_t k, const std::vector<TrackScale>& scales, const std::function<bool()>& stop);
    // The groups' profiles, once every task has run.
    std::vector<GroupProfile> take() { return std::move(profiles_); }

private:
    struct Task { size_t group, chrom; };
    std::vector<uint64_t> lengths_;            // chromosome lengths
    std::vector<ProfileAnchor> anchors_;
    std::vector<std::vector<uint32_t>> by_chrom_;  // anchor indices per chromosome, by position
    ProfileOptions options_;
    RegionIndex windows_;  // every anchor's profile and TSS windows, merged
    UnitStore units_;      // (start, end) per unit, per (group, chromosome)
    std::vector<Task> tasks_;
    std::vector<GroupProfile> profiles_;
    std::unique_ptr<std::once_flag[]> sized_;  // per group: its arrays are allocated (run_task)
};

}  // namespace fragcov
