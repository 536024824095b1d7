// Test helpers: temporary files written plain or compressed with the codecs'
// own libraries (gzip members, BGZF blocks, zstd frames), so that the reader is
// tested against independently produced inputs.
#pragma once
#include <libdeflate.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace fragcov::test {

// A file in a fresh temporary folder, removed with it.
class TempFile {
public:
    explicit TempFile(const std::string& name = "input") {
        char templ[] = "/tmp/fragcov-test-XXXXXX";
        if (!mkdtemp(templ)) throw std::runtime_error("mkdtemp failed");
        dir_ = templ;
        path_ = dir_ + "/" + name;
    }
    ~TempFile() {
        std::remove(path_.c_str());
        rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }
    const std::string& dir() const { return dir_; }
    void write(const std::string& bytes) const {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (!f) throw std::runtime_error("cannot write " + path_);
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fclose(f);
    }

private:
    std::string dir_, path_;
};

// One gzip member per element of `members` (zlib, gzip wrapper).
inline std::string gzip_members(const std::vector<std::string>& members) {
    std::string out;
    for (const std::string& m : members) {
        z_stream zs{};
        if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("zlib");
        std::string buf(deflateBound(&zs, m.size()) + 64, '\0');
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(m.data()));
        zs.avail_in = static_cast<uInt>(m.size());
        zs.next_out = reinterpret_cast<Bytef*>(buf.data());
        zs.avail_out = static_cast<uInt>(buf.size());
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("zlib");
        out.append(buf.data(), zs.total_out);
        deflateEnd(&zs);
    }
    return out;
}

inline void put16(std::string& s, unsigned v) {
    s += static_cast<char>(v & 255);
    s += static_cast<char>((v >> 8) & 255);
}
inline void put32(std::string& s, uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
}

// BGZF as bgzip writes it (SAM/BAM specification 4.1): blocks of at most
// `block_bytes` input bytes, each a gzip member with the "BC" extra subfield,
// then the 28-byte end-of-file block.
inline std::string bgzf(const std::string& data, size_t block_bytes = 65280) {
    std::string out;
    libdeflate_compressor* c = libdeflate_alloc_compressor(6);
    for (size_t i = 0; i < data.size(); i += block_bytes) {
        const size_t n = std::min(block_bytes, data.size() - i);
        std::string comp(libdeflate_deflate_compress_bound(c, n), '\0');
        const size_t clen = libdeflate_deflate_compress(c, data.data() + i, n, comp.data(), comp.size());
        std::string block = std::string("\x1f\x8b\x08\x04\0\0\0\0\0\xff", 10);
        put16(block, 6);  // XLEN
        block += "BC";
        put16(block, 2);
        put16(block, static_cast<unsigned>(12 + 6 + clen + 8 - 1));  // BSIZE
        block.append(comp.data(), clen);
        put32(block, static_cast<uint32_t>(libdeflate_crc32(0, data.data() + i, n)));
        put32(block, static_cast<uint32_t>(n));
        out += block;
    }
    libdeflate_free_compressor(c);
    static const unsigned char eof[28] = {0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43,
                                          0x02, 0, 0x1b, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    out.append(reinterpret_cast<const char*>(eof), sizeof eof);
    return out;
}

// One zstd frame per element of `frames`.
inline std::string zstd_frames(const std::vector<std::string>& frames) {
    std::string out;
    for (const std::string& f : frames) {
        std::string buf(ZSTD_compressBound(f.size()), '\0');
        const size_t n = ZSTD_compress(buf.data(), buf.size(), f.data(), f.size(), 3);
        if (ZSTD_isError(n)) throw std::runtime_error("zstd");
        out.append(buf.data(), n);
    }
    return out;
}

// `text` split into `parts` nearly equal pieces (for multi-member/multi-frame files).
inline std::vector<std::string> split(const std::string& text, size_t parts) {
    std::vector<std::string> out;
    const size_t step = text.size() / parts + 1;
    for (size_t i = 0; i < text.size(); i += step) out.push_back(text.substr(i, step));
    if (out.empty()) out.emplace_back();
    return out;
}

enum class Format { Plain, Gzip, GzipMembers, Bgzf, Zstd, ZstdFrames };
inline const Format kAllFormats[] = {Format::Plain, Format::Gzip, Format::GzipMembers,
                                     Format::Bgzf,  Format::Zstd, Format::ZstdFrames};

inline std::string encode(const std::string& text, Format format) {
    switch (format) {
        case Format::Plain: return text;
        case Format::Gzip: return gzip_members({text});
        case Format::GzipMembers: return gzip_members(split(text, 3));
        case Format::Bgzf: return bgzf(text, 1000);  // small blocks: lines cross block borders
        case Format::Zstd: return zstd_frames({text});
        case Format::ZstdFrames: return zstd_frames(split(text, 3));
    }
    return text;
}

}  // namespace fragcov::test
