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

namespace fragcov {

// Fragments of a chunk of cells in SnapATAC2's CSR layout (SPEC section 2).
struct CellChunk {
    size_t n_cells = 0;
    const int64_t* indptr = nullptr;    // n_cells + 1 offsets into indices/values
    const int64_t* indices = nullptr;   // genome position (start, or last base of a reverse read)
    const uint32_t* lengths = nullptr;  // paired-end: fragment length
    const int32_t* signed_lengths = nullptr;  // single-end: +len forward, -len reverse
    const int32_t* cell_group = nullptr;      // group id per cell, -1: no group
};

struct GroupStats {
    uint64_t n_units = 0;     // units binned into the track (after blacklist)
    uint64_t norm_count = 0;  // N of SPEC 3.4
    uint64_t bin_sum = 0;     // S of SPEC 3.6
};

struct Regions {
    RegionIndex blacklist, include_for_norm, exclude_for_norm;
    bool has_include = false;  // include_for_norm=None means "all units"
};

class UnitStore;

class GroupedExporter {
public:
    // output_paths[g] is the final file of group g.
    GroupedExporter(Genome genome, Regions regions, ExportOptions options,
                    std::vector<std::string> output_paths);
    ~GroupedExporter();

    void add_cells(const CellChunk& chunk);
    // Writes every group's track. `cancelled` is polled between chromosomes from one
    // thread; when it returns true, work stops, temporary files are removed and
    // fragcov::Cancelled is thrown.
    std::vector<GroupStats> finish(const std::function<bool()>& cancelled = {});

    const Genome& genome() const { return genome_; }

private:
    template <bool SingleEnd> void add_cells_impl(const CellChunk& chunk);
    void add_unit(int32_t group, uint32_t chrom, int64_t start, int64_t end);
    void write_group(size_t group, const std::function<bool()>& poll);

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
