// Hdf5Column: the core's own reader of chunked HDF5 datasets. Chunks built
// here with libzstd / libdeflate, and one Blosc chunk written by hdf5plugin's
// c-blosc; tests/test_parallel.py compares the reader with h5py on whole files.
#include "input/hdf5_column.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fragcov;

namespace {

// 64 int64 values v[i] = i * 1000003 + 7 as one chunk of h5py.create_dataset(...,
// chunks=(64,), **hdf5plugin.Blosc("zstd", 5, hdf5plugin.Blosc.SHUFFLE)), read
// back with dataset.id.read_direct_chunk((0,)) (hdf5plugin 7.1.0, c-blosc 1.21).
const std::vector<uint8_t> kBloscChunk = {
    0x02, 0x01, 0x91, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0xf5, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0xdd, 0x00, 0x00, 0x00, 0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0x01, 0x9d,
    0x06, 0x00, 0x54, 0x0c, 0x07, 0x4a, 0x8d, 0xd0, 0x13, 0x56, 0x99, 0xdc, 0x1f, 0x62, 0xa5, 0xe8,
    0x2b, 0x6e, 0xb1, 0xf4, 0x37, 0x7a, 0xbd, 0x00, 0x43, 0x86, 0xc9, 0x0c, 0x4f, 0x92, 0xd5, 0x18,
    0x5b, 0x9e, 0xe1, 0x24, 0x67, 0xaa, 0xed, 0x30, 0x73, 0xb6, 0xf9, 0x3c, 0x7f, 0xc2, 0x05, 0x48,
    0x8b, 0xce, 0x11, 0x54, 0x97, 0xda, 0x1d, 0x60, 0xa3, 0xe6, 0x29, 0x6c, 0xaf, 0xf2, 0x35, 0x78,
    0xbb, 0xfe, 0x41, 0x84, 0x00, 0x42, 0x84, 0xc6, 0x09, 0x4b, 0x8d, 0xcf, 0x12, 0x54, 0x96, 0xd8,
    0x1b, 0x5d, 0x9f, 0xe1, 0x24, 0x66, 0xa8, 0xeb, 0x2d, 0x6f, 0xb1, 0xf4, 0x36, 0x78, 0xba, 0xfd,
    0x3f, 0x81, 0xc3, 0x06, 0x48, 0x8a, 0xcc, 0x0f, 0x51, 0x93, 0xd5, 0x18, 0x5a, 0x9c, 0xdf, 0x21,
    0x63, 0xa5, 0xe8, 0x2a, 0x6c, 0xae, 0xf1, 0x33, 0x75, 0xb7, 0xfa, 0x3c, 0x7e, 0xc0, 0x03, 0x45,
    0x87, 0xc9, 0x0c, 0x4e, 0x00, 0x0f, 0x1e, 0x2d, 0x3d, 0x4c, 0x5b, 0x6a, 0x7a, 0x89, 0x98, 0xa7,
    0xb7, 0xc6, 0xd5, 0xe4, 0xf4, 0x03, 0x12, 0x21, 0x31, 0x40, 0x4f, 0x5e, 0x6e, 0x7d, 0x8c, 0x9b,
    0xab, 0xba, 0xc9, 0xd9, 0xe8, 0xf7, 0x06, 0x16, 0x25, 0x34, 0x43, 0x53, 0x62, 0x71, 0x80, 0x90,
    0x9f, 0xae, 0xbd, 0xcd, 0xdc, 0xeb, 0xfa, 0x0a, 0x19, 0x28, 0x37, 0x47, 0x56, 0x65, 0x75, 0x84,
    0x93, 0xa2, 0xb2, 0xc1, 0x00, 0x01, 0x02, 0x03, 0x00, 0x05, 0x10, 0x00, 0x7c, 0x4a, 0xb8, 0x43,
    0x18, 0x22, 0x82, 0x88, 0x14,
};

std::vector<int64_t> expected_values(size_t n) {
    std::vector<int64_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<int64_t>(i) * 1000003 + 7;
    return v;
}

std::vector<uint8_t> bytes_of(const std::vector<int64_t>& v) {
    std::vector<uint8_t> b(v.size() * 8);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// HDF5's shuffle filter, written out plainly: byte j of element i goes to j * n + i
std::vector<uint8_t> shuffled(const std::vector<uint8_t>& in, size_t typesize) {
    const size_t n = in.size() / typesize;
    std::vector<uint8_t> out(in.size());
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < typesize; ++j) out[j * n + i] = in[i * typesize + j];
    return out;
}

std::vector<uint8_t> zstd_frame(const std::vector<uint8_t>& in) {
    std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
    out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
    return out;
}

std::vector<uint8_t> zlib_stream(const std::vector<uint8_t>& in) {
    libdeflate_compressor* c = libdeflate_alloc_compressor(6);
    std::vector<uint8_t> out(libdeflate_zlib_compress_bound(c, in.size()));
    out.resize(libdeflate_zlib_compress(c, in.data(), in.size(), out.data(), out.size()));
    libdeflate_free_compressor(c);
    return out;
}

// A file of stored chunks, as HDF5 would lay them out: a header, then the chunks.
struct ChunkFile {
    std::string path;
    int fd = -1;
    std::vector<uint64_t> addresses, sizes;
    explicit ChunkFile(const std::vector<std::vector<uint8_t>>& chunks) {
        char name[] = "/tmp/fragcov-h5col-XXXXXX";
        fd = mkstemp(name);
        REQUIRE(fd >= 0);
        path = name;
        uint64_t at = 96;  // anything before the first chunk
        std::vector<uint8_t> all(at, 0xAB);
        for (const auto& c : chunks) {
            addresses.push_back(at);
            sizes.push_back(c.size());
            all.insert(all.end(), c.begin(), c.end());
            at += c.size();
        }
        REQUIRE(pwrite(fd, all.data(), all.size(), 0) == static_cast<ssize_t>(all.size()));
    }
    ~ChunkFile() {
        close(fd);
        std::remove(path.c_str());
    }
};

std::vector<int64_t> read_all(const Hdf5Column& c) {
    std::vector<int64_t> out(c.size());
    Hdf5Scratch scratch;
    c.read(0, c.size(), out.data(), scratch);
    return out;
}

}  // namespace

