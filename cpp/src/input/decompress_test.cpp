// Unit tests for decompress.hpp: every codec gives back the exact bytes that
// zlib, libdeflate (BGZF) and libzstd compressed; damaged input is an error
// naming the file.
#include "input/decompress.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

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
