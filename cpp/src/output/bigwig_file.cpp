#include "output/bigwig_file.hpp"

#include <libdeflate.h>

#include "util/io_error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <stdexcept>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bigwig_file.cpp writes the host byte order and expects a little-endian host"
#endif

namespace fragcov {

namespace {

constexpr uint32_t kBigWigMagic = 0x888FFC26;
constexpr uint32_t kChromTreeMagic = 0x78CA8C91;
constexpr uint32_t kRTreeMagic = 0x2468ACE0;
constexpr uint16_t kVersion = 4;
constexpr uint64_t kHeaderSize = 64, kZoomHeaderSize = 24, kSummarySize = 40;
constexpr uint64_t kSectionHeaderSize = 24, kZoomRecordSize = 32;

template <class T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// `n` bases of value `v` into a summary.
void add_value(BigWigFile::Summary& into, double v, uint64_t n) {
    if (into.valid == 0) into.min = into.max = v;
    into.min = std::min(into.min, v);
    into.max = std::max(into.max, v);
    into.valid += n;
    into.sum += v * static_cast<double>(n);
    into.sum_squares += v * v * static_cast<double>(n);
}

// Another summary into a summary.
void combine(BigWigFile::Summary& into, const BigWigFile::Summary& s) {
    if (into.valid == 0) into.min = s.min, into.max = s.max;
    into.min = std::min(into.min, s.min);
    into.max = std::max(into.max, s.max);
    into.valid += s.valid;
    into.sum += s.sum;
    into.sum_squares += s.sum_squares;
}

// Writes fields one after another into memory that is already sized.
struct Cursor {
    char* p;
    template <class T>
    void put(T v) {
        std::memcpy(p, &v, sizeof v);
        p += sizeof v;
    }
};

}  // namespace

// ---- small blocks: one static-Huffman deflate block -------------------------------
// Hand-written because libdeflate spends about 4 us of setup on every call (it
// resets a 128 KB hash table and builds Huffman codes), more than compressing a
// ~1 KB block takes: a smoothed track has a fixedStep section of about that size
// per covered region, some 200,000 per group. Blocks up to kSmallBlock bytes
// (every fixedStep section) get one deflate block with the fixed codes of RFC
// 1951 section 3.2.6 (libdeflate also picks those for most blocks this small):
// greedy LZ77 over a hash of 3-byte prefixes with two candidates each, matches
// of 3 to 258 bytes within the block. The output is an ordinary zlib stream
// (RFC 1950). On the smoothing benchmark this writes the files 1.7% larger than
// libdeflate level 1 would for blocks over 1.5 KB, in 2/3 of the export time
// (benchmarks/bigwig_sections.md).
class StaticDeflate {
public:
    static constexpr size_t kSmallBlock = BigWigFile::kSmallBlockBytes;
    static size_t bound(size_t n) { return 2 + (n * 9 + 7) / 8 + 2 + 4 + 8; }

    StaticDeflate() {
        for (uint32_t sym = 0; sym < 288; ++sym) {  // literal/length codes
            uint32_t code, bits;
            if (sym < 144) code = 0x30 + sym, bits = 8;
            else if (sym < 256) code = 0x190 + sym - 144, bits = 9;
            else if (sym < 280) code = sym - 256, bits = 7;
            else code = 0xC0 + sym - 280, bits = 8;
            lit_[sym] = {reversed(code, bits), bits};
        }
        static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                              31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
        for (uint32_t sym = 0; sym < 29; ++sym) {
            const uint32_t extra = sym < 8 || sym == 28 ? 0 : (sym - 4) / 4;
            const Code c = lit_[257 + sym];
            for (uint32_t len = len_base[sym]; len < len_base[sym] + (1u << extra) && len <= 258; ++len)
                length_[len] = {c.bits | (len - len_base[sym]) << c.nbits, c.nbits + extra};
        }
        for (uint32_t sym = 0, base = 1; sym < 30; ++sym) {  // distance codes: 5 bits + extra
            const uint32_t extra = sym < 4 ? 0 : sym / 2 - 1;
            for (uint32_t d = base; d < base + (1u << extra) && d <= kSmallBlock; ++d)
                distance_[d] = {reversed(sym, 5) | (d - base) << 5, 5 + extra};
            base += 1u << extra;
        }
    }

