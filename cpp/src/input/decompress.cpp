#include "input/decompress.hpp"

#include <fcntl.h>
#include <libdeflate.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <utility>

#include "util/io_error.hpp"
#include "util/wait.hpp"

namespace fragcov {

namespace {

// Corrupt or truncated input: the user's file, so std::invalid_argument (ValueError in Python).
[[noreturn]] void corrupt(const std::string& what) { throw std::invalid_argument(what); }

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
           (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

constexpr unsigned char kGzipMagic[2] = {0x1f, 0x8b};
constexpr unsigned char kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr unsigned char kXzMagic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr unsigned char kHdf5Magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
constexpr int kFlagExtra = 4;  // gzip FLG.FEXTRA

// BSIZE (total block size - 1) from a gzip extra field holding BGZF's "BC"
// subfield, or -1 when there is none.
long bgzf_block_size(const unsigned char* extra, size_t xlen) {
    size_t i = 0;
    while (i + 4 <= xlen) {
        const size_t slen = le16(extra + i + 2);
        if (extra[i] == 'B' && extra[i + 1] == 'C' && slen == 2 && i + 6 <= xlen) return le16(extra + i + 4);
        i += 4 + slen;
    }
    return -1;
}

// Bytes read to tell the codec: a gzip header with the largest extra field.
constexpr size_t kHeadBytes = 12 + 65535;

// The codec of input starting with head[0, n); std::invalid_argument (without
// the path: the caller adds it) for formats we do not read.
Codec codec_of(const unsigned char* head, size_t n) {
    auto starts_with = [&](const unsigned char* magic, size_t len) {
        return n >= len && std::memcmp(head, magic, len) == 0;
    };
    if (starts_with(kGzipMagic, 2)) {
        if (n >= 12 && (head[3] & kFlagExtra)) {
            const size_t xlen = le16(head + 10);
            if (n >= 12 + xlen && bgzf_block_size(head + 12, xlen) >= 0) return Codec::Bgzf;
        }
        return Codec::Gzip;
    }
    if (starts_with(kZstdMagic, 4)) return Codec::Zstd;
    if (starts_with(reinterpret_cast<const unsigned char*>("BZh"), 3))
        throw std::invalid_argument("bzip2-compressed files are not supported; decompress it or recompress it with "
                                    "gzip, bgzip or zstd");
    if (starts_with(kXzMagic, 6))
        throw std::invalid_argument("xz-compressed files are not supported; decompress it or recompress it with "
                                    "gzip, bgzip or zstd");
    if (starts_with(kHdf5Magic, 8))
        throw std::invalid_argument("this is an HDF5 file (.h5ad?), not a fragment file");
    return Codec::Plain;
}

// Thrown by a read that gave up because the stream's reader is being destroyed.
struct ReadingStopped {};

}  // namespace

// The input, opened once. A regular file is read with plain read(2). Anything
// else (a pipe, a FIFO, a terminal, a device) is a stream: opened without
// blocking (opening a FIFO blocks until a writer opens it) and read after
// poll(2) says so, waking every 100 ms to see whether the reader is being
// destroyed, so that a stream that never sends (a FIFO nobody writes) never
// holds up Ctrl-C. The first bytes are kept to tell the codec (head_) and are
// the first ones read() returns.
class DecompressedStream::Input {
public:
    Input(const std::string& path, const std::atomic<bool>& stop) : path_(path), stop_(stop) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd_ < 0) throw io_error("cannot open", path);
        struct stat st;
        if (fstat(fd_, &st) != 0) {
            const int err = errno;
            ::close(fd_);
            errno = err;
            throw io_error("cannot open", path);
        }
        if (S_ISDIR(st.st_mode)) {
            ::close(fd_);
            errno = EISDIR;
            throw io_error("cannot read", path);
        }
        stream_ = !S_ISREG(st.st_mode);
        if (!stream_) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    }
    ~Input() { ::close(fd_); }
    Input(const Input&) = delete;
    Input& operator=(const Input&) = delete;

    bool is_stream() const { return stream_; }

    // Reads the first bytes (up to kHeadBytes) and tells the codec from them.
    Codec detect() {
        head_.resize(kHeadBytes);
        head_.resize(read_file(head_.data(), head_.size()));
        head_pos_ = 0;
        return codec_of(head_.data(), head_.size());
    }

