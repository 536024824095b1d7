// Groups the fragments of a file that is not sorted by barcode into cells, in
// barcode byte order, with bounded memory: an external sort whose runs are
// spilled to one temporary file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fragcov {

class FragmentSorter {
public:
    // `names`: id -> barcode, may grow while fragments are added (the reader's table).
    FragmentSorter(const std::vector<std::string>& names, uint64_t memory_budget_bytes, std::string tempdir);
    ~FragmentSorter();
    FragmentSorter(const FragmentSorter&) = delete;
    FragmentSorter& operator=(const FragmentSorter&) = delete;

    // `value` is the stored value's bits (uint32 length or int32 signed length).
    void add(uint32_t barcode, uint64_t position, uint32_t value) {
        buffer_.push_back(Record{barcode, value, position});
        if (buffer_.size() == capacity_) spill();
    }

    // End of input; `cells` are the barcodes to return, in any order.
    void finish(std::vector<uint32_t> cells);

    // The next cell in barcode byte order with its fragments as
    // (position, value bits), unsorted; false when all cells were returned.
    bool next_cell(uint32_t& barcode, std::vector<std::pair<uint64_t, uint32_t>>& fragments);

    size_t n_runs() const { return runs_.size(); }  // spilled runs, for tests
    uint64_t spilled_bytes() const { return file_size_; }

private:
    struct Record {
        uint32_t barcode;
        uint32_t value;
        uint64_t position;
    };
    struct Run {
        uint64_t offset = 0, size = 0;  // in records; offset into the file
        uint64_t next = 0;              // records consumed
        std::vector<Record> buffer;     // file runs: read-ahead window
        size_t buffer_pos = 0;
        bool in_memory = false;
    };
    void update_ranks();
    void order_by_rank(std::vector<uint32_t>& order) const;  // permutation of buffer_ sorted by barcode rank
    void spill();
    const Record* head(Run& run);

    const std::vector<std::string>& names_;
    std::vector<uint32_t> by_name_;  // ids seen so far, sorted by name
    std::vector<uint32_t> rank_;     // id -> position in by_name_
    size_t capacity_;
    std::vector<Record> buffer_;
    std::vector<uint32_t> memory_order_;  // buffer_'s order by rank (the in-memory run after finish())
    std::vector<Run> runs_;
    std::vector<uint32_t> cells_;
    size_t next_cell_ = 0;
    std::string tempdir_;
    int fd_ = -1;
    uint64_t file_size_ = 0;  // bytes
};

}  // namespace fragcov
