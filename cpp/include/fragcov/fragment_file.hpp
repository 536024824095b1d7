// 10x-style fragment files (docs/spec.md section 8): how they are read and
// what reading them found. FragmentFiles (fragment_files.hpp) exports from them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fragcov/genome.hpp"

namespace fragcov {

struct FragmentFileOptions {
    // Chromosomes kept, in storage order (genome positions follow this order).
    // Lines on other chromosomes are skipped.
    Genome genome;
    bool is_paired = true;  // false: single-end reads with a 6th strand column (+ or -)
    // Tn5 offsets applied to every fragment as it is read: start += shift_left,
    // end += shift_right (ArchR's +4/-5 is shift_left = 4, shift_right = -5).
    int64_t shift_left = 0, shift_right = 0;
    // When set, only these barcodes get ids (their index here); the barcodes of
    // other lines get kNoBarcode. Unset: every barcode gets an id, in order of
    // first appearance.
    std::optional<std::vector<std::string>> barcodes;
    // BGZF decompression threads and, with `barcodes` set, parsing threads
    // (docs/spec.md 8.1.1); <= 0: all processors. 1: parsed on the thread calling next().
    int n_threads = 1;
};

struct FragmentFileStats {
    uint64_t lines = 0;            // all lines read, comments included
    uint64_t zero_length = 0;      // end == start, ignored
    uint64_t unknown_chrom = 0;
    uint64_t shifted_away = 0;
    uint64_t past_chrom_end = 0;
    uint64_t stored = 0;
    uint64_t first_shifted_away_line = 0;
    uint64_t first_past_chrom_end_line = 0;
    std::string first_past_chrom_end;  // e.g. "chr1:1000-1050 (chr1 has length 500)"
    int first_data_columns = 0;        // columns of the first data line (0: none yet)
    // BGZF input that ended without bgzip's empty end-of-file block: possibly
    // cut short at a block boundary (htslib warns the same; set at the end)
    bool bgzf_eof_marker_missing = false;
};

// Stored non-mitochondrial fragments per barcode of options.barcodes (or per
// barcode in order of appearance without them): SnapATAC2's n_fragment, for
// min_num_fragments; `stats` gets the reader's statistics. `cancelled` is polled
// every 100 ms; true: fragcov::Cancelled.
std::vector<uint64_t> count_fragments(const std::string& path, const FragmentFileOptions& options,
                                      const std::vector<bool>& is_mito, FragmentFileStats& stats,
                                      const std::function<bool()>& cancelled = {});

}  // namespace fragcov
