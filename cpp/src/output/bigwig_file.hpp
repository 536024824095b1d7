// A streaming bigWig (bbi v4) writer: records go in once, in genome order, and
// leave as compressed data blocks after a short wait (at most two blocks' worth
// of records queue while the writer decides how to encode them). Each block is
// one bedGraph, varStep or fixedStep section, whichever is estimated smaller
// (see "data sections" in bigwig_file.cpp). Zoom levels and header totals are
// summarised on the fly from the records themselves, so nothing is read back
// and memory stays at a few blocks plus the index (32 bytes per block).
//
// No data block or zoom bin spans two chromosomes, so each chromosome's
// records can be encoded on a thread of their own (BigWigFile::Chromosome) and
// committed in chromosome order: the bytes do not depend on which thread
// encoded what (docs/spec.md section 7.3).
//
// File layout (UCSC bbiWrite order; every offset is stored, so readers do not
// depend on it): header, zoom headers, total summary, chromosome B+ tree, data
// (section count + zlib blocks), data R-tree, then per zoom level its record
// count, blocks and R-tree, and the magic number again at the very end.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fragcov/genome.hpp"

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
    // The same as add(chrom, start + k, start + k + 1, values[k]) for k in [0, n),
    // with the checks done once (the per-base records of smoothed tracks).
    void add_unit_records(uint32_t chrom, uint32_t start, const float* values, size_t n);
    // Writes everything that is left and closes the file.
    void close();

    // ---- one chromosome at a time, on any thread (docs/spec.md section 7.1)
    // The compressors (libdeflate's and StaticDeflate) belong to threads, not
    // to files: each block is compressed with the calling thread's, made on its
    // first block and kept until the thread ends. A block's bytes depend on its
    // raw bytes only, so files share them, and an open file holds none.
    class Codec;
    static Codec& thread_codec(int deflate_level);
    class Chromosome;
    // Writes what `part` holds to the file. Parts are committed one at a time, in
    // increasing chromosome order (a part may be committed several times while
    // it is filled, and must be after finish()); the file is the same bytes
    // whichever thread filled a part and however often it was committed.
    void commit(Chromosome& part);

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
    struct ZoomLevel {
        uint64_t reduction;
        std::vector<Summary> pending;     // records of the next zoom block
        std::string blocks;               // compressed zoom blocks, written at close()
        std::vector<IndexItem> index;     // offsets relative to `blocks`
        uint32_t count = 0;
    };
    // The part of add()/add_unit_records(): committed when the chromosome changes
    // or when it holds more than kHeldBytes.
    static constexpr size_t kHeldBytes = 1 << 20;
    Chromosome& sequential_part(uint32_t chrom);
    void add_zoom_record(ZoomLevel& z, const Summary& s);
    void flush_zoom_block(ZoomLevel& z);
    void write(const void* data, size_t n);
    void write_at(uint64_t offset, const std::string& bytes);
    void write_index(const std::vector<IndexItem>& items, uint64_t index_offset, uint64_t end_of_data);
    std::string chrom_tree() const;

    struct CloseFile {
        void operator()(FILE* f) const { std::fclose(f); }
    };

    std::string path_;
    std::unique_ptr<FILE, CloseFile> file_;
    uint64_t pos_ = 0;  // bytes written so far
    const Genome& genome_;
    int deflate_level_;
    std::unique_ptr<Chromosome> part_;  // of add() / add_unit_records()
    int64_t committed_chrom_ = -1;      // the last chromosome committed

    std::vector<IndexItem> index_;
    uint64_t max_raw_block_ = 0;
    uint64_t data_offset_ = 0, chrom_tree_offset_ = 0;
    std::vector<uint64_t> reductions_;  // of the zoom levels
    std::vector<ZoomLevel> zooms_;
    Summary total_;
};

// Records of one chromosome on their way into a BigWigFile: data sections
// encoded and compressed, zoom bins summarised and the header totals' terms
// kept, all in memory until BigWigFile::commit() writes them.
class BigWigFile::Chromosome {
public:
    Chromosome(const BigWigFile& file, uint32_t chrom);
    ~Chromosome();
    Chromosome(const Chromosome&) = delete;
    Chromosome& operator=(const Chromosome&) = delete;

    uint32_t chrom() const { return chrom_; }
    // [start, end) has `value`: in order, not overlapping, inside the chromosome.
    void add(uint32_t start, uint32_t end, float value);
    void add_unit_records(uint32_t start, const float* values, size_t n);
    // Encodes the last records and closes the zoom bins: the part is complete.
    void finish();
    // Bytes held for the next commit.
    size_t held_bytes() const;

private:
    friend class BigWigFile;
    struct Record {
        Record(uint32_t s, uint32_t e, float v) : start(s), end(e), value(v) {}  // for emplace_back
        uint32_t start, end;
        float value;
    };
    // `repeat` records of `length` bases and `value` in a row: the header totals
    // are a sum in record order (doubles), so commit() adds these terms in that
    // order rather than a per-chromosome subtotal (the same bytes as one thread).
    struct TotalTerm {
        float value;
        uint32_t length, repeat;
    };
    struct Zoom {
        Summary current;  // the bin being filled; valid == 0 when none
        uint64_t bin = 0;
        std::vector<Summary> closed;  // finished bins, in order
    };
    enum class Section : uint8_t { BedGraph = 1, VarStep = 2, FixedStep = 3 };

    void check(uint32_t start, uint64_t end) const;
    void add_total(float value, uint32_t length) {
        if (!totals_.empty() && totals_.back().length == length &&
            std::memcmp(&totals_.back().value, &value, sizeof value) == 0)  // the same bits (-0, NaN)
            ++totals_.back().repeat;
        else
            totals_.push_back({value, length, 1});
    }
    // ---- data sections
    void queue_record(uint32_t start, uint32_t end, float value);
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
    // ---- zoom bins
    void add_to_zoom(uint64_t start, uint64_t end, float value);
    void close_zoom_bin(size_t level);
    // Adds `s`, which lies in bin `bin` of zoom level `level`, to that level.
    void merge_into_zoom(size_t level, const Summary& s, uint64_t bin);

    const BigWigFile& file_;
    uint32_t chrom_;
    uint64_t length_;

    // records not yet in a block, in order: pending_[0, stretch_begin_) go to
    // shared (bedGraph or varStep) blocks, the rest are the current stretch of
    // touching records, a fixedStep section to be
    bool has_record_ = false;
    uint32_t last_end_ = 0;  // end of the last record added
    std::vector<Record> pending_;
    size_t stretch_begin_ = 0;
    uint32_t stretch_span_ = 0;  // gcd of the stretch's record lengths; 0 while not needed
    std::string raw_;

    // what the next commit writes
    std::string blocks_;               // compressed data blocks
    std::vector<IndexItem> index_;     // offsets relative to blocks_
    uint64_t max_raw_block_ = 0;
    std::vector<TotalTerm> totals_;
    std::vector<Zoom> zooms_;
    bool finished_ = false;
};

}  // namespace fragcov
