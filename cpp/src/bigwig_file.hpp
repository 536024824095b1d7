// A streaming bigWig (bbi v4) writer: records go in once, in genome order, and
// leave as compressed data blocks straight away. Zoom levels are summarised on
// the fly from the same records, so nothing is read back and memory stays at a
// few blocks plus the index (32 bytes per block of 1024 records).
//
// File layout (UCSC bbiWrite order; every offset is stored, so readers do not
// depend on it): header, zoom headers, total summary, chromosome B+ tree, data
// (section count + zlib blocks), data R-tree, then per zoom level its record
// count, blocks and R-tree, and the magic number again at the very end.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/genome.hpp"

struct libdeflate_compressor;

namespace fragcov {

// Throws std::invalid_argument unless every chromosome of `genome` fits
// bigWig's 32-bit coordinates (and there is at least one).
void check_bigwig_genome(const Genome& genome);

class BigWigFile {
public:
    // `genome`: every reference sequence, in the order records come in (the
    // chromosome ids of the file); it must outlive this object.
    // `deflate_level`: 1-12 (libdeflate). `first_zoom`: bases per record of
    // the finest zoom level; each further level is 4x coarser, up to the first
    // that spans the longest chromosome.
    BigWigFile(const std::string& path, const Genome& genome, int deflate_level, uint64_t first_zoom);
    ~BigWigFile();
    BigWigFile(const BigWigFile&) = delete;
    BigWigFile& operator=(const BigWigFile&) = delete;

    // [start, end) on chromosome `chrom` has `value`; calls must be in
    // (chrom, start) order and not overlap.
    void add(uint32_t chrom, uint32_t start, uint32_t end, float value);
    // Writes everything that is left and closes the file.
    void close();

    static constexpr uint32_t kItemsPerBlock = 1024;  // records per data / zoom block
    static constexpr uint32_t kIndexFanout = 256;     // children per index node
    static constexpr int kMaxZoomLevels = 10;

    // A finished, compressed block and its place in the R-tree: it covers
    // (start_chrom, start) up to (end_chrom, end).
    struct IndexItem {
        uint32_t start_chrom, start, end_chrom, end;
        uint64_t offset, size;
    };
    // A zoom summary of [start, end) on one chromosome.
    struct Summary {
        uint32_t chrom = 0, start = 0, end = 0;
        uint64_t valid = 0;
        double min = 0, max = 0, sum = 0, sum_squares = 0;
    };

private:
    struct Record {
        uint32_t start, end;
        float value;
    };
    struct ZoomLevel {
        uint64_t reduction;
        Summary current;  // the bin being filled; valid == 0 when none
        uint64_t bin = 0;
        std::vector<Summary> pending;     // records of the next zoom block
        std::string blocks;               // compressed zoom blocks, written at close()
        std::vector<IndexItem> index;     // offsets relative to `blocks`
        uint32_t count = 0;
    };

    void flush_block();
    void add_to_zoom(uint32_t chrom, uint64_t start, uint64_t end, float value);
    void close_zoom_bin(size_t level);
    // Adds `s`, which lies in bin `bin` of zoom level `level`, to that level.
    void merge_into_zoom(size_t level, const Summary& s, uint64_t bin);
    void flush_zoom_block(ZoomLevel& z);
    // Compresses `raw` into compressed_ and returns its size.
    size_t compress(const std::string& raw);
    void write(const void* data, size_t n);
    void write_at(uint64_t offset, const std::string& bytes);
    void write_index(const std::vector<IndexItem>& items, uint64_t index_offset, uint64_t end_of_data);
    std::string chrom_tree() const;

    struct CloseFile {
        void operator()(FILE* f) const { std::fclose(f); }
    };
    struct FreeCompressor {
        void operator()(libdeflate_compressor* c) const;  // libdeflate_free_compressor
    };

    std::string path_;
    std::unique_ptr<FILE, CloseFile> file_;
    uint64_t pos_ = 0;  // bytes written so far
    const Genome& genome_;
    std::unique_ptr<libdeflate_compressor, FreeCompressor> compressor_;
    std::vector<char> compressed_;
    std::string raw_;

    // current data block; its last record is the last one added (blocks are
    // only flushed right before a record is added, or at close)
    uint32_t block_chrom_ = 0;
    std::vector<Record> block_;
    std::vector<IndexItem> index_;
    uint64_t max_raw_block_ = 0;
    uint64_t data_offset_ = 0, chrom_tree_offset_ = 0;

    std::vector<ZoomLevel> zooms_;
    Summary total_;
};

}  // namespace fragcov
