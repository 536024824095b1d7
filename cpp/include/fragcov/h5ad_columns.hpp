// The fragment matrix of an .h5ad file (docs/spec.md section 2) read by the
// core itself: its positions and values columns read with pread and decoded on
// the binning threads (docs/spec.md 2.5.0, 7.2), without the HDF5 library. The
// caller describes each dataset as HDF5 reports it (h5py in Python, H5Dget_*
// in C); the core decides whether it can read it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/hdf5_layout.hpp"
#include "fragcov/pipeline.hpp"

namespace fragcov {

class Hdf5Column;

// The positions (int64) and values (uint32 paired-end, int32 single-end)
// columns of an .h5ad's fragment matrix, open for reading by the core.
class H5adColumns {
public:
    // The columns when the core decodes them: one-dimensional, chunked, every
    // chunk stored at its address, the element type in little-endian, and only
    // the filters deflate (1), shuffle (2), zstd (32015) and Blosc (32001) with
    // zstd or no compressor; nullptr otherwise (HDF5 has to read them). `fd`
    // is the file at `path`, open for reading, and must stay open while the
    // columns are read.
    static std::unique_ptr<H5adColumns> open(int fd, const std::string& path, bool paired,
                                             const Hdf5Layout& positions, const Hdf5Layout& values);
    ~H5adColumns();
    bool paired() const { return paired_; }
    uint64_t size() const;  // elements of each column
    const Hdf5Column& positions() const { return *positions_; }
    const Hdf5Column& values() const { return *values_; }

private:
    H5adColumns(bool paired, std::unique_ptr<Hdf5Column> positions, std::unique_ptr<Hdf5Column> values);
    bool paired_;
    std::unique_ptr<Hdf5Column> positions_, values_;
};

// Cells of the matrix as chunks of an export: `rows` (cells of the file, in
// the source's order; any subset) whose group is group_of_row[i] (-1: none).
// Cells are read in file order in chunks of about `chunk_fragments`
// fragments, a chunk's columns on the binning thread that bins it.
class H5adCells : public ChunkSource {
public:
    // `indptr`: the matrix's (cells + 1 offsets into the columns). Throws
    // std::invalid_argument when it or `rows` does not fit the columns.
    H5adCells(std::shared_ptr<const H5adColumns> columns, std::vector<int64_t> indptr, std::vector<int64_t> rows,
              std::vector<int32_t> group_of_row, uint64_t chunk_fragments = 1000000);
    ~H5adCells() override;
    void start(size_t n_slots) override;
    bool next(BinJob& job, const std::function<bool()>& cancelled) override;

private:
    struct SlotBuffers;
    std::shared_ptr<const H5adColumns> columns_;
    std::vector<int64_t> indptr_;
    std::vector<int64_t> sorted_;     // rows in file order
    std::vector<int64_t> position_;   // position in `rows` of sorted_[i]
    std::vector<int32_t> group_of_row_;
    std::vector<int64_t> cum_;        // fragments of sorted_[0..i]
    uint64_t chunk_fragments_;
    size_t start_ = 0;                // the next of sorted_
    std::vector<SlotBuffers> buffers_;
};

}  // namespace fragcov
