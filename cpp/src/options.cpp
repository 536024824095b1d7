#include "fragcov/options.hpp"

#include <stdexcept>
#include <string>

namespace fragcov {

void validate(const ExportOptions& o) {
    if (o.bin_size < 1) throw std::invalid_argument("bin_size must be >= 1");
    if (o.smooth_base && *o.smooth_base < 1) throw std::invalid_argument("smooth_base must be >= 1");
    if (o.min_frag_length && o.max_frag_length && *o.min_frag_length > *o.max_frag_length)
        throw std::invalid_argument("min_frag_length must not exceed max_frag_length");
    if (o.format == OutputFormat::BigWig && o.compression != Compression::None)
        throw std::invalid_argument("bigWig output cannot be compressed by an outer codec");
    if (o.compression_level != -1) {
        if (o.compression == Compression::Gzip && (o.compression_level < 1 || o.compression_level > 9))
            throw std::invalid_argument("gzip compression_level must be 1-9, got " +
                                        std::to_string(o.compression_level));
        if (o.compression == Compression::Zstd && (o.compression_level < 1 || o.compression_level > 22))
            throw std::invalid_argument("zstandard compression_level must be 1-22, got " +
                                        std::to_string(o.compression_level));
    }
}

}  // namespace fragcov
