// Output of one track: bedGraph (plain, gzip, zstd) or bigWig.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fragcov/genome.hpp"
#include "fragcov/options.hpp"

namespace fragcov {

// Receives the records of one track in genome order, never overlapping, and
// merges neighbours that touch and have the same float32 value (SPEC 3.8).
// Zero values are dropped. The file appears at `path` only after finish();
// until then it lives under a temporary name in the same folder, which the
// destructor removes if finish() was never reached.
class TrackWriter {
public:
    virtual ~TrackWriter();
    void add(uint32_t chrom, uint64_t start, uint64_t end, float value);
    void finish();

protected:
    TrackWriter(const Genome& genome, std::string path);
    virtual void write_record(uint32_t chrom, uint64_t start, uint64_t end, float value) = 0;
    virtual void close_file() = 0;  // flush and close the temporary file
    const Genome& genome_;
    std::string path_;
    std::string temp_path_;

private:
    void flush_pending();
    bool has_pending_ = false, finished_ = false;
    uint32_t p_chrom_ = 0;
    uint64_t p_start_ = 0, p_end_ = 0;
    float p_value_ = 0;
};

std::unique_ptr<TrackWriter> make_track_writer(const Genome& genome, const std::string& path,
                                               const ExportOptions& options);

}  // namespace fragcov
