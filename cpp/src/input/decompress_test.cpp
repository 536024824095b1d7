// Unit tests for decompress.hpp: every codec gives back the exact bytes that
// zlib, libdeflate (BGZF) and libzstd compressed; damaged input is an error
// naming the file.
#include "input/decompress.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "testing/test_files.hpp"

using namespace fragcov;
using namespace fragcov::test;

namespace {

// Text of `n` bytes that compresses poorly enough to span many BGZF blocks.
std::string sample_text(size_t n) {
    std::string s;
    s.reserve(n);
    uint64_t x = 88172645463325252ull;
    while (s.size() < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s += "chr" + std::to_string(x % 23) + "\t" + std::to_string(x % 1000003) + "\tAC" + std::to_string(x % 977) + "\n";
    }
    s.resize(n);
    return s;
}

std::string read_all(const std::string& path, int threads, size_t* pieces = nullptr) {
    DecompressedStream stream(path, threads);
    std::string out;
    PageVector<char> piece;
    size_t n = 0;
    while (stream.next(piece)) {
        CHECK(!piece.empty());
        out.append(piece.data(), piece.size());
        ++n;
    }
    if (pieces) *pieces = n;
    return out;
}

std::string error_of(const std::string& path) {
    try {
        read_all(path, 2);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("every codec returns the original bytes, small and spanning several pieces") {
    for (size_t size : {size_t(0), size_t(1), size_t(5000), size_t(9) << 20}) {
        const std::string text = sample_text(size);
        for (Format format : kAllFormats) {
            CAPTURE(size);
            CAPTURE(static_cast<int>(format));
            TempFile file;
            file.write(format == Format::Bgzf ? bgzf(text) : encode(text, format));
            for (int threads : {1, 3}) CHECK(read_all(file.path(), threads) == text);
        }
    }
}

TEST_CASE("codecs are told apart by content, not by file name") {
    const std::string text = "chr1\t1\t2\tA\t1\n";
    TempFile file("fragments.tsv");  // a misleading name
    file.write(gzip_members({text}));
    CHECK(detect_codec(file.path()) == Codec::Gzip);
    file.write(bgzf(text));
    CHECK(detect_codec(file.path()) == Codec::Bgzf);
    file.write(zstd_frames({text}));
    CHECK(detect_codec(file.path()) == Codec::Zstd);
    file.write(text);
    CHECK(detect_codec(file.path()) == Codec::Plain);
}

TEST_CASE("BGZF output stays in order when blocks are inflated in parallel") {
    const std::string text = sample_text(size_t(20) << 20);
    TempFile file;
    file.write(bgzf(text));
    size_t pieces = 0;
    CHECK(read_all(file.path(), 4, &pieces) == text);
    CHECK(pieces >= 4);  // really split into batches
}

TEST_CASE("truncated or corrupt input is an error naming the file") {
    const std::string text = sample_text(200000);
    TempFile file("frag.gz");
    std::string gz = gzip_members({text});
    file.write(gz.substr(0, gz.size() / 2));
    CHECK(error_of(file.path()).find(file.path() + ": the gzip data ends early") == 0);

    std::string trailing = gz + "garbage";
    file.write(trailing);
    CHECK(error_of(file.path()).find("corrupt gzip data") != std::string::npos);

    std::string bg = bgzf(text);
    file.write(bg.substr(0, bg.size() - 100));
    CHECK(error_of(file.path()).find("BGZF data ends early") != std::string::npos);

    std::string flipped = bg;
    flipped[40] ^= 0x55;  // inside the first block's deflate data (or its CRC check fails)
    file.write(flipped);
    CHECK(error_of(file.path()).find("corrupt BGZF block at byte 0") != std::string::npos);

    std::string mixed = bg.substr(0, bg.size() - 28) + gzip_members({"chr1\t1\t2\tA\n"});
    file.write(mixed);
    CHECK(error_of(file.path()).find("does not start a BGZF block") != std::string::npos);

    std::string zs = zstd_frames({text});
    file.write(zs.substr(0, zs.size() - 10));
    CHECK(error_of(file.path()).find("zstd data ends early") != std::string::npos);
}

TEST_CASE("formats we do not read are named") {
    TempFile file;
    file.write("BZh91AY&SY");
    CHECK_THROWS_WITH_AS(DecompressedStream(file.path(), 1), doctest::Contains("bzip2"), std::invalid_argument);
    file.write(std::string("\xfd" "7zXZ\0rest", 9));
    CHECK_THROWS_WITH_AS(DecompressedStream(file.path(), 1), doctest::Contains("xz"), std::invalid_argument);
    file.write(std::string("\x89HDF\r\n\x1a\n....", 12));
    CHECK_THROWS_WITH_AS(DecompressedStream(file.path(), 1), doctest::Contains("HDF5"), std::invalid_argument);
    CHECK_THROWS_AS(DecompressedStream(file.dir() + "/missing", 1), std::runtime_error);
}

TEST_CASE("a reader may stop early; the background threads end") {
    const std::string text = sample_text(size_t(30) << 20);
    TempFile file;
    file.write(bgzf(text));
    DecompressedStream stream(file.path(), 3);
    PageVector<char> piece;
    CHECK(stream.next(piece));
    // destructor joins the producer while it is blocked on a full queue
}

TEST_CASE("a file that cannot be opened is a std::system_error with its errno (spec 11.7)") {
    const std::string missing = "/nonexistent-fragcov-folder/fragments.tsv.gz";
    try {
        detect_codec(missing);
        FAIL("no error");
    } catch (const std::system_error& e) {
        CHECK(e.code().value() == ENOENT);
        CHECK(std::string(e.what()).find(missing) != std::string::npos);
    }
    CHECK_THROWS_AS(DecompressedStream(missing, 1), std::system_error);
}

namespace {

// `bytes` written into a named pipe by a thread, once the stream opens it.
class FedPipe {
public:
    explicit FedPipe(std::string bytes) : file_("pipe") {
        std::remove(file_.path().c_str());
        REQUIRE(mkfifo(file_.path().c_str(), 0600) == 0);
        writer_ = std::thread([this, b = std::move(bytes)] {
            std::FILE* f = std::fopen(file_.path().c_str(), "wb");  // waits for the reader
            if (f) {
                std::fwrite(b.data(), 1, b.size(), f);
                std::fclose(f);
            }
        });
    }
    ~FedPipe() {
        const int fd = open(file_.path().c_str(), O_RDONLY | O_NONBLOCK);  // unblocks a writer nobody read
        writer_.join();
        if (fd >= 0) close(fd);
    }
    const std::string& path() const { return file_.path(); }

private:
    TempFile file_;
    std::thread writer_;
};

}  // namespace

TEST_CASE("a stream (named pipe) is opened once and read front to back: every codec, as from a file") {
    const std::string text = sample_text(size_t(9) << 20);
    for (const std::string& bytes : {text, gzip_members({text.substr(0, 1000), text.substr(1000)}), bgzf(text),
                                     zstd_frames({text})}) {
        FedPipe pipe(bytes);
        CHECK(read_all(pipe.path(), 3) == text);
    }
    FedPipe empty("");
    CHECK(read_all(empty.path(), 1).empty());
    FedPipe hdf5(std::string("\x89HDF\r\n\x1a\n....", 12));  // told apart by the bytes read, not by probing
    CHECK(error_of(hdf5.path()).find("HDF5") != std::string::npos);
}

TEST_CASE("a stream whose writer never comes does not hold up the reader's destruction") {
    TempFile file("silent");
    std::remove(file.path().c_str());
    REQUIRE(mkfifo(file.path().c_str(), 0600) == 0);
    {
        DecompressedStream stream(file.path(), 2);  // opening does not wait for a writer
    }  // the producer, polling, sees the destructor and ends
    std::remove(file.path().c_str());
}

TEST_CASE("a BGZF block claiming more than 64 KiB of text is corrupt, before anything is sized for it") {
    const std::string text = sample_text(300000);
    std::string bg = bgzf(text);
    // the second block's ISIZE (the last 4 bytes before the third block): 4 GB
    const size_t first = static_cast<size_t>(static_cast<unsigned char>(bg[16]) |
                                             (static_cast<unsigned char>(bg[17]) << 8)) + 1;
    const size_t second = static_cast<size_t>(static_cast<unsigned char>(bg[first + 16]) |
                                              (static_cast<unsigned char>(bg[first + 17]) << 8)) + 1;
    for (int k = 0; k < 4; ++k) bg[first + second - 4 + k] = k == 3 ? '\xff' : '\xf0';
    TempFile file("big.gz");
    file.write(bg);
    const std::string error = error_of(file.path());
    CHECK(error.find(file.path() + ": the BGZF block at byte " + std::to_string(first) + " claims 4293980400 bytes") ==
          0);
}

TEST_CASE("BGZF without its end-of-file marker block is read whole and flagged; with it, not flagged") {
    const std::string text = sample_text(200000);
    const std::string bg = bgzf(text);
    TempFile file("frag.gz");
    file.write(bg.substr(0, bg.size() - 28));
    {
        DecompressedStream stream(file.path(), 2);
        std::string out;
        PageVector<char> piece;
        while (stream.next(piece)) out.append(piece.data(), piece.size());
        CHECK(out == text);
        CHECK(stream.bgzf_eof_marker_missing());
    }
    file.write(bg);
    DecompressedStream whole(file.path(), 2);
    PageVector<char> piece;
    while (whole.next(piece)) {
    }
    CHECK_FALSE(whole.bgzf_eof_marker_missing());
}
