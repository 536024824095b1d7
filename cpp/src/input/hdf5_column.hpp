// A one-dimensional chunked HDF5 dataset (a column of the fragment matrix:
// positions or values) read straight from the file and decoded here, without
// the HDF5 library.
//
// Why: h5py serialises every HDF5 call behind one lock, so decoding through it
// keeps one thread busy for all of the input (SnapATAC2 writes chunks of 1,000
// elements, Blosc/zstd-compressed: ~40% of the reading time is zstd). Read
// here, each binning thread decodes its own chunks. Python (_sources.py) reads
// the layout with h5py (chunk addresses, filters, dtype) and hands it over.
//
// Which datasets it reads is decided here too (readable_column: the layout
// as HDF5 reports it, docs/spec.md 2.5.0); anything else is read through h5py.
//
// Filters (HDF5 filter ids): none; 1 deflate (zlib stream, libdeflate);
// 2 shuffle; 32015 zstd (one zstd frame); 32001 Blosc 1.x with the zstd codec
// or stored uncompressed, byte shuffle or none. Blosc is decoded by hand
// (header, blocks, splits, unshuffle; c-blosc's README_CHUNK_FORMAT) rather
// than through c-blosc because only this one codec is needed, libzstd is
// already linked, and c-blosc would be a new native dependency of every build.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/hdf5_layout.hpp"

namespace fragcov {

enum class ElementType { Int64, UInt32, Int32 };

// Per-thread buffers and decompression contexts, reused from chunk to chunk.
class Hdf5Scratch {
public:
    Hdf5Scratch();
    ~Hdf5Scratch();
    Hdf5Scratch(Hdf5Scratch&&) noexcept;
    Hdf5Scratch& operator=(Hdf5Scratch&&) noexcept;

private:
    friend class Hdf5Column;
    struct Codecs;
    std::unique_ptr<Codecs> codecs_;
    std::vector<uint8_t> raw_;                 // stored chunks, as read from the file
    std::vector<uint8_t> stage_a_, stage_b_;  // between two filters
    std::vector<uint8_t> block_;              // a Blosc block before its unshuffle
    std::vector<uint8_t> edge_;               // a whole chunk of which only a part is wanted
};

class Hdf5Column {
public:
    // `fd`: the file at `path`, open for reading (pread; it must stay open
    // while the column is read). `what` names the column in messages. `filters`: HDF5 filter ids in pipeline (write) order.
    // `chunk_address[k]`, `chunk_size[k]`: where chunk k (elements
    // k * chunk_elements ...) is stored; bit i of `chunk_filter_mask[k]` set:
    // filter i was skipped for that chunk (HDF5 skips an optional filter that
    // cannot shrink a chunk; empty: none skipped). Throws
    // std::invalid_argument when the layout is inconsistent or a filter is
    // not one of the above.
    Hdf5Column(int fd, std::string path, std::string what, ElementType type, std::vector<uint32_t> filters,
               uint64_t n_elements, uint64_t chunk_elements, std::vector<uint64_t> chunk_address,
               std::vector<uint64_t> chunk_size, std::vector<uint32_t> chunk_filter_mask = {});

    ElementType type() const { return type_; }
    size_t element_size() const { return type_ == ElementType::Int64 ? 8 : 4; }
    uint64_t size() const { return n_elements_; }

    // Elements [first, first + count) into `out` (count * element_size()
    // bytes). Throws std::invalid_argument naming the column and the chunk
    // when a chunk does not decode to its size (a corrupt file),
    // std::system_error when the file cannot be read. Thread-safe for
    // different scratches.
    void read(uint64_t first, uint64_t count, void* out, Hdf5Scratch& scratch) const;

private:
    void decode_chunk(uint64_t k, const uint8_t* in, size_t n, uint8_t* out, Hdf5Scratch& s) const;
    void decode_blosc(uint64_t k, const uint8_t* in, size_t n, uint8_t* out, Hdf5Scratch& s) const;
    [[noreturn]] void corrupt(uint64_t k, const std::string& why) const;

    int fd_;
    std::string path_, what_;
    ElementType type_;
    std::vector<uint32_t> filters_;
    uint64_t n_elements_, chunk_elements_, chunk_bytes_;
    std::vector<uint64_t> address_, stored_size_;
    std::vector<uint32_t> mask_;
};

// The column of `layout` when this class decodes it (one-dimensional, chunked,
// every chunk stored, `type` in little-endian, only the filters above, chunk
// 0's bytes at its address in `fd`), nullptr otherwise.
std::unique_ptr<Hdf5Column> readable_column(int fd, const std::string& path, ElementType type,
                                            const Hdf5Layout& layout);

}  // namespace fragcov
