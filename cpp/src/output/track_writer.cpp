#include "fragcov/track_writer.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "output/bigwig_file.hpp"
#include "output/output_file.hpp"

namespace fragcov {

namespace {

class BedGraphWriter : public TrackWriter {
public:
    BedGraphWriter(const Genome& genome, const std::string& path, const ExportOptions& o)
        : TrackWriter(genome), file_(path, o.compression, o.compression_level) {
        buf_.reserve(kBuffer + 256);
    }

protected:
    void write_record(uint32_t chrom, uint64_t start, uint64_t end, float value) override {
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
        buf_.append(genome_.name(chrom));
        buf_.append(tmp, p);
        if (buf_.size() >= kBuffer) {
            file_.write(buf_.data(), buf_.size());
            buf_.clear();
        }
    }
    void close_file() override {
        file_.write(buf_.data(), buf_.size());
        buf_.clear();
        file_.close();
    }
    void commit_file() override { file_.commit(); }

private:
    static constexpr size_t kBuffer = 1 << 20;
    OutputFile file_;
    std::string buf_;
};

// ---- bigWig: our streaming bbi writer ---------------------------------------

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
    void write_record(uint32_t chrom, uint64_t start, uint64_t end, float value) override {
        file_->add(chrom, static_cast<uint32_t>(start), static_cast<uint32_t>(end), value);
    }
    void write_unit_records(uint32_t chrom, uint64_t start, const float* values, size_t n) override {
        file_->add_unit_records(chrom, static_cast<uint32_t>(start), values, n);
    }
    void close_file() override { file_->close(); }
    void commit_file() override { target_.commit(); }

private:
    // libdeflate level of the zlib blocks inside the file. On 10M fragments
    // level 1 writes about 5% more bytes than level 2 (which matches zlib's level 6
    // in size) and saves a quarter of the writing time (BENCHMARKS.md).
    static constexpr int kDeflateLevel = 1;
    AtomicPath target_;  // declared first: the file is closed before the temporary name is removed
    std::unique_ptr<BigWigFile> file_;
};

}  // namespace

// ---- TrackWriter: merging --------------------------------------------------------

TrackWriter::~TrackWriter() = default;

void TrackWriter::add(uint32_t chrom, uint64_t start, uint64_t end, float value) {
    if (start >= end) return;
    if (has_pending_ && chrom == p_chrom_ && start == p_end_ && value == p_value_) {
        p_end_ = end;
        return;
    }
    flush_pending();
    if (value == 0.0f) return;
    has_pending_ = true;
    p_chrom_ = chrom;
    p_start_ = start;
    p_end_ = end;
    p_value_ = value;
}

void TrackWriter::add_unit_records(uint32_t chrom, uint64_t start, const float* v, size_t n) {
    size_t k = 0;
    while (k < n) {
        if (has_pending_ && chrom == p_chrom_ && start + k == p_end_ && v[k] == p_value_) {
            ++p_end_;
            ++k;
            continue;
        }
        flush_pending();
        // v[k, m) are final records as they are: each is non-zero and differs from
        // the next one; v[m] is zero (dropped), equals v[m + 1] or is the last value
        size_t m = k;
        while (m + 1 < n && v[m] != 0.0f && v[m] != v[m + 1]) ++m;
        if (m > k) write_unit_records(chrom, start + k, v + k, m - k);
        if (v[m] != 0.0f) {
            has_pending_ = true;
            p_chrom_ = chrom;
            p_start_ = start + m;
            p_end_ = start + m + 1;
            p_value_ = v[m];
        }
        k = m + 1;
    }
}

void TrackWriter::write_unit_records(uint32_t chrom, uint64_t start, const float* values, size_t n) {
    for (size_t k = 0; k < n; ++k) write_record(chrom, start + k, start + k + 1, values[k]);
}

void TrackWriter::flush_pending() {
    if (has_pending_) write_record(p_chrom_, p_start_, p_end_, p_value_);
    has_pending_ = false;
}

void TrackWriter::close() {
    if (closed_) return;
    flush_pending();
    close_file();
    closed_ = true;
}

void TrackWriter::commit() {
    close();
    commit_file();
}

std::unique_ptr<TrackWriter> make_track_writer(const Genome& genome, const std::string& path,
                                               const ExportOptions& options) {
    if (options.format == OutputFormat::BigWig) return std::make_unique<BigWigWriter>(genome, path, options);
    return std::make_unique<BedGraphWriter>(genome, path, options);
}

}  // namespace fragcov