    // Up to n bytes; fewer only at the end of the input.
    size_t read_some(void* buf, size_t n) {
        size_t got = 0;
        if (head_pos_ < head_.size()) {
            got = std::min(n, head_.size() - head_pos_);
            std::memcpy(buf, head_.data() + head_pos_, got);
            head_pos_ += got;
            if (head_pos_ == head_.size()) std::vector<unsigned char>().swap(head_);
        }
        return got + read_file(static_cast<unsigned char*>(buf) + got, n - got);
    }

private:
    size_t read_file(unsigned char* buf, size_t n) {
        size_t got = 0;
        while (got < n) {
            if (stream_) wait_readable();
            const ssize_t r = ::read(fd_, buf + got, n - got);
            if (r > 0) {
                got += static_cast<size_t>(r);
            } else if (r == 0) {
                break;  // the end (a stream: every writer has closed it)
            } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                throw io_error("cannot read", path_);
            }
        }
        return got;
    }

    // Until the stream has bytes or its end (POLLHUP: a writer came and went; a
    // FIFO that never had a writer reports neither, so its end is not mistaken
    // for an empty file).
    void wait_readable() {
        pollfd p{fd_, POLLIN, 0};
        for (;;) {
            if (stop_.load()) throw ReadingStopped();
            const int r = ::poll(&p, 1, 100);
            if (r > 0) return;
            if (r < 0 && errno != EINTR) throw io_error("cannot read", path_);
        }
    }

    const std::string& path_;
    const std::atomic<bool>& stop_;
    int fd_ = -1;
    bool stream_ = false;
    std::vector<unsigned char> head_;
    size_t head_pos_ = 0;
};

const char* codec_name(Codec codec) {
    switch (codec) {
        case Codec::Plain: return "plain text";
        case Codec::Gzip: return "gzip";
        case Codec::Bgzf: return "BGZF";
        case Codec::Zstd: return "zstd";
    }
    return "?";
}

Codec detect_codec(const std::string& path) {
    const std::atomic<bool> never{false};
    DecompressedStream::Input in(path, never);
    try {
        return in.detect();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(path + ": " + e.what());
    }
}

DecompressedStream::DecompressedStream(const std::string& path, int n_threads)
    : path_(path),
      input_(std::make_unique<Input>(path, closing_)),
      n_threads_(std::max(1, n_threads)),
      capacity_(4) {
    if (!input_->is_stream()) {  // a regular file's first bytes are there: refuse bzip2, xz, HDF5 at once
        try {
            codec_ = input_->detect();
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(path + ": " + e.what());
        }
        codec_known_ = true;
    }
    producer_ = std::thread([this] { produce(); });
}

DecompressedStream::~DecompressedStream() {
    closing_ = true;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    producer_.join();
}

bool DecompressedStream::next(PageVector<char>& piece) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (piece.capacity() >= kPieceBytes && free_.size() < capacity_) free_.push_back(std::move(piece));
    wait_for_condition(changed_, lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
        if (error_) std::rethrow_exception(error_);
        return false;
    }
    piece = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    changed_.notify_all();
    return true;
}

bool DecompressedStream::push(PageVector<char>&& piece) {
    if (piece.empty()) return true;
    std::unique_lock<std::mutex> lock(mutex_);
    wait_for_condition(changed_, lock, [&] { return queue_.size() < capacity_ || stop_; });
    if (stop_) return false;
    queue_.push_back(std::move(piece));
    lock.unlock();
    changed_.notify_all();
    return true;
}

// A buffer of at least `size` bytes, recycled from the consumer when possible:
// fresh pages cost a page fault and zeroing each, about a tenth of the reading time.
PageVector<char> DecompressedStream::take_buffer(size_t size) {
    PageVector<char> buf;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!free_.empty()) {
            buf = std::move(free_.back());
            free_.pop_back();
        }
    }
    if (buf.size() < size) buf.resize(size);
    return buf;
}

void DecompressedStream::produce() {
    try {
        if (!codec_known_) codec_ = input_->detect();  // a stream: its first bytes have come
        switch (codec_) {
            case Codec::Plain: read_plain(*input_); break;
            case Codec::Gzip: read_gzip(*input_); break;
            case Codec::Bgzf: read_bgzf(*input_); break;
            case Codec::Zstd: read_zstd(*input_); break;
        }
    } catch (const ReadingStopped&) {
        // the consumer has gone
    } catch (const std::invalid_argument& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::make_exception_ptr(std::invalid_argument(path_ + ": " + e.what()));
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_ = true;
    }
    changed_.notify_all();
}

