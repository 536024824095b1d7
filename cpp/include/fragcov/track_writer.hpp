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
// merges neighbours that touch and have the same float32 value; zero values
// are dropped (docs/spec.md section 3.8). The file is written under a hidden
// temporary name beside `path`; commit() renames it into place, and a writer
// destroyed before commit() removes it (docs/spec.md section 6).
class TrackWriter {
public:
    virtual ~TrackWriter();
    void add(uint32_t chrom, uint64_t start, uint64_t end, float value);
    // The same as add(chrom, start + k, start + k + 1, values[k]) for k in [0, n):
    // one-base records, such as the slopes of a smoothed track, in one call.
    void add_unit_records(uint32_t chrom, uint64_t start, const float* values, size_t n);
    // Writes what is pending and closes the temporary file: the track is complete.
    void close();
    // Renames the complete track into place (calls close() first if needed).
    void commit();

protected:
    explicit TrackWriter(const Genome& genome) : genome_(genome) {}
    virtual void write_record(uint32_t chrom, uint64_t start, uint64_t end, float value) = 0;
    // Writes [start + k, start + k + 1) = values[k] for k in [0, n): final records
    // (merged, non-zero) of one base each. By default one write_record per record.
    virtual void write_unit_records(uint32_t chrom, uint64_t start, const float* values, size_t n);
    virtual void close_file() = 0;   // flush and close the temporary file
    virtual void commit_file() = 0;  // rename it into place
    const Genome& genome_;

private:
    void flush_pending();
    bool has_pending_ = false, closed_ = false;
    uint32_t p_chrom_ = 0;
    uint64_t p_start_ = 0, p_end_ = 0;
    float p_value_ = 0;
};

// The writer for options.format / compression / compression_level at `path`.
std::unique_ptr<TrackWriter> make_track_writer(const Genome& genome, const std::string& path,
                                               const ExportOptions& options);

}  // namespace fragcov