TEST_CASE("Hdf5Column decodes each supported filter pipeline") {
    const std::vector<int64_t> values = expected_values(64);
    const std::vector<uint8_t> raw = bytes_of(values);
    SUBCASE("Blosc zstd with byte shuffle, as SnapATAC2 writes it") {
        ChunkFile f({kBloscChunk});
        Hdf5Column c(f.fd, f.path, "positions", ElementType::Int64, {32001}, 64, 64, f.addresses, f.sizes);
        CHECK(read_all(c) == values);
    }
    SUBCASE("zstd frames, the last chunk partial") {
        std::vector<int64_t> first(values.begin(), values.begin() + 40), last(values.begin() + 40, values.end());
        last.resize(40, 0);  // HDF5 stores whole chunks
        ChunkFile f({zstd_frame(bytes_of(first)), zstd_frame(bytes_of(last))});
        Hdf5Column c(f.fd, f.path, "positions", ElementType::Int64, {32015}, 64, 40, f.addresses, f.sizes);
        CHECK(read_all(c) == values);
        std::vector<int64_t> part(20);
        Hdf5Scratch scratch;
        c.read(30, 20, part.data(), scratch);  // across the chunk border
        CHECK(part == std::vector<int64_t>(values.begin() + 30, values.begin() + 50));
    }
    SUBCASE("shuffle then deflate, and a chunk whose filters were skipped") {
        std::vector<uint8_t> half(raw.begin(), raw.begin() + 256), rest(raw.begin() + 256, raw.end());
        ChunkFile f({zlib_stream(shuffled(half, 8)), rest});
        // bits 0 and 1: HDF5 skipped both filters for chunk 1
        Hdf5Column c(f.fd, f.path, "positions", ElementType::Int64, {2, 1}, 64, 32, f.addresses, f.sizes, {0, 3});
        CHECK(read_all(c) == values);
    }
    SUBCASE("no filter") {
        ChunkFile f({raw});
        Hdf5Column c(f.fd, f.path, "positions", ElementType::Int64, {}, 64, 64, f.addresses, f.sizes);
        CHECK(read_all(c) == values);
    }
}

TEST_CASE("Hdf5Column refuses corrupt chunks with the chunk's number, never reads out of bounds") {
    const std::vector<int64_t> values = expected_values(64);
    std::mt19937_64 rng(4242);
    int refused = 0, decoded = 0;
    for (int round = 0; round < 600; ++round) {
        std::vector<uint8_t> chunk = kBloscChunk;
        switch (round % 3) {
            case 0:  // random bytes changed, header included
                for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) chunk[rng() % chunk.size()] = rng();
                break;
            case 1:  // cut short
                chunk.resize(rng() % chunk.size());
                break;
            default:  // a header field set to anything
                for (int k = 0; k < 4; ++k) chunk[4 + 4 * (rng() % 3) + k] = rng();
        }
        ChunkFile f({chunk});
        Hdf5Column c(f.fd, f.path, "positions", ElementType::Int64, {32001}, 64, 64, f.addresses, f.sizes);
        std::vector<int64_t> out(64);
        Hdf5Scratch scratch;
        try {
            c.read(0, 64, out.data(), scratch);
            ++decoded;  // Blosc has no checksum: a change inside compressed data may still decode
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find("chunk 0 of the positions") != std::string::npos);
            ++refused;
        }
    }
    CHECK(refused > 300);
    CHECK(decoded > 0);
}

TEST_CASE("Hdf5Column refuses inconsistent layouts") {
    ChunkFile f({std::vector<uint8_t>(32, 0)});
    auto make = [&](std::vector<uint32_t> filters, uint64_t n, uint64_t chunk, std::vector<uint64_t> addr,
                    std::vector<uint64_t> sizes) {
        return Hdf5Column(f.fd, f.path, "values", ElementType::UInt32, std::move(filters), n, chunk, std::move(addr),
                          std::move(sizes));
    };
    CHECK_NOTHROW(make({}, 8, 8, f.addresses, f.sizes));
    CHECK_THROWS_WITH_AS(make({32000}, 8, 8, f.addresses, f.sizes), doctest::Contains("filter 32000"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(make({}, 9, 8, f.addresses, f.sizes), doctest::Contains("needs 2 chunk addresses"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(make({}, 8, 0, f.addresses, f.sizes), doctest::Contains("chunks of 0 elements"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(make({}, 8, 8, f.addresses, {31}), doctest::Contains("must hold 32 bytes"),
                         std::invalid_argument);
    CHECK_THROWS_AS(make({}, 8, 8, {uint64_t{1} << 63}, f.sizes), std::invalid_argument);
    Hdf5Column past_end = make({}, 8, 8, {f.addresses[0] + 8}, f.sizes);
    std::vector<uint32_t> out(8);
    Hdf5Scratch scratch;
    CHECK_THROWS_WITH_AS(past_end.read(0, 8, out.data(), scratch), doctest::Contains("ends inside the values"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(past_end.read(4, 5, out.data(), scratch), doctest::Contains("past the end"),
                         std::invalid_argument);
}
