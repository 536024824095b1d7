// Grouped coverage export: feed cells in chunks, then write one track per group.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/genome.hpp"
#include "fragcov/options.hpp"
#include "fragcov/regions.hpp"
#include "fragcov/track_writer.hpp"

namespace fragcov {

// Fragments of a chunk of cells in SnapATAC2's CSR layout (docs/spec.md
// section 2). add_cells() checks every field before it uses any (section 11).
struct CellChunk {
    size_t n_cells = 0;
    size_t n_fragments = 0;             // length of indices and of lengths / signed_lengths
    const int64_t* indptr = nullptr;    // n_cells + 1 offsets into indices/values: 0, never decreasing,
                                        // ending at most at n_fragments
    const int64_t* indices = nullptr;   // genome position (start, or last base of a reverse read)
    const uint32_t* lengths = nullptr;  // paired-end: fragment length
    const int32_t* signed_lengths = nullptr;  // single-end: +len forward, -len reverse
    const int32_t* cell_group = nullptr;      // group id per cell in [0, number of tracks), -1: no group
};

struct GroupStats {
    uint64_t n_units = 0;     // units binned into the track (after blacklist)
    uint64_t norm_count = 0;  // N of docs/spec.md section 3.4
    uint64_t bin_sum = 0;     // S of docs/spec.md section 3.6
};

struct Regions {
    RegionIndex blacklist, include_for_norm, exclude_for_norm;
    bool has_include = false;  // include_for_norm=None means "all units"
};

class UnitStore;
class TrackWriter;

class GroupedExporter {
public:
    // output_paths[g] is the final file of group g. Throws std::invalid_argument
    // before any file exists when an option is out of range (validate()), an
    // output path is unusable or repeated, tempdir is not a writable directory,
    // or the genome does not fit the output format.
    GroupedExporter(Genome genome, Regions regions, ExportOptions options,
                    std::vector<std::string> output_paths);
    ~GroupedExporter();

    // Bins the units of a chunk of cells. Throws std::invalid_argument, naming
    // the cell, when the chunk is inconsistent (its indptr, a group id, or a
    // position outside the genome); nothing of that chunk is counted then.
    void add_cells(const CellChunk& chunk);
    // Writes every group's track: all are written under temporary names and
    // renamed into place only when every one is complete. `cancelled` is polled
    // from the calling thread while the workers write; when it returns true,
    // work stops, temporary files are removed and fragcov::Cancelled is thrown.
    std::vector<GroupStats> finish(const std::function<bool()>& cancelled = {});

    const Genome& genome() const { return genome_; }

private:
    void check_chunk(const CellChunk& chunk) const;
    template <bool SingleEnd> void add_cells_impl(const CellChunk& chunk);
    void add_unit(int32_t group, uint32_t chrom, int64_t start, int64_t end);
    // Writes group `group`'s track and closes it (not yet renamed into place).
    std::unique_ptr<TrackWriter> write_group(size_t group, const std::function<bool()>& stop_requested);

    Genome genome_;
    Regions regions_;
    ExportOptions options_;
    std::vector<std::string> output_paths_;
    std::vector<GroupStats> stats_;
    std::unique_ptr<UnitStore> units_;
};

struct Cancelled : std::exception {
    const char* what() const noexcept override { return "export cancelled"; }
};

}  // namespace fragcov
