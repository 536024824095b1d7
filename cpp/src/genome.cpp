#include "fragcov/genome.hpp"

#include <algorithm>
#include <stdexcept>

namespace fragcov {

Genome::Genome(std::vector<std::string> names, std::vector<uint64_t> lengths)
    : names_(std::move(names)), lengths_(std::move(lengths)) {
    if (names_.size() != lengths_.size())
        throw std::invalid_argument("reference sequence names and lengths differ in number");
    offsets_.reserve(names_.size() + 1);
    for (uint64_t len : lengths_) offsets_.push_back(offsets_.back() + len);
}

long Genome::chrom_of(uint64_t pos) const {
    if (pos >= total_length()) return -1;
    // first offset > pos, minus one; zero-length chromosomes are skipped naturally
    auto it = std::upper_bound(offsets_.begin(), offsets_.end(), pos);
    return static_cast<long>(it - offsets_.begin()) - 1;
}

long Genome::find(const std::string& name) const {
    auto it = std::find(names_.begin(), names_.end(), name);
    return it == names_.end() ? -1 : static_cast<long>(it - names_.begin());
}

}  // namespace fragcov
