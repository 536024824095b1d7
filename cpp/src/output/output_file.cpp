#include "output/output_file.hpp"

#include "util/io_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

namespace fragcov {

namespace {

std::string file_name_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void check_output_path(const std::string& path) {
    const std::string name = file_name_of(path);
    if (name.empty() || name == "." || name == "..")
        throw std::invalid_argument("output path '" + path + "' does not name a file");
    if (name.size() > kMaxOutputNameBytes)
        throw std::invalid_argument("output file name '" + name + "' is " + std::to_string(name.size()) +
                                    " bytes long; at most " + std::to_string(kMaxOutputNameBytes) +
                                    " fit (with the temporary name) in a file system's 255-byte limit");
    if (path.find('\0') != std::string::npos)
        throw std::invalid_argument("output path contains a NUL character");
    // control characters (tab, line breaks, escapes) would garble every list of
    // paths: the CLI's "group<TAB>path" lines, shell loops, a browser's track list
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f)
            throw std::invalid_argument("output file name '" + name + "' contains a control character (code " +
                                        std::to_string(c) + "); rename the group or change prefix/suffix");
    // A writer makes a new file and renames it over the old one: only a regular file may stand
    // there. Renaming over a device (as root, /dev/null), a FIFO or a symbolic link would replace
    // that node, not write through it.
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
    if (S_ISDIR(st.st_mode)) throw std::invalid_argument("output path '" + path + "' is a directory");
    const char* kind = S_ISLNK(st.st_mode) ? "a symbolic link"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : "a socket";
    throw std::invalid_argument("output path '" + path + "' is " + kind +
                                ", not a regular file: fragcov writes a new file and renames it into place, "
                                "which would replace it; give the path of a regular file (or of none)");
}

// ---- AtomicPath ------------------------------------------------------------------

AtomicPath::AtomicPath(std::string path) : path_(std::move(path)) {
    check_output_path(path_);
    const auto slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "" : path_.substr(0, slash + 1);
    const std::string stem = dir + "." + file_name_of(path_) + ".fragcov-";
    // Created like mkstemp (a fresh name, O_EXCL), but with mode 0666 so that
    // the kernel applies the umask as for any file a program creates (mkstemp
    // makes 0600, and reading the umask is not thread-safe).
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::random_device seed;
    std::mt19937_64 rng((uint64_t{seed()} << 32) ^ seed() ^ static_cast<uint64_t>(getpid()));
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string name = stem;
        for (int i = 0; i < 6; ++i) name += letters[rng() % (sizeof letters - 1)];
        const int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            temp_path_ = std::move(name);
            return;
        }
        if (errno != EEXIST) break;
    }
    throw io_error("cannot create a temporary file beside", path_);
}

AtomicPath::~AtomicPath() {
    if (!committed_) std::remove(temp_path_.c_str());
}

void AtomicPath::commit() {
    if (committed_) return;
    check_output_path(path_);  // again: something may have been put there while the file was written
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) throw io_error("cannot rename into", path_);
    committed_ = true;
}

// ---- codecs --------------------------------------------------------------------

class OutputFile::Sink {
public:
    explicit Sink(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
        if (!f_) throw io_error("cannot open", path);
    }
    virtual ~Sink() {
        if (f_) std::fclose(f_);
    }
    virtual void write(const char* data, size_t n) { raw(data, n); }
    // Flushes the codec, then closes the file.
    virtual void finish() { close_file(); }

protected:
    void raw(const char* data, size_t n) {
        if (n && std::fwrite(data, 1, n, f_) != n) throw io_error("cannot write", path_);
    }
    void close_file() {
        FILE* f = f_;
        f_ = nullptr;
        if (f && std::fclose(f) != 0) throw io_error("cannot close", path_);
    }

private:
    std::string path_;
    FILE* f_;
};

namespace {

class GzipSink : public OutputFile::Sink {
public:
    GzipSink(const std::string& path, int level) : Sink(path) {
        std::memset(&zs_, 0, sizeof zs_);
        // windowBits 15 + 16: gzip wrapper with a zero mtime, so output is reproducible
        if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw std::runtime_error("zlib initialisation failed");
        out_.resize(1 << 18);
    }
    ~GzipSink() override { deflateEnd(&zs_); }
    void write(const char* data, size_t n) override { pump(data, n, Z_NO_FLUSH); }
    void finish() override {
        pump(nullptr, 0, Z_FINISH);
        close_file();
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
            raw(out_.data(), out_.size() - zs_.avail_out);
        } while (zs_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }
    z_stream zs_;
    std::vector<char> out_;
};

class ZstdSink : public OutputFile::Sink {
public:
    ZstdSink(const std::string& path, int level) : Sink(path), cctx_(ZSTD_createCCtx()) {
        if (!cctx_) throw std::runtime_error("zstd initialisation failed");
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
        out_.resize(ZSTD_CStreamOutSize());
    }
    ~ZstdSink() override { ZSTD_freeCCtx(cctx_); }
    void write(const char* data, size_t n) override { pump(data, n, ZSTD_e_continue); }
    void finish() override {
        pump(nullptr, 0, ZSTD_e_end);
        close_file();
    }

private:
    void pump(const char* data, size_t n, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{data, n, 0};
        bool done = false;
        while (!done) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            const size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
            if (ZSTD_isError(left)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(left));
            raw(out_.data(), out.pos);
            done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
        }
    }
    ZSTD_CCtx* cctx_;
    std::vector<char> out_;
};

}  // namespace

// ---- OutputFile ----------------------------------------------------------------

OutputFile::OutputFile(std::string path, Compression compression, std::optional<int> level)
    : target_(std::move(path)) {
    const int resolved = resolve_compression_level(compression, level);
    switch (compression) {
        case Compression::None: sink_ = std::make_unique<Sink>(target_.temp_path()); break;
        case Compression::Gzip: sink_ = std::make_unique<GzipSink>(target_.temp_path(), resolved); break;
        case Compression::Zstd: sink_ = std::make_unique<ZstdSink>(target_.temp_path(), resolved); break;
    }
}

OutputFile::~OutputFile() = default;

void OutputFile::write(const char* data, size_t n) {
    if (!sink_) throw std::logic_error("write to a closed output file '" + path() + "'");
    sink_->write(data, n);
}

void OutputFile::close() {
    if (!sink_) return;
    std::unique_ptr<Sink> sink = std::move(sink_);
    sink->finish();
}

void OutputFile::commit() {
    close();
    target_.commit();
}

}  // namespace fragcov
