// What a track's bin counts are divided by (docs/spec.md sections 3.4, 3.6, 14.4).
#pragma once
#include <vector>

#include "fragcov/exporter.hpp"

namespace fragcov {

// What a group's bin values are divided by (docs/spec.md section 3.6); 0 or
// less means an all-zero track.
double denominator(const ExportOptions& options, const GroupStats& stats, const Track& track);

// Adds the counts of `part` (units, N, L, S) to `sum`: integer sums, so the
// order in which parts (binning slots, groups) are added does not matter.
void add_counts(GroupStats& sum, const GroupStats& part);

// The other side of comparison track g (docs/spec.md section 14.4): its
// reference group, or with Track::kRest the counts and cells of every other
// group, normalized as a track of its own.
double reference_denominator(const ExportOptions& options, const std::vector<GroupStats>& stats,
                             const std::vector<Track>& tracks, size_t g);

}  // namespace fragcov
