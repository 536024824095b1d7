// CellChunk: fragments of a chunk of cells, what every reader hands to the
// exporter (GroupedExporter::add_cells) and the one type that readers and the
// exporter exchange (docs/spec.md sections 2, 11.5.2).
#pragma once
#include <cstddef>
#include <cstdint>

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

}  // namespace fragcov
