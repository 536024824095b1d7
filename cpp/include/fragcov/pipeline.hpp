// An export in one call: its plan (genome, regions, options, tracks), a source
// of fragments, and the read-and-bin pipeline between them (docs/spec.md
// sections 7.2, 11.10). The sources of the library read fragment files
// (fragment_file.hpp) and the columns of an .h5ad file (h5ad_columns.hpp); a
// caller may write its own (the Python package hands over in-memory arrays).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "fragcov/cell_chunk.hpp"
#include "fragcov/exporter.hpp"
#include "fragcov/profile.hpp"

namespace fragcov {

// Profiles around anchors, computed in the export's pass (docs/spec.md section 16).
struct ProfileRequest {
    std::vector<ProfileAnchor> anchors;
    ProfileOptions options;
};

// Everything an export needs besides its fragments: what GroupedExporter is built from.
struct ExportPlan {
    Genome genome;
    Regions regions;
    ExportOptions options;
    std::vector<Track> tracks;  // group g is written as tracks[g] (an empty path: no file)
    std::optional<ProfileRequest> profiles;
};

// What an export returns: per group its counts and denominators, and its
// profile when the plan asked for profiles.
struct ExportResult {
    std::vector<GroupStats> stats;
    std::vector<GroupProfile> profiles;
};

// One chunk of cells to bin (docs/spec.md 11.5.2).
struct BinJob {
    CellChunk cells;
    uint64_t n_fragments = 0;  // for progress reports
    // When set, runs on the binning thread first, with its slot: reads what
    // `cells` does not hold yet (e.g. columns of a file) into buffers of that slot.
    std::function<void(CellChunk& cells, size_t slot)> read;
    // Keeps the chunk's arrays alive; released on the thread running the
    // pipeline once the chunk is binned.
    std::shared_ptr<const void> keep;
};

// Where the chunks of an export come from. Its calls come from the thread that
// runs the pipeline, one at a time.
class ChunkSource {
public:
    virtual ~ChunkSource();
    // Once, before the first next(): jobs' `read` get slots below n_slots.
    virtual void start(size_t n_slots) { (void)n_slots; }
    // The next chunk into `job` (reset by the caller), false at the end. While
    // it waits it polls `cancelled` (when set) every 100 ms and throws
    // fragcov::Cancelled when it returns true.
    virtual bool next(BinJob& job, const std::function<bool()>& cancelled) = 0;
};

// Chunks the caller holds in memory; their arrays must live through the export.
class CellChunks : public ChunkSource {
public:
    explicit CellChunks(std::vector<CellChunk> chunks) : chunks_(std::move(chunks)) {}
    bool next(BinJob& job, const std::function<bool()>& cancelled) override;

private:
    std::vector<CellChunk> chunks_;
    size_t next_ = 0;
};

// Several sources, one after the other (e.g. the members of an AnnDataSet).
class ChunkSources : public ChunkSource {
public:
    explicit ChunkSources(std::vector<ChunkSource*> parts) : parts_(std::move(parts)) {}
    void start(size_t n_slots) override;
    bool next(BinJob& job, const std::function<bool()>& cancelled) override;

private:
    std::vector<ChunkSource*> parts_;
    size_t current_ = 0;
};

// What the caller of an export may hear of and decide along the way; each is
// optional and called on the calling thread.
struct ExportHooks {
    std::function<bool()> cancelled;         // polled every 100 ms; true: stop, fragcov::Cancelled
    std::function<void()> before_reading;    // every check passed, nothing read yet
    std::function<void(uint64_t)> progress;  // fragments handed to the binning threads
    std::function<void()> after_reading;     // every chunk binned, nothing written yet
};

// Phase 1 (docs/spec.md 7.2): every chunk of `source` read and binned on
// exporter.binning_slots() threads while the calling thread takes the next
// chunk; at most binning_slots() + 1 chunks are unfinished at a time. The
// error of the first bad chunk in reading order is rethrown (7.4.1).
void bin_chunks(GroupedExporter& exporter, ChunkSource& source, const ExportHooks& hooks = {});

// The one call: the plan checked (GroupedExporter's constructor and
// add_profiles), then bin_chunks, then finish(). Throws as they do; nothing is
// left on disk when it throws.
ExportResult export_coverage(ExportPlan plan, ChunkSource& source, const ExportHooks& hooks = {});

}  // namespace fragcov