void DecompressedStream::read_plain(Input& in) {
    for (;;) {
        PageVector<char> piece = take_buffer(kPieceBytes);
        piece.resize(in.read_some(piece.data(), piece.size()));
        if (piece.empty() || !push(std::move(piece))) return;
    }
}

void DecompressedStream::read_gzip(Input& input) {
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("zlib initialisation failed");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    std::vector<unsigned char> in(1 << 20);
    PageVector<char> out = take_buffer(kPieceBytes);
    size_t filled = 0;
    bool at_eof = false, in_member = true;
    for (;;) {
        if (zs.avail_in == 0 && !at_eof) {
            zs.avail_in = static_cast<uInt>(input.read_some(in.data(), in.size()));
            zs.next_in = in.data();
            at_eof = zs.avail_in < in.size();
        }
        if (zs.avail_in == 0 && at_eof) break;
        if (!in_member) {  // the previous member ended and more bytes follow: another member
            if (inflateReset(&zs) != Z_OK) throw std::runtime_error("zlib reset failed");
            in_member = true;
        }
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + filled);
        zs.avail_out = static_cast<uInt>(out.size() - filled);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        filled = out.size() - zs.avail_out;
        if (rc == Z_STREAM_END) {
            in_member = false;
        } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
            corrupt(std::string("corrupt gzip data") + (zs.msg ? std::string(" (") + zs.msg + ")" : ""));
        } else if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        } else if (rc == Z_BUF_ERROR && zs.avail_in == 0 && at_eof) {
            break;  // no progress possible: truncated, reported below
        }
        if (filled == out.size()) {
            if (!push(std::move(out))) return;
            out = take_buffer(kPieceBytes);
            filled = 0;
        }
    }
    if (in_member) corrupt("the gzip data ends early (truncated file?)");
    out.resize(filled);
    push(std::move(out));
}

void DecompressedStream::read_zstd(Input& input) {
    std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
    if (!ds) throw std::runtime_error("zstd initialisation failed");
    PageVector<char> in(ZSTD_DStreamInSize() * 8);
    PageVector<char> out = take_buffer(kPieceBytes);
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    size_t last = 0;  // 0: at a frame boundary
    bool flushed = false;  // the last step sent a full piece downstream
    // One decoder call; a full output piece goes downstream. False: the consumer stopped.
    auto step = [&](ZSTD_inBuffer& ib) {
        last = ZSTD_decompressStream(ds.get(), &ob, &ib);
        if (ZSTD_isError(last)) corrupt(std::string("corrupt zstd data (") + ZSTD_getErrorName(last) + ")");
        flushed = ob.pos == ob.size;
        if (!flushed) return true;
        if (!push(std::move(out))) return false;
        out = take_buffer(kPieceBytes);
        ob = ZSTD_outBuffer{out.data(), out.size(), 0};
        return true;
    };
    for (;;) {
        const size_t n = input.read_some(in.data(), in.size());
        if (n == 0) break;
        ZSTD_inBuffer ib{in.data(), n, 0};
        while (ib.pos < ib.size)
            if (!step(ib)) return;
    }
    // the decoder may still hold decompressed bytes that did not fit
    while (last != 0) {
        ZSTD_inBuffer ib{nullptr, 0, 0};
        const size_t before = ob.pos;
        if (!step(ib)) return;
        if (!flushed && ob.pos == before) corrupt("the zstd data ends early (truncated file?)");
    }
    out.resize(ob.pos);
    push(std::move(out));
}

