#include "fragcov/track_writer.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "output/bigwig_file.hpp"
#include "output/output_file.hpp"

namespace fragcov {

namespace {

// A committed part writes what it holds once it holds this much (the stream of
// the chromosome that is being written to the file).
constexpr size_t kCommitBytes = size_t{1} << 20;

// ---- bedGraph: text, plain or through gzip / zstd ----------------------------------

class BedGraphChromosome : public TrackWriter::Chromosome {
public:
    BedGraphChromosome(uint32_t chrom, const std::string& name) : Chromosome(chrom), name_(name) {}
    std::string text;  // whole records

protected:
    void write_record(uint64_t start, uint64_t end, float value) override {
        // 2 x 20 digits + the longest fixed float (~50 chars) + separators; each
        // to_chars stops short of the end, so the separator after it always fits
        char tmp[256];
        char* const stop = tmp + sizeof tmp - 1;
        char* p = tmp;
        *p++ = '\t';
        p = std::to_chars(p, stop, start).ptr;
        *p++ = '\t';
        p = std::to_chars(p, stop, end).ptr;
        *p++ = '\t';
        // shortest text that reads back to the same float32, never in exponent form
        // (whole numbers print without a decimal point, as SnapATAC2 does)
        p = std::to_chars(p, stop, value, std::chars_format::fixed).ptr;
        *p++ = '\n';
        text.append(name_);
        text.append(tmp, p);
    }
    void finish_records() override {}
    size_t held_bytes() const override { return text.size(); }

private:
    const std::string& name_;
};

class BedGraphWriter : public TrackWriter {
public:
    BedGraphWriter(const Genome& genome, const std::string& path, const ExportOptions& o)
        : TrackWriter(genome), file_(path, o.compression, o.compression_level) {
        buf_.reserve(kBuffer + 256);
    }

protected:
    std::unique_ptr<Chromosome> new_chromosome(uint32_t chrom, ThreadState*) override {
        return std::make_unique<BedGraphChromosome>(chrom, genome_.name(chrom));
    }
    // The codec gets the text in the pieces it always got: everything up to the
    // first record end at which 1 MiB had collected. Whether gzip's and zstd's
    // output depends on how their input is cut is theirs to say; this way the
    // bytes stay those of one thread writing record by record.
    void commit_chromosome(Chromosome& part) override {
        std::string& text = static_cast<BedGraphChromosome&>(part).text;
        size_t pos = 0;
        while (pos < text.size()) {
            const size_t from = pos + (kBuffer - buf_.size()) - 1;  // buf_ holds less than kBuffer
            const char* nl = from < text.size()
                                 ? static_cast<const char*>(std::memchr(&text[from], '\n', text.size() - from))
                                 : nullptr;
            if (!nl) {
                buf_.append(text, pos, std::string::npos);
                break;
            }
            const size_t end = static_cast<size_t>(nl - text.data()) + 1;
            buf_.append(text, pos, end - pos);
            file_.write(buf_.data(), buf_.size());
            buf_.clear();
            pos = end;
        }
        text.clear();
    }
    // A closed track waits for the export's other tracks before it is renamed
    // (docs/spec.md 6.4.2): it keeps only its temporary name, not its buffers.
    void close_file() override {
        file_.write(buf_.data(), buf_.size());
        std::string().swap(buf_);
        file_.close();
    }
    void commit_file() override { file_.commit(); }

private:
    static constexpr size_t kBuffer = 1 << 20;
    OutputFile file_;
    std::string buf_;
};

// ---- bigWig: our streaming bbi writer ---------------------------------------

class BigWigChromosome : public TrackWriter::Chromosome {
public:
    BigWigChromosome(BigWigFile& file, uint32_t chrom) : Chromosome(chrom), part(file, chrom) {}
    BigWigFile::Chromosome part;

protected:
    void write_record(uint64_t start, uint64_t end, float value) override {
        part.add(static_cast<uint32_t>(start), static_cast<uint32_t>(end), value);
    }
    void write_unit_records(uint64_t start, const float* values, size_t n) override {
        part.add_unit_records(static_cast<uint32_t>(start), values, n);
    }
    void finish_records() override { part.finish(); }
    size_t held_bytes() const override { return part.held_bytes(); }
};

class BigWigWriter : public TrackWriter {
public:
    BigWigWriter(const Genome& genome, const std::string& path, const ExportOptions& o)
        : TrackWriter(genome), target_(path) {
        // The finest zoom level summarises 10 bins or 40 kb, whichever is more
        // (40 kb is where libBigWig started for these tracks; UCSC starts at
        // 10x the mean record width).
        const uint64_t first_zoom = std::max<uint64_t>(10 * static_cast<uint64_t>(o.bin_size), 40960);
        file_ = std::make_unique<BigWigFile>(target_.temp_path(), genome, kDeflateLevel, first_zoom);
    }

protected:
    // (no thread state: the compressors are each thread's, BigWigFile::thread_codec)
    std::unique_ptr<Chromosome> new_chromosome(uint32_t chrom, ThreadState*) override {
        return std::make_unique<BigWigChromosome>(*file_, chrom);
    }
    void commit_chromosome(Chromosome& part) override { file_->commit(static_cast<BigWigChromosome&>(part).part); }
    // As for bedGraph: the closed file's compressor, queues and indexes are freed
    // now, not when the last track of the export is done (TrackWriter::close frees
    // the calling thread's compressors).
    void close_file() override {
        file_->close();
        file_.reset();
    }
    void commit_file() override { target_.commit(); }

private:
    // libdeflate level of the zlib blocks inside the file. On 10M fragments
    // level 1 writes about 5% more bytes than level 2 (which matches zlib's level 6
    // in size) and saves a quarter of the writing time (BENCHMARKS.md).
    static constexpr int kDeflateLevel = 1;
    AtomicPath target_;  // declared first: the file is closed before the temporary name is removed
    std::unique_ptr<BigWigFile> file_;
};

// Thrown inside a thread of write_chromosomes whose turn will not come (another failed).
struct Abandoned {};

}  // namespace

// ---- TrackWriter::Chromosome: merging ------------------------------------------------

TrackWriter::Chromosome::~Chromosome() = default;

void TrackWriter::Chromosome::add(uint64_t start, uint64_t end, float value) {
    if (start >= end) return;
    if (has_pending_ && start == p_end_ && value == p_value_) {
        p_end_ = end;
        return;
    }
    flush_pending();
    if (value == 0.0f) return;
    has_pending_ = true;
    p_start_ = start;
    p_end_ = end;
    p_value_ = value;
}

void TrackWriter::Chromosome::add_unit_records(uint64_t start, const float* v, size_t n) {
    size_t k = 0;
    while (k < n) {
        if (has_pending_ && start + k == p_end_ && v[k] == p_value_) {
            ++p_end_;
            ++k;
            continue;
        }
        flush_pending();
        // v[k, m) are final records as they are: each is non-zero and differs from
        // the next one; v[m] is zero (dropped), equals v[m + 1] or is the last value
        size_t m = k;
        while (m + 1 < n && v[m] != 0.0f && v[m] != v[m + 1]) ++m;
        if (m > k) {
            write_unit_records(start + k, v + k, m - k);
            written(m - k);
        }
        if (v[m] != 0.0f) {
            has_pending_ = true;
            p_start_ = start + m;
            p_end_ = start + m + 1;
            p_value_ = v[m];
        }
        k = m + 1;
    }
}

void TrackWriter::Chromosome::write_unit_records(uint64_t start, const float* values, size_t n) {
    for (size_t k = 0; k < n; ++k) write_record(start + k, start + k + 1, values[k]);
}

void TrackWriter::Chromosome::flush_pending() {
    if (!has_pending_) return;
    has_pending_ = false;
    write_record(p_start_, p_end_, p_value_);
    written(1);
}

// ---- TrackWriter: one chromosome after the other (add) ----------------------------

TrackWriter::TrackWriter(const Genome& genome) : genome_(genome) {}
TrackWriter::~TrackWriter() = default;
TrackWriter::ThreadState::~ThreadState() = default;

TrackWriter::Chromosome& TrackWriter::sequential_part(uint32_t chrom) {
    if (current_ && current_->chrom() == chrom) return *current_;
    end_sequential_part();
    if (!own_state_) own_state_ = new_thread_state();
    current_ = new_chromosome(chrom, own_state_.get());
    current_->room_ = [this](Chromosome& part) {
        if (part.held_bytes() >= kCommitBytes) commit_chromosome(part);
    };
    return *current_;
}

void TrackWriter::end_sequential_part() {
    if (!current_) return;
    current_->finish();
    commit_chromosome(*current_);
    current_.reset();
}

void TrackWriter::add(uint32_t chrom, uint64_t start, uint64_t end, float value) {
    if (start >= end) return;
    sequential_part(chrom).add(start, end, value);
}

void TrackWriter::add_unit_records(uint32_t chrom, uint64_t start, const float* values, size_t n) {
    if (n == 0) return;
    sequential_part(chrom).add_unit_records(start, values, n);
}

void TrackWriter::close() {
    if (closed_) return;
    end_sequential_part();
    close_file();
    // A closed track keeps only its names until it is committed (docs/spec.md
    // 1.6.3): the calling thread's state goes too.
    own_state_.reset();
    closed_ = true;
}

void TrackWriter::commit() {
    close();
    commit_file();
}

// ---- TrackWriter: chromosomes on several threads ----------------------------------
// Threads take the chromosomes in order. The one whose chromosome is first of
// those not yet written (the head) writes it to the file as it goes, as add()
// does; the others hold theirs in memory (a finished one in `done`, committed
// by whichever thread finishes the head), and wait for their turn once they
// hold max_held_bytes. A thread starts chromosome k only while k < head + 2 x
// threads, so memory stays a few chromosomes' worth of encoded output.

void TrackWriter::write_chromosomes(const std::vector<uint32_t>& chroms, int n_threads,
                                    const std::function<void(Chromosome&)>& fill, size_t max_held_bytes) {
    if (closed_) throw std::logic_error("write_chromosomes on a closed track writer");
    for (size_t k = 1; k < chroms.size(); ++k)
        if (chroms[k] <= chroms[k - 1]) throw std::invalid_argument("write_chromosomes: chromosomes must increase");
    const size_t n = chroms.size();
    const size_t threads = std::min<size_t>(static_cast<size_t>(std::max(1, n_threads)), n);
    if (threads <= 1) {
        for (uint32_t c : chroms) {
            fill(sequential_part(c));
            end_sequential_part();
        }
        return;
    }
    end_sequential_part();
    const size_t lookahead = 2 * threads;
    std::mutex mutex;
    std::condition_variable turn;
    std::atomic<size_t> head{0};  // chromosomes [0, head) are in the file
    size_t next = 0;               // the next chromosome to start (under mutex)
    std::vector<std::unique_ptr<Chromosome>> done(n);
    bool failed = false;
    std::exception_ptr error;

    auto work = [&](ThreadState* state) {
        for (;;) {
            size_t k;
            {
                std::unique_lock<std::mutex> lock(mutex);
                turn.wait(lock, [&] { return failed || next >= n || next < head.load() + lookahead; });
                if (failed || next >= n) return;
                k = next++;
            }
            std::unique_ptr<Chromosome> part = new_chromosome(chroms[k], state);
            part->room_ = [&, k](Chromosome& p) {
                const size_t held = p.held_bytes();
                if (head.load(std::memory_order_acquire) != k) {
                    if (held < max_held_bytes) return;
                    std::unique_lock<std::mutex> lock(mutex);
                    turn.wait(lock, [&] { return failed || head.load() == k; });
                    if (failed) throw Abandoned();
                } else if (held < kCommitBytes) {
                    return;
                }
                commit_chromosome(p);  // the head's thread alone writes to the file now
            };
            fill(*part);
            part->finish();
            std::lock_guard<std::mutex> lock(mutex);
            if (failed) return;
            done[k] = std::move(part);
            size_t h = head.load();
            for (; h < n && done[h]; ++h) {
                commit_chromosome(*done[h]);
                done[h].reset();
                head.store(h + 1, std::memory_order_release);
            }
            turn.notify_all();
        }
    };
    auto guarded = [&](ThreadState* state) {
        try {
            work(state);
        } catch (const Abandoned&) {
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!error) error = std::current_exception();
            failed = true;
            turn.notify_all();
        }
    };
    std::vector<std::unique_ptr<ThreadState>> states;
    std::vector<std::thread> helpers;
    try {
        for (size_t t = 1; t < threads; ++t) {
            states.push_back(new_thread_state());
            helpers.emplace_back(guarded, states.back().get());
        }
    } catch (const std::system_error&) {
        // out of threads: those that started (and this one) write every chromosome
    }
    if (!own_state_) own_state_ = new_thread_state();
    guarded(own_state_.get());
    for (std::thread& helper : helpers) helper.join();
    if (error) std::rethrow_exception(error);
}

std::unique_ptr<TrackWriter> make_track_writer(const Genome& genome, const std::string& path,
                                               const ExportOptions& options) {
    if (options.format == OutputFormat::BigWig) return std::make_unique<BigWigWriter>(genome, path, options);
    return std::make_unique<BedGraphWriter>(genome, path, options);
}

}  // namespace fragcov
