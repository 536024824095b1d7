#include "bigwig_file.hpp"

#include <libdeflate.h>

#include "io_error.hpp"

#include <algorithm>
#include <cerrno>
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
constexpr uint8_t kBedGraphSection = 1;  // items: start, end, value

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

void check_bigwig_genome(const Genome& genome) {
    if (genome.size() == 0) throw std::invalid_argument("a bigWig needs at least one reference sequence");
    for (size_t c = 0; c < genome.size(); ++c)
        if (genome.length(c) > UINT32_MAX)
            throw std::invalid_argument("chromosome " + genome.name(c) + " is too long for bigWig");
}

BigWigFile::BigWigFile(const std::string& path, const Genome& genome, int deflate_level, uint64_t first_zoom)
    : path_(path), genome_(genome) {
    check_bigwig_genome(genome_);
    compressor_.reset(libdeflate_alloc_compressor(deflate_level));
    if (!compressor_) throw std::runtime_error("libdeflate: cannot create a compressor");

    const uint64_t longest = *std::max_element(genome_.lengths().begin(), genome_.lengths().end());
    uint64_t reduction = std::max<uint64_t>(first_zoom, 1);
    for (int k = 0; k < kMaxZoomLevels; ++k, reduction *= 4) {
        if (k > 0 && zooms_.back().reduction >= longest) break;  // one record per chromosome already
        if (reduction > UINT32_MAX) break;
        zooms_.push_back(ZoomLevel{reduction, {}, 0, {}, {}, {}, 0});
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
    block_.reserve(kItemsPerBlock);
}

BigWigFile::~BigWigFile() = default;

void BigWigFile::FreeCompressor::operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }

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

size_t BigWigFile::compress(const std::string& raw) {
    compressed_.resize(libdeflate_zlib_compress_bound(compressor_.get(), raw.size()));
    size_t n = libdeflate_zlib_compress(compressor_.get(), raw.data(), raw.size(), compressed_.data(),
                                        compressed_.size());
    if (n == 0) throw std::runtime_error("libdeflate: compression failed");
    max_raw_block_ = std::max<uint64_t>(max_raw_block_, raw.size());
    return n;
}

// ---- data ------------------------------------------------------------------

void BigWigFile::add(uint32_t chrom, uint32_t start, uint32_t end, float value) {
    if (chrom >= genome_.size() || start >= end || end > genome_.length(chrom) ||
        (!block_.empty() && (chrom < block_chrom_ || (chrom == block_chrom_ && start < block_.back().end))))
        throw std::logic_error("bigWig records must be sorted, non-overlapping and inside the chromosome");

    if (!block_.empty() && (chrom != block_chrom_ || block_.size() == kItemsPerBlock)) flush_block();
    block_chrom_ = chrom;
    block_.push_back({start, end, value});

    add_value(total_, value, end - start);
    add_to_zoom(chrom, start, end, value);
}

void BigWigFile::flush_block() {
    if (block_.empty()) return;
    const Record& first = block_.front();
    const Record& last = block_.back();
    raw_.resize(kSectionHeaderSize + 12 * block_.size());
    Cursor out{&raw_[0]};
    out.put<uint32_t>(block_chrom_);
    out.put<uint32_t>(first.start);
    out.put<uint32_t>(last.end);
    out.put<uint32_t>(0);  // itemStep
    out.put<uint32_t>(0);  // itemSpan
    out.put<uint8_t>(kBedGraphSection);
    out.put<uint8_t>(0);
    out.put<uint16_t>(static_cast<uint16_t>(block_.size()));
    for (const Record& r : block_) {
        out.put<uint32_t>(r.start);
        out.put<uint32_t>(r.end);
        out.put<float>(r.value);
    }
    const size_t n = compress(raw_);
    index_.push_back({block_chrom_, first.start, block_chrom_, last.end, pos_, n});
    write(compressed_.data(), n);
    block_.clear();
}

// ---- zoom levels -------------------------------------------------------------
// Zoom bins are aligned: bin b of level k is [b*R_k, (b+1)*R_k) cut at the
// chromosome end, and R_{k+1} = 4*R_k, so every bin of level k lies in bin b/4
// of level k+1. Records are summarised into level 0 only; a finished bin is
// merged into its parent, so each record costs O(1) whatever the level count.

void BigWigFile::add_to_zoom(uint32_t chrom, uint64_t start, uint64_t end, float value) {
    if (zooms_.empty()) return;
    const uint64_t reduction = zooms_[0].reduction;
    while (start < end) {  // one piece per finest-level bin the record touches
        const uint64_t bin = start / reduction;
        const uint64_t piece_end = std::min(end, (bin + 1) * reduction);
        Summary piece;
        piece.chrom = chrom;
        add_value(piece, value, piece_end - start);
        merge_into_zoom(0, piece, bin);
        start = piece_end;
    }
}

void BigWigFile::close_zoom_bin(size_t level) {
    ZoomLevel& z = zooms_[level];
    if (z.current.valid == 0) return;
    const Summary done = z.current;
    const uint64_t bin = z.bin;
    z.current.valid = 0;
    z.pending.push_back(done);
    ++z.count;
    if (z.pending.size() == kItemsPerBlock) flush_zoom_block(z);
    if (level + 1 < zooms_.size()) merge_into_zoom(level + 1, done, bin / 4);
}

void BigWigFile::merge_into_zoom(size_t level, const Summary& s, uint64_t bin) {
    ZoomLevel& z = zooms_[level];
    if (z.current.valid > 0 && (z.current.chrom != s.chrom || z.bin != bin)) close_zoom_bin(level);
    if (z.current.valid == 0) {
        z.current = Summary{s.chrom, static_cast<uint32_t>(bin * z.reduction),
                            static_cast<uint32_t>(std::min((bin + 1) * z.reduction, genome_.length(s.chrom))),
                            0, 0, 0, 0, 0};
        z.bin = bin;
    }
    combine(z.current, s);
}

void BigWigFile::flush_zoom_block(ZoomLevel& z) {
    if (z.pending.empty()) return;
    raw_.resize(kZoomRecordSize * z.pending.size());
    Cursor out{&raw_[0]};
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
    const size_t n = compress(raw_);
    const Summary& first = z.pending.front();
    const Summary& last = z.pending.back();
    z.index.push_back({first.chrom, first.start, last.chrom, last.end, z.blocks.size(), n});
    z.blocks.append(compressed_.data(), n);
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
    flush_block();
    for (size_t k = 0; k < zooms_.size(); ++k) close_zoom_bin(k);
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
