#include "input/fragment_reader.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <stdexcept>

#include "input/barcode_table.hpp"
#include "input/decompress.hpp"
#include "input/line_parser.hpp"
#include "input/parallel_parse.hpp"
#include "util/cancel_poll.hpp"
#include "util/processors.hpp"
#include "util/test_gate.hpp"

namespace fragcov {

namespace {

constexpr int64_t kMaxShift = int64_t(1) << 31;

}  // namespace

void FragmentBatch::clear() {
    line.clear();
    barcode.clear();
    new_run.clear();
    status.clear();
    chrom.clear();
    position.clear();
    length.clear();
    reverse.clear();
    count.clear();
}

FragmentFileReader::FragmentFileReader(std::string path, FragmentFileOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
    if (options_.shift_left <= -kMaxShift || options_.shift_left >= kMaxShift ||
        options_.shift_right <= -kMaxShift || options_.shift_right >= kMaxShift)
        throw std::invalid_argument("shift_left and shift_right must lie between -2^31 and 2^31");
    barcodes_ = std::make_unique<BarcodeTable>();
    if (options_.barcodes)
        for (const std::string& b : *options_.barcodes) barcodes_->insert(b);
    const int threads = thread_count(options_.n_threads);  // at most one per processor
    stream_ = std::make_unique<DecompressedStream>(path_, threads);
    // With a barcode list no line depends on the lines before it (but for its
    // number and new_run, which ParallelParser carries across blocks): parse
    // on `threads` workers. Without one, ids are given in order of first
    // appearance, on this thread (docs/spec.md 8.1.1).
    if (options_.barcodes && threads > 1)
        parallel_ = std::make_unique<ParallelParser>(path_, options_, *barcodes_, *stream_, threads);
    else
        parser_ = std::make_unique<LineParser>(options_, *barcodes_);
}

FragmentFileReader::~FragmentFileReader() = default;

void FragmentFileReader::cancel() {
    cancelled_ = true;
    if (parallel_) parallel_->cancel();
}

const std::vector<std::string>& FragmentFileReader::barcodes() const { return barcodes_->names(); }

// The next line without its '\n'; a line split between two pieces is joined in carry_.
bool FragmentFileReader::next_line(const char*& begin, const char*& end) {
    bool carried = false;  // carry_ holds the start of the line
    for (;;) {
        if (piece_pos_ < piece_.size()) {
            const char* p = piece_.data() + piece_pos_;
            const char* stop = piece_.data() + piece_.size();
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
            if (nl) {
                piece_pos_ = static_cast<size_t>(nl - piece_.data()) + 1;
                if (!carried) {
                    begin = p;
                    end = nl;
                } else {
                    carry_.append(p, nl);
                    begin = carry_.data();
                    end = begin + carry_.size();
                }
                ++stats_.lines;
                return true;
            }
            if (!carried) carry_.clear();
            carry_.append(p, stop);
            carried = true;
            piece_pos_ = piece_.size();
            if (carry_.size() > kMaxLineBytes) {
                if (carry_[0] != '#') throw LineTooLong();
                carry_.resize(1);  // a long comment: its start says what it is
            }
        }
        if (!eof_ && stream_->next(piece_)) {
            piece_pos_ = 0;
            continue;
        }
        eof_ = true;
        if (carried && !carry_.empty()) {  // last line without '\n'
            begin = carry_.data();
            end = begin + carry_.size();
            ++stats_.lines;
            return true;
        }
        return false;
    }
}

bool FragmentFileReader::next(FragmentBatch& batch, size_t max_lines) {
    // mid-file, a batch handed out: where the cancellation tests interrupt a reader
    if (calls_++ == 1) test_gate::hold("fragment reader", [this] { return cancelled_.load(); });
    if (cancelled_) throw Cancelled();
    if (parallel_) {
        const bool more = parallel_->next(batch, max_lines, stats_);
        stats_.bgzf_eof_marker_missing = stream_->bgzf_eof_marker_missing();
        return more;
    }
    batch.clear();
    const char *begin, *end;
    try {
        while (batch.size() < max_lines && next_line(begin, end))
            parser_->parse(begin, end, stats_.lines, batch, stats_);
    } catch (const LineError& e) {
        throw std::invalid_argument(line_error_message(path_, e.line, e.what()));
    } catch (const LineTooLong&) {
        throw std::invalid_argument(long_line_message(path_, stats_.lines + 1));
    }
    stats_.bgzf_eof_marker_missing = stream_->bgzf_eof_marker_missing();
    return batch.size() > 0 || !eof_;
}

std::vector<uint64_t> count_fragments(FragmentFileReader& reader, const std::vector<bool>& is_mito) {
    std::vector<uint64_t> counts(reader.barcodes().size());
    FragmentBatch batch;
    while (reader.next(batch)) {
        if (counts.size() < reader.barcodes().size()) counts.resize(reader.barcodes().size());
        for (size_t i = 0; i < batch.size(); ++i)
            if (batch.status[i] == LineStatus::Stored && batch.barcode[i] != FragmentFileReader::kNoBarcode &&
                !(batch.chrom[i] < is_mito.size() && is_mito[batch.chrom[i]]))
                ++counts[batch.barcode[i]];
    }
    counts.resize(reader.barcodes().size());
    return counts;
}

void FragmentChunk::assign(const FragmentBatch& batch, const std::vector<int32_t>& group_of_barcode, bool paired) {
    is_paired = paired;
    indptr.assign(1, 0);
    indices.clear();
    lengths.clear();
    signed_lengths.clear();
    cell_group.clear();
    // At most one entry per line: reserving that up front maps each column once
    // (growing mapped pages by doubling would copy and fault them again); pages
    // never written are never resident.
    indptr.reserve(batch.size() + 1);
    indices.reserve(batch.size());
    if (paired) lengths.reserve(batch.size());
    else signed_lengths.reserve(batch.size());
    cell_group.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        if (batch.status[i] != LineStatus::Stored) continue;
        const uint32_t b = batch.barcode[i];
        if (b >= group_of_barcode.size() || group_of_barcode[b] < 0) continue;
        indices.push_back(static_cast<int64_t>(batch.position[i]));
        if (paired) lengths.push_back(batch.length[i]);
        else signed_lengths.push_back(batch.reverse[i] ? -static_cast<int32_t>(batch.length[i])
                                                       : static_cast<int32_t>(batch.length[i]));
        cell_group.push_back(group_of_barcode[b]);
        indptr.push_back(static_cast<int64_t>(cell_group.size()));
    }
}

CellChunk FragmentChunk::view() const {
    CellChunk c;
    c.n_cells = cell_group.size();
    c.n_fragments = indices.size();  // one fragment per "cell"
    c.indptr = indptr.data();
    c.indices = indices.data();
    if (is_paired) c.lengths = lengths.data();
    else c.signed_lengths = signed_lengths.data();
    c.cell_group = cell_group.data();
    return c;
}

std::vector<uint64_t> count_fragments(const std::string& path, const FragmentFileOptions& options,
                                      const std::vector<bool>& is_mito, FragmentFileStats& stats,
                                      const std::function<bool()>& cancelled) {
    FragmentFileReader reader(path, options);
    std::future<std::vector<uint64_t>> work =
        std::async(std::launch::async, [&] { return count_fragments(reader, is_mito); });
    const bool done = poll_until_ready(
        [&](auto interval) { return work.wait_for(interval) == std::future_status::ready; },
        [&] { return cancelled && cancelled(); });
    if (!done) {
        reader.cancel();
        work.wait();
        throw Cancelled();
    }
    std::vector<uint64_t> counts = work.get();
    stats = reader.stats();
    return counts;
}

}  // namespace fragcov
