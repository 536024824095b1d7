// deepTools' computeMatrix file (docs/spec.md section 16.7): what plotHeatmap
// and plotProfile read. Written here rather than in Python because a profile
// of 100k anchors x 400 bins x 12 groups is half a billion numbers to format
// and compress: blocks of rows are formatted (std::to_chars) and compressed
// (libdeflate) on min(n_jobs, processors) threads, each block one gzip member (a
// multi-member gzip file, as BGZF, which gzip readers take as one stream).
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace fragcov {

// Writes `path` (atomically, docs/spec.md section 6.4): the line '@' + header,
// then one line per row: row_prefixes[i] (chrom, start, end, name, score,
// strand, tab-separated), then for each sample (group) its n_bins values of
// row i, tab-separated: the shortest text that reads back as the same float32,
// "nan" for NaN. samples[s] points at rows x n_bins floats, row-major. The
// bytes do not depend on n_jobs. `cancelled` is called from this thread
// between blocks (true: fragcov::Cancelled, the temporary file removed).
void write_deeptools_matrix(const std::string& path, const std::string& header,
                            const std::vector<std::string>& row_prefixes, const std::vector<const float*>& samples,
                            size_t n_bins, int n_jobs, const std::function<bool()>& cancelled = {});

}  // namespace fragcov
