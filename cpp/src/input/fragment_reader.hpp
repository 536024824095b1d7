// The fragment-file reader, its batches and the importer's cells (docs/spec.md
// section 8): private, used by the export's FragmentFiles source
// (pipeline/fragment_files.cpp), import_fragments' bindings and the unit tests.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fragcov/cancelled.hpp"
#include "fragcov/cell_chunk.hpp"  // what FragmentChunk::view() makes
#include "fragcov/fragment_file.hpp"
#include "util/page_allocator.hpp"

namespace fragcov {

// Why a data line holds no stored fragment (see docs/spec.md).
enum class LineStatus : uint8_t {
    Stored,        // the fragment is kept
    UnknownChrom,  // chromosome not in the genome: skipped, like SnapATAC2
    ShiftedAway,   // after the shifts, length <= 0 or start < 0: dropped
    PastChromEnd,  // stored position at or past the chromosome length: skipped
};

// Parsed data lines, one entry per line, in file order. Comment lines, blank
// lines and zero-length fragments (end == start, before the shifts) are not
// listed: they count for nothing, as in SnapATAC2.
struct FragmentBatch {  // columns in mapped pages (page_allocator.hpp)
    PageVector<uint64_t> line;      // 1-based line number
    PageVector<uint32_t> barcode;   // id (FragmentFileReader::barcodes()) or kNoBarcode
    PageVector<uint8_t> new_run;    // 1: barcode differs from the previous listed line's
    PageVector<LineStatus> status;
    PageVector<uint32_t> chrom;     // Stored: chromosome index in the genome
    PageVector<uint64_t> position;  // Stored: SnapATAC2's column, a genome position:
                                     // start, or end - 1 for a single-end '-' read
    PageVector<uint32_t> length;    // Stored: end - start (< 2^31 for single-end reads)
    PageVector<uint8_t> reverse;    // Stored: 1 for a single-end '-' read (value -length)
    PageVector<uint32_t> count;     // column 5 (1 when absent or '.')

    size_t size() const { return line.size(); }
    void clear();
};

class DecompressedStream;
class BarcodeTable;
class LineParser;
class ParallelParser;

class FragmentFileReader {
public:
    static constexpr uint32_t kNoBarcode = UINT32_MAX;

    // Opens the file (plain, gzip, BGZF or zstd, told apart by content). Throws
    // std::invalid_argument for bad options or an unsupported format.
    FragmentFileReader(std::string path, FragmentFileOptions options);
    ~FragmentFileReader();
    FragmentFileReader(const FragmentFileReader&) = delete;
    FragmentFileReader& operator=(const FragmentFileReader&) = delete;

    // Clears `batch` and fills it with the next data lines (up to
    // `max_lines`); false when the file is exhausted. A malformed line throws
    // std::invalid_argument("<path>: line <n>: <reason>: '<line>'"). Batches,
    // stats() after each call and errors do not depend on n_threads.
    bool next(FragmentBatch& batch, size_t max_lines = 1 << 16);

    // May be called from another thread: the next call of next() (or one
    // waiting for parsing threads) throws fragcov::Cancelled (an interrupted
    // Python caller uses it); parsing threads stop.
    void cancel();

    const std::vector<std::string>& barcodes() const;  // id -> barcode
    const FragmentFileStats& stats() const { return stats_; }
    const FragmentFileOptions& options() const { return options_; }
    const std::string& path() const { return path_; }

private:
    bool next_line(const char*& begin, const char*& end);

