// The rules of one fragment-file line (docs/spec.md 8.2, 8.4-8.6, 8.19), in
// one place: FragmentFileReader's own loop and the workers of ParallelParser
// (input/parallel_parse.hpp) both call LineParser::parse, which takes the
// line's number and the statistics it counts into from its caller.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "input/fragment_reader.hpp"

namespace fragcov {

class BarcodeTable;
struct BadLine;      // line_parser.cpp: the parts of parse()
struct LineFields;
struct LineValues;

// Chromosome name -> index in the genome (-1: not in it), remembering the last
// answer: fragment files come in long runs of one chromosome.
class ChromLookup {
public:
    explicit ChromLookup(const Genome& genome);
    long find(std::string_view name) {
        if (has_last_ && name == last_) return last_index_;
        return find_new(name);
    }

private:
    long find_new(std::string_view name);
    std::unordered_map<std::string, long> known_;
    std::string last_;
    long last_index_ = -1;
    bool has_last_ = false;
};

// A malformed line (spec 8.2.3). `line` is the number its caller gave
// LineParser::parse; what() is the rest of the message, "<reason>: '<line>'".
class LineError : public std::runtime_error {
public:
    LineError(uint64_t line, const std::string& detail) : std::runtime_error(detail), line(line) {}
    uint64_t line;
};

// "<path>: line <n>: <reason>: '<line>'", the one form of spec 8.2.3.
std::string line_error_message(const std::string& path, uint64_t line, const std::string& detail);

// The longest data line read (docs/spec.md 8.2.1): a fragment line is a few
// hundred bytes, so a longer one is not a fragment file (a binary file, a
// device such as /dev/zero); reading it whole would take memory without
// bound. Comment lines may be longer: only their start is kept.
inline constexpr size_t kMaxLineBytes = size_t(1) << 20;

// Thrown where a line being gathered passes kMaxLineBytes before its end is
// read (reading stops there); its number is the caller's. A whole line that
// is too long is a LineError of parse(), with the same words.
struct LineTooLong {};

// What is wrong with such a line, and "<path>: line <n>: " + that.
std::string long_line_detail();
std::string long_line_message(const std::string& path, uint64_t line);

// What parse() made of a line.
enum class LineKind : uint8_t {
    Skipped,     // comment or blank line: not a data line
    ZeroLength,  // end == start: a data line, not listed (counted in stats.zero_length)
    Listed,      // appended to the batch
};

// How a listed line counts in the statistics (all but first_past_chrom_end's
// text, which parse() writes): the one home of that rule, also used by
// ParallelParser when it adds up the lines it hands out.
inline void count_listed(FragmentFileStats& stats, LineStatus status, uint64_t line) {
    switch (status) {
        case LineStatus::Stored: ++stats.stored; break;
        case LineStatus::UnknownChrom: ++stats.unknown_chrom; break;
        case LineStatus::ShiftedAway:
            if (stats.shifted_away++ == 0) stats.first_shifted_away_line = line;
            break;
        case LineStatus::PastChromEnd:
            if (stats.past_chrom_end++ == 0) stats.first_past_chrom_end_line = line;
            break;
    }
}

class LineParser {
public:
    // Both references must outlive the parser. With options.barcodes set,
    // `barcodes` is only read (find), so parsers on several threads may share
    // it; otherwise a new barcode is inserted (ids in order of appearance).
    LineParser(const FragmentFileOptions& options, BarcodeTable& barcodes);

    // Parses the line [begin, end) (without its '\n'; a trailing '\r' is
    // dropped), numbered `line_number`: a listed line is appended to `batch`
    // with that number, and counted in `stats` (every field but `lines`, which
    // the caller counts). A malformed line throws LineError(line_number, ...).
    LineKind parse(const char* begin, const char* end, uint64_t line_number, FragmentBatch& batch,
                   FragmentFileStats& stats);

    // Forgets the previous listed line: the next one starts a run (new_run = 1),
    // as the first line of a file does.
    void restart_runs() { has_previous_ = false; }
    // The barcodes of the first and of the last line listed since the start or
    // restart_runs() (both empty when none was).
    bool listed_any() const { return has_previous_; }
    const std::string& first_barcode() const { return first_barcode_; }
    const std::string& last_barcode() const { return previous_barcode_; }

private:
    struct Placed {  // where a listed line's fragment is stored
        LineStatus status = LineStatus::Stored;
        uint32_t chrom = 0;
        uint64_t position = 0;
        int64_t length = 0;
    };
    uint32_t barcode_id(std::string_view barcode, bool same_as_previous, const BadLine& bad);
    Placed place(const LineFields& fields, const LineValues& values, FragmentFileStats& stats,
                 const BadLine& bad);

    const FragmentFileOptions& options_;
    BarcodeTable& barcodes_;
    ChromLookup chroms_;
    std::string previous_barcode_, first_barcode_;
    uint32_t previous_id_ = UINT32_MAX;
    bool has_previous_ = false;
};

}  // namespace fragcov
