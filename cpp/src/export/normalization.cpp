#include "export/normalization.hpp"

#include <algorithm>

namespace fragcov {

double denominator(const ExportOptions& o, const GroupStats& st, const Track& track) {
    if (o.norm_by) return track.norm_by_total / 1e4;
    switch (o.normalization) {
        case Normalization::None: return 1.0;
        case Normalization::CPM: return st.norm_count / 1e6;
        case Normalization::RPKM: return st.norm_count / 1e6 * (static_cast<double>(o.bin_size) / 1e3);
        case Normalization::BPM: return st.bin_sum / 1e6;
        case Normalization::RPGC:
            return static_cast<double>(st.norm_length) / static_cast<double>(*o.effective_genome_size);
        case Normalization::NCells: return static_cast<double>(track.n_cells);
    }
    return 1.0;
}

namespace {

// What every value is multiplied by after the division (docs/spec.md 3.6).
double factor(const ExportOptions& o) { return o.scale_factor; }

}  // namespace

TrackScale track_scale(const ExportOptions& o, const GroupStats& st, const Track& track) {
    return {std::max(0.0, denominator(o, st, track)), factor(o)};
}

void add_counts(GroupStats& sum, const GroupStats& part) {
    sum.n_units += part.n_units;
    sum.norm_count += part.norm_count;
    sum.norm_length += part.norm_length;
    sum.bin_sum += part.bin_sum;
}

static double reference_denominator(const ExportOptions& options, const std::vector<GroupStats>& stats,
                                    const std::vector<Track>& tracks, size_t g) {
    const int32_t ref = tracks[g].reference;
    if (ref != Track::kRest) return denominator(options, stats[static_cast<size_t>(ref)], tracks[static_cast<size_t>(ref)]);
    GroupStats other;
    Track other_track;
    for (size_t h = 0; h < stats.size(); ++h) {
        if (h == g) continue;
        add_counts(other, stats[h]);
        other_track.n_cells += tracks[h].n_cells;
    }
    return denominator(options, other, other_track);
}

TrackScale reference_scale(const ExportOptions& options, const std::vector<GroupStats>& stats,
                           const std::vector<Track>& tracks, size_t g) {
    return {std::max(0.0, reference_denominator(options, stats, tracks, g)), factor(options)};
}

}  // namespace fragcov
