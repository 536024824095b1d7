#include "fragcov/track_writer.hpp"

#include <bigWig.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
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
        char tmp[256];  // 2 x 20 digits + the longest fixed float (~50 chars) + separators
        char* p = tmp;
        *p++ = '\t';
        p = std::to_chars(p, tmp + sizeof tmp, start).ptr;
        *p++ = '\t';
        p = std::to_chars(p, tmp + sizeof tmp, end).ptr;
        *p++ = '\t';
        // shortest text that reads back to the same float32, never in exponent form
        // (whole numbers print without a decimal point, as SnapATAC2 does)
        p = std::to_chars(p, tmp + sizeof tmp, value, std::chars_format::fixed).ptr;
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

// ---- bigWig via libBigWig ---------------------------------------------------

class BigWigWriter : public TrackWriter {
public:
    BigWigWriter(const Genome& genome, const std::string& path) : TrackWriter(genome, path) {
        fp_ = bwOpen(const_cast<char*>(temp_path_.c_str()), nullptr, "w");
        if (!fp_) throw io_error("libBigWig cannot open", temp_path_);
        if (bwCreateHdr(fp_, 10)) fail("creating the header");
        std::vector<const char*> names;
        std::vector<uint32_t> lengths;
        for (size_t c = 0; c < genome.size(); ++c) {
            if (genome.length(c) > UINT32_MAX)
                throw std::invalid_argument("chromosome " + genome.name(c) + " is too long for bigWig");
            names.push_back(genome.name(c).c_str());
            lengths.push_back(static_cast<uint32_t>(genome.length(c)));
        }
        fp_->cl = bwCreateChromList(names.data(), lengths.data(), static_cast<int64_t>(names.size()));
        if (!fp_->cl) fail("creating the chromosome list");
        if (bwWriteHdr(fp_)) fail("writing the header");
    }
    ~BigWigWriter() override {
        if (fp_) bwClose(fp_);
    }

protected:
    void write_record(uint32_t chrom, uint64_t start, uint64_t end, float value) override {
        if (chrom != chrom_ || !started_) {
            flush();
            chrom_ = chrom;
            started_ = true;
            const char* name = genome_.name(chrom).c_str();
            uint32_t s = static_cast<uint32_t>(start), e = static_cast<uint32_t>(end);
            if (bwAddIntervals(fp_, &name, &s, &e, &value, 1)) fail("adding intervals");
            return;
        }
        starts_.push_back(static_cast<uint32_t>(start));
        ends_.push_back(static_cast<uint32_t>(end));
        values_.push_back(value);
        if (starts_.size() >= kBatch) flush();
    }
    void close_file() override {
        flush();
        // libBigWig starts its zoom levels at 4x the mean record width, which for
        // fine bins makes a first level almost as large as the data and doubles the
        // write time. Like UCSC (10x the mean) and bigtools (10 kb first level), start
        // at max(10x mean, 10240 bp), by presenting libBigWig a larger mean width
        // (fields of the public bwWriteBuffer_t).
        bwWriteBuffer_t* wb = fp_->writeBuffer;
        if (wb->nEntries > 0) {
            const uint64_t mean = wb->runningWidthSum / wb->nEntries;
            wb->runningWidthSum = std::max<uint64_t>(mean * 10 / 4, 10240 / 4) * wb->nEntries;
        }
        bigWigFile_t* fp = fp_;
        fp_ = nullptr;
        bwClose(fp);  // writes the index and the zoom levels
    }

private:
    void flush() {
        if (starts_.empty()) return;
        if (bwAppendIntervals(fp_, starts_.data(), ends_.data(), values_.data(),
                              static_cast<uint32_t>(starts_.size())))
            fail("appending intervals");
        starts_.clear();
        ends_.clear();
        values_.clear();
    }
    [[noreturn]] void fail(const char* what) {
        throw std::runtime_error(std::string("libBigWig failed ") + what + " for '" + path_ + "'");
    }
    static constexpr size_t kBatch = 1 << 16;
    bigWigFile_t* fp_ = nullptr;
    uint32_t chrom_ = 0;
    bool started_ = false;
    std::vector<uint32_t> starts_, ends_;
    std::vector<float> values_;
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
    if (options.format == OutputFormat::BigWig) return std::make_unique<BigWigWriter>(genome, path);
    return std::make_unique<BedGraphWriter>(genome, path, options);
}

void init_bigwig_library() {
    static std::once_flag once;
    std::call_once(once, [] { bwInit(1 << 17); });
}

}  // namespace fragcov
