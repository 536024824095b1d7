// Grouped coverage export: feed cells in chunks, then write one track per group.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/cancelled.hpp"
#include "fragcov/cell_chunk.hpp"
#include "fragcov/genome.hpp"
#include "fragcov/options.hpp"
#include "fragcov/profile.hpp"
#include "fragcov/regions.hpp"
#include "fragcov/track_writer.hpp"

namespace fragcov {

// One output track: its file, and what its normalization needs to know about
// its cells (docs/spec.md section 3.6). An empty path: no file (the group is
// counted for its normalization, its profile and, with compare, the others' rest).
struct Track {
    explicit Track(std::string path_ = {}, uint64_t n_cells_ = 0, double norm_by_total_ = 0)
        : path(std::move(path_)), n_cells(n_cells_), norm_by_total(norm_by_total_) {}
    std::string path;          // the final file
    uint64_t n_cells = 0;      // the track's cells, with or without fragments (Normalization::NCells)
    double norm_by_total = 0;  // Q: the per-cell quantity summed over its cells (ExportOptions::norm_by)
    // Comparison tracks (ExportOptions::compare, docs/spec.md section 14): the
    // other side of this track, kRest (every cell of every other group) or a
    // group index. An empty path: a group that is binned (it is part of the
    // rest of the others) but gets no file.
    static constexpr int32_t kRest = -1;
    int32_t reference = kRest;
};

struct GroupStats {
    uint64_t n_units = 0;      // units binned into the track (after blacklist)
    uint64_t norm_count = 0;   // N of docs/spec.md section 3.4
    uint64_t norm_length = 0;  // L: summed length of the N counted units (RPGC)
    uint64_t bin_sum = 0;      // S of docs/spec.md section 3.5 (after the ceiling)
    double denominator = 0;    // what bin values were divided by; 0: an all-zero track (section 3.6)
    double reference_denominator = 0;  // comparison tracks: the reference side's (0: an empty track, 14.4)
};

struct Regions {
    RegionIndex blacklist, include_for_norm, exclude_for_norm;
    bool has_include = false;  // include_for_norm=None means "all units"
    // docs/spec.md section 4.9: only records inside these are written, cut at
    // their edges; normalization and smoothing are as without them.
    RegionIndex output;
    bool has_output = false;
};

class UnitStore;
class TrackWriter;
class ProfileCollector;

class GroupedExporter {
public:
    // tracks[g] is group g's track. Throws std::invalid_argument before any
    // file exists when an option is out of range (validate()), an output path
    // is unusable or repeated, tempdir is not a writable directory, or the
    // genome does not fit the output format.
    GroupedExporter(Genome genome, Regions regions, ExportOptions options, std::vector<Track> tracks);
    // The same with only output paths (n_cells and norm_by totals 0).
    GroupedExporter(Genome genome, Regions regions, ExportOptions options, std::vector<std::string> output_paths);
    ~GroupedExporter();

    // Bins the units of a chunk of cells. Throws std::invalid_argument, naming
    // the cell, when the chunk is inconsistent (its indptr, a group id, or a
    // position outside the genome); nothing of that chunk is counted then.
    void add_cells(const CellChunk& chunk) { add_cells(chunk, 0); }
    // The same into binning slot `slot` (< binning_slots()): calls with
    // different slots may run at the same time on different threads (e.g. on
    // a WorkerTeam). Each slot has its own unit buffers and counts, summed in
    // finish(); the tracks do not depend on which slot binned which chunk.
    void add_cells(const CellChunk& chunk, size_t slot);
    // binning_threads(options.n_jobs) of them.
    size_t binning_slots() const { return slots_.size(); }
    // Writes every group's track: all are written under temporary names and
    // renamed into place only when every one is complete. `cancelled` is polled
    // from the calling thread while the workers write; when it returns true,
    // work stops, temporary files are removed and fragcov::Cancelled is thrown.
    std::vector<GroupStats> finish(const std::function<bool()>& cancelled = {});

    // Profiles around anchors (docs/spec.md section 16), computed by finish()
    // for every group from the same pass; call before the first add_cells.
    // Throws std::invalid_argument for the rules of section 16.10.3 (options,
    // anchors, memory; not with ceiling or compare).
    void add_profiles(std::vector<ProfileAnchor> anchors, const ProfileOptions& options);
    // After finish(): one GroupProfile per group (none without add_profiles).
    std::vector<GroupProfile> take_profiles();

    const Genome& genome() const { return genome_; }

private:
    struct Slot;
    void check_chunk(const CellChunk& chunk) const;
    template <bool SingleEnd> void add_cells_impl(const CellChunk& chunk, Slot& slot);
    void add_unit(Slot& slot, int32_t group, uint32_t chrom, int64_t start, int64_t end);
    void store(Slot& slot, int32_t group, uint32_t chrom, uint32_t first_bin, uint32_t end_bin);
    void flush_capped_cell(Slot& slot, int32_t group);
    // Phase 2: every track, closed but not yet renamed into place (exporter.cpp).
    void write_tracks(int n_threads, std::vector<std::unique_ptr<TrackWriter>>& out, std::atomic<bool>& stop);

    Genome genome_;
    Regions regions_;
    ExportOptions options_;
    std::vector<Track> tracks_;
    std::vector<GroupStats> stats_;  // summed over the slots by finish()
    std::unique_ptr<UnitStore> units_;  // one shard per slot
    std::vector<char> stores_units_;    // per group: its units are kept for a track (a file, or compare's rest)
    std::unique_ptr<ProfileCollector> profiles_;  // add_profiles()
    // What one binning thread owns: its counts, and with a ceiling the current
    // cell's units (chrom, first bin, end bin), capped when the cell ends.
    struct CellUnit { uint32_t chrom, first, end; };
    struct Slot {
        size_t index = 0;
        std::vector<GroupStats> stats;
        std::vector<CellUnit> cell_units;
    };
    std::vector<Slot> slots_;
};

// Threads that read and bin chunks for ExportOptions::n_jobs: min(n_jobs,
// processors), all processors for n_jobs <= 0 (docs/spec.md section 7.2).
int binning_threads(int64_t n_jobs);

}  // namespace fragcov
