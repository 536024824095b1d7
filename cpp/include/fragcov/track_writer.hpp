// Output of one track: bedGraph (plain, gzip, zstd) or bigWig.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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
    class Chromosome;
    virtual ~TrackWriter();
    void add(uint32_t chrom, uint64_t start, uint64_t end, float value);
    // The same as add(chrom, start + k, start + k + 1, values[k]) for k in [0, n):
    // one-base records, such as the slopes of a smoothed track, in one call.
    void add_unit_records(uint32_t chrom, uint64_t start, const float* values, size_t n);
    // The records of the chromosomes `chroms` (increasing, after any given to
    // add()) on up to `n_threads` threads: fill(part) is called once per
    // chromosome, on several threads at once, and adds that chromosome's
    // records (part.chrom()) in order. The file is the same bytes as add() calls
    // in chromosome order give (docs/spec.md section 7.3). The first exception
    // of a fill is rethrown once every thread has stopped. A chromosome that
    // waits for those before it holds up to `max_held_bytes` of encoded output
    // in memory; then its thread waits for its turn.
    void write_chromosomes(const std::vector<uint32_t>& chroms, int n_threads,
                           const std::function<void(Chromosome&)>& fill, size_t max_held_bytes = kMaxHeldBytes);
    // Writes what is pending and closes the temporary file: the track is complete.
    void close();
    // Renames the complete track into place (calls close() first if needed).
    void commit();

    // The default of write_chromosomes' max_held_bytes.
    static constexpr size_t kMaxHeldBytes = size_t{16} << 20;

protected:
    explicit TrackWriter(const Genome& genome);
    // What a thread needs to fill Chromosomes (e.g. compressors); one per thread.
    struct ThreadState {
        virtual ~ThreadState();
    };
    virtual std::unique_ptr<ThreadState> new_thread_state() { return nullptr; }
    virtual std::unique_ptr<Chromosome> new_chromosome(uint32_t chrom, ThreadState* state) = 0;
    // Writes what `part` holds to the file: called for one part at a time, in
    // chromosome order, possibly several times per part (last after finish).
    virtual void commit_chromosome(Chromosome& part) = 0;
    virtual void close_file() = 0;   // flush and close the temporary file
    virtual void commit_file() = 0;  // rename it into place
    const Genome& genome_;

private:
    Chromosome& sequential_part(uint32_t chrom);
    void end_sequential_part();
    std::unique_ptr<ThreadState> own_state_;  // the calling thread's, until close()
    std::unique_ptr<Chromosome> current_;  // the chromosome of add()
    bool closed_ = false;
};

// One chromosome's records on their way into a TrackWriter, merged and
// filtered as TrackWriter::add does; the format encodes them into memory, and
// TrackWriter writes them to the file in chromosome order.
class TrackWriter::Chromosome {
public:
    virtual ~Chromosome();
    uint32_t chrom() const { return chrom_; }
    // [start, end) has `value`, in order, never overlapping.
    void add(uint64_t start, uint64_t end, float value);
    // The same as add(start + k, start + k + 1, values[k]) for k in [0, n).
    void add_unit_records(uint64_t start, const float* values, size_t n);

protected:
    explicit Chromosome(uint32_t chrom) : chrom_(chrom) {}
    virtual void write_record(uint64_t start, uint64_t end, float value) = 0;
    // Writes [start + k, start + k + 1) = values[k] for k in [0, n): final records
    // (merged, non-zero) of one base each. By default one write_record per record.
    virtual void write_unit_records(uint64_t start, const float* values, size_t n);
    virtual void finish_records() = 0;   // encodes what the format still queues
    virtual size_t held_bytes() const = 0;  // what the next commit writes

private:
    friend class TrackWriter;
    static constexpr size_t kCheckEvery = 4096;  // records between calls of room_
    void flush_pending();
    void written(size_t n) {
        if ((since_check_ += n) >= kCheckEvery) {
            since_check_ = 0;
            room_(*this);
        }
    }
    void finish() {
        flush_pending();
        finish_records();
    }
    uint32_t chrom_;
    std::function<void(Chromosome&)> room_;  // may commit what is held (or wait for its turn)
    size_t since_check_ = 0;
    bool has_pending_ = false;
    uint64_t p_start_ = 0, p_end_ = 0;
    float p_value_ = 0;
};

// The writer for options.format / compression / compression_level at `path`.
std::unique_ptr<TrackWriter> make_track_writer(const Genome& genome, const std::string& path,
                                               const ExportOptions& options);

}  // namespace fragcov
