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

// Throws the LineError of the line [begin, end), numbered `line`.
struct BadLine {
    uint64_t line;
    const char *begin, *end;
    [[noreturn]] void operator()(const std::string& why) const {
        throw LineError(line, why + ": '" + printable(begin, end) + "'");
    }
};

}  // namespace

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

LineParser::LineParser(const FragmentFileOptions& options, BarcodeTable& barcodes)
    : options_(options), barcodes_(barcodes), chroms_(options.genome) {}

LineKind LineParser::parse(const char* begin, const char* end, uint64_t line_number, FragmentBatch& batch,
                           FragmentFileStats& stats) {
    const char* const line_begin = begin;
    if (end > begin && end[-1] == '\r') --end;
    if (begin == end || *begin == '#') return LineKind::Skipped;  // blank line or comment
    if (*begin == ' ' || *begin == '\t') {
        if (std::all_of(begin, end, [](char c) { return c == ' ' || c == '\t'; })) return LineKind::Skipped;
    }
    const BadLine bad{line_number, line_begin, end};

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
    if (stats.first_data_columns == 0) stats.first_data_columns = static_cast<int>(std::min<size_t>(n, 1 << 20));
    if (n < 4)
        bad("expected tab-separated columns chrom, start, end, barcode[, count[, strand]]; found " +
            std::to_string(n) + " column(s)");
    if (f[0].empty()) bad("empty chromosome name (column 1)");
    uint64_t start, stop;
    if (!parse_uint(f[1], start))
        bad("start and end must be non-negative base-10 integers; start (column 2) is " + quoted(f[1]));
    if (!parse_uint(f[2], stop))
        bad("start and end must be non-negative base-10 integers; end (column 3) is " + quoted(f[2]));
    if (start > kMaxCoordinate || stop > kMaxCoordinate) bad("coordinate too large");
    if (stop < start) bad("end (" + std::to_string(stop) + ") is smaller than start (" + std::to_string(start) + ")");
    const std::string_view bc = f[3];
    if (bc.empty() || bc == ".") bad("missing cell barcode in column 4");
    uint64_t count = 1;
    if (n >= 5 && f[4] != ".") {
        if (!parse_uint(f[4], count) || count > UINT32_MAX)
            bad("count (column 5) must be a non-negative base-10 integer below 2^32, got " + quoted(f[4]));
    }
    bool reverse = false;
    if (!options_.is_paired) {
        if (n < 6)
            bad("is_paired=False needs a 6th column with the strand ('+' or '-'); "
                "use is_paired=True for paired-end fragment files");
        if (f[5] == "-") reverse = true;
        else if (f[5] != "+") bad("strand (column 6) must be '+' or '-', got " + quoted(f[5]));
    }
    if (stop == start) {  // ignored before anything else, as SnapATAC2 does
        ++stats.zero_length;
        return LineKind::ZeroLength;
    }

    // barcode: one lookup per run of equal barcodes
    const bool same = has_previous_ && bc == previous_barcode_;
    uint32_t id = previous_id_;
    if (!same) {
        id = barcodes_.find(bc);
        if (id == BarcodeTable::kNone && !options_.barcodes) {  // no list: every barcode gets an id
            if (!valid_utf8(bc)) bad("the barcode (column 4) is not valid UTF-8 text");
            id = barcodes_.insert(bc);
        }
        if (!has_previous_) first_barcode_.assign(bc);
        previous_barcode_.assign(bc);
        previous_id_ = id;
        has_previous_ = true;
    }

    LineStatus status = LineStatus::Stored;
    uint32_t chrom = 0;
    uint64_t position = 0;
    int64_t length = 0;
    const long c = chroms_.find(f[0]);
    if (c < 0) {
        status = LineStatus::UnknownChrom;
    } else {
        chrom = static_cast<uint32_t>(c);
        const int64_t s = static_cast<int64_t>(start) + options_.shift_left;
        const int64_t e = static_cast<int64_t>(stop) + options_.shift_right;
        length = e - s;
        const int64_t pos = reverse ? e - 1 : s;
        if (length <= 0 || s < 0) {
            status = LineStatus::ShiftedAway;
        } else if (static_cast<uint64_t>(pos) >= options_.genome.length(chrom)) {
            status = LineStatus::PastChromEnd;
            if (stats.past_chrom_end == 0)
                stats.first_past_chrom_end = std::string(f[0]) + ":" + std::string(f[1]) + "-" + std::string(f[2]) +
                                             " (" + std::string(f[0]) + " has length " +
                                             std::to_string(options_.genome.length(chrom)) + ")";
        } else {
            if (options_.is_paired && static_cast<uint64_t>(length) > UINT32_MAX)
                bad("fragment length " + std::to_string(length) + " does not fit in 32 bits");
            if (!options_.is_paired && length > INT32_MAX)
                bad("read length " + std::to_string(length) + " does not fit in int32");
            position = options_.genome.offset(chrom) + static_cast<uint64_t>(pos);
        }
    }
    count_listed(stats, status, line_number);
    batch.line.push_back(line_number);
    batch.barcode.push_back(id);
    batch.new_run.push_back(!same);
    batch.status.push_back(status);
    batch.chrom.push_back(chrom);
    batch.position.push_back(position);
    batch.length.push_back(static_cast<uint32_t>(status == LineStatus::Stored ? length : 0));
    batch.reverse.push_back(reverse);
    batch.count.push_back(static_cast<uint32_t>(count));
    return LineKind::Listed;
}

}  // namespace fragcov
