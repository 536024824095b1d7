// FragmentImporter: the cells of a fragment file as SnapATAC2 2.9.0's
// import_fragments stores them (docs/spec.md section 8).
#include <algorithm>
#include <stdexcept>

#include "input/fragment_reader.hpp"
#include "input/fragment_sorter.hpp"

namespace fragcov {

void CellBatch::clear() {
    barcodes.clear();
    n_fragment.clear();
    n_mito.clear();
    total.clear();
    indptr.assign(1, 0);
    indices.clear();
    lengths.clear();
    signed_lengths.clear();
}

namespace {

// The value stored for line i: the length (paired) or +/- the read length.
int64_t stored_value(const FragmentBatch& b, size_t i, bool paired) {
    const int64_t len = b.length[i];
    return paired || !b.reverse[i] ? len : -len;
}

FragmentFileOptions checked_reader_options(const ImportOptions& o) {
    if (o.is_mito.size() != o.reader.genome.size())
        throw std::invalid_argument("is_mito needs one flag per chromosome of the genome");
    if (o.max_cells_per_batch == 0 || o.max_fragments_per_batch == 0)
        throw std::invalid_argument("batch limits must be positive");
    return o.reader;
}

}  // namespace

FragmentImporter::FragmentImporter(std::string path, ImportOptions options)
    : options_(std::move(options)), reader_(std::move(path), checked_reader_options(options_)) {
    if (!options_.sorted_by_barcode)
        sorter_ = std::make_unique<FragmentSorter>(reader_.barcodes(), options_.memory_budget_bytes,
                                                   options_.tempdir);
}

FragmentImporter::~FragmentImporter() = default;

bool FragmentImporter::batch_full(const CellBatch& cells) const {
    return cells.size() >= options_.max_cells_per_batch || cells.n_fragments() >= options_.max_fragments_per_batch;
}

bool FragmentImporter::next(CellBatch& cells) {
    cells.clear();
    return options_.sorted_by_barcode ? next_sorted(cells) : next_unsorted(cells);
}

// Appends the current cell when it passes min_num_fragments; entries sorted by (column, value).
void FragmentImporter::finish_cell(CellBatch& cells) {
    const uint32_t cell = current_;
    current_ = FragmentFileReader::kNoBarcode;
    if (cur_n_fragment_ < options_.min_num_fragments) return;
    std::sort(cur_fragments_.begin(), cur_fragments_.end());
    cells.barcodes.push_back(reader_.barcodes()[cell]);
    cells.n_fragment.push_back(cur_n_fragment_);
    cells.n_mito.push_back(cur_n_mito_);
    cells.total.push_back(cur_total_);
    for (const auto& [position, value] : cur_fragments_) {
        cells.indices.push_back(static_cast<int64_t>(position));
        if (options_.reader.is_paired) cells.lengths.push_back(static_cast<uint32_t>(value));
        else cells.signed_lengths.push_back(static_cast<int32_t>(value));
    }
    cells.indptr.push_back(static_cast<int64_t>(cells.indices.size()));
}

// Barcode-sorted input, one pass: a cell is complete when the barcode changes.
bool FragmentImporter::next_sorted(CellBatch& cells) {
    const bool paired = options_.reader.is_paired;
    for (;;) {
        if (batch_pos_ >= batch_.size()) {  // (reader_.next empties batch_ at the end)
            if (!reader_done_ && reader_.next(batch_)) {
                batch_pos_ = 0;
                seen_.resize(reader_.barcodes().size(), 0);
                continue;
            }
            reader_done_ = true;
            if (current_ != FragmentFileReader::kNoBarcode) finish_cell(cells);
            return cells.size() > 0;
        }
        const size_t i = batch_pos_;
        if (batch_.new_run[i] && current_ != FragmentFileReader::kNoBarcode) {
            finish_cell(cells);
            if (batch_full(cells)) return true;  // line i starts the next call
        }
        ++batch_pos_;
        const uint32_t b = batch_.barcode[i];
        if (batch_.new_run[i] && b != FragmentFileReader::kNoBarcode) {
            if (seen_[b])
                throw std::invalid_argument(
                    reader_.path() + ": line " + std::to_string(batch_.line[i]) + ": barcode '" +
                    reader_.barcodes()[b] +
                    "' appears again after lines of other barcodes: the file is not sorted (grouped) by "
                    "barcode. Pass sorted_by_barcode=False, or sort the file by the 4th column first "
                    "(e.g. `sort -k4,4`).");
            seen_[b] = 1;
            current_ = b;
            cur_n_fragment_ = cur_n_mito_ = cur_total_ = 0;
            cur_fragments_.clear();
        }
        if (current_ == FragmentFileReader::kNoBarcode || batch_.status[i] != LineStatus::Stored) continue;
        cur_total_ += batch_.count[i];
        if (options_.is_mito[batch_.chrom[i]]) ++cur_n_mito_;
        else ++cur_n_fragment_;
        cur_fragments_.emplace_back(batch_.position[i], stored_value(batch_, i, paired));
    }
}

// Any line order: everything goes through the sorter, then cells come out in
// barcode byte order.
bool FragmentImporter::next_unsorted(CellBatch& cells) {
    const bool paired = options_.reader.is_paired;
    if (!reader_done_) {
        while (reader_.next(batch_)) {
            const size_t n_barcodes = reader_.barcodes().size();
            if (seen_.size() < n_barcodes) {
                seen_.resize(n_barcodes, 0);
                n_fragment_.resize(n_barcodes, 0);
                n_mito_.resize(n_barcodes, 0);
                total_.resize(n_barcodes, 0);
            }
            for (size_t i = 0; i < batch_.size(); ++i) {
                const uint32_t b = batch_.barcode[i];
                if (b == FragmentFileReader::kNoBarcode) continue;
                seen_[b] = 1;
                if (batch_.status[i] != LineStatus::Stored) continue;
                total_[b] += batch_.count[i];
                if (options_.is_mito[batch_.chrom[i]]) ++n_mito_[b];
                else ++n_fragment_[b];
                sorter_->add(b, batch_.position[i], static_cast<uint32_t>(stored_value(batch_, i, paired)));
            }
        }
        reader_done_ = true;
        std::vector<uint32_t> wanted;
        for (uint32_t b = 0; b < seen_.size(); ++b)
            if (seen_[b] && n_fragment_[b] >= options_.min_num_fragments) wanted.push_back(b);
        sorter_->finish(std::move(wanted));
    }
    uint32_t cell;
    std::vector<std::pair<uint64_t, uint32_t>> fragments;
    while (!batch_full(cells) && sorter_->next_cell(cell, fragments)) {
        current_ = cell;
        cur_n_fragment_ = n_fragment_[cell];
        cur_n_mito_ = n_mito_[cell];
        cur_total_ = total_[cell];
        cur_fragments_.clear();
        for (const auto& [position, bits] : fragments)
            cur_fragments_.emplace_back(position, paired ? int64_t(bits) : int64_t(static_cast<int32_t>(bits)));
        finish_cell(cells);
    }
    return cells.size() > 0;
}

}  // namespace fragcov
