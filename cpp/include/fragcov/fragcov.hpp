// fragcov: grouped genome coverage tracks from single-cell ATAC-seq fragments.
// Umbrella header for users embedding the C++ library: an export in one call
// is fragcov::export_coverage(plan, source) (pipeline.hpp) with the fragments
// of fragment files (fragment_files.hpp), of an .h5ad's columns
// (h5ad_columns.hpp) or of a source of one's own.
#pragma once
#include "fragcov/cancelled.hpp"
#include "fragcov/genome.hpp"
#include "fragcov/regions.hpp"
#include "fragcov/options.hpp"
#include "fragcov/profile.hpp"
#include "fragcov/cell_chunk.hpp"
#include "fragcov/track_writer.hpp"
#include "fragcov/exporter.hpp"
#include "fragcov/pipeline.hpp"
#include "fragcov/fragment_file.hpp"
#include "fragcov/fragment_files.hpp"
#include "fragcov/hdf5_layout.hpp"
#include "fragcov/h5ad_columns.hpp"

namespace fragcov {
// Library version, e.g. "0.1.0".
const char* version();
}  // namespace fragcov
