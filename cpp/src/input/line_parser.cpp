#include "input/line_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "input/barcode_table.hpp"

namespace fragcov {

namespace {

constexpr uint64_t kMaxCoordinate = uint64_t(1) << 62;  // keeps start/end + shift inside int64
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

// Throws the LineError of the line [begin, end), numbered `line`.
struct BadLine {
    uint64_t line;
    const char *begin, *end;
    [[noreturn]] void operator()(const std::string& why) const {
        throw LineError(line, why + ": '" + printable(begin, end) + "'");
    }
};

ChromLookup::ChromLookup(const Genome& genome) {
    for (size_t i = 0; i < genome.size(); ++i) known_.emplace(genome.name(i), static_cast<long>(i));
}

long ChromLookup::find_new(std::string_view name) {
    auto it = known_.find(std::string(name));
    last_.assign(name);
    last_index_ = it == known_.end() ? -1 : it->second;
    has_last_ = true;
    return last_index_;
}

std::string line_error_message(const std::string& path, uint64_t line, const std::string& detail) {
    return path + ": line " + std::to_string(line) + ": " + detail;
}

std::string long_line_detail() {
    return "the line is longer than " + std::to_string(kMaxLineBytes >> 20) +
           " MiB: this is not a fragment file (a binary file or a device?)";
}

std::string long_line_message(const std::string& path, uint64_t line) {
    return line_error_message(path, line, long_line_detail());
}

LineParser::LineParser(const FragmentFileOptions& options, BarcodeTable& barcodes)
    : options_(options), barcodes_(barcodes), chroms_(options.genome) {}

// A data line's tab-separated fields (the first kMaxFields of them) and their number.
struct LineFields {
    std::string_view f[kMaxFields];
    size_t n = 0;
};

// The columns of a data line, checked in column order (docs/spec.md 8.2).
struct LineValues {
    uint64_t start = 0, stop = 0, count = 1;
    bool reverse = false;
};

namespace {

inline void split_fields(const char* begin, const char* end, LineFields& out) {
    for (const char* p = begin;;) {
        const char* tab = static_cast<const char*>(std::memchr(p, '\t', static_cast<size_t>(end - p)));
        const char* stop = tab ? tab : end;
        if (out.n < kMaxFields) out.f[out.n] = std::string_view(p, static_cast<size_t>(stop - p));
        ++out.n;
        if (!tab) break;
        p = tab + 1;
    }
}

inline LineValues check_values(const LineFields& fs, bool is_paired, const BadLine& bad) {
    const std::string_view* f = fs.f;
    if (fs.n < 4)
        bad("expected tab-separated columns chrom, start, end, barcode[, count[, strand]]; found " +
            std::to_string(fs.n) + " column(s)");
    if (f[0].empty()) bad("empty chromosome name (column 1)");
    LineValues v;
    if (!parse_uint(f[1], v.start))
        bad("start and end must be non-negative base-10 integers; start (column 2) is " + quoted(f[1]));
    if (!parse_uint(f[2], v.stop))
        bad("start and end must be non-negative base-10 integers; end (column 3) is " + quoted(f[2]));
    if (v.start > kMaxCoordinate || v.stop > kMaxCoordinate) bad("coordinate too large");
    if (v.stop < v.start)
        bad("end (" + std::to_string(v.stop) + ") is smaller than start (" + std::to_string(v.start) + ")");
    if (f[3].empty() || f[3] == ".") bad("missing cell barcode in column 4");
    if (fs.n >= 5 && f[4] != ".") {
        if (!parse_uint(f[4], v.count) || v.count > UINT32_MAX)
            bad("count (column 5) must be a non-negative base-10 integer below 2^32, got " + quoted(f[4]));
    }
    if (!is_paired) {
        if (fs.n < 6)
            bad("is_paired=False needs a 6th column with the strand ('+' or '-'); "
                "use is_paired=True for paired-end fragment files");
        if (f[5] == "-") v.reverse = true;
        else if (f[5] != "+") bad("strand (column 6) must be '+' or '-', got " + quoted(f[5]));
    }
    return v;
}

}  // namespace

// One lookup per run of equal barcodes.
uint32_t LineParser::barcode_id(std::string_view bc, bool same, const BadLine& bad) {
    if (same) return previous_id_;
    uint32_t id = barcodes_.find(bc);
    if (id == BarcodeTable::kNone && !options_.barcodes) {  // no list: every barcode gets an id
        if (!valid_utf8(bc)) bad("the barcode (column 4) is not valid UTF-8 text");
        id = barcodes_.insert(bc);
    }
    if (!has_previous_) first_barcode_.assign(bc);
    previous_barcode_.assign(bc);
    previous_id_ = id;
    has_previous_ = true;
    return id;
}

// Where a fragment is stored (docs/spec.md 8.3-8.6, 8.19): its status, and when
// stored its chromosome, genome position and length.
LineParser::Placed LineParser::place(const LineFields& fs, const LineValues& v, FragmentFileStats& stats,
                                     const BadLine& bad) {
    Placed out;
    const long c = chroms_.find(fs.f[0]);
    if (c < 0) {
        out.status = LineStatus::UnknownChrom;
        return out;
    }
    out.chrom = static_cast<uint32_t>(c);
    const int64_t s = static_cast<int64_t>(v.start) + options_.shift_left;
    const int64_t e = static_cast<int64_t>(v.stop) + options_.shift_right;
    out.length = e - s;
    const int64_t pos = v.reverse ? e - 1 : s;
    const uint64_t chrom_length = options_.genome.length(out.chrom);
    if (out.length <= 0 || s < 0) {
        out.status = LineStatus::ShiftedAway;
    } else if (static_cast<uint64_t>(pos) >= chrom_length) {
        out.status = LineStatus::PastChromEnd;
        if (stats.past_chrom_end == 0)
            stats.first_past_chrom_end = std::string(fs.f[0]) + ":" + std::string(fs.f[1]) + "-" +
                                         std::string(fs.f[2]) + " (" + std::string(fs.f[0]) + " has length " +
                                         std::to_string(chrom_length) + ")";
    } else {
        if (options_.is_paired && static_cast<uint64_t>(out.length) > UINT32_MAX)
            bad("fragment length " + std::to_string(out.length) + " does not fit in 32 bits");
        if (!options_.is_paired && out.length > INT32_MAX)
            bad("read length " + std::to_string(out.length) + " does not fit in int32");
        out.position = options_.genome.offset(out.chrom) + static_cast<uint64_t>(pos);
    }
    return out;
}

LineKind LineParser::parse(const char* begin, const char* end, uint64_t line_number, FragmentBatch& batch,
                           FragmentFileStats& stats) {
    const char* const line_begin = begin;
    if (end > begin && end[-1] == '\r') --end;
    if (begin == end || *begin == '#') return LineKind::Skipped;  // blank line or comment
    if (static_cast<size_t>(end - begin) > kMaxLineBytes) throw LineError(line_number, long_line_detail());
    if (*begin == ' ' || *begin == '\t') {
        if (std::all_of(begin, end, [](char c) { return c == ' ' || c == '\t'; })) return LineKind::Skipped;
    }
    const BadLine bad{line_number, line_begin, end};
    LineFields fs;
    split_fields(begin, end, fs);
    if (stats.first_data_columns == 0) stats.first_data_columns = static_cast<int>(std::min<size_t>(fs.n, 1 << 20));
    const LineValues v = check_values(fs, options_.is_paired, bad);
    if (v.stop == v.start) {  // ignored before anything else, as SnapATAC2 does
        ++stats.zero_length;
        return LineKind::ZeroLength;
    }
    const bool same = has_previous_ && fs.f[3] == previous_barcode_;
    const uint32_t id = barcode_id(fs.f[3], same, bad);
    const Placed p = place(fs, v, stats, bad);
    count_listed(stats, p.status, line_number);
    batch.line.push_back(line_number);
    batch.barcode.push_back(id);
    batch.new_run.push_back(!same);
    batch.status.push_back(p.status);
    batch.chrom.push_back(p.chrom);
    batch.position.push_back(p.position);
    batch.length.push_back(static_cast<uint32_t>(p.status == LineStatus::Stored ? p.length : 0));
    batch.reverse.push_back(v.reverse);
    batch.count.push_back(static_cast<uint32_t>(v.count));
    return LineKind::Listed;
}

}  // namespace fragcov
