// The decompressed bytes of a fragment file, in order, produced ahead of the
// reader by background threads: plain text, gzip (any number of members),
// BGZF (blocks inflated in parallel) or zstd (any number of frames).
//
// The file is opened once and read front to back, never twice and never
// sought: a fragment file may be a stream (a named pipe, /dev/stdin,
// `<(zcat f.gz)`, docs/spec.md 13.8), whose bytes can be read only once. The
// codec is told from its first bytes, read by the same open file.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
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
// std::system_error when the file cannot be opened.
Codec detect_codec(const std::string& path);

// BGZF's largest block, compressed or not (SAM/BAM specification, section 4.1).
inline constexpr size_t kBgzfMaxBlock = size_t(1) << 16;

class DecompressedStream {
public:
    // `n_threads` BGZF workers (other codecs decompress on one thread);
    // memory stays below about (2 * n_threads + 4) pieces of 4 MB. Opens the
    // file (std::system_error when it cannot be); a regular file's codec is
    // checked here (std::invalid_argument for bzip2, xz, HDF5), a stream's
    // when its first bytes arrive (next() then throws).
    DecompressedStream(const std::string& path, int n_threads);
    ~DecompressedStream();  // stops and joins the background threads
    DecompressedStream(const DecompressedStream&) = delete;
    DecompressedStream& operator=(const DecompressedStream&) = delete;

    // Replaces `piece` by the next non-empty piece of decompressed bytes;
    // false at the end of the file. Rethrows a decompression error (corrupt or
    // truncated input, read error) as std::invalid_argument naming the file.
    bool next(PageVector<char>& piece);

    // True once the whole input was read and it is BGZF without the empty
    // end-of-file marker block that bgzip writes last: the file may have been
    // cut at a block boundary (htslib warns "EOF marker is absent"). Read after
    // next() returned false.
    bool bgzf_eof_marker_missing() const { return eof_marker_missing_.load(); }

    static constexpr size_t kPieceBytes = size_t(4) << 20;

    class Input;  // the open file (decompress.cpp)

private:
    void produce();                            // the producer thread's body
    bool push(PageVector<char>&& piece);      // false when the consumer has gone
    PageVector<char> take_buffer(size_t size);
    void read_plain(Input& in);
    void read_gzip(Input& in);
    void read_bgzf(Input& in);
    void read_zstd(Input& in);

    std::string path_;
    std::atomic<bool> closing_{false};  // the destructor runs: reads waiting on a stream give up
    std::unique_ptr<Input> input_;
    Codec codec_ = Codec::Plain;
    bool codec_known_ = false;  // a regular file's, from the constructor
    std::atomic<bool> eof_marker_missing_{false};
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
