// The decompressed bytes of a fragment file, in order, produced ahead of the
// reader by background threads: plain text, gzip (any number of members),
// BGZF (blocks inflated in parallel) or zstd (any number of frames).
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/page_allocator.hpp"

namespace fragcov {

enum class Codec { Plain, Gzip, Bgzf, Zstd };

const char* codec_name(Codec codec);

// The codec of the file at `path`, from its first bytes. Throws
// std::invalid_argument for formats we do not read (bzip2, xz, HDF5) and
// std::runtime_error when the file cannot be opened.
Codec detect_codec(const std::string& path);

class DecompressedStream {
public:
    // `n_threads` BGZF workers (other codecs decompress on one thread);
    // memory stays below about (2 * n_threads + 4) pieces of 4 MB.
    DecompressedStream(const std::string& path, int n_threads);
    ~DecompressedStream();  // stops and joins the background threads
    DecompressedStream(const DecompressedStream&) = delete;
    DecompressedStream& operator=(const DecompressedStream&) = delete;

    // Replaces `piece` by the next non-empty piece of decompressed bytes;
    // false at the end of the file. Rethrows a decompression error (corrupt or
    // truncated input, read error) as std::invalid_argument naming the file.
    bool next(PageVector<char>& piece);

    Codec codec() const { return codec_; }

    static constexpr size_t kPieceBytes = size_t(4) << 20;

private:
    void produce();                            // the producer thread's body
    bool push(PageVector<char>&& piece);      // false when the consumer has gone
    PageVector<char> take_buffer(size_t size);
    void read_plain(std::FILE* f);
    void read_gzip(std::FILE* f);
    void read_bgzf(std::FILE* f);
    void read_zstd(std::FILE* f);

    std::string path_;
    Codec codec_;
    int n_threads_;
    size_t capacity_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<PageVector<char>> queue_;
    std::vector<PageVector<char>> free_;  // pieces the consumer is done with
    bool finished_ = false, stop_ = false;
    std::exception_ptr error_;
    std::thread producer_;
};

}  // namespace fragcov
