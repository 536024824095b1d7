// What a track's bin counts are divided by (docs/spec.md sections 3.4, 3.6, 14.4).
#pragma once
#include <vector>

#include "fragcov/exporter.hpp"

namespace fragcov {

// What a group's bin values are divided by (docs/spec.md section 3.6); 0 or
// less means an all-zero track.
double denominator(const ExportOptions& options, const GroupStats& stats, const Track& track);

// How a track's counts become its values (docs/spec.md sections 3.6, 3.7): a
// count divided by the group's denominator, times the scale factor, in that
// order (every track's bytes depend on it). Made by track_scale, the one place
// the options' factors are read: writing, comparison and profiles take a
// group's TrackScale and never read those options themselves.
struct TrackScale {
    double denominator = 0;  // >= 0; 0: an all-zero track (nothing to divide by)
    double factor = 1;       // applied after the division

    double value(double count) const { return count / denominator * factor; }
    // The scale of a sum over `bases` bases (a smoothing window, a profile bin): the value of its mean.
    TrackScale per(double bases) const { return {denominator * bases, factor}; }
};

// Group `track`'s scale; a negative denominator is clamped to 0.
TrackScale track_scale(const ExportOptions& options, const GroupStats& stats, const Track& track);

// Adds the counts of `part` (units, N, L, S) to `sum`: integer sums, so the
// order in which parts (binning slots, groups) are added does not matter.
void add_counts(GroupStats& sum, const GroupStats& part);

// The scale of the other side of comparison track g (docs/spec.md section
// 14.4): its reference group, or with Track::kRest the counts and cells of
// every other group, normalized as a track of its own.
TrackScale reference_scale(const ExportOptions& options, const std::vector<GroupStats>& stats,
                           const std::vector<Track>& tracks, size_t g);

}  // namespace fragcov