    std::string path_;
    FragmentFileOptions options_;
    std::unique_ptr<DecompressedStream> stream_;
    std::unique_ptr<BarcodeTable> barcodes_;
    FragmentFileStats stats_;
    std::atomic<bool> cancelled_{false};
    uint64_t calls_ = 0;  // of next()
    // parsed on the caller's thread: lines cut from the stream's pieces here
    std::unique_ptr<LineParser> parser_;
    PageVector<char> piece_;
    size_t piece_pos_ = 0;
    std::string carry_;  // a line split between two pieces
    bool eof_ = false;
    // or on n_threads threads (destroyed first: its threads use the members above)
    std::unique_ptr<ParallelParser> parallel_;
};

// Stored non-mitochondrial fragments per barcode id: SnapATAC2's n_fragment,
// used for min_num_fragments. Reads the rest of the file.
std::vector<uint64_t> count_fragments(FragmentFileReader& reader, const std::vector<bool>& is_mito);

// The stored fragments of `batch` as a CellChunk with one "cell" per fragment,
// whose group is group_of_barcode[barcode]; fragments of barcodes without a
// group (kNoBarcode, out of range or -1) are left out. The exporter only needs
// each fragment's group, so a fragment file feeds it in one pass.
class FragmentChunk {
public:
    void assign(const FragmentBatch& batch, const std::vector<int32_t>& group_of_barcode, bool is_paired);
    CellChunk view() const;
    size_t size() const { return cell_group.size(); }

    // mapped pages (page_allocator.hpp): a chunk is made on the reader's thread
    // and freed on the consumer's
    PageVector<int64_t> indptr{0};   // 0, 1, ..., size()
    PageVector<int64_t> indices;     // genome positions
    PageVector<uint32_t> lengths;    // paired-end
    PageVector<int32_t> signed_lengths;  // single-end
    PageVector<int32_t> cell_group;
    bool is_paired = true;
};

struct ImportOptions {
    FragmentFileOptions reader;      // genome in storage order (SnapATAC2: sorted by name)
    std::vector<bool> is_mito;       // per chromosome of reader.genome
    bool sorted_by_barcode = true;   // cells in order of appearance; else sorted by barcode
    uint64_t min_num_fragments = 200;
    size_t max_cells_per_batch = 2000;
    size_t max_fragments_per_batch = size_t(1) << 20;  // a batch ends after the cell passing it
    std::string tempdir;             // sort spill files (sorted_by_barcode = false); empty: $TMPDIR or /tmp
    uint64_t memory_budget_bytes = uint64_t(128) << 20;  // fragments buffered before a spill
};

// Cells in SnapATAC2's CSR layout: row = cell, column = genome position,
// entries sorted by (column, value) within a cell.
struct CellBatch {
    std::vector<std::string> barcodes;
    std::vector<uint64_t> n_fragment, n_mito, total;  // QC counts, per cell
    std::vector<int64_t> indptr{0};
    std::vector<int64_t> indices;
    std::vector<uint32_t> lengths;        // paired-end
    std::vector<int32_t> signed_lengths;  // single-end
    size_t size() const { return barcodes.size(); }
    size_t n_fragments() const { return indices.size(); }
    void clear();
};

class FragmentSorter;

// The cells import_fragments stores, in its order and with its QC counts,
// batch by batch: memory does not grow with the file (input not sorted by
// barcode is sorted through files in `tempdir`).
class FragmentImporter {
public:
    FragmentImporter(std::string path, ImportOptions options);
    ~FragmentImporter();
    // Clears `cells` and fills it with the next cells; false when none are left.
    bool next(CellBatch& cells);
    void cancel() { reader_.cancel(); }  // see FragmentFileReader::cancel
    const FragmentFileStats& stats() const { return reader_.stats(); }
    const ImportOptions& options() const { return options_; }

private:
    bool next_sorted(CellBatch& cells);
    bool next_unsorted(CellBatch& cells);
    void finish_cell(CellBatch& cells);
    bool batch_full(const CellBatch& cells) const;

    ImportOptions options_;
    FragmentFileReader reader_;
    FragmentBatch batch_;
    size_t batch_pos_ = 0;
    bool reader_done_ = false;
    std::vector<uint8_t> seen_;  // per barcode id: had a run (sorted) / appeared (unsorted)
    // the cell being completed
    uint32_t current_ = FragmentFileReader::kNoBarcode;
    uint64_t cur_n_fragment_ = 0, cur_n_mito_ = 0, cur_total_ = 0;
    std::vector<std::pair<uint64_t, int64_t>> cur_fragments_;  // (position, value)
    // otherwise: QC counts per barcode id, fragments in the sorter
    std::vector<uint64_t> n_fragment_, n_mito_, total_;
    std::unique_ptr<FragmentSorter> sorter_;
};

}  // namespace fragcov
