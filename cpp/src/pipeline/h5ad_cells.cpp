// H5adColumns / H5adCells: an .h5ad's fragment matrix as the chunks of an
// export, read on the binning threads (docs/spec.md 2.5.0, 7.2).
#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "fragcov/h5ad_columns.hpp"
#include "input/hdf5_column.hpp"

namespace fragcov {

H5adColumns::H5adColumns(bool paired, std::unique_ptr<Hdf5Column> positions, std::unique_ptr<Hdf5Column> values)
    : paired_(paired), positions_(std::move(positions)), values_(std::move(values)) {}

H5adColumns::~H5adColumns() = default;

uint64_t H5adColumns::size() const { return positions_->size(); }

std::unique_ptr<H5adColumns> H5adColumns::open(int fd, const std::string& path, bool paired,
                                               const Hdf5Layout& positions, const Hdf5Layout& values) {
    if (positions.shape != values.shape) return nullptr;  // corrupt: h5py reports it
    auto p = readable_column(fd, path, ElementType::Int64, positions);
    auto v = readable_column(fd, path, paired ? ElementType::UInt32 : ElementType::Int32, values);
    if (!p || !v) return nullptr;
    return std::unique_ptr<H5adColumns>(new H5adColumns(paired, std::move(p), std::move(v)));
}

// What one binning thread reuses from chunk to chunk.
struct H5adCells::SlotBuffers {
    Hdf5Scratch scratch;
    std::vector<int64_t> positions;
    std::vector<uint32_t> values;  // int32 single-end values are read as their bits
    std::vector<int64_t> gathered_positions;
    std::vector<uint32_t> gathered_values;
};

H5adCells::H5adCells(std::shared_ptr<const H5adColumns> columns, std::vector<int64_t> indptr,
                     std::vector<int64_t> rows, std::vector<int32_t> group_of_row, uint64_t chunk_fragments)
    : columns_(std::move(columns)),
      indptr_(std::move(indptr)),
      group_of_row_(std::move(group_of_row)),
      chunk_fragments_(chunk_fragments) {
    if (indptr_.empty() || indptr_[0] != 0 || static_cast<uint64_t>(indptr_.back()) > columns_->size())
        throw std::invalid_argument("indptr must start at 0 and end within the columns' " +
                                    std::to_string(columns_->size()) + " elements");
    for (size_t i = 1; i < indptr_.size(); ++i)
        if (indptr_[i] < indptr_[i - 1]) throw std::invalid_argument("indptr decreases at cell " + std::to_string(i - 1));
    if (group_of_row_.size() != rows.size()) throw std::invalid_argument("group_of_row needs one group per row");
    const int64_t n_cells = static_cast<int64_t>(indptr_.size()) - 1;
    for (int64_t r : rows)
        if (r < 0 || r >= n_cells) throw std::invalid_argument("row " + std::to_string(r) + " is not a cell of the matrix");
    // cells in file order (coverage does not depend on cell order); position_ maps them back
    position_.resize(rows.size());
    std::iota(position_.begin(), position_.end(), 0);
    std::stable_sort(position_.begin(), position_.end(), [&](int64_t a, int64_t b) { return rows[a] < rows[b]; });
    sorted_.resize(rows.size());
    cum_.resize(rows.size());
    int64_t sum = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        sorted_[i] = rows[position_[i]];
        sum += indptr_[sorted_[i] + 1] - indptr_[sorted_[i]];
        cum_[i] = sum;
    }
}

H5adCells::~H5adCells() = default;

void H5adCells::start(size_t n_slots) { buffers_.resize(n_slots); }

bool H5adCells::next(BinJob& job, const std::function<bool()>&) {
    if (start_ >= sorted_.size()) return false;
    // consecutive cells of about chunk_fragments fragments (at least one cell)
    const int64_t base = start_ ? cum_[start_ - 1] : 0;
    size_t stop = static_cast<size_t>(std::upper_bound(cum_.begin(), cum_.end(), base + static_cast<int64_t>(chunk_fragments_)) -
                                      cum_.begin());
    stop = std::max(stop, start_ + 1);
    struct Chunk {
        std::vector<int64_t> indptr{0};
        std::vector<int32_t> groups;
        std::vector<std::pair<int64_t, int64_t>> pieces;  // [start, end) of each cell within [lo, hi)
        bool contiguous = true;
    };
    auto chunk = std::make_shared<Chunk>();
    const int64_t lo = indptr_[sorted_[start_]], hi = indptr_[sorted_[stop - 1] + 1];
    for (size_t i = start_; i < stop; ++i) {
        const int64_t s = indptr_[sorted_[i]] - lo, e = indptr_[sorted_[i] + 1] - lo;
        if (i > start_ && s != chunk->pieces.back().second) chunk->contiguous = false;
        chunk->pieces.emplace_back(s, e);
        chunk->indptr.push_back(chunk->indptr.back() + (e - s));
        chunk->groups.push_back(group_of_row_[position_[i]]);
    }
    start_ = stop;
    CellChunk& ch = job.cells;
    ch.n_cells = chunk->groups.size();
    ch.n_fragments = static_cast<size_t>(chunk->indptr.back());
    ch.indptr = chunk->indptr.data();
    ch.cell_group = chunk->groups.data();
    job.n_fragments = ch.n_fragments;
    job.read = [this, chunk = chunk.get(), lo, hi](CellChunk& cells, size_t slot) {
        SlotBuffers& buf = buffers_[slot];
        const uint64_t count = static_cast<uint64_t>(hi - lo);
        buf.positions.resize(count);
        buf.values.resize(count);
        columns_->positions().read(static_cast<uint64_t>(lo), count, buf.positions.data(), buf.scratch);
        columns_->values().read(static_cast<uint64_t>(lo), count, buf.values.data(), buf.scratch);
        const int64_t* positions = buf.positions.data();
        const uint32_t* values = buf.values.data();
        if (!chunk->contiguous) {  // a subset of the cells: gather their slices
            buf.gathered_positions.clear();
            buf.gathered_values.clear();
            for (const auto& [s, e] : chunk->pieces) {
                buf.gathered_positions.insert(buf.gathered_positions.end(), positions + s, positions + e);
                buf.gathered_values.insert(buf.gathered_values.end(), values + s, values + e);
            }
            positions = buf.gathered_positions.data();
            values = buf.gathered_values.data();
        }
        cells.indices = positions;
        if (columns_->paired()) cells.lengths = values;
        else cells.signed_lengths = reinterpret_cast<const int32_t*>(values);  // same bits, signed view
    };
    job.keep = chunk;
    return true;
}

}  // namespace fragcov
