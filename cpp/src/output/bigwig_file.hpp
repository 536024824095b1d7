// A streaming bigWig (bbi v4) writer: records go in once, in genome order, and
// leave as compressed data blocks after a short wait (at most two blocks' worth
// of records queue while the writer decides how to encode them). Each block is
// one bedGraph, varStep or fixedStep section, whichever is estimated smaller
// (see "data sections" in bigwig_file.cpp). Zoom levels and header totals are
// summarised on the fly from the records themselves, so nothing is read back
// and memory stays at a few blocks plus the index (32 bytes per block).
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

class StaticDeflate;  // bigwig_file.cpp

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
    // The same as add(chrom, start + k, start + k + 1, values[k]) for k in [0, n),
    // with the checks done once (the per-base records of smoothed tracks).
    void add_unit_records(uint32_t chrom, uint32_t start, const float* values, size_t n);
    // Writes everything that is left and closes the file.
    void close();

    static constexpr uint32_t kItemsPerBlock = 1024;  // items per data section / records per zoom block
    // Blocks up to this size (a full fixedStep section: 24-byte header + 4 bytes per
    // item) are compressed by our own encoder, larger ones by libdeflate.
    static constexpr size_t kSmallBlockBytes = 24 + 4 * kItemsPerBlock;
    static constexpr uint32_t kIndexFanout = 256;     // children per index node
    static constexpr int kMaxZoomLevels = 10;
    // Fewer touching records than this never get a fixedStep section of their own.
    static constexpr size_t kMinFixedStepRecords = 11;

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
        Record(uint32_t s, uint32_t e, float v) : start(s), end(e), value(v) {}  // for emplace_back
        uint32_t start, end;
        float value;
    };
    enum class Section : uint8_t { BedGraph = 1, VarStep = 2, FixedStep = 3 };
    struct ZoomLevel {
        uint64_t reduction;
        Summary current;  // the bin being filled; valid == 0 when none
        uint64_t bin = 0;
        std::vector<Summary> pending;     // records of the next zoom block
        std::string blocks;               // compressed zoom blocks, written at close()
        std::vector<IndexItem> index;     // offsets relative to `blocks`
        uint32_t count = 0;
    };

    // ---- data sections
    void queue_record(uint32_t chrom, uint32_t start, uint32_t end, float value);
    // Whether a record of `length` bases ending at `end`, touching the last one,
    // joins the current stretch (updates stretch_span_ if so).
    bool extends_stretch(uint32_t length, uint32_t end);
    // Whether the stretch as one fixedStep section is estimated smaller than in shared blocks.
    bool fixed_step_pays() const;
    // Writes the stretch as a fixedStep section, or lets it join the shared records.
    // Inline: for most records of sparse tracks this is all the planning there is.
    void close_stretch() {
        if (pending_.size() - stretch_begin_ >= kMinFixedStepRecords) return close_long_stretch();
        stretch_begin_ = pending_.size();
        if (stretch_begin_ >= kItemsPerBlock) flush_shared(false);
    }
    void close_long_stretch();
    // Writes shared blocks while a full one is queued, or (all) every shared record.
    void flush_shared(bool all);
    // Writes the next shared block from `recs` (n > 0); returns the records it took.
    size_t write_shared_block(const Record* recs, size_t n);
    void write_section(Section type, const Record* recs, size_t n, uint32_t span, uint32_t items);
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
    std::unique_ptr<StaticDeflate> small_blocks_;  // compresses blocks of up to kSmallBlockBytes
    std::vector<char> compressed_;
    std::string raw_;

    // records not yet in a block, all on chromosome data_chrom_ and in order:
    // pending_[0, stretch_begin_) go to shared (bedGraph or varStep) blocks, the
    // rest are the current stretch of touching records, a fixedStep section to be
    uint32_t data_chrom_ = 0;
    bool has_record_ = false;
    uint32_t last_end_ = 0;  // end of the last record added
    std::vector<Record> pending_;
    size_t stretch_begin_ = 0;
    uint32_t stretch_span_ = 0;  // gcd of the stretch's record lengths; 0 while not needed
    std::vector<IndexItem> index_;
    uint64_t max_raw_block_ = 0;
    uint64_t data_offset_ = 0, chrom_tree_offset_ = 0;

    std::vector<ZoomLevel> zooms_;
    Summary total_;
};

}  // namespace fragcov