    // Writes the zlib stream of in[0, n), n <= kSmallBlock, to out (room for bound(n)); returns its size.
    size_t zlib_compress(const uint8_t* in, size_t n, char* out) {
        out_ = out;
        out_[0] = 0x78, out_[1] = 0x01;  // deflate, 32 KB window, no dictionary, check bits
        out_ += 2;
        bitbuf_ = 0, bitcount_ = 0;
        put({3, 3});  // BFINAL = 1, BTYPE = 01 (fixed codes)
        // A candidate is valid only when stored for this block (above base_): the
        // 16 KB table is cleared once every ~14 blocks, when base_ would wrap,
        // instead of before every block (16-bit entries keep it in L1).
        if (base_ > UINT16_MAX - 2 * (kSmallBlock + 1)) {
            std::memset(head_, 0, sizeof head_);
            base_ = 0;
        }
        base_ += kSmallBlock + 1;
        size_t i = 0;
        while (i + 3 <= n) {
            const uint32_t key = load3(in + i);
            const uint16_t* bucket = head_[hash(key)];
            const size_t max = std::min<size_t>(258, n - i);
            size_t len = 0, distance = 0;
            for (const uint32_t stored : {bucket[0], bucket[1]}) {  // base_ + position + 1
                if (stored <= base_) break;  // none in this block
                const uint8_t* match = in + (stored - base_ - 1);
                if (load3(match) != key) continue;
                const size_t l = match_length(match, in + i, max);
                if (l > len) len = l, distance = static_cast<size_t>(in + i - match);
            }
            insert(in, i);
            if (len == 0) {
                put(lit_[in[i++]]);
                continue;
            }
            put(length_[len]);
            put(distance_[distance]);
            // positions inside a long match (a plateau of equal values) are not worth
            // indexing: only its last few are, so that the repeat continues after it
            const size_t from = len <= kInsertAll ? i + 1 : i + len - 4;
            for (size_t k = from; k < i + len && k + 3 <= n; ++k) insert(in, k);
            i += len;
        }
        while (i < n) put(lit_[in[i++]]);
        put(lit_[256]);  // end of block
        for (; bitcount_ > 0; bitcount_ = bitcount_ > 8 ? bitcount_ - 8 : 0) {
            *out_++ = static_cast<char>(bitbuf_);
            bitbuf_ >>= 8;
        }
        const uint32_t a = libdeflate_adler32(1, in, n);
        for (int shift = 24; shift >= 0; shift -= 8) *out_++ = static_cast<char>(a >> shift);  // big-endian
        return static_cast<size_t>(out_ - out);
    }

private:
    struct Code {
        uint32_t bits, nbits;  // bits in the order they are written (least significant first)
    };
    static constexpr int kHashBits = 12;
    static constexpr size_t kInsertAll = 16;  // matches up to this long index every position
    // Huffman codes go out most significant bit first
    static uint32_t reversed(uint32_t code, uint32_t nbits) {
        uint32_t r = 0;
        for (uint32_t k = 0; k < nbits; ++k) r |= ((code >> k) & 1u) << (nbits - 1 - k);
        return r;
    }
    static uint32_t load3(const uint8_t* p) { return p[0] | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16; }
    // Length of the common prefix of a and b, at least 3 (known equal) and at most max;
    // 8 bytes at a time (a < b, both inside one block of max bytes from b).
    static size_t match_length(const uint8_t* a, const uint8_t* b, size_t max) {
        size_t l = 3;
        while (l + 8 <= max) {
            uint64_t x, y;
            std::memcpy(&x, a + l, 8);
            std::memcpy(&y, b + l, 8);
            if (x != y) return l + static_cast<size_t>(__builtin_ctzll(x ^ y) >> 3);  // little-endian
            l += 8;
        }
        while (l < max && a[l] == b[l]) ++l;
        return l;
    }
    static uint32_t hash(uint32_t key) { return (key * 2654435761u) >> (32 - kHashBits); }
    void insert(const uint8_t* in, size_t i) {  // the two latest positions per hash
        uint16_t* bucket = head_[hash(load3(in + i))];
        bucket[1] = bucket[0];
        bucket[0] = static_cast<uint16_t>(base_ + i + 1);
    }
    void put(Code c) {  // at most 18 bits, to a buffer holding fewer than 32
        bitbuf_ |= uint64_t{c.bits} << bitcount_;
        bitcount_ += c.nbits;
        if (bitcount_ >= 32) {
            const uint32_t word = static_cast<uint32_t>(bitbuf_);
            std::memcpy(out_, &word, 4);  // little-endian host (checked at the top)
            out_ += 4;
            bitbuf_ >>= 32;
            bitcount_ -= 32;
        }
    }

    Code lit_[288];
    Code length_[259];
    Code distance_[kSmallBlock + 1];
    uint16_t head_[1 << kHashBits][2] = {};
    uint32_t base_ = 0;  // positions of the current block are stored as base_ + position + 1
    char* out_ = nullptr;
    uint64_t bitbuf_ = 0;
    uint32_t bitcount_ = 0;
};

void check_bigwig_genome(const Genome& genome) {
    if (genome.size() == 0) throw std::invalid_argument("a bigWig needs at least one reference sequence");
    for (size_t c = 0; c < genome.size(); ++c)
        if (genome.length(c) > UINT32_MAX)
            throw std::invalid_argument("chromosome " + genome.name(c) + " is too long for bigWig");
}

// The compressors of one thread: libdeflate for blocks over kSmallBlock bytes,
// StaticDeflate for the others (both deterministic: a block's bytes depend on
// its raw bytes only, not on the blocks compressed before).
class BigWigFile::Codec {
public:
    explicit Codec(int level) : compressor_(libdeflate_alloc_compressor(level)) {
        if (!compressor_) throw std::runtime_error("libdeflate: cannot create a compressor");
    }
    ~Codec() { libdeflate_free_compressor(compressor_); }
    Codec(const Codec&) = delete;
    Codec& operator=(const Codec&) = delete;

