// Per (group, chromosome) buffers of binned units, spilled to a temporary file
// when they outgrow the memory budget, so that memory does not grow with the
// number of fragments.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fragcov {

class UnitStore {
public:
    UnitStore(size_t n_groups, size_t n_chroms, uint64_t memory_budget_bytes, std::string tempdir);
    ~UnitStore();
    UnitStore(const UnitStore&) = delete;
    UnitStore& operator=(const UnitStore&) = delete;

    // A unit covering bins [first_bin, end_bin) of `chrom` in `group`.
    void add(size_t group, size_t chrom, uint32_t first_bin, uint32_t end_bin) {
        auto& buf = buffers_[group * n_chroms_ + chrom];
        buf.push_back(first_bin);
        buf.push_back(end_bin);
        if (++n_buffered_ >= max_buffered_) spill();
    }

    // Every unit of (group, chrom), split into unsorted first and end bins.
    // Safe to call from several threads at once.
    void load(size_t group, size_t chrom, std::vector<uint32_t>& first_bins,
              std::vector<uint32_t>& end_bins) const;

    uint64_t spilled_bytes() const { return file_size_; }

private:
    void spill();
    struct Block { uint64_t offset, n_units; };
    size_t n_chroms_;
    uint64_t n_buffered_ = 0, max_buffered_;
    std::vector<std::vector<uint32_t>> buffers_;  // interleaved (first_bin, end_bin)
    std::vector<std::vector<Block>> blocks_;
    std::string tempdir_;
    int fd_ = -1;
    uint64_t file_size_ = 0;
};

}  // namespace fragcov
