#include "input/hdf5_column.hpp"

#include <libdeflate.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "util/io_error.hpp"

namespace fragcov {

namespace {

constexpr uint32_t kDeflate = 1, kShuffle = 2, kBlosc = 32001, kZstd = 32015;
constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 30;  // HDF5's own limit is 4 GiB; SnapATAC2 writes 8 kB

uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Undoes a byte shuffle of `n` bytes of `typesize`-byte elements: byte j of
// element i was stored at j * (n / typesize) + i; the n % typesize trailing
// bytes were left in place (HDF5's shuffle filter and Blosc's agree on this).
void unshuffle(const uint8_t* in, size_t n, size_t typesize, uint8_t* out) {
    const size_t count = typesize > 1 ? n / typesize : 0;
    if (count <= 1) {
        std::memcpy(out, in, n);
        return;
    }
    for (size_t j = 0; j < typesize; ++j) {
        const uint8_t* src = in + j * count;
        for (size_t i = 0; i < count; ++i) out[i * typesize + j] = src[i];
    }
    const size_t done = count * typesize;
    std::memcpy(out + done, in + done, n - done);
}

void pread_all(int fd, uint8_t* out, size_t n, uint64_t offset, const std::string& what, const std::string& path) {
    size_t done = 0;
    while (done < n) {
        const ssize_t r = pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw io_error("cannot read the " + what + " from", path);
        }
        if (r == 0)
            throw std::invalid_argument("'" + path + "' ends inside the " + what +
                                        ": it is truncated or its chunk index is corrupt");
        done += static_cast<size_t>(r);
    }
}

const char* dtype_of(ElementType type) {
    switch (type) {
        case ElementType::Int64: return "<i8";
        case ElementType::UInt32: return "<u4";
        case ElementType::Int32: return "<i4";
    }
    return "";
}

// Blosc's client data: ..., [4] clevel, [5] shuffle, [6] compressor; decoded
// here: stored uncompressed (clevel 0), or zstd (5) with no or byte shuffle.
bool decodable_filter(const Hdf5Filter& f) {
    constexpr uint32_t kBloscZstd = 5;
    if (f.id == kBlosc)
        return f.values.size() >= 7 && (f.values[4] == 0 || (f.values[6] == kBloscZstd && f.values[5] <= 1));
    return f.id == kDeflate || f.id == kShuffle || f.id == kZstd;
}

// The chunk table sorted by offset, when it holds chunk k at k * chunk for every k.
bool complete_chunk_table(const Hdf5Layout& l, uint64_t chunk, std::vector<uint64_t>& address,
                          std::vector<uint64_t>& size, std::vector<uint32_t>& mask) {
    const uint64_t n_chunks = l.shape[0] / chunk + (l.shape[0] % chunk != 0);
    const size_t n = l.chunk_offsets.size();
    if (n != n_chunks || l.chunk_addresses.size() != n || l.chunk_sizes.size() != n || l.chunk_masks.size() != n)
        return false;  // some chunks were never written (fill values)
    address.assign(n, 0);
    size.assign(n, 0);
    mask.assign(n, 0);
    std::vector<bool> seen(n, false);
    for (size_t i = 0; i < n; ++i) {
        const uint64_t k = l.chunk_offsets[i] / chunk;
        if (l.chunk_offsets[i] % chunk != 0 || k >= n || seen[k]) return false;
        seen[k] = true;
        address[k] = l.chunk_addresses[i];
        size[k] = l.chunk_sizes[i];
        mask[k] = l.chunk_masks[i];
    }
    return true;
}

// Chunk 0's bytes in the file are those HDF5 reads.
bool first_chunk_in_place(int fd, uint64_t address, uint64_t size, const std::string& expected) {
    if (size != expected.size()) return false;
    std::string bytes(expected.size(), '\0');
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t r = pread(fd, &bytes[done], bytes.size() - done, static_cast<off_t>(address + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        done += static_cast<size_t>(r);
    }
    return bytes == expected;
}

}  // namespace

std::unique_ptr<Hdf5Column> readable_column(int fd, const std::string& path, ElementType type,
                                            const Hdf5Layout& layout) {
    if (layout.shape.size() != 1 || layout.chunk_shape.size() != 1 || layout.shape[0] == 0 ||
        layout.chunk_shape[0] == 0 || layout.dtype != dtype_of(type))
        return nullptr;
    std::vector<uint32_t> filters;
    for (const Hdf5Filter& f : layout.filters) {
        if (!decodable_filter(f)) return nullptr;
        filters.push_back(f.id);
    }
    const uint64_t chunk = layout.chunk_shape[0];
    std::vector<uint64_t> address, size;
    std::vector<uint32_t> mask;
    if (!complete_chunk_table(layout, chunk, address, size, mask)) return nullptr;
    if (layout.first_chunk_mask != mask[0] || !first_chunk_in_place(fd, address[0], size[0], layout.first_chunk))
        return nullptr;
    return std::make_unique<Hdf5Column>(fd, path, layout.what, type, std::move(filters), layout.shape[0], chunk,
                                        std::move(address), std::move(size), std::move(mask));
}

struct Hdf5Scratch::Codecs {
    ZSTD_DCtx* zstd = ZSTD_createDCtx();
    libdeflate_decompressor* deflate = libdeflate_alloc_decompressor();
    ~Codecs() {
        ZSTD_freeDCtx(zstd);
        libdeflate_free_decompressor(deflate);
    }
};

Hdf5Scratch::Hdf5Scratch() : codecs_(std::make_unique<Codecs>()) {
    if (!codecs_->zstd || !codecs_->deflate) throw std::bad_alloc();
}
Hdf5Scratch::~Hdf5Scratch() = default;
Hdf5Scratch::Hdf5Scratch(Hdf5Scratch&&) noexcept = default;
Hdf5Scratch& Hdf5Scratch::operator=(Hdf5Scratch&&) noexcept = default;

Hdf5Column::Hdf5Column(int fd, std::string path, std::string what, ElementType type, std::vector<uint32_t> filters,
                       uint64_t n_elements, uint64_t chunk_elements, std::vector<uint64_t> chunk_address,
                       std::vector<uint64_t> chunk_size, std::vector<uint32_t> chunk_filter_mask)
    : fd_(fd),
      path_(std::move(path)),
      what_(std::move(what)),
      type_(type),
      filters_(std::move(filters)),
      n_elements_(n_elements),
      chunk_elements_(chunk_elements),
      address_(std::move(chunk_address)),
      stored_size_(std::move(chunk_size)),
      mask_(std::move(chunk_filter_mask)) {
    if (fd_ < 0) throw std::invalid_argument("the " + what_ + " column has no open file");
    if (chunk_elements_ == 0 || chunk_elements_ > kMaxChunkBytes / element_size())
        throw std::invalid_argument("the " + what_ + " column has chunks of " + std::to_string(chunk_elements_) +
                                    " elements; 1-" + std::to_string(kMaxChunkBytes / element_size()) +
                                    " are supported");
    chunk_bytes_ = chunk_elements_ * element_size();
    const uint64_t n_chunks = n_elements_ / chunk_elements_ + (n_elements_ % chunk_elements_ != 0);
    if (mask_.empty()) mask_.assign(n_chunks, 0);
    if (address_.size() != n_chunks || stored_size_.size() != n_chunks || mask_.size() != n_chunks)
        throw std::invalid_argument("the " + what_ + " column needs " + std::to_string(n_chunks) +
                                    " chunk addresses, sizes and filter masks, got " +
                                    std::to_string(address_.size()) + ", " + std::to_string(stored_size_.size()) +
                                    " and " + std::to_string(mask_.size()));
    if (filters_.size() > 32) throw std::invalid_argument("the " + what_ + " column has more than 32 filters");
    for (uint32_t f : filters_)
        if (f != kDeflate && f != kShuffle && f != kBlosc && f != kZstd)
            throw std::invalid_argument("the " + what_ + " column uses HDF5 filter " + std::to_string(f) +
                                        ", which fragcov does not decode itself (read it through h5py)");
    const uint64_t all = (uint64_t{1} << filters_.size()) - 1;
    for (uint64_t k = 0; k < n_chunks; ++k) {
        if (stored_size_[k] > kMaxChunkBytes + (kMaxChunkBytes >> 4) || address_[k] > (uint64_t{1} << 62))
            corrupt(k, "its stored size or address is out of range");
        const bool unfiltered = (mask_[k] & all) == all;  // every filter skipped (or none)
        if (unfiltered && stored_size_[k] != chunk_bytes_)
            corrupt(k, "an unfiltered chunk must hold " + std::to_string(chunk_bytes_) + " bytes, it holds " +
                           std::to_string(stored_size_[k]));
    }
}

void Hdf5Column::corrupt(uint64_t k, const std::string& why) const {
    throw std::invalid_argument("chunk " + std::to_string(k) + " of the " + what_ + " in '" + path_ +
                                "' is corrupt: " + why);
}

// One stored chunk (n bytes at `in`) -> chunk_bytes_ bytes at `out`, undoing
// the filters from the last to the first.
void Hdf5Column::decode_chunk(uint64_t k, const uint8_t* in, size_t n, uint8_t* out, Hdf5Scratch& s) const {
    size_t active[32], n_active = 0;  // the filters applied to this chunk, in pipeline order
    for (size_t i = 0; i < filters_.size(); ++i)
        if (!(mask_[k] >> i & 1)) active[n_active++] = i;
    if (n_active == 0) {
        std::memcpy(out, in, chunk_bytes_);
        return;
    }
    const size_t want = chunk_bytes_;
    for (size_t a = n_active; a-- > 0;) {
        const size_t i = active[a];
        uint8_t* dst = out;
        if (a > 0) {  // an intermediate stage: a buffer that is not `in`
            std::vector<uint8_t>& buf = in == s.stage_a_.data() ? s.stage_b_ : s.stage_a_;
            buf.resize(want);
            dst = buf.data();
        }
        switch (filters_[i]) {
            case kShuffle:
                if (n != want) corrupt(k, "the shuffle filter got " + std::to_string(n) + " bytes");
                unshuffle(in, n, element_size(), dst);
                break;
            case kDeflate: {
                size_t got = 0;
                if (libdeflate_zlib_decompress(s.codecs_->deflate, in, n, dst, want, &got) != LIBDEFLATE_SUCCESS ||
                    got != want)
                    corrupt(k, "its deflate stream does not decode to " + std::to_string(want) + " bytes");
                break;
            }
            case kZstd: {
                const size_t got = ZSTD_decompressDCtx(s.codecs_->zstd, dst, want, in, n);
                if (ZSTD_isError(got) || got != want)
                    corrupt(k, "its zstd frame does not decode to " + std::to_string(want) + " bytes");
                break;
            }
            case kBlosc:
                decode_blosc(k, in, n, dst, s);
                break;
        }
        in = dst;
        n = want;
    }
}

// A Blosc 1.x chunk (c-blosc's README_CHUNK_FORMAT): stored uncompressed, or
// blocks of zstd streams (one per byte of the type when split), byte-shuffled or not.
void Hdf5Column::decode_blosc(uint64_t k, const uint8_t* in, size_t n, uint8_t* dst, Hdf5Scratch& s) const {
    const size_t want = chunk_bytes_;
    // header: version, versionlz, flags, typesize, nbytes, blocksize, cbytes (little-endian)
    if (n < 16) corrupt(k, "a Blosc chunk needs a 16-byte header");
    const uint8_t flags = in[2];
    const size_t typesize = in[3];
    const uint64_t nbytes = le32(in + 4), blocksize = le32(in + 8), cbytes = le32(in + 12);
    if (nbytes != want) corrupt(k, "its Blosc header says " + std::to_string(nbytes) + " bytes");
    if (cbytes > n) corrupt(k, "its Blosc header says it is longer than it is");
    if (flags & 0x2) {  // stored uncompressed
        if (cbytes != nbytes + 16) corrupt(k, "an uncompressed Blosc chunk has the wrong size");
        std::memcpy(dst, in + 16, want);
        return;
    }
    if (flags & 0x0c) corrupt(k, "it uses a Blosc bitshuffle or an unknown Blosc flag");
    if ((flags >> 5) != 4) corrupt(k, "it uses a Blosc codec other than zstd");
    if (blocksize == 0 || typesize == 0) corrupt(k, "its Blosc block size or type size is 0");
    const bool shuffled = (flags & 0x1) && typesize > 1, dont_split = flags & 0x10;
    const uint64_t n_blocks = nbytes / blocksize + (nbytes % blocksize != 0);
    if (16 + 4 * n_blocks > cbytes) corrupt(k, "its Blosc block table is cut off");
    std::vector<uint8_t>& tmp = s.block_;  // one block before its unshuffle
    for (uint64_t b = 0; b < n_blocks; ++b) {
        const bool last_partial = b == n_blocks - 1 && nbytes % blocksize != 0;
        const size_t bsize = last_partial ? nbytes % blocksize : blocksize;
        // a block is stored as `typesize` streams (one per byte of the type) or as one
        const size_t n_splits =
            !dont_split && typesize <= 16 && bsize / typesize >= 128 && !last_partial ? typesize : 1;
        const size_t per_split = bsize / n_splits;
        uint8_t* block_out = dst + b * blocksize;
        uint8_t* split_out = block_out;
        if (shuffled) {
            tmp.resize(bsize);
            split_out = tmp.data();
        }
        uint64_t at = le32(in + 16 + 4 * b);
        for (size_t j = 0; j < n_splits; ++j) {
            if (at + 4 > cbytes) corrupt(k, "a Blosc block starts past its end");
            const uint64_t len = le32(in + at);
            at += 4;
            if (len > cbytes - at) corrupt(k, "a Blosc stream runs past its end");
            if (len == per_split) {
                std::memcpy(split_out + j * per_split, in + at, per_split);
            } else {
                const size_t got =
                    ZSTD_decompressDCtx(s.codecs_->zstd, split_out + j * per_split, per_split, in + at, len);
                if (ZSTD_isError(got) || got != per_split)
                    corrupt(k, "a Blosc zstd stream does not decode to its size");
            }
            at += len;
        }
        if (shuffled) unshuffle(tmp.data(), bsize, typesize, block_out);
    }
}

void Hdf5Column::read(uint64_t first, uint64_t count, void* out_ptr, Hdf5Scratch& s) const {
    if (first > n_elements_ || count > n_elements_ - first)
        throw std::invalid_argument("elements " + std::to_string(first) + "-" + std::to_string(first + count) +
                                    " are past the end of the " + what_ + " (" + std::to_string(n_elements_) + ")");
    if (count == 0) return;
    uint8_t* out = static_cast<uint8_t*>(out_ptr);
    const size_t es = element_size();
    const uint64_t k0 = first / chunk_elements_, k1 = (first + count - 1) / chunk_elements_;
    uint64_t k = k0;
    while (k <= k1) {
        // the longest run of chunks stored back to back: one read for all of them
        uint64_t end = k + 1;
        uint64_t bytes = stored_size_[k];
        while (end <= k1 && address_[end] == address_[end - 1] + stored_size_[end - 1] &&
               bytes + stored_size_[end] <= (uint64_t{64} << 20)) {
            bytes += stored_size_[end];
            ++end;
        }
        s.raw_.resize(bytes);
        pread_all(fd_, s.raw_.data(), bytes, address_[k], what_, path_);
        size_t at = 0;
        for (; k < end; ++k) {
            const uint64_t chunk_first = k * chunk_elements_;
            const uint64_t lo = std::max(first, chunk_first);
            const uint64_t hi = std::min({first + count, chunk_first + chunk_elements_, n_elements_});
            uint8_t* dst = out + (lo - first) * es;
            if (lo == chunk_first && hi == chunk_first + chunk_elements_) {  // the whole chunk is wanted
                decode_chunk(k, s.raw_.data() + at, stored_size_[k], dst, s);
            } else {  // the first or last chunk of the range: decode all of it, keep the part wanted
                s.edge_.resize(chunk_bytes_);
                decode_chunk(k, s.raw_.data() + at, stored_size_[k], s.edge_.data(), s);
                std::memcpy(dst, s.edge_.data() + (lo - chunk_first) * es, (hi - lo) * es);
            }
            at += stored_size_[k];
        }
    }
}

}  // namespace fragcov
