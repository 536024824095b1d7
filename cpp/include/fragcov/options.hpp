// Everything that decides what a track contains and how it is written, and the
// one place where option values and spellings are checked (docs/spec.md
// section 1). The Python layer fills these fields and calls validate(); C++
// users get the same checks from the GroupedExporter constructor.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fragcov {

enum class Normalization { None, CPM, RPKM, BPM, RPGC, NCells };
enum class CountingStrategy { Fragment, Insertion };
enum class OutputFormat { BedGraph, BigWig };
enum class Compression { None, Gzip, Zstd };
// Group-vs-rest comparison tracks (docs/spec.md section 14); None: ordinary coverage tracks.
enum class CompareOperation { None, Log2, Ratio, Difference };

// User spellings -> enums, case-insensitive. Accepted: normalization "none",
// "CPM", "RPKM", "BPM", "RPGC", "n_cells"; counting_strategy "fragment", "insertion";
// output_format "bigwig", "bedgraph"; compression "none", "gzip"/"gz",
// "zstandard"/"zstd"/"zst". Anything else throws std::invalid_argument naming
// the accepted values.
Normalization parse_normalization(std::string_view text);
CountingStrategy parse_counting_strategy(std::string_view text);
OutputFormat parse_output_format(std::string_view text);
Compression parse_compression(std::string_view text);
// "none", "log2", "ratio", "difference" (case-insensitive).
CompareOperation parse_compare_operation(std::string_view text);

// Canonical spellings ("RPKM", "fragment", "bigwig", "gzip", ...), accepted by the parsers.
const char* to_string(Normalization value);
const char* to_string(CountingStrategy value);
const char* to_string(OutputFormat value);
const char* to_string(Compression value);
const char* to_string(CompareOperation value);

// Levels a codec accepts and its default (gzip 1-9, default 6; zstd 1-22,
// default 3). Compression::None has no levels.
struct LevelRange {
    int min, max, default_level;
};
std::optional<LevelRange> level_range(Compression compression);
// The level to use: `level` checked against the codec's range, or its
// default; throws std::invalid_argument when out of range.
int resolve_compression_level(Compression compression, std::optional<int> level);

struct ExportOptions {
    // Integer options are wide and signed so that a wrong value (negative,
    // too large) reaches validate() instead of wrapping around.
    int64_t bin_size = 10;                             // >= 1
    Normalization normalization = Normalization::RPKM;
    std::optional<int64_t> min_frag_length;            // >= 0; paired-end only
    std::optional<int64_t> max_frag_length = 2000;     // >= 0; paired-end only
    CountingStrategy counting = CountingStrategy::Fragment;
    std::optional<int64_t> smooth_base;                // moving-window width in bases, >= 1
    OutputFormat format = OutputFormat::BigWig;
    Compression compression = Compression::None;       // bedGraph only
    std::optional<int> compression_level;              // empty: the codec's default
    std::string tempdir;                               // spill files; empty: $TMPDIR or /tmp
    int n_jobs = 8;                                    // worker threads; <= 0: all cores
    uint64_t memory_budget_bytes = 32ull << 20;        // buffered units before spilling

    // Normalizations other tools' users bring (docs/spec.md section 3.6):
    std::optional<int64_t> effective_genome_size;      // G of RPGC (required by it, refused otherwise)
    bool norm_by = false;                              // v * 1e4 / Q, Q per track (Track::norm_by_total);
                                                       // only with Normalization::None
    double scale_factor = 1.0;                         // every value times this (finite, > 0)
    std::optional<int64_t> ceiling;                    // per-cell cap of a bin's count (ArchR), >= 1

    // Comparison tracks (docs/spec.md section 14): each written track is
    // op(group, reference) of its Track::reference (the rest of the cells, or
    // one group), both sides normalized by their own totals.
    CompareOperation compare = CompareOperation::None;
    double pseudocount = 0.1;                          // p of log2/ratio: finite, > 0 (>= 0 for difference)
};

// Largest accepted bin_size and smooth_base (bins and windows index 32-bit coordinates).
inline constexpr int64_t kMaxBinSize = int64_t{1} << 31;

// Throws std::invalid_argument, naming the option, when a value is out of
// range or two options contradict each other. Does not touch the file system.
void validate(const ExportOptions& options);

}  // namespace fragcov
