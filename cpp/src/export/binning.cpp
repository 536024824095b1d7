// Phase 1 of an export (docs/spec.md sections 3.1-3.5, 11.5.2): a chunk's
// fragments checked, cut into units, filtered, counted and stored as bin
// ranges in the binning slot's shard of the unit store.
#include <algorithm>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>

#include "export/profile.hpp"
#include "export/unit_store.hpp"
#include "fragcov/exporter.hpp"

namespace fragcov {

// docs/spec.md sections 3.3-3.5 for one unit [start, end) on `chrom`, in chromosome coordinates.
inline void GroupedExporter::add_unit(Slot& slot, int32_t group, uint32_t chrom, int64_t start, int64_t end) {
    if (!regions_.blacklist.empty() && regions_.blacklist.overlaps(chrom, start, end)) return;
    GroupStats& st = slot.stats[group];
    if ((!regions_.has_include || regions_.include_for_norm.overlaps(chrom, start, end)) &&
        (regions_.exclude_for_norm.empty() || !regions_.exclude_for_norm.overlaps(chrom, start, end))) {
        ++st.norm_count;
        st.norm_length += static_cast<uint64_t>(end - start);  // the whole unit, before the cut below
    }
    const int64_t len = static_cast<int64_t>(genome_.length(chrom));
    start = std::max<int64_t>(start, 0);
    end = std::min(end, len);
    if (start >= end) return;  // entirely past the chromosome end: nothing to bin
    const uint64_t b = static_cast<uint64_t>(options_.bin_size);
    const uint32_t first = static_cast<uint32_t>(start / b), last = static_cast<uint32_t>((end - 1) / b) + 1;
    ++st.n_units;
    if (profiles_) profiles_->add(slot.index, static_cast<size_t>(group), chrom, start, end);
    if (options_.ceiling) {
        slot.cell_units.push_back({chrom, first, last});  // capped with the cell's other units (flush_capped_cell)
        return;
    }
    st.bin_sum += last - first;
    store(slot, group, chrom, first, last);
}

// Keeps bins [first_bin, end_bin) of a group's chromosome for writing, unless
// `regions` restricts the output and no record they can reach (smoothing
// included) is inside one: that is the work a `regions` export skips.
inline void GroupedExporter::store(Slot& slot, int32_t group, uint32_t chrom, uint32_t first_bin, uint32_t end_bin) {
    if (!stores_units_[static_cast<size_t>(group)]) return;  // no track to write
    if (regions_.has_output) {
        const int64_t b = options_.bin_size, reach = options_.smooth_base.value_or(0);
        if (!regions_.output.overlaps(chrom, int64_t{first_bin} * b - reach, int64_t{end_bin} * b + reach)) return;
    }
    units_->add(slot.index, group, chrom, first_bin, end_bin);
}

// The ceiling (docs/spec.md section 3.5): a cell adds at most `ceiling` to a
// bin. Its capped coverage min(c(x), ceiling) is the sum of the level sets
// {c >= k}, k = 1..ceiling, each a set of bin intervals, which are stored as
// ordinary units: no array the size of a chromosome, and at most as many
// intervals as the cell had units.
void GroupedExporter::flush_capped_cell(Slot& slot, int32_t group) {
    std::vector<CellUnit>& cell = slot.cell_units;  // this cell's units
    if (cell.empty()) return;
    const uint32_t cap = static_cast<uint32_t>(std::min<int64_t>(*options_.ceiling, UINT32_MAX));
    std::sort(cell.begin(), cell.end(), [](const CellUnit& a, const CellUnit& b) {
        return a.chrom != b.chrom ? a.chrom < b.chrom : a.first < b.first;
    });
    GroupStats& st = slot.stats[group];
    std::priority_queue<uint32_t, std::vector<uint32_t>, std::greater<uint32_t>> ends;  // open units
    std::vector<uint32_t> opened;  // opened[k]: where the level set {c > k} began
    size_t i = 0;
    while (i < cell.size()) {
        const uint32_t chrom = cell[i].chrom;
        uint32_t level = 0;  // min(c, cap) just before the current position
        while (i < cell.size() && cell[i].chrom == chrom) {
            // next position where the coverage changes: a unit starts or one ends
            const uint32_t x = ends.empty() ? cell[i].first : std::min(ends.top(), cell[i].first);
            while (!ends.empty() && ends.top() == x) ends.pop();
            while (i < cell.size() && cell[i].chrom == chrom && cell[i].first == x)
                ends.push(cell[i++].end);
            const uint32_t now = static_cast<uint32_t>(std::min<size_t>(ends.size(), cap));
            for (; level < now; ++level) opened.resize(level + 1), opened[level] = x;
            for (; level > now; --level) {
                st.bin_sum += x - opened[level - 1];
                store(slot, group, chrom, opened[level - 1], x);
            }
        }
        while (!ends.empty()) {  // the chromosome's last units end
            const uint32_t x = ends.top();
            while (!ends.empty() && ends.top() == x) ends.pop();
            const uint32_t now = static_cast<uint32_t>(std::min<size_t>(ends.size(), cap));
            for (; level > now; --level) {
                st.bin_sum += x - opened[level - 1];
                store(slot, group, chrom, opened[level - 1], x);
            }
        }
    }
    cell.clear();
}

template <bool SingleEnd>
void GroupedExporter::add_cells_impl(const CellChunk& ch, Slot& slot) {
    const bool insertion = options_.counting == CountingStrategy::Insertion;
    const uint64_t min_len = static_cast<uint64_t>(options_.min_frag_length.value_or(0));
    const uint64_t max_len = options_.max_frag_length ? static_cast<uint64_t>(*options_.max_frag_length) : UINT64_MAX;
    // the current chromosome's range of genome positions, to avoid a search per fragment
    uint64_t lo = 1, hi = 0;
    uint32_t chrom = 0;
    for (size_t cell = 0; cell < ch.n_cells; ++cell) {
        const int32_t g = ch.cell_group[cell];
        if (g < 0) continue;
        for (int64_t k = ch.indptr[cell]; k < ch.indptr[cell + 1]; ++k) {
            const uint64_t pos = static_cast<uint64_t>(ch.indices[k]);
            if (pos < lo || pos >= hi) {
                const long c = genome_.chrom_of(pos);  // never -1: check_chunk() saw every position
                chrom = static_cast<uint32_t>(c);
                lo = genome_.offset(chrom);
                hi = lo + genome_.length(chrom);
            }
            const int64_t x = static_cast<int64_t>(pos - lo);
            if constexpr (SingleEnd) {
                const int64_t v = ch.signed_lengths[k];
                if (v > 0) {  // forward read starting at x
                    if (insertion) add_unit(slot, g, chrom, x, x + 1);
                    else add_unit(slot, g, chrom, x, x + v);
                } else if (v < 0) {  // reverse read whose last base is x
                    if (insertion) add_unit(slot, g, chrom, x, x + 1);
                    else add_unit(slot, g, chrom, x + v + 1, x + 1);
                }
            } else {
                const uint64_t len = ch.lengths[k];
                if (len == 0 || len < min_len || len > max_len) continue;
                const int64_t end = x + static_cast<int64_t>(len);
                if (insertion) {
                    add_unit(slot, g, chrom, x, x + 1);
                    add_unit(slot, g, chrom, end - 1, end);
                } else {
                    add_unit(slot, g, chrom, x, end);
                }
            }
        }
        if (options_.ceiling) flush_capped_cell(slot, g);
    }
}

// Everything add_cells_impl relies on, checked before any unit is added, so
// that a rejected chunk changes nothing. One pass over the positions: a
// compare per fragment (measured: within noise on the 45M export).
void GroupedExporter::check_chunk(const CellChunk& ch) const {
    if (ch.n_cells == 0) return;
    if (!ch.indptr || !ch.cell_group) throw std::invalid_argument("a chunk has no indptr or no cell groups");
    if (ch.n_fragments && !ch.indices) throw std::invalid_argument("a chunk has no fragment positions");
    if (ch.n_fragments && !ch.lengths && !ch.signed_lengths)
        throw std::invalid_argument("a chunk has no fragment values");
    if (ch.indptr[0] != 0)
        throw std::invalid_argument("indptr must start at 0, got " + std::to_string(ch.indptr[0]));
    for (size_t cell = 0; cell < ch.n_cells; ++cell) {
        if (ch.indptr[cell + 1] < ch.indptr[cell])
            throw std::invalid_argument("indptr decreases at cell " + std::to_string(cell) + " of the chunk (" +
                                        std::to_string(ch.indptr[cell]) + " -> " +
                                        std::to_string(ch.indptr[cell + 1]) + ")");
        const int32_t g = ch.cell_group[cell];
        if (g < -1 || (g >= 0 && static_cast<size_t>(g) >= tracks_.size()))
            throw std::invalid_argument("cell " + std::to_string(cell) + " of the chunk has group id " +
                                        std::to_string(g) + "; ids must be -1 (no group) or 0-" +
                                        std::to_string(tracks_.size() - 1));
    }
    const int64_t nnz = ch.indptr[ch.n_cells];
    if (static_cast<uint64_t>(nnz) > ch.n_fragments)
        throw std::invalid_argument("indptr ends at " + std::to_string(nnz) + ", past the chunk's " +
                                    std::to_string(ch.n_fragments) + " fragments");
    const uint64_t total = genome_.total_length();
    bool inside = true;
    for (int64_t k = 0; k < nnz; ++k) inside &= static_cast<uint64_t>(ch.indices[k]) < total;  // branch-free
    if (inside) return;
    size_t cell = 0;
    for (int64_t k = 0; k < nnz; ++k) {
        if (static_cast<uint64_t>(ch.indices[k]) < total) continue;
        while (ch.indptr[cell + 1] <= k) ++cell;
        throw std::invalid_argument("cell " + std::to_string(cell) + " of the chunk has a fragment at genome " +
                                    "position " + std::to_string(ch.indices[k]) + ", outside the reference " +
                                    "sequences (0-" + std::to_string(total - 1) +
                                    "): the fragment data does not match its genome");
    }
}

void GroupedExporter::add_cells(const CellChunk& chunk, size_t slot) {
    if (slot >= slots_.size())
        throw std::invalid_argument("binning slot " + std::to_string(slot) + " does not exist (there are " +
                                    std::to_string(slots_.size()) + ")");
    check_chunk(chunk);
    if (chunk.n_cells == 0) return;
    if (chunk.signed_lengths) add_cells_impl<true>(chunk, slots_[slot]);
    else add_cells_impl<false>(chunk, slots_[slot]);
}


}  // namespace fragcov
