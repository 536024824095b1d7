// fragcov: grouped genome coverage tracks from single-cell ATAC-seq fragments.
// Umbrella header for users embedding the C++ library.
#pragma once
#include "fragcov/cancelled.hpp"
#include "fragcov/genome.hpp"
#include "fragcov/regions.hpp"
#include "fragcov/options.hpp"
#include "fragcov/profile.hpp"
#include "fragcov/track_writer.hpp"
#include "fragcov/exporter.hpp"
#include "fragcov/fragment_file.hpp"

namespace fragcov {
// Library version, e.g. "0.1.0".
const char* version();
}  // namespace fragcov
