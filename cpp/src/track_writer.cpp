#include "fragcov/track_writer.hpp"

#include "bigwig_file.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fragcov {

namespace {

std::runtime_error io_error(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}

mode_t process_umask() {
    static const mode_t mask = [] {
        mode_t m = umask(022);
        umask(m);
        return m;
    }();
    return mask;
}

// A unique, already-created temporary file next to `path`, so that the final
// rename stays on one file system and is atomic.
std::string make_temp_path(const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string templ = dir + "." + base + ".fragcov-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    if (fd < 0) throw io_error("cannot create a temporary file beside", path);
    fchmod(fd, 0666 & ~process_umask());  // mkstemp makes 0600; finished tracks get the usual mode
    close(fd);
    return std::string(buf.data());
}

// ---- bedGraph: text records into a byte sink -------------------------------

class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(const char* data, size_t n) = 0;
    virtual void close() = 0;
};

class FileSink : public ByteSink {
public:
    explicit FileSink(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
        if (!f_) throw io_error("cannot open", path);
    }
    ~FileSink() override { if (f_) std::fclose(f_); }
    void write(const char* data, size_t n) override {
        if (n && std::fwrite(data, 1, n, f_) != n) throw io_error("cannot write", path_);
    }
    void close() override {
        FILE* f = f_;
        f_ = nullptr;
        if (std::fclose(f) != 0) throw io_error("cannot close", path_);
    }

private:
    std::string path_;
    FILE* f_;
};

class GzipSink : public ByteSink {
public:
    GzipSink(const std::string& path, int level) : file_(path) {
        std::memset(&zs_, 0, sizeof zs_);
        // windowBits 15 + 16: gzip wrapper with a zero mtime, so output is reproducible
        if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw std::runtime_error("zlib initialisation failed");
        out_.resize(1 << 18);
    }
    ~GzipSink() override { deflateEnd(&zs_); }
    void write(const char* data, size_t n) override { pump(data, n, Z_NO_FLUSH); }
    void close() override {
        pump(nullptr, 0, Z_FINISH);
        file_.close();
    }

private:
    void pump(const char* data, size_t n, int flush) {
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
        zs_.avail_in = static_cast<uInt>(n);
        int rc;
        do {
            zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
            zs_.avail_out = static_cast<uInt>(out_.size());
            rc = deflate(&zs_, flush);
            if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib compression failed");
            file_.write(out_.data(), out_.size() - zs_.avail_out);
        } while (zs_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }
    FileSink file_;
    z_stream zs_;
    std::vector<char> out_;
};

class ZstdSink : public ByteSink {
public:
    ZstdSink(const std::string& path, int level) : file_(path), cctx_(ZSTD_createCCtx()) {
        if (!cctx_) throw std::runtime_error("zstd initialisation failed");
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
        out_.resize(ZSTD_CStreamOutSize());
    }
    ~ZstdSink() override { ZSTD_freeCCtx(cctx_); }
    void write(const char* data, size_t n) override { pump(data, n, ZSTD_e_continue); }
    void close() override {
        pump(nullptr, 0, ZSTD_e_end);
        file_.close();
    }

private:
    void pump(const char* data, size_t n, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{data, n, 0};
        bool done = false;
        while (!done) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
            if (ZSTD_isError(left)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(left));
            file_.write(out_.data(), out.pos);
            done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
        }
    }
    FileSink file_;
    ZSTD_CCtx* cctx_;
    std::vector<char> out_;
};

class BedGraphWriter : public TrackWriter {
public:
    BedGraphWriter(const Genome& genome, const std::string& path, const ExportOptions& o)
        : TrackWriter(genome, path) {
        int level = o.compression_level;
        switch (o.compression) {
            case Compression::None: sink_.reset(new FileSink(temp_path_)); break;
            case Compression::Gzip: sink_.reset(new GzipSink(temp_path_, level < 0 ? 6 : level)); break;
            case Compression::Zstd: sink_.reset(new ZstdSink(temp_path_, level < 0 ? 3 : level)); break;
        }
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
            sink_->write(buf_.data(), buf_.size());
            buf_.clear();
        }
    }
    void close_file() override {
        sink_->write(buf_.data(), buf_.size());
        buf_.clear();
        sink_->close();
    }

private:
    static constexpr size_t kBuffer = 1 << 20;
    std::unique_ptr<ByteSink> sink_;
    std::string buf_;
};

// ---- bigWig: our streaming bbi writer ---------------------------------------

class BigWigWriter : public TrackWriter {
public:
    BigWigWriter(const Genome& genome, const std::string& path, const ExportOptions& o)
        : TrackWriter(genome, path) {
        // The finest zoom level summarises 10 bins or 40 kb, whichever is more
        // (40 kb is where libBigWig started for these tracks; UCSC starts at
        // 10x the mean record width, bigtools at 10 kb).
        const uint64_t first_zoom = std::max<uint64_t>(10 * o.bin_size, 40960);
        file_ = std::make_unique<BigWigFile>(temp_path_, genome, kDeflateLevel, first_zoom);
    }

protected:
    void write_record(uint32_t chrom, uint64_t start, uint64_t end, float value) override {
        file_->add(chrom, static_cast<uint32_t>(start), static_cast<uint32_t>(end), value);
    }
    void close_file() override { file_->close(); }

private:
    // libdeflate level of the zlib blocks inside the file. On 10M fragments
    // level 1 writes about 5% more bytes than level 2 (which matches zlib's level 6
    // in size) and saves a quarter of the writing time (BENCHMARKS.md).
    static constexpr int kDeflateLevel = 1;
    std::unique_ptr<BigWigFile> file_;
};

}  // namespace

// ---- TrackWriter: merging, temporary name, rename ---------------------------

TrackWriter::TrackWriter(const Genome& genome, std::string path)
    : genome_(genome), path_(std::move(path)), temp_path_(make_temp_path(path_)) {}

TrackWriter::~TrackWriter() {
    if (!finished_) std::remove(temp_path_.c_str());
}

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

void TrackWriter::flush_pending() {
    if (has_pending_) write_record(p_chrom_, p_start_, p_end_, p_value_);
    has_pending_ = false;
}

void TrackWriter::finish() {
    flush_pending();
    close_file();
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) throw io_error("cannot rename into", path_);
    finished_ = true;
}

std::unique_ptr<TrackWriter> make_track_writer(const Genome& genome, const std::string& path,
                                               const ExportOptions& options) {
    if (options.format == OutputFormat::BigWig) return std::make_unique<BigWigWriter>(genome, path, options);
    return std::make_unique<BedGraphWriter>(genome, path, options);
}

}  // namespace fragcov