namespace {

// A run of consecutive BGZF blocks, inflated as one piece by one worker.
struct BgzfBatch {
    struct Block {
        size_t cdata, csize, out;  // offsets into raw / size / offset into the piece
        uint32_t crc, isize;
        uint64_t file_offset;      // for error messages
    };
    PageVector<unsigned char> raw;
    std::vector<Block> blocks;
    size_t out_size = 0;
};

PageVector<char> inflate_batch(const BgzfBatch& batch, PageVector<char> out) {
    std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(
        libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
    if (!d) throw std::bad_alloc();
    out.resize(batch.out_size);
    for (const auto& b : batch.blocks) {
        size_t got = 0;
        auto rc = libdeflate_deflate_decompress(d.get(), batch.raw.data() + b.cdata, b.csize,
                                                out.data() + b.out, b.isize, &got);
        if (rc != LIBDEFLATE_SUCCESS || got != b.isize ||
            libdeflate_crc32(0, out.data() + b.out, b.isize) != b.crc)
            corrupt("corrupt BGZF block at byte " + std::to_string(b.file_offset));
    }
    return out;
}

}  // namespace

// Blocks are independent deflate streams of <= 64 KiB (SAM/BAM specification,
// section 4.1), so batches of them inflate in parallel. Hand-written rather than
// htslib: we need only this loop, and libdeflate inflates about twice as fast as zlib.
void DecompressedStream::read_bgzf(Input& in) {
    // a worker's result: the inflated piece, and the batch's compressed buffer for the next batch
    // (reused rather than mapped afresh and regrown block by block: page faults)
    using Result = std::pair<PageVector<char>, PageVector<unsigned char>>;
    std::deque<std::future<Result>> in_flight;
    std::vector<PageVector<unsigned char>> spare_raw;  // this thread's only
    uint64_t offset = 0;
    bool eof = false, last_block_empty = false;
    auto take_result = [&] {
        Result r = in_flight.front().get();
        in_flight.pop_front();
        spare_raw.push_back(std::move(r.second));
        return std::move(r.first);
    };
    while (!eof) {
        BgzfBatch batch;
        if (!spare_raw.empty()) {
            batch.raw = std::move(spare_raw.back());
            spare_raw.pop_back();
            batch.raw.clear();
        }
        while (batch.out_size < kPieceBytes) {
            unsigned char head[12];
            const size_t n = in.read_some(head, sizeof head);
            if (n == 0) {
                eof = true;
                break;
            }
            if (n < sizeof head) corrupt("the BGZF data ends early (truncated file?)");
            if (head[0] != 0x1f || head[1] != 0x8b || head[2] != 8 || !(head[3] & kFlagExtra))
                corrupt("byte " + std::to_string(offset) + " does not start a BGZF block (mixed gzip and "
                        "BGZF members?); recompress the file with bgzip or gzip");
            const size_t xlen = le16(head + 10);
            const size_t start = batch.raw.size();
            batch.raw.resize(start + xlen);
            if (in.read_some(batch.raw.data() + start, xlen) < xlen)
                corrupt("the BGZF data ends early (truncated file?)");
            const long bsize = bgzf_block_size(batch.raw.data() + start, xlen);
            if (bsize < 0)
                corrupt("the gzip member at byte " + std::to_string(offset) + " has no BGZF size field; "
                        "recompress the file with bgzip or gzip");
            const size_t total = static_cast<size_t>(bsize) + 1;
            if (total < 12 + xlen + 8) corrupt("invalid BGZF block size at byte " + std::to_string(offset));
            const size_t rest = total - 12 - xlen;  // compressed data + CRC32 + ISIZE
            batch.raw.resize(start + rest);         // the extra field is not needed any more
            if (in.read_some(batch.raw.data() + start, rest) < rest)
                corrupt("the BGZF data ends early (truncated file?)");
            const unsigned char* tail = batch.raw.data() + start + rest - 8;
            BgzfBatch::Block b{start, rest - 8, batch.out_size, le32(tail), le32(tail + 4), offset};
            // ISIZE comes from the file: a block never holds more than 64 KiB, so a larger
            // claim is damage, refused before the piece is sized for it (4 GB per block)
            if (b.isize > kBgzfMaxBlock)
                corrupt("the BGZF block at byte " + std::to_string(offset) + " claims " + std::to_string(b.isize) +
                        " bytes of text, more than a BGZF block holds (64 KiB): the file is corrupt");
            // bgzip ends every file with an empty block (the end-of-file marker)
            last_block_empty = b.isize == 0 && b.csize == 2;
            batch.blocks.push_back(b);
            batch.out_size += b.isize;
            offset += total;
        }
        if (batch.blocks.empty()) break;
        // std::async: one short-lived thread per ~4 MB batch; the queue bounds how many run at once
        in_flight.push_back(std::async(std::launch::async, [b = std::move(batch), out = take_buffer(0)]() mutable {
            PageVector<char> piece = inflate_batch(b, std::move(out));
            return Result(std::move(piece), std::move(b.raw));
        }));
        while (in_flight.size() > static_cast<size_t>(n_threads_) || (eof && !in_flight.empty()))
            if (!push(take_result())) return;
    }
    while (!in_flight.empty())
        if (!push(take_result())) return;
    eof_marker_missing_ = !last_block_empty;
}

}  // namespace fragcov
