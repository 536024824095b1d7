// Phase 2 of an export (docs/spec.md sections 3.5-3.8, 4.9, 14): a group's
// binned units into records of its track, and the comparison tracks.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "export/normalization.hpp"
#include "export/unit_store.hpp"
#include "fragcov/exporter.hpp"

namespace fragcov {

// What writing reads: the export's settings and every group's binned units.
struct WriteContext {
    const Genome& genome;
    const Regions& regions;
    const ExportOptions& options;
    const UnitStore& units;
};

// Writes group `group`'s track to `track.path` (under its temporary name, closed
// but not yet renamed into place), every bin count made a value by `scale`
// (its denominator > 0; nothing is written otherwise), its chromosomes on up to
// `n_threads` threads (docs/spec.md 7.1.1). `stop()` is asked before each
// chromosome and every 65,536 records; when it returns true,
// fragcov::Cancelled is thrown.
std::unique_ptr<TrackWriter> write_track(const WriteContext& ctx, size_t group, const Track& track,
                                         const TrackScale& scale, int n_threads, const std::function<bool()>& stop);

// Comparison mode (docs/spec.md section 14): every track with a path, as
// op(group, reference), chromosome by chromosome on n_threads threads; sets
// each written track's denominator and reference_denominator in `stats` and
// its closed writer in `out`.
void write_comparisons(const WriteContext& ctx, const std::vector<Track>& tracks, std::vector<GroupStats>& stats,
                       int n_threads, std::vector<std::unique_ptr<TrackWriter>>& out,
                       const std::function<bool()>& stop);

// Cuts records to the regions of one chromosome (docs/spec.md section 4.9);
// records come in order.
class RegionClipper {
public:
    explicit RegionClipper(const std::vector<RegionIndex::Interval>& regions) : regions_(regions) {}
    template <class Emit>
    void operator()(int64_t s, int64_t e, Emit emit) {
        while (k_ < regions_.size() && regions_[k_].end <= s) ++k_;
        for (size_t j = k_; j < regions_.size() && regions_[j].start < e; ++j)
            emit(std::max(s, regions_[j].start), std::min(e, regions_[j].end));
    }

private:
    const std::vector<RegionIndex::Interval>& regions_;
    size_t k_ = 0;
};

// Counts down records between two calls of a stop request (honoured every
// kEvery records, not only between chromosomes).
class StopCheck {
public:
    static constexpr uint32_t kEvery = 1 << 16;
    explicit StopCheck(const std::function<bool()>& stop) : stop_(stop) {}
    void operator()() {
        if (--until_check_ == 0) {
            until_check_ = kEvery;
            if (stop_()) throw Cancelled();
        }
    }

private:
    const std::function<bool()>& stop_;
    uint32_t until_check_ = kEvery;
};

}  // namespace fragcov