    // Compresses `raw` into out() and returns its size.
    size_t compress(const std::string& raw) {
        if (raw.size() <= StaticDeflate::kSmallBlock) {
            out_.resize(StaticDeflate::bound(raw.size()));
            return small_blocks_.zlib_compress(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                                               out_.data());
        }
        out_.resize(libdeflate_zlib_compress_bound(compressor_, raw.size()));
        const size_t n = libdeflate_zlib_compress(compressor_, raw.data(), raw.size(), out_.data(), out_.size());
        if (n == 0) throw std::runtime_error("libdeflate: compression failed");
        return n;
    }
    const char* out() const { return out_.data(); }

private:
    libdeflate_compressor* compressor_;
    StaticDeflate small_blocks_;
    std::vector<char> out_;
};

BigWigFile::Codec& BigWigFile::thread_codec(int deflate_level) {
    if (deflate_level < 0 || deflate_level > 12) throw std::invalid_argument("libdeflate levels are 0-12");
    thread_local std::unique_ptr<Codec> codecs[13];  // by level
    std::unique_ptr<Codec>& codec = codecs[deflate_level];
    if (!codec) codec = std::make_unique<Codec>(deflate_level);
    return *codec;
}

BigWigFile::BigWigFile(const std::string& path, const Genome& genome, int deflate_level, uint64_t first_zoom)
    : path_(path), genome_(genome), deflate_level_(deflate_level) {
    check_bigwig_genome(genome_);
    if (deflate_level < 0 || deflate_level > 12) throw std::invalid_argument("libdeflate levels are 0-12");

    const uint64_t longest = *std::max_element(genome_.lengths().begin(), genome_.lengths().end());
    uint64_t reduction = std::max<uint64_t>(first_zoom, 1);
    for (int k = 0; k < kMaxZoomLevels; ++k, reduction *= 4) {
        if (k > 0 && zooms_.back().reduction >= longest) break;  // one record per chromosome already
        if (reduction > UINT32_MAX) break;
        zooms_.push_back(ZoomLevel{reduction, {}, {}, {}, 0});
        reductions_.push_back(reduction);
    }

    file_.reset(std::fopen(path_.c_str(), "wb"));
    if (!file_) throw io_error("cannot open", path_);
    std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
    // header, zoom headers and total summary are filled in by close()
    const std::string zeros(kHeaderSize + kMaxZoomLevels * kZoomHeaderSize + kSummarySize, '\0');
    write(zeros.data(), zeros.size());
    chrom_tree_offset_ = pos_;
    const std::string tree = chrom_tree();
    write(tree.data(), tree.size());
    data_offset_ = pos_;
    const uint64_t n_sections = 0;  // filled in by close()
    write(&n_sections, sizeof n_sections);
}

BigWigFile::~BigWigFile() = default;

void BigWigFile::write(const void* data, size_t n) {
    if (n && std::fwrite(data, 1, n, file_.get()) != n)
        throw io_error("cannot write", path_);
    pos_ += n;
}

void BigWigFile::write_at(uint64_t offset, const std::string& bytes) {
    if (std::fseek(file_.get(), static_cast<long>(offset), SEEK_SET) != 0 ||
        std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size())
        throw io_error("cannot write", path_);
}

// ---- the records of add() and add_unit_records(): one part at a time ------------

BigWigFile::Chromosome& BigWigFile::sequential_part(uint32_t chrom) {
    if (part_ && part_->chrom() != chrom) {
        if (chrom < part_->chrom())
            throw std::logic_error("bigWig records must be sorted, non-overlapping and inside the chromosome");
        part_->finish();
        commit(*part_);
        part_.reset();
    }
    if (!part_) {
        if (chrom >= genome_.size() || static_cast<int64_t>(chrom) <= committed_chrom_)
            throw std::logic_error("bigWig records must be sorted, non-overlapping and inside the chromosome");
        part_ = std::make_unique<Chromosome>(*this, chrom);
    }
    return *part_;
}

void BigWigFile::add(uint32_t chrom, uint32_t start, uint32_t end, float value) {
    Chromosome& part = sequential_part(chrom);
    part.add(start, end, value);
    if (part.held_bytes() > kHeldBytes) commit(part);
}

void BigWigFile::add_unit_records(uint32_t chrom, uint32_t start, const float* values, size_t n) {
    if (n == 0) return;
    Chromosome& part = sequential_part(chrom);
    part.add_unit_records(start, values, n);
    if (part.held_bytes() > kHeldBytes) commit(part);
}

// ---- commit: a part's blocks, zoom records and totals into the file -------------

void BigWigFile::commit(Chromosome& part) {
    if (static_cast<int64_t>(part.chrom_) < committed_chrom_)
        throw std::logic_error("bigWig chromosomes must be committed in increasing order");
    committed_chrom_ = part.chrom_;
    for (IndexItem it : part.index_) {
        it.offset += pos_;
        index_.push_back(it);
    }
    write(part.blocks_.data(), part.blocks_.size());
    part.blocks_.clear();
    part.index_.clear();
    max_raw_block_ = std::max(max_raw_block_, part.max_raw_block_);
    for (const Chromosome::TotalTerm& t : part.totals_)
        for (uint32_t k = 0; k < t.repeat; ++k) add_value(total_, t.value, t.length);
    part.totals_.clear();
    for (size_t level = 0; level < zooms_.size(); ++level) {
        for (const Summary& s : part.zooms_[level].closed) add_zoom_record(zooms_[level], s);
        part.zooms_[level].closed.clear();
    }
}

// ---- data sections -------------------------------------------------------------
// Every reader (UCSC, libBigWig, bigtools) decodes exactly one section per data
// block; a section holds up to kItemsPerBlock items of one type:
//   bedGraph  (type 1)  start, end, value       12 bytes per item
//   varStep   (type 2)  start, value             8 bytes; each item covers itemSpan bases
//   fixedStep (type 3)  value                    4 bytes; item i covers
//                       [start + i*itemStep, +itemSpan); here itemStep == itemSpan
// The section header's start/end (and the block's R-tree entry) are the first
// item's start and the last item's end.
//
// Records come in merged (touching neighbours differ in value). A stretch of
// touching records whose lengths are all multiples of S (the gcd of their
// lengths) can be one fixedStep section with span S: a record of k*S bases
// becomes k items (a stretch is cut where its items would not fit one block).
// Smoothed tracks are such stretches at S = 1, dense per-bin tracks at S = bin
// size. Each stretch goes there if that is estimated smaller
// than putting its records in "shared" blocks; the records in between fill
// shared blocks, each a varStep section (span = gcd of the block's record
// lengths, gaps allowed: sparse per-bin tracks) or a bedGraph section, again
// whichever is estimated smaller.
//
// The estimates count item bytes before compression, except that a run of k > 1
// equal values in a fixedStep section counts as one deflate match (kRunCost)
// plus k/16 bytes, since deflate stores repeats of a 4-byte value as matches of
// up to 258 bytes. A block costs kBlockCost (section header, R-tree entry, zlib
// framing and Huffman tables); ending a shared block early to let a fixedStep
// section in costs kSplitCost more (the shared records lose the context they
// compress against, and the extra block costs time). Both constants were tuned
// on the benchmark tracks (benchmarks/bigwig_sections.md): default per-bin tracks
// stay almost all bedGraph, no larger than before.
//
// Only the encoding depends on this choice: zoom levels and the header totals are
// computed from the records in add().

namespace {

constexpr uint64_t kCostUnit = 16;  // estimates are in 1/16 bytes
constexpr uint64_t kBlockCost = 128 * kCostUnit;
constexpr uint64_t kSplitCost = 512 * kCostUnit;
constexpr uint64_t kRunCost = 6 * kCostUnit;

uint64_t item_size(uint8_t type) { return type == 1 ? 12 : type == 2 ? 8 : 4; }

// fewer records than this cost less in shared blocks than kBlockCost
static_assert(BigWigFile::kMinFixedStepRecords == kBlockCost / (12 * kCostUnit) + 1);

// Estimated bytes of a record of `items` items in a fixedStep section.
uint64_t fixed_step_record_cost(uint64_t items) {
    return item_size(3) * kCostUnit + (items > 1 ? kRunCost + items : 0);
}

}  // namespace

BigWigFile::Chromosome::Chromosome(const BigWigFile& file, uint32_t chrom)
    : file_(file), chrom_(chrom), length_(file.genome_.length(chrom)),
      zooms_(file.reductions_.size()) {}

BigWigFile::Chromosome::~Chromosome() = default;

size_t BigWigFile::Chromosome::held_bytes() const {
    size_t n = blocks_.size() + index_.size() * sizeof(IndexItem) + totals_.size() * sizeof(TotalTerm);
    for (const Zoom& z : zooms_) n += z.closed.size() * sizeof(Summary);
    return n;
}

void BigWigFile::Chromosome::check(uint32_t start, uint64_t end) const {
    if (finished_ || start >= end || end > length_ || (has_record_ && start < last_end_))
        throw std::logic_error("bigWig records must be sorted, non-overlapping and inside the chromosome");
}

void BigWigFile::Chromosome::add(uint32_t start, uint32_t end, float value) {
    check(start, end);
    queue_record(start, end, value);
    add_total(value, end - start);
    add_to_zoom(start, end, value);
}

void BigWigFile::Chromosome::add_unit_records(uint32_t start, const float* values, size_t n) {
    if (n == 0) return;
    check(start, uint64_t{start} + n);
    for (size_t k = 0; k < n; ++k) {
        const uint32_t s = start + static_cast<uint32_t>(k);
        // what queue_record does for a base that extends a long span-1 stretch
        // (extends_stretch(1, s + 1) is true then), without the calls
        if (has_record_ && s == last_end_ && stretch_span_ == 1 &&
            pending_.size() - stretch_begin_ + 1 >= kMinFixedStepRecords &&
            s + 1 - pending_[stretch_begin_].start <= kItemsPerBlock) {
            pending_.emplace_back(s, s + 1, values[k]);
            last_end_ = s + 1;
        } else {
            queue_record(s, s + 1, values[k]);
        }
        add_total(values[k], 1);
        add_to_zoom(s, s + 1, values[k]);
    }
}

void BigWigFile::Chromosome::finish() {
    if (finished_) return;
    if (has_record_) {
        close_stretch();
        flush_shared(true);
    }
    for (size_t k = 0; k < zooms_.size(); ++k) close_zoom_bin(k);
    std::vector<Record>().swap(pending_);
    finished_ = true;
}

void BigWigFile::Chromosome::queue_record(uint32_t start, uint32_t end, float value) {
    if (has_record_) {
        if (start == last_end_ && extends_stretch(end - start, end)) {
            pending_.emplace_back(start, end, value);
            last_end_ = end;
            return;
        }
        close_stretch();
    }
    has_record_ = true;
    last_end_ = end;
    stretch_begin_ = pending_.size();
    pending_.emplace_back(start, end, value);
    stretch_span_ = 0;
}

bool BigWigFile::Chromosome::extends_stretch(uint32_t length, uint32_t end) {
    const size_t n = pending_.size() - stretch_begin_;
    const uint64_t bases = end - pending_[stretch_begin_].start;
    // a stretch too short for a section of its own needs no span yet: its
    // items fit a block whatever the span
    if (n + 1 < kMinFixedStepRecords && bases <= kItemsPerBlock) return true;
    if (stretch_span_ == 0)
        for (size_t i = stretch_begin_; i < pending_.size(); ++i)
            stretch_span_ = std::gcd(stretch_span_, pending_[i].end - pending_[i].start);
    const uint32_t span = stretch_span_ == 1 ? 1 : std::gcd(stretch_span_, length);
    if (bases > uint64_t{kItemsPerBlock} * span) return false;
    // a record that would split the stretch's items more finely ends a
    // stretch that already pays as it is
    if (span != stretch_span_ && fixed_step_pays()) return false;
    stretch_span_ = span;
    return true;
}

bool BigWigFile::Chromosome::fixed_step_pays() const {
    const Record* first = pending_.data() + stretch_begin_;
    const size_t n = pending_.size() - stretch_begin_;
    const uint64_t bed_graph = item_size(1) * n * kCostUnit;
    const uint64_t items = (first[n - 1].end - first[0].start) / stretch_span_;
    const uint64_t shared = std::min(bed_graph, item_size(2) * items * kCostUnit);
    uint64_t fixed = kBlockCost + (stretch_begin_ > 0 ? kSplitCost : 0);
    if (stretch_span_ == 1)  // per-base tracks; spares a division per record
        for (size_t i = 0; i < n; ++i) fixed += fixed_step_record_cost(first[i].end - first[i].start);
    else
        for (size_t i = 0; i < n; ++i)
            fixed += fixed_step_record_cost((first[i].end - first[i].start) / stretch_span_);
    return fixed < shared;
}

void BigWigFile::Chromosome::close_long_stretch() {
    if (fixed_step_pays()) {
        flush_shared(true);  // the stretch is all that is left
        const uint32_t items = (pending_.back().end - pending_.front().start) / stretch_span_;
        write_section(Section::FixedStep, pending_.data(), pending_.size(), stretch_span_, items);
        pending_.clear();
        stretch_begin_ = 0;
        return;
    }
    stretch_begin_ = pending_.size();  // the stretch joins the shared records
    if (stretch_begin_ >= kItemsPerBlock) flush_shared(false);
}

void BigWigFile::Chromosome::flush_shared(bool all) {
    size_t done = 0;
    while (done < stretch_begin_ && (all || stretch_begin_ - done >= kItemsPerBlock))
        done += write_shared_block(pending_.data() + done, stretch_begin_ - done);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    stretch_begin_ -= done;
}

size_t BigWigFile::Chromosome::write_shared_block(const Record* recs, size_t n) {
    // varStep: the longest prefix whose items fit one section (a first record is
    // always one item of its own length)
    uint32_t span = 0;
    uint64_t bases = 0;
    size_t n_var = 0;
    for (; n_var < n; ++n_var) {
        const uint32_t length = recs[n_var].end - recs[n_var].start;
        const uint32_t s = std::gcd(span, length);
        const uint64_t items = (bases + length) / s;
        // stop when full, or when the items already cost more than a bedGraph
        // block of these records would
        if (items > kItemsPerBlock ||
            item_size(2) * items * kCostUnit > item_size(1) * (n_var + 1) * kCostUnit + kBlockCost)
            break;
        span = s;
        bases += length;
    }
    const size_t n_bed = std::min<size_t>(n, kItemsPerBlock);
    // compare the estimated bytes per record of the two blocks
    const uint64_t var_cost = kBlockCost + item_size(2) * (bases / span) * kCostUnit;
    const uint64_t bed_cost = kBlockCost + item_size(1) * n_bed * kCostUnit;
    if (var_cost * n_bed < bed_cost * n_var) {
        write_section(Section::VarStep, recs, n_var, span, static_cast<uint32_t>(bases / span));
        return n_var;
    }
    write_section(Section::BedGraph, recs, n_bed, 0, static_cast<uint32_t>(n_bed));
    return n_bed;
}

void BigWigFile::Chromosome::write_section(Section type, const Record* recs, size_t n, uint32_t span,
                                           uint32_t items) {
    const uint8_t code = static_cast<uint8_t>(type);
    const uint32_t start = recs[0].start, end = recs[n - 1].end;
    raw_.resize(kSectionHeaderSize + item_size(code) * items);
    Cursor out{&raw_[0]};
    out.put<uint32_t>(chrom_);
    out.put<uint32_t>(start);
    out.put<uint32_t>(end);
    out.put<uint32_t>(type == Section::FixedStep ? span : 0);  // itemStep
    out.put<uint32_t>(span);                                    // itemSpan (0 for bedGraph)
    out.put<uint8_t>(code);
    out.put<uint8_t>(0);
    out.put<uint16_t>(static_cast<uint16_t>(items));
    switch (type) {
        case Section::BedGraph:
            for (size_t i = 0; i < n; ++i) {
                out.put<uint32_t>(recs[i].start);
                out.put<uint32_t>(recs[i].end);
                out.put<float>(recs[i].value);
            }
            break;
        case Section::VarStep:
            for (size_t i = 0; i < n; ++i)
                for (uint32_t s = recs[i].start; s < recs[i].end; s += span) {
                    out.put<uint32_t>(s);
                    out.put<float>(recs[i].value);
                }
            break;
        case Section::FixedStep:
            for (size_t i = 0; i < n; ++i) {
                const uint32_t length = recs[i].end - recs[i].start;
                const uint32_t k = span == 1 ? length : length / span;
                for (uint32_t j = 0; j < k; ++j) out.put<float>(recs[i].value);
            }
            break;
    }
    max_raw_block_ = std::max<uint64_t>(max_raw_block_, raw_.size());
    Codec& codec = thread_codec(file_.deflate_level_);
    const size_t size = codec.compress(raw_);
    index_.push_back({chrom_, start, chrom_, end, blocks_.size(), size});
    blocks_.append(codec.out(), size);
}

// ---- zoom levels -------------------------------------------------------------
// Zoom bins are aligned: bin b of level k is [b*R_k, (b+1)*R_k) cut at the
// chromosome end, and R_{k+1} = 4*R_k, so every bin of level k lies in bin b/4
// of level k+1. Records are summarised into level 0 only; a finished bin is
// merged into its parent, so each record costs O(1) whatever the level count.
// A bin never spans two chromosomes: each part closes its own (finish()), and
// commit() cuts each level's records into zoom blocks of kItemsPerBlock.

void BigWigFile::Chromosome::add_to_zoom(uint64_t start, uint64_t end, float value) {
    if (zooms_.empty()) return;
    Summary& bin = zooms_[0].current;
    if (bin.valid > 0 && start >= bin.start && end <= bin.end) {
        add_value(bin, value, end - start);  // the common case: inside the open finest bin
        return;
    }
    const uint64_t reduction = file_.reductions_[0];
    while (start < end) {  // one piece per finest-level bin the record touches
        const uint64_t bin = start / reduction;
        const uint64_t piece_end = std::min(end, (bin + 1) * reduction);
        Summary piece;
        piece.chrom = chrom_;
        add_value(piece, value, piece_end - start);
        merge_into_zoom(0, piece, bin);
        start = piece_end;
    }
}

void BigWigFile::Chromosome::close_zoom_bin(size_t level) {
    Zoom& z = zooms_[level];
    if (z.current.valid == 0) return;
    const Summary done = z.current;
    const uint64_t bin = z.bin;
    z.current.valid = 0;
    z.closed.push_back(done);
    if (level + 1 < zooms_.size()) merge_into_zoom(level + 1, done, bin / 4);
}

void BigWigFile::Chromosome::merge_into_zoom(size_t level, const Summary& s, uint64_t bin) {
    Zoom& z = zooms_[level];
    if (z.current.valid > 0 && z.bin != bin) close_zoom_bin(level);
    if (z.current.valid == 0) {
        const uint64_t reduction = file_.reductions_[level];
        z.current = Summary{chrom_, static_cast<uint32_t>(bin * reduction),
                            static_cast<uint32_t>(std::min((bin + 1) * reduction, length_)), 0, 0, 0, 0, 0};
        z.bin = bin;
    }
    combine(z.current, s);
}

void BigWigFile::add_zoom_record(ZoomLevel& z, const Summary& s) {
    z.pending.push_back(s);
    ++z.count;
    if (z.pending.size() == kItemsPerBlock) flush_zoom_block(z);
}

void BigWigFile::flush_zoom_block(ZoomLevel& z) {
    if (z.pending.empty()) return;
    std::string raw(kZoomRecordSize * z.pending.size(), '\0');
    Cursor out{&raw[0]};
    for (const Summary& s : z.pending) {
        out.put<uint32_t>(s.chrom);
        out.put<uint32_t>(s.start);
        out.put<uint32_t>(s.end);
        out.put<uint32_t>(static_cast<uint32_t>(std::min<uint64_t>(s.valid, UINT32_MAX)));
        out.put<float>(static_cast<float>(s.min));
        out.put<float>(static_cast<float>(s.max));
        out.put<float>(static_cast<float>(s.sum));
        out.put<float>(static_cast<float>(s.sum_squares));
    }
    max_raw_block_ = std::max<uint64_t>(max_raw_block_, raw.size());
    Codec& codec = thread_codec(deflate_level_);
    const size_t n = codec.compress(raw);
    const Summary& first = z.pending.front();
    const Summary& last = z.pending.back();
    z.index.push_back({first.chrom, first.start, last.chrom, last.end, z.blocks.size(), n});
    z.blocks.append(codec.out(), n);
    z.pending.clear();
}

// ---- indexes -------------------------------------------------------------------

// The chromosome B+ tree: names sorted bytewise, each with its id and length.
// Nodes are padded to the full block size and written root first (UCSC layout).
std::string BigWigFile::chrom_tree() const {
    const std::vector<std::string>& names = genome_.names();
    const size_t n = names.size();
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return names[a] < names[b]; });
    size_t key_size = 1;
    for (const auto& s : names) key_size = std::max(key_size, s.size());
    const uint32_t block = static_cast<uint32_t>(std::min<size_t>(kIndexFanout, n));
    const uint64_t node_size = 4 + uint64_t{block} * (key_size + 8);

    // nodes per level, leaves first
    std::vector<size_t> level_nodes{(n + block - 1) / block};
    while (level_nodes.back() > 1) level_nodes.push_back((level_nodes.back() + block - 1) / block);
    // items a node of each level spans, leaves first
    std::vector<size_t> span{block};
    for (size_t l = 1; l < level_nodes.size(); ++l) span.push_back(span.back() * block);

    std::string out;
    put<uint32_t>(out, kChromTreeMagic);
    put<uint32_t>(out, block);
    put<uint32_t>(out, static_cast<uint32_t>(key_size));
    put<uint32_t>(out, 8);  // value: id + length
    put<uint64_t>(out, n);
    put<uint64_t>(out, 0);
    auto put_key = [&](uint32_t c) {
        std::string key = names[c];
        key.resize(key_size, '\0');
        out += key;
    };
    uint64_t level_start = chrom_tree_offset_ + out.size();
    for (size_t l = level_nodes.size(); l-- > 0;) {
        const uint64_t next_level_start = level_start + level_nodes[l] * node_size;
        for (size_t node = 0; node < level_nodes[l]; ++node) {
            const size_t node_start = out.size();
            const size_t first = node * span[l], stop = std::min(n, first + span[l]);
            const size_t step = l == 0 ? 1 : span[l - 1];
            const uint16_t count = static_cast<uint16_t>((stop - first + step - 1) / step);
            put<uint8_t>(out, l == 0 ? 1 : 0);
            put<uint8_t>(out, 0);
            put<uint16_t>(out, count);
            for (size_t i = first; i < stop; i += step) {
                put_key(order[i]);
                if (l == 0) {
                    put<uint32_t>(out, order[i]);
                    put<uint32_t>(out, static_cast<uint32_t>(genome_.length(order[i])));
                } else {
                    put<uint64_t>(out, next_level_start + (i / span[l - 1]) * node_size);
                }
            }
            out.resize(node_start + node_size, '\0');
        }
        level_start = next_level_start;
    }
    return out;
}

