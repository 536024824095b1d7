#include "fragcov/fragment_file.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "input/barcode_table.hpp"
#include "input/decompress.hpp"

namespace fragcov {

// Chromosome name -> index in the genome (-1: not in it), remembering the last
// answer: fragment files come in long runs of one chromosome.
class ChromLookup {
public:
    explicit ChromLookup(const Genome& genome) {
        for (size_t i = 0; i < genome.size(); ++i) known_.emplace(genome.name(i), static_cast<long>(i));
    }
    long find(std::string_view name) {
        if (has_last_ && name == last_) return last_index_;
        auto it = known_.find(std::string(name));
        last_.assign(name);
        last_index_ = it == known_.end() ? -1 : it->second;
        has_last_ = true;
        return last_index_;
    }

private:
    std::unordered_map<std::string, long> known_;
    std::string last_;
    long last_index_ = -1;
    bool has_last_ = false;
};

namespace {

constexpr uint64_t kMaxCoordinate = uint64_t(1) << 62;  // keeps start/end + shift inside int64
constexpr int64_t kMaxShift = int64_t(1) << 31;
constexpr size_t kMaxFields = 6;  // chrom, start, end, barcode, count, strand; more are ignored

// A base-10 integer and nothing else: no sign, no spaces, no exponent, no
// decimal point, not empty (std::from_chars for unsigned types accepts only digits).
bool parse_uint(std::string_view field, uint64_t& out) {
    if (field.empty()) return false;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
    return ec == std::errc() && ptr == field.data() + field.size();
}

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n;
        uint32_t cp;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
        else return false;
        if (i + n >= s.size()) return false;  // sequence cut short
        for (size_t k = 1; k <= n; ++k) {
            const unsigned char d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        static const uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

// The line as shown in error messages: tabs as \t, other control or non-ASCII
// bytes as \xNN, cut after 200 bytes.
std::string printable(const char* begin, const char* end) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (const char* p = begin; p < end && out.size() < 200; ++p) {
        const unsigned char c = static_cast<unsigned char>(*p);
        if (c == '\t') out += "\\t";
        else if (c == '\\') out += "\\\\";
        else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else { out += "\\x"; out += hex[c >> 4]; out += hex[c & 15]; }
    }
    if (end - begin > 200) out += "...";
    return out;
}

std::string quoted(std::string_view s) { return "'" + printable(s.data(), s.data() + s.size()) + "'"; }

}  // namespace

void FragmentBatch::clear() {
    line.clear();
    barcode.clear();
    new_run.clear();
    status.clear();
    chrom.clear();
    position.clear();
    length.clear();
    reverse.clear();
    count.clear();
}

FragmentFileReader::FragmentFileReader(std::string path, FragmentFileOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
    if (options_.shift_left <= -kMaxShift || options_.shift_left >= kMaxShift ||
        options_.shift_right <= -kMaxShift || options_.shift_right >= kMaxShift)
        throw std::invalid_argument("shift_left and shift_right must lie between -2^31 and 2^31");
    barcodes_ = std::make_unique<BarcodeTable>();
    if (options_.barcodes)
        for (const std::string& b : *options_.barcodes) barcodes_->insert(b);
    chroms_ = std::make_unique<ChromLookup>(options_.genome);
    int threads = options_.n_threads;
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    stream_ = std::make_unique<DecompressedStream>(path_, threads);
}

FragmentFileReader::~FragmentFileReader() = default;

const std::vector<std::string>& FragmentFileReader::barcodes() const { return barcodes_->names(); }

void FragmentFileReader::fail(const char* begin, const char* end, const std::string& why) const {
    throw std::invalid_argument(path_ + ": line " + std::to_string(stats_.lines) + ": " + why + ": '" +
                                printable(begin, end) + "'");
}

// The next line without its '\n'; a line split between two pieces is joined in carry_.
bool FragmentFileReader::next_line(const char*& begin, const char*& end) {
    bool carried = false;  // carry_ holds the start of the line
    for (;;) {
        if (piece_pos_ < piece_.size()) {
            const char* p = piece_.data() + piece_pos_;
            const char* stop = piece_.data() + piece_.size();
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
            if (nl) {
                piece_pos_ = static_cast<size_t>(nl - piece_.data()) + 1;
                if (!carried) {
                    begin = p;
                    end = nl;
                } else {
                    carry_.append(p, nl);
                    begin = carry_.data();
                    end = begin + carry_.size();
                }
                ++stats_.lines;
                return true;
            }
            if (!carried) carry_.clear();
            carry_.append(p, stop);
            carried = true;
            piece_pos_ = piece_.size();
        }
        if (!eof_ && stream_->next(piece_)) {
            piece_pos_ = 0;
            continue;
        }
        eof_ = true;
        if (carried && !carry_.empty()) {  // last line without '\n'
            begin = carry_.data();
            end = begin + carry_.size();
            ++stats_.lines;
            return true;
        }
        return false;
    }
}

bool FragmentFileReader::next(FragmentBatch& batch, size_t max_lines) {
    if (cancelled_) throw Cancelled();
    batch.clear();
    const char *begin, *end;
    while (batch.size() < max_lines && next_line(begin, end)) parse_line(begin, end, batch);
    return batch.size() > 0 || !eof_;
}

void FragmentFileReader::parse_line(const char* begin, const char* end, FragmentBatch& batch) {
    const char* const line_begin = begin;
    if (end > begin && end[-1] == '\r') --end;
    if (begin == end || *begin == '#') return;  // blank line or comment
    if (*begin == ' ' || *begin == '\t') {
        if (std::all_of(begin, end, [](char c) { return c == ' ' || c == '\t'; })) return;
    }

    std::string_view f[kMaxFields];
    size_t n = 0;
    for (const char* p = begin;;) {
        const char* tab = static_cast<const char*>(std::memchr(p, '\t', static_cast<size_t>(end - p)));
        const char* stop = tab ? tab : end;
        if (n < kMaxFields) f[n] = std::string_view(p, static_cast<size_t>(stop - p));
        ++n;
        if (!tab) break;
        p = tab + 1;
    }
    if (stats_.first_data_columns == 0) stats_.first_data_columns = static_cast<int>(std::min<size_t>(n, 1 << 20));
    if (n < 4)
        fail(line_begin, end, "expected tab-separated columns chrom, start, end, barcode[, count[, strand]]; found " +
                                  std::to_string(n) + " column(s)");
    if (f[0].empty()) fail(line_begin, end, "empty chromosome name (column 1)");
    uint64_t start, stop;
    if (!parse_uint(f[1], start))
        fail(line_begin, end, "start and end must be non-negative base-10 integers; start (column 2) is " + quoted(f[1]));
    if (!parse_uint(f[2], stop))
        fail(line_begin, end, "start and end must be non-negative base-10 integers; end (column 3) is " + quoted(f[2]));
    if (start > kMaxCoordinate || stop > kMaxCoordinate) fail(line_begin, end, "coordinate too large");
    if (stop < start)
        fail(line_begin, end, "end (" + std::to_string(stop) + ") is smaller than start (" + std::to_string(start) + ")");
    const std::string_view bc = f[3];
    if (bc.empty() || bc == ".") fail(line_begin, end, "missing cell barcode in column 4");
    uint64_t count = 1;
    if (n >= 5 && f[4] != ".") {
        if (!parse_uint(f[4], count) || count > UINT32_MAX)
            fail(line_begin, end, "count (column 5) must be a non-negative base-10 integer below 2^32, got " +
                                      quoted(f[4]));
    }
    bool reverse = false;
    if (!options_.is_paired) {
        if (n < 6)
            fail(line_begin, end, "is_paired=False needs a 6th column with the strand ('+' or '-'); "
                                  "use is_paired=True for paired-end fragment files");
        if (f[5] == "-") reverse = true;
        else if (f[5] != "+") fail(line_begin, end, "strand (column 6) must be '+' or '-', got " + quoted(f[5]));
    }
    if (stop == start) {  // ignored before anything else, as SnapATAC2 does
        ++stats_.zero_length;
        return;
    }

    // barcode: one lookup per run of equal barcodes
    const bool same = has_previous_ && bc == previous_barcode_;
    uint32_t id = previous_id_;
    if (!same) {
        if (options_.barcodes) {
            id = barcodes_->find(bc);
        } else {
            id = barcodes_->find(bc);
            if (id == BarcodeTable::kNone) {
                if (!valid_utf8(bc)) fail(line_begin, end, "the barcode (column 4) is not valid UTF-8 text");
                id = barcodes_->insert(bc);
            }
        }
        previous_barcode_.assign(bc);
        previous_id_ = id;
        has_previous_ = true;
    }

    LineStatus status = LineStatus::Stored;
    uint32_t chrom = 0;
    uint64_t position = 0;
    int64_t length = 0;
    const long c = chroms_->find(f[0]);
    if (c < 0) {
        status = LineStatus::UnknownChrom;
        ++stats_.unknown_chrom;
    } else {
        chrom = static_cast<uint32_t>(c);
        const int64_t s = static_cast<int64_t>(start) + options_.shift_left;
        const int64_t e = static_cast<int64_t>(stop) + options_.shift_right;
        length = e - s;
        const int64_t pos = reverse ? e - 1 : s;
        if (length <= 0 || s < 0) {
            status = LineStatus::ShiftedAway;
            if (stats_.shifted_away++ == 0) stats_.first_shifted_away_line = stats_.lines;
        } else if (static_cast<uint64_t>(pos) >= options_.genome.length(chrom)) {
            status = LineStatus::PastChromEnd;
            if (stats_.past_chrom_end++ == 0) {
                stats_.first_past_chrom_end_line = stats_.lines;
                stats_.first_past_chrom_end = std::string(f[0]) + ":" + std::string(f[1]) + "-" + std::string(f[2]) +
                                              " (" + std::string(f[0]) + " has length " +
                                              std::to_string(options_.genome.length(chrom)) + ")";
            }
        } else {
            if (options_.is_paired && static_cast<uint64_t>(length) > UINT32_MAX)
                fail(line_begin, end, "fragment length " + std::to_string(length) + " does not fit in 32 bits");
            if (!options_.is_paired && length > INT32_MAX)
                fail(line_begin, end, "read length " + std::to_string(length) + " does not fit in int32");
            position = options_.genome.offset(chrom) + static_cast<uint64_t>(pos);
            ++stats_.stored;
        }
    }
    batch.line.push_back(stats_.lines);
    batch.barcode.push_back(id);
    batch.new_run.push_back(!same);
    batch.status.push_back(status);
    batch.chrom.push_back(chrom);
    batch.position.push_back(position);
    batch.length.push_back(static_cast<uint32_t>(status == LineStatus::Stored ? length : 0));
    batch.reverse.push_back(reverse);
    batch.count.push_back(static_cast<uint32_t>(count));
}

std::vector<uint64_t> count_fragments(FragmentFileReader& reader, const std::vector<bool>& is_mito) {
    std::vector<uint64_t> counts(reader.barcodes().size());
    FragmentBatch batch;
    while (reader.next(batch)) {
        if (counts.size() < reader.barcodes().size()) counts.resize(reader.barcodes().size());
        for (size_t i = 0; i < batch.size(); ++i)
            if (batch.status[i] == LineStatus::Stored && batch.barcode[i] != FragmentFileReader::kNoBarcode &&
                !(batch.chrom[i] < is_mito.size() && is_mito[batch.chrom[i]]))
                ++counts[batch.barcode[i]];
    }
    counts.resize(reader.barcodes().size());
    return counts;
}

void FragmentChunk::assign(const FragmentBatch& batch, const std::vector<int32_t>& group_of_barcode, bool paired) {
    is_paired = paired;
    indptr.assign(1, 0);
    indices.clear();
    lengths.clear();
    signed_lengths.clear();
    cell_group.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
        if (batch.status[i] != LineStatus::Stored) continue;
        const uint32_t b = batch.barcode[i];
        if (b >= group_of_barcode.size() || group_of_barcode[b] < 0) continue;
        indices.push_back(static_cast<int64_t>(batch.position[i]));
        if (paired) lengths.push_back(batch.length[i]);
        else signed_lengths.push_back(batch.reverse[i] ? -static_cast<int32_t>(batch.length[i])
                                                       : static_cast<int32_t>(batch.length[i]));
        cell_group.push_back(group_of_barcode[b]);
        indptr.push_back(static_cast<int64_t>(cell_group.size()));
    }
}

CellChunk FragmentChunk::view() const {
    CellChunk c;
    c.n_cells = cell_group.size();
    c.n_fragments = indices.size();  // one fragment per "cell"
    c.indptr = indptr.data();
    c.indices = indices.data();
    if (is_paired) c.lengths = lengths.data();
    else c.signed_lengths = signed_lengths.data();
    c.cell_group = cell_group.data();
    return c;
}

}  // namespace fragcov
