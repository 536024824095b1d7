#include "fragcov/regions.hpp"

#include <algorithm>
#include <stdexcept>

namespace fragcov {

RegionIndex::RegionIndex(size_t n_chroms, const std::vector<uint32_t>& chroms,
                         const std::vector<int64_t>& starts, const std::vector<int64_t>& ends)
    : by_chrom_(n_chroms) {
    if (chroms.size() != starts.size() || chroms.size() != ends.size())
        throw std::invalid_argument("region arrays differ in length");
    for (size_t i = 0; i < chroms.size(); ++i) {
        if (chroms[i] >= n_chroms) throw std::invalid_argument("region chromosome out of range");
        if (starts[i] < ends[i]) by_chrom_[chroms[i]].push_back({starts[i], ends[i]});
    }
    for (auto& list : by_chrom_) {
        n_regions_ += list.size();
        std::sort(list.begin(), list.end(),
                  [](const Interval& a, const Interval& b) { return a.start < b.start; });
        // merge overlapping or touching intervals so that ends are sorted too
        std::vector<Interval> merged;
        for (const Interval& iv : list) {
            if (!merged.empty() && iv.start <= merged.back().end)
                merged.back().end = std::max(merged.back().end, iv.end);
            else
                merged.push_back(iv);
        }
        list.swap(merged);
    }
}

const std::vector<RegionIndex::Interval>& RegionIndex::intervals(size_t chrom) const {
    static const std::vector<Interval> none;
    return chrom < by_chrom_.size() ? by_chrom_[chrom] : none;
}

bool RegionIndex::overlaps(size_t chrom, int64_t start, int64_t end) const {
    if (chrom >= by_chrom_.size() || start >= end) return false;
    const auto& list = by_chrom_[chrom];
    // first interval ending after `start`; it overlaps iff it begins before `end`
    auto it = std::upper_bound(list.begin(), list.end(), start,
                               [](int64_t s, const Interval& iv) { return s < iv.end; });
    return it != list.end() && it->start < end;
}

}  // namespace fragcov