// The R-tree over blocks (UCSC cirTree with one block per leaf item).
void BigWigFile::write_index(const std::vector<IndexItem>& items, uint64_t index_offset,
                             uint64_t end_of_data) {
    const uint64_t n = items.size();
    const uint64_t B = kIndexFanout;
    const uint64_t leaf_size = 4 + B * 32, inner_size = 4 + B * 24;
    std::vector<uint64_t> level_nodes{std::max<uint64_t>(1, (n + B - 1) / B)};
    while (level_nodes.back() > 1) level_nodes.push_back((level_nodes.back() + B - 1) / B);
    std::vector<uint64_t> span{B};  // leaf items under one node, leaves first
    for (size_t l = 1; l < level_nodes.size(); ++l) span.push_back(span.back() * B);

    std::string out;
    put<uint32_t>(out, kRTreeMagic);
    put<uint32_t>(out, static_cast<uint32_t>(B));
    put<uint64_t>(out, n);
    put<uint32_t>(out, n ? items.front().start_chrom : 0);
    put<uint32_t>(out, n ? items.front().start : 0);
    put<uint32_t>(out, n ? items.back().end_chrom : 0);
    put<uint32_t>(out, n ? items.back().end : 0);
    put<uint64_t>(out, end_of_data);
    put<uint32_t>(out, 1);  // items per slot
    put<uint32_t>(out, 0);

    uint64_t level_start = index_offset + out.size();
    for (size_t l = level_nodes.size(); l-- > 0;) {
        const uint64_t node_size = l == 0 ? leaf_size : inner_size;
        const uint64_t next_level_start = level_start + level_nodes[l] * node_size;
        for (uint64_t node = 0; node < level_nodes[l]; ++node) {
            const size_t node_start = out.size();
            const uint64_t first = node * span[l], stop = std::min(n, first + span[l]);
            const uint64_t step = l == 0 ? 1 : span[l - 1];
            put<uint8_t>(out, l == 0 ? 1 : 0);
            put<uint8_t>(out, 0);
            put<uint16_t>(out, static_cast<uint16_t>(stop > first ? (stop - first + step - 1) / step : 0));
            for (uint64_t i = first; i < stop; i += step) {
                const IndexItem& a = items[i];
                const IndexItem& b = items[std::min(stop, i + step) - 1];  // last item under this child
                put<uint32_t>(out, a.start_chrom);
                put<uint32_t>(out, a.start);
                put<uint32_t>(out, b.end_chrom);
                put<uint32_t>(out, b.end);
                if (l == 0) {
                    put<uint64_t>(out, a.offset);
                    put<uint64_t>(out, a.size);
                } else {
                    put<uint64_t>(out, next_level_start + (i / span[l - 1]) * (l == 1 ? leaf_size : inner_size));
                }
            }
            out.resize(node_start + node_size, '\0');
        }
        level_start = next_level_start;
    }
    write(out.data(), out.size());
}

