// Profiles around anchors (docs/spec.md section 16): per group, the mean
// normalized coverage in bins around each anchor, and the counts of the TSS
// enrichment, computed by GroupedExporter in the export's one pass.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fragcov {

struct ProfileOptions {
    int64_t upstream = 2000;    // bases before the anchor base: 0-2^31, a multiple of bin_size
    int64_t downstream = 2000;  // bases from the anchor base on: 0-2^31, a multiple of bin_size
    int64_t bin_size = 10;      // 1-2^31; upstream + downstream > 0
    // (upstream + downstream) / bin_size, for validated options
    size_t n_bins() const { return static_cast<size_t>((upstream + downstream) / bin_size); }
};

// Throws std::invalid_argument, naming the option, when a value breaks
// docs/spec.md section 16.4.1.
void validate(const ProfileOptions& options);

// One anchor: a chromosome index of the exporter's genome, the anchor base a
// (section 16.3; it may lie past the chromosome's end: its bins are NaN) and
// its strand (minus: relative position r is at base a - r, else a + r).
struct ProfileAnchor {
    uint32_t chrom = 0;
    int64_t position = 0;
    bool minus = false;
};

// The TSS enrichment's window (section 16.6, ArchR's numbers): +-kTssWindow
// bases, flanks of kTssFlank bases at each end, a centre of kTssCentre bases.
inline constexpr int64_t kTssWindow = 2000, kTssFlank = 100, kTssCentre = 101;

// One group's profile, filled by GroupedExporter::finish().
struct GroupProfile {
    std::vector<float> values;         // anchors x bins, row-major (section 16.4)
    std::vector<uint64_t> tss_centre;  // per anchor: units summed over its centre bases (16.6)
    std::vector<uint64_t> tss_flank;   // per anchor: units summed over its two flanks (16.6)
};

}  // namespace fragcov
