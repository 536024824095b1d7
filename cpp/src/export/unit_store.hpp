// Per (group, chromosome) buffers of binned units, spilled to a temporary file
// when they outgrow the memory budget, so that memory does not grow with the
// number of fragments.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace fragcov {

class UnitStore {
public:
    // `n_shards` writers may add at the same time, each to its own shard; the
    // memory budget is split evenly between the shards.
    UnitStore(size_t n_groups, size_t n_chroms, uint64_t memory_budget_bytes, std::string tempdir,
              size_t n_shards = 1);
    ~UnitStore();
    UnitStore(const UnitStore&) = delete;
    UnitStore& operator=(const UnitStore&) = delete;

    size_t n_shards() const { return shards_.size(); }

    // A unit covering bins [first_bin, end_bin) of `chrom` in `group`. Calls
    // with different shards may run concurrently.
    void add(size_t shard, size_t group, size_t chrom, uint32_t first_bin, uint32_t end_bin) {
        Shard& s = shards_[shard];
        auto& buf = s.buffers[group * n_chroms_ + chrom];
        buf.push_back(first_bin);
        buf.push_back(end_bin);
        if (++s.n_buffered >= max_buffered_) spill(s);
    }

    // Every unit of (group, chrom) from all shards, split into unsorted first
    // and end bins (bin_runs sorts them, so the order in which shards received
    // their units does not matter). Safe to call from several threads at once,
    // once no thread adds any more.
    void load(size_t group, size_t chrom, std::vector<uint32_t>& first_bins,
              std::vector<uint32_t>& end_bins) const;

    uint64_t spilled_bytes() const { return file_size_.load(); }

private:
    struct Block { uint64_t offset, n_units; };
    struct Shard {
        uint64_t n_buffered = 0;
        std::vector<std::vector<uint32_t>> buffers;  // per (group, chrom): interleaved (first_bin, end_bin)
        std::vector<std::vector<Block>> blocks;      // per (group, chrom): what was spilled
    };
    void spill(Shard& shard);
    int spill_fd();

    size_t n_chroms_;
    uint64_t max_buffered_;  // units per shard
    std::vector<Shard> shards_;
    std::string tempdir_;
    std::mutex fd_mutex_;  // guards creating the file; writes go to disjoint ranges (pwrite)
    int fd_ = -1;
    std::atomic<uint64_t> file_size_{0};  // next free offset: each spill reserves its range
};

}  // namespace fragcov