// ---- close -------------------------------------------------------------------

void BigWigFile::close() {
    if (part_) {
        part_->finish();
        commit(*part_);
        part_.reset();
    }
    for (ZoomLevel& z : zooms_) flush_zoom_block(z);
    const bool empty = index_.empty();
    const size_t n_zooms = empty ? 0 : zooms_.size();  // an empty track has nothing to summarise

    const uint64_t index_offset = pos_;
    write_index(index_, index_offset, index_offset);
    std::string zoom_headers;
    for (size_t k = 0; k < n_zooms; ++k) {
        ZoomLevel& z = zooms_[k];
        const uint64_t data_offset = pos_;
        write(&z.count, sizeof z.count);
        for (IndexItem& it : z.index) it.offset += pos_;
        write(z.blocks.data(), z.blocks.size());
        const uint64_t zoom_index_offset = pos_;
        write_index(z.index, zoom_index_offset, zoom_index_offset);
        put<uint32_t>(zoom_headers, static_cast<uint32_t>(z.reduction));
        put<uint32_t>(zoom_headers, 0);
        put<uint64_t>(zoom_headers, data_offset);
        put<uint64_t>(zoom_headers, zoom_index_offset);
        std::string().swap(z.blocks);
    }
    write(&kBigWigMagic, sizeof kBigWigMagic);

    const uint64_t summary_offset = kHeaderSize + kMaxZoomLevels * kZoomHeaderSize;
    std::string header;
    put<uint32_t>(header, kBigWigMagic);
    put<uint16_t>(header, kVersion);
    put<uint16_t>(header, static_cast<uint16_t>(n_zooms));
    put<uint64_t>(header, chrom_tree_offset_);
    put<uint64_t>(header, data_offset_);
    put<uint64_t>(header, index_offset);
    put<uint16_t>(header, 0);  // fieldCount
    put<uint16_t>(header, 0);  // definedFieldCount
    put<uint64_t>(header, 0);  // autoSqlOffset
    put<uint64_t>(header, summary_offset);
    // blocks are zlib-compressed; readers size their inflate buffer from this
    put<uint32_t>(header, static_cast<uint32_t>(std::max<uint64_t>(
                              max_raw_block_, kSectionHeaderSize + kItemsPerBlock * 12)));
    put<uint64_t>(header, 0);  // extensionOffset
    header += zoom_headers;
    write_at(0, header);

    std::string summary;
    put<uint64_t>(summary, total_.valid);
    put<double>(summary, total_.min);
    put<double>(summary, total_.max);
    put<double>(summary, total_.sum);
    put<double>(summary, total_.sum_squares);
    write_at(summary_offset, summary);

    std::string count;
    put<uint64_t>(count, index_.size());
    write_at(data_offset_, count);

    if (std::fclose(file_.release()) != 0) throw io_error("cannot close", path_);
}

}  // namespace fragcov
