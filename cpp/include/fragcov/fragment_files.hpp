// Fragment files as the input of an export (docs/spec.md sections 13, 13.6):
// FragmentFiles, the source that reads several files at once for
// export_coverage (fragcov/pipeline.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/fragment_file.hpp"
#include "fragcov/pipeline.hpp"

namespace fragcov {

// One fragment file of an export: which of its barcodes are cells, and which.
struct FragmentFileInput {
    std::string path;
    std::string sample;                  // its sample name, for messages (docs/spec.md 13.6)
    std::vector<std::string> barcodes;   // the file's barcodes that are cells (others are left out)
    std::vector<int32_t> cell_of_barcode;  // their cells: rows of the cell table, >= 0
};

struct FragmentFilesOptions {
    // genome, is_paired and the shifts; `barcodes` is each file's own and
    // n_threads <= 0 means every processor (shared out between the files read
    // at once, docs/spec.md 13.6)
    FragmentFileOptions reading;
    std::vector<int32_t> group_of_cell;  // the track of each cell (row), -1: none
    std::vector<std::string> cell_names;  // for messages; empty: cells are named by their row
    std::vector<bool> is_mito;            // per chromosome of reading.genome (whole_cells: QC counts)
    // Some cells are listed by several files (their sample is not known): each
    // must occur in one file only (docs/spec.md 13.6), checked as chunks arrive.
    bool check_one_file_per_cell = false;
    // Cells come whole, through import_fragments' sort by barcode in `tempdir`
    // (ExportOptions::ceiling caps per cell); otherwise one "cell" per fragment.
    bool whole_cells = false;
    std::string tempdir;               // empty: $TMPDIR or /tmp
    size_t chunk_lines = size_t(1) << 18;  // lines parsed per chunk (one cell per fragment)
    uint64_t early_open_bytes = uint64_t(16) << 20;  // a next file under this size is opened a step early
};

// The fragments of several files whose cell has a group, as chunks of the
// export (docs/spec.md 13, 13.6): up to min(files, n_threads, processors)
// files are read at once, each parsed on its own thread (and its share of
// n_threads for decompression and parsing) while the export takes chunks round
// robin; a small next file is opened one step early. Errors are those of the
// first bad file in file order, whatever the threads' timing.
class FragmentFiles : public ChunkSource {
public:
    FragmentFiles(std::vector<FragmentFileInput> files, FragmentFilesOptions options);
    ~FragmentFiles() override;
    bool next(BinJob& job, const std::function<bool()>& cancelled) override;

    // After the last chunk: each file's statistics (docs/spec.md 8, 13.7)
    const std::vector<FragmentFileStats>& file_stats() const;
    // the file each cell was seen in (a stored fragment), -1: none
    const std::vector<int32_t>& file_of_cell() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace fragcov
