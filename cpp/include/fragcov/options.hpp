// Everything that decides what a track contains and how it is written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fragcov {

enum class Normalization { None, CPM, RPKM, BPM };
enum class CountingStrategy { Fragment, Insertion };
enum class OutputFormat { BedGraph, BigWig };
enum class Compression { None, Gzip, Zstd };

struct ExportOptions {
    uint32_t bin_size = 10;
    Normalization normalization = Normalization::RPKM;
    std::optional<uint64_t> min_frag_length;           // paired-end only
    std::optional<uint64_t> max_frag_length = 2000;    // paired-end only
    CountingStrategy counting = CountingStrategy::Fragment;
    std::optional<uint32_t> smooth_base;               // moving-window width in bases
    OutputFormat format = OutputFormat::BigWig;
    Compression compression = Compression::None;
    int compression_level = -1;                        // -1: codec default (gzip 6, zstd 3)
    std::string tempdir;                               // spill files; empty: system temp dir
    int n_jobs = 8;                                    // <= 0: all cores
    uint64_t memory_budget_bytes = 32ull << 20;        // buffered units before spilling
};

// Throws std::invalid_argument when an option is out of range.
void validate(const ExportOptions& options);

}  // namespace fragcov
