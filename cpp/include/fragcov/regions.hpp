// Interval index for blacklist and normalization regions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fragcov {

// A set of half-open regions per chromosome, stored as one sorted array of
// merged, non-overlapping intervals per chromosome, so an overlap query is one
// binary search. (cgranges keeps every interval in an implicit interval tree
// because it answers "which intervals"; we only ask "does anything overlap",
// for which merging is exact and the arrays are smaller.)
class RegionIndex {
public:
    RegionIndex() = default;
    // chroms[i] is a chromosome index of the Genome; regions with start >= end are ignored.
    RegionIndex(size_t n_chroms, const std::vector<uint32_t>& chroms,
                const std::vector<int64_t>& starts, const std::vector<int64_t>& ends);

    struct Interval { int64_t start, end; };

    bool empty() const { return n_regions_ == 0; }
    size_t n_regions() const { return n_regions_; }
    // True when [start, end) overlaps at least one region on `chrom`.
    bool overlaps(size_t chrom, int64_t start, int64_t end) const;
    // The merged, sorted regions of `chrom` (empty for an unknown chromosome).
    const std::vector<Interval>& intervals(size_t chrom) const;

private:
    std::vector<std::vector<Interval>> by_chrom_;
    size_t n_regions_ = 0;
};

}  // namespace fragcov
