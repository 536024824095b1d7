// Unit tests for FragmentFileReader: every parsing, skipping and shifting rule
// of docs/spec.md section 8, on hand-written lines whose
// expected records are worked out by hand, through every codec.
#include "input/fragment_reader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "input/decompress.hpp"
#include "testing/test_files.hpp"
#include "testing/test_support.hpp"
#include "util/test_gate.hpp"

using namespace fragcov;
using namespace fragcov::test;
using fragcov::test::read_file;

namespace {

// chr1 = genome positions [0, 1000), chr2 = [1000, 1500)
Genome test_genome() { return Genome({"chr1", "chr2"}, {1000, 500}); }

struct Line {
    uint64_t line;
    std::string barcode;  // "" for kNoBarcode
    bool new_run;
    LineStatus status;
    uint64_t position = 0;  // Stored only
    uint32_t length = 0;
    bool reverse = false;
    uint32_t count = 1;
    bool operator==(const Line& o) const {
        return line == o.line && barcode == o.barcode && new_run == o.new_run && status == o.status &&
               position == o.position && length == o.length && reverse == o.reverse && count == o.count;
    }
};

doctest::String toString(const Line& l) {
    return ("{line " + std::to_string(l.line) + ", " + l.barcode + ", run " + std::to_string(l.new_run) + ", status " +
            std::to_string(static_cast<int>(l.status)) + ", pos " + std::to_string(l.position) + ", len " +
            std::to_string(l.length) + ", rev " + std::to_string(l.reverse) + ", count " + std::to_string(l.count) + "}")
        .c_str();
}

FragmentFileOptions options(bool paired = true, int64_t shift_left = 0, int64_t shift_right = 0) {
    FragmentFileOptions o;
    o.genome = test_genome();
    o.is_paired = paired;
    o.shift_left = shift_left;
    o.shift_right = shift_right;
    o.n_threads = 2;
    return o;
}

// Listed line i of `batch` (barcode ids resolved through `barcodes`).
Line line_at(const FragmentBatch& batch, size_t i, const std::vector<std::string>& barcodes) {
    Line l{batch.line[i], batch.barcode[i] == FragmentFileReader::kNoBarcode ? "" : barcodes[batch.barcode[i]],
           batch.new_run[i] != 0, batch.status[i]};
    if (l.status == LineStatus::Stored) {
        l.position = batch.position[i];
        l.length = batch.length[i];
        l.reverse = batch.reverse[i] != 0;
    }
    l.count = batch.count[i];
    return l;
}

std::vector<Line> read_lines(FragmentFileReader& reader, size_t max_lines = 3) {
    std::vector<Line> out;
    FragmentBatch batch;
    while (reader.next(batch, max_lines))
        for (size_t i = 0; i < batch.size(); ++i) out.push_back(line_at(batch, i, reader.barcodes()));
    return out;
}

std::vector<Line> read_text(const std::string& text, FragmentFileOptions o = options(),
                            Format format = Format::Plain, FragmentFileStats* stats = nullptr) {
    TempFile file("fragments.tsv");
    file.write(encode(text, format));
    FragmentFileReader reader(file.path(), std::move(o));
    auto lines = read_lines(reader);
    if (stats) *stats = reader.stats();
    return lines;
}

// The message of the std::invalid_argument reading `text` throws ("" if none).
std::string error_of(const std::string& text, FragmentFileOptions o = options(), Format format = Format::Plain) {
    TempFile file("bad.tsv");
    file.write(encode(text, format));
    try {
        FragmentFileReader reader(file.path(), std::move(o));
        read_lines(reader);
    } catch (const std::invalid_argument& e) {
        std::string what = e.what();
        CHECK(what.find(file.path() + ": line ") == 0);  // every message names file and line
        return what.substr(file.path().size() + 2);
    }
    return "";
}

}  // namespace

TEST_CASE("paired lines: genome position = chromosome offset + start, value = length") {
    const std::string text =
        "chr1\t10\t60\tA\t2\n"
        "chr2\t5\t25\tA\t1\n"
        "chr2\t7\t9\tB\t.\n"
        "chr1\t100\t300\tB\n";  // 4 columns: count 1
    const std::vector<Line> expected = {
        {1, "A", true, LineStatus::Stored, 10, 50, false, 2},
        {2, "A", false, LineStatus::Stored, 1005, 20, false, 1},
        {3, "B", true, LineStatus::Stored, 1007, 2, false, 1},
        {4, "B", false, LineStatus::Stored, 100, 200, false, 1},
    };
    for (Format format : kAllFormats) {
        CAPTURE(static_cast<int>(format));
        CHECK(read_text(text, options(), format) == expected);
    }
}

TEST_CASE("comments, blank lines, CRLF, a last line without newline, extra columns") {
    const std::string text =
        "# id=x\n"
        "#chr1\t1e5\tbad\n"  // comment lines are not parsed
        "\n"
        "   \t \n"
        "chr1\t10\t20\tA\t1\r\n"
        "chr1\t30\t40\tA\t1\tx\ty\n"
        "chr2\t1\t3\tB\t3";
    FragmentFileStats stats;
    auto lines = read_text(text, options(), Format::Plain, &stats);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == Line{5, "A", true, LineStatus::Stored, 10, 10, false, 1});
    CHECK(lines[1] == Line{6, "A", false, LineStatus::Stored, 30, 10, false, 1});
    CHECK(lines[2] == Line{7, "B", true, LineStatus::Stored, 1001, 2, false, 3});
    CHECK(stats.lines == 7);
    CHECK(stats.first_data_columns == 5);
}

TEST_CASE("coordinates and counts are base-10 integers, in every line of every file") {
    const std::vector<std::string> bad = {"1e5", "10.0", "-5", "+5", " 5", "5 ", "", "0x10", "5a", "１"};
    for (const std::string& v : bad) {
        CAPTURE(v);
        for (const std::string& header : {std::string(), std::string("# comment\n")}) {
            const size_t line = header.empty() ? 2 : 3;
            const std::string ok = "chr1\t10\t20\tA\t1\n";
            CHECK(error_of(header + ok + "chr1\t" + v + "\t20\tA\t1\n").find("line " + std::to_string(line) +
                                                                            ": start and end must be non-negative "
                                                                            "base-10 integers; start (column 2)") == 0);
            CHECK(error_of(header + ok + "chr1\t10\t" + v + "\tA\t1\n").find("end (column 3) is") != std::string::npos);
            if (!v.empty())  // an empty count column is malformed too, '.' means 1
                CHECK(error_of(header + ok + "chr1\t10\t20\tA\t" + v + "\n").find("count (column 5)") != std::string::npos);
            // the same on unknown chromosomes and zero-length lines: no line escapes the checks
            CHECK(error_of(header + ok + "chrUn\t" + v + "\t20\tA\t1\n").find("start (column 2)") != std::string::npos);
        }
    }
    CHECK(error_of("chr1\t10\t20\tA\t\n").find("count (column 5)") != std::string::npos);
    CHECK(error_of("chr1\t10\t20\tA\t4294967296\n").find("below 2^32") != std::string::npos);
    CHECK(error_of("chr1\t99999999999999999999\t20\tA\n").find("start (column 2)") != std::string::npos);
}

TEST_CASE("other malformed lines name file, line and reason") {
    CHECK(error_of("chr1\t10\t20\tA\nchr1\t10\t20\n").find("line 2: expected tab-separated columns") == 0);
    CHECK(error_of("chr1 10 20 A 1\n").find("found 1 column(s)") != std::string::npos);
    CHECK(error_of("# h\nchr1\t30\t20\tA\t1\n").find("line 2: end (20) is smaller than start (30)") == 0);
    CHECK(error_of("chr1\t10\t20\t.\t1\n").find("missing cell barcode") != std::string::npos);
    CHECK(error_of("chr1\t10\t20\t\t1\n").find("missing cell barcode") != std::string::npos);
    CHECK(error_of("\t10\t20\tA\t1\n").find("empty chromosome name") != std::string::npos);
    CHECK(error_of("chr1\t10\t20\tA\xff\t1\n").find("not valid UTF-8") != std::string::npos);
    CHECK(error_of("chr1\t10\t20\tA\t1\n", options(false)).find("needs a 6th column") != std::string::npos);
    CHECK(error_of("chr1\t10\t20\tA\t1\t*\n", options(false)).find("strand (column 6) must be '+' or '-'") !=
          std::string::npos);
    // the offending line is shown with its tabs
    CHECK(error_of("chr1\t1e5\t20\tA\t1\n").find(": 'chr1\\t1e5\\t20\\tA\\t1'") != std::string::npos);
    // line numbers count across pieces and codecs
    std::string many;
    for (int i = 0; i < 150000; ++i) many += "chr1\t10\t20\tAAAAAAAAAAAAAAAA-1\t1\n";
    for (Format format : kAllFormats)
        CHECK(error_of(many + "chr1\t1e5\t20\tA\t1\n", options(), format).find("line 150001:") == 0);
}

TEST_CASE("zero-length fragments are dropped before anything else; end < start is an error") {
    FragmentFileStats stats;
    auto lines = read_text("chr1\t10\t20\tA\nchr1\t7\t7\tB\nchr1\t30\t40\tA\n", options(), Format::Plain, &stats);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1] == Line{3, "A", false, LineStatus::Stored, 30, 10, false, 1});  // B did not split A's run
    CHECK(stats.zero_length == 1);
}

TEST_CASE("unknown chromosomes are skipped but their barcodes appear") {
    FragmentFileStats stats;
    auto lines = read_text("chrUn\t5\t10\tA\nchr2\t1\t4\tA\n", options(), Format::Plain, &stats);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == Line{1, "A", true, LineStatus::UnknownChrom});
    CHECK(lines[1] == Line{2, "A", false, LineStatus::Stored, 1001, 3});
    CHECK(stats.unknown_chrom == 1);
    CHECK(stats.stored == 1);
}

TEST_CASE("a fragment starting at or past its chromosome's length is never stored") {
    FragmentFileStats stats;
    auto lines = read_text(
        "chr1\t999\t1010\tA\n"    // starts inside, ends past: stored whole (coverage is cut later)
        "chr1\t1000\t1010\tA\n"   // at the end: would be genome position 1000 = chr2:0
        "chr1\t1500\t1600\tA\n",  // past the end
        options(), Format::Plain, &stats);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == Line{1, "A", true, LineStatus::Stored, 999, 11});
    CHECK(lines[1].status == LineStatus::PastChromEnd);
    CHECK(lines[2].status == LineStatus::PastChromEnd);
    CHECK(stats.past_chrom_end == 2);
    CHECK(stats.first_past_chrom_end_line == 2);
    CHECK(stats.first_past_chrom_end == "chr1:1000-1010 (chr1 has length 1000)");
}

TEST_CASE("single-end reads: strand column; '-' reads stored at their last base") {
    auto lines = read_text(
        "chr1\t10\t60\tA\t1\t+\n"
        "chr1\t10\t60\tA\t1\t-\n"
        "chr2\t490\t520\tA\t1\t+\n"   // '+' starts inside chr2: stored
        "chr2\t490\t520\tA\t1\t-\n",  // '-' last base 519 is past chr2's end: skipped
        options(false));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == Line{1, "A", true, LineStatus::Stored, 10, 50, false});
    CHECK(lines[1] == Line{2, "A", false, LineStatus::Stored, 59, 50, true});
    CHECK(lines[2] == Line{3, "A", false, LineStatus::Stored, 1490, 30, false});
    CHECK(lines[3].status == LineStatus::PastChromEnd);
}

TEST_CASE("Tn5 shifts: start += shift_left, end += shift_right as each line is read") {
    FragmentFileStats stats;
    auto lines = read_text(
        "chr1\t100\t150\tA\n"  // -> [104, 145)
        "chr1\t100\t108\tA\n"  // -> [104, 103): length <= 0, dropped
        "chr1\t100\t109\tA\n"  // -> [104, 104): length 0, dropped
        "chr1\t100\t110\tA\n"  // -> [104, 105): kept, length 1
        "chr1\t997\t1020\tA\n" // -> [1001, 1015): starts past chr1's end
        "chr2\t0\t50\tA\n",    // -> [4, 45) on chr2
        options(true, 4, -5), Format::Plain, &stats);
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == Line{1, "A", true, LineStatus::Stored, 104, 41});
    CHECK(lines[1].status == LineStatus::ShiftedAway);
    CHECK(lines[2].status == LineStatus::ShiftedAway);
    CHECK(lines[3] == Line{4, "A", false, LineStatus::Stored, 104, 1});
    CHECK(lines[4].status == LineStatus::PastChromEnd);
    CHECK(lines[5] == Line{6, "A", false, LineStatus::Stored, 1004, 41});
    CHECK(stats.shifted_away == 2);
    CHECK(stats.first_shifted_away_line == 2);

    // a shifted start below 0 is dropped, not moved to 0
    lines = read_text("chr1\t2\t50\tA\nchr1\t5\t50\tA\n", options(true, -4, 0), Format::Plain, &stats);
    CHECK(lines[0].status == LineStatus::ShiftedAway);
    CHECK(lines[1] == Line{2, "A", false, LineStatus::Stored, 1, 49});
    CHECK(stats.shifted_away == 1);

    // single-end: the same shifts move each read's 5' end the ArchR way
    lines = read_text("chr1\t100\t150\tA\t1\t+\nchr1\t100\t150\tA\t1\t-\n", options(false, 4, -5));
    CHECK(lines[0] == Line{1, "A", true, LineStatus::Stored, 104, 41, false});
    CHECK(lines[1] == Line{2, "A", false, LineStatus::Stored, 144, 41, true});

    FragmentFileOptions huge = options(true, int64_t(1) << 40, 0);
    TempFile file;
    file.write("chr1\t1\t2\tA\n");
    CHECK_THROWS_AS(FragmentFileReader(file.path(), huge), std::invalid_argument);
}

TEST_CASE("barcodes: ids in order of first appearance, runs, closed sets") {
    const std::string text =
        "chr1\t1\t2\tB\nchr1\t1\t2\tB\nchr1\t1\t2\tA\nchr1\t1\t2\tB\nchr1\t1\t2\tC\n";
    TempFile file;
    file.write(text);
    FragmentFileReader open(file.path(), options());
    auto lines = read_lines(open, 2);
    CHECK(open.barcodes() == std::vector<std::string>{"B", "A", "C"});
    std::vector<bool> runs;
    for (const Line& l : lines) runs.push_back(l.new_run);
    CHECK(runs == std::vector<bool>{true, false, true, true, true});

    FragmentFileOptions closed = options();
    closed.barcodes = std::vector<std::string>{"C", "B", "Z"};
    FragmentFileReader whitelist(file.path(), closed);
    lines = read_lines(whitelist);
    CHECK(whitelist.barcodes() == std::vector<std::string>{"C", "B", "Z"});
    std::vector<std::string> names;
    for (const Line& l : lines) names.push_back(l.barcode);
    CHECK(names == std::vector<std::string>{"B", "B", "", "B", "C"});
    CHECK(lines[2].new_run);  // a barcode outside the set still splits runs
}

TEST_CASE("count_fragments counts stored non-mitochondrial fragments per barcode") {
    TempFile file;
    file.write("chr1\t1\t5\tA\nchr2\t1\t5\tA\nchr1\t2000\t2005\tA\nchrUn\t1\t5\tB\nchr1\t3\t3\tB\nchr1\t1\t9\tB\n");
    FragmentFileReader reader(file.path(), options());
    CHECK(count_fragments(reader, {false, true}) == std::vector<uint64_t>{1, 1});  // A: chr1 only; B: one line
}

TEST_CASE("FragmentChunk: one cell per stored fragment of a barcode with a group") {
    TempFile file;
    file.write("chr1\t1\t5\tA\t1\t+\nchr2\t1\t5\tB\t1\t-\nchrUn\t1\t5\tA\t1\t+\nchr1\t7\t9\tC\t1\t+\nchr1\t2\t4\tA\t1\t-\n");
    FragmentFileReader reader(file.path(), options(false));
    FragmentBatch batch;
    REQUIRE(reader.next(batch));
    FragmentChunk chunk;
    chunk.assign(batch, {1, -1, 0}, false);  // A -> 1, B -> none, C -> 0
    CHECK(chunk.indptr == PageVector<int64_t>{0, 1, 2, 3});
    CHECK(chunk.indices == PageVector<int64_t>{1, 7, 3});
    CHECK(chunk.signed_lengths == PageVector<int32_t>{4, 2, -2});
    CHECK(chunk.cell_group == PageVector<int32_t>{1, 0, 1});
    const CellChunk view = chunk.view();
    CHECK(view.n_cells == 3);
    CHECK(view.n_fragments == 3);
    CHECK(view.signed_lengths == chunk.signed_lengths.data());
    CHECK(view.lengths == nullptr);
}

TEST_CASE("FragmentChunk::view() feeds GroupedExporter::add_cells: a fragment file to a track (spec 11.8)") {
    // paired-end, bin 10, raw counts. A and B -> track 0, C has no group.
    // Units: A chr1 [0,30) -> bins 0-2; B chr1 [10,20) -> bin 1; A chr2 [5,15)
    // -> bins 0-1 of chr2; C's fragment is left out.
    TempFile file;
    file.write("chr1\t0\t30\tA\nchr1\t10\t20\tB\nchr2\t5\t15\tA\nchr1\t15\t25\tC\n");
    FragmentFileReader reader(file.path(), options());
    TempFile out("track.bg");
    ExportOptions o;
    o.format = OutputFormat::BedGraph;
    o.normalization = Normalization::None;
    o.bin_size = 10;
    GroupedExporter exporter(test_genome(), {}, o, std::vector<std::string>{out.path()});
    FragmentBatch batch;
    FragmentChunk chunk;
    while (reader.next(batch, 2)) {  // two chunks
        chunk.assign(batch, {0, 0, -1}, true);  // ids in order of appearance: A, B, C
        exporter.add_cells(chunk.view());
    }
    const std::vector<GroupStats> stats = exporter.finish();
    CHECK(stats.at(0).n_units == 3);
    CHECK(read_file(out.path()) == "chr1\t0\t10\t1\nchr1\t10\t20\t2\nchr1\t20\t30\t1\nchr2\t0\t20\t1\n");
}

TEST_CASE("cancel(): the next call of next() throws Cancelled") {
    TempFile file;
    file.write("chr1\t1\t5\tA\nchr1\t2\t6\tA\nchr1\t3\t7\tA\n");
    FragmentFileReader reader(file.path(), options());
    FragmentBatch batch;
    REQUIRE(reader.next(batch, 1));
    reader.cancel();
    CHECK_THROWS_AS(reader.next(batch, 1), Cancelled);
}

// ---- parsing on n_threads threads (docs/spec.md 8.1.1) ---------------------

namespace {

// chr1 = [0, 1000000), chr2 = [1000000, 1500000)
Genome big_genome() { return Genome({"chr1", "chr2"}, {1000000, 500000}); }

// barcodes BC0 .. BC299 occur; the list names BC0 .. BC199 (and one absent barcode)
std::vector<std::string> big_barcode_list() {
    std::vector<std::string> out;
    for (int i = 0; i < 200; ++i) out.push_back("BC" + std::to_string(i));
    out.push_back("NEVER");
    return out;
}

FragmentFileOptions big_options(int n_threads) {
    FragmentFileOptions o;
    o.genome = big_genome();
    o.shift_left = 4;
    o.shift_right = -5;
    o.barcodes = big_barcode_list();
    o.n_threads = n_threads;
    return o;
}

// A file of several 4 MB pieces with every kind of line (comments, blank and
// CRLF lines, '.' counts, extra columns, zero-length, unknown-chromosome,
// shifted-away and past-the-end fragments, barcodes outside the list, runs of
// one barcode of any length, no final newline), and the lines and statistics
// a reader must give for it, worked out here from the spec's rules (8.2-8.6,
// 8.19 with shifts +4/-5), not by a reader. With `comments_until` the file
// starts with a comment longer than a piece (no line ends in that piece)
// and comments up to that byte; the lines that count in the statistics'
// first_* fields come after `specials_after` (so in a later block).
struct BigFile {
    std::string text;
    std::vector<Line> expected;
    FragmentFileStats stats;
};

BigFile big_file(size_t target_bytes, size_t comments_until = 0, size_t specials_after = 0) {
    BigFile f;
    uint64_t state = 12345;
    auto rnd = [&](uint64_t n) {  // xorshift64*, deterministic
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return (state * 2685821657736338717ull >> 11) % n;
    };
    const std::vector<std::string> names = {"chr1", "chr2", "chrUn"};
    const uint64_t lengths[] = {1000000, 500000, 0}, offsets[] = {0, 1000000, 0};
    uint64_t line = 0;
    int barcode = 0;
    uint64_t run_left = 0;
    bool has_previous = false;
    std::string previous;
    auto add = [&](const std::string& l) {
        f.text += l;
        ++line;
    };
    while (f.text.size() < target_bytes) {
        if (f.text.size() < comments_until) {
            if (line == 0) add("#" + std::string(DecompressedStream::kPieceBytes + 12345, 'x') + "\n");
            else add("# comment " + std::to_string(line) + "\n");
            continue;
        }
        const bool specials = f.text.size() >= specials_after;
        const uint64_t kind = rnd(1000);
        if (kind < 3) { add("# a comment\n"); continue; }
        if (kind < 5) { add(kind == 3 ? "\n" : " \t \n"); continue; }
        if (run_left == 0) {  // a new run of one barcode, 1 to 400 lines
            barcode = static_cast<int>(rnd(300));
            run_left = 1 + rnd(rnd(10) == 0 ? 400 : 20);
        }
        --run_left;
        const size_t c = specials && rnd(100) < 3 ? 2 : rnd(2);
        uint64_t start = rnd(c == 2 ? 1000 : specials ? lengths[c] + 200 : lengths[c] - 1000);
        const uint64_t len = specials && rnd(100) < 2 ? 0 : specials && rnd(100) < 3 ? 1 + rnd(9) : 10 + rnd(600);
        const std::string bc = "BC" + std::to_string(barcode);
        const bool dot_count = rnd(10) == 0;
        const uint32_t count = dot_count ? 1 : static_cast<uint32_t>(1 + rnd(5));
        std::string l = names[c] + "\t" + std::to_string(start) + "\t" + std::to_string(start + len) + "\t" + bc +
                        "\t" + (dot_count ? std::string(".") : std::to_string(count));
        if (rnd(50) == 0) l += "\textra\tcolumns";
        l += rnd(30) == 0 ? "\r\n" : "\n";
        add(l);
        if (f.stats.first_data_columns == 0) f.stats.first_data_columns = l.find("extra") != std::string::npos ? 7 : 5;
        if (len == 0) {
            ++f.stats.zero_length;
            continue;
        }
        const bool listed = barcode < 200;
        Line e{line, listed ? bc : "", !(has_previous && previous == bc), LineStatus::Stored};
        has_previous = true;
        previous = bc;
        e.count = count;
        const int64_t s = static_cast<int64_t>(start) + 4, en = static_cast<int64_t>(start + len) - 5;
        if (c == 2) {
            e.status = LineStatus::UnknownChrom;
            ++f.stats.unknown_chrom;
        } else if (en - s <= 0) {
            e.status = LineStatus::ShiftedAway;
            if (f.stats.shifted_away++ == 0) f.stats.first_shifted_away_line = line;
        } else if (static_cast<uint64_t>(s) >= lengths[c]) {
            e.status = LineStatus::PastChromEnd;
            if (f.stats.past_chrom_end++ == 0) {
                f.stats.first_past_chrom_end_line = line;
                f.stats.first_past_chrom_end = names[c] + ":" + std::to_string(start) + "-" +
                                               std::to_string(start + len) + " (" + names[c] + " has length " +
                                               std::to_string(lengths[c]) + ")";
            }
        } else {
            e.position = offsets[c] + static_cast<uint64_t>(s);
            e.length = static_cast<uint32_t>(en - s);
            ++f.stats.stored;
        }
        f.expected.push_back(e);
    }
    add("chr1\t100\t200\tBC7\t3");  // the last line has no newline
    f.expected.push_back(Line{line, "BC7", !(previous == "BC7"), LineStatus::Stored, 104, 91, false, 3});
    ++f.stats.stored;
    f.stats.lines = line;
    return f;
}

bool same_stats(const FragmentFileStats& a, const FragmentFileStats& b) {
    return a.lines == b.lines && a.zero_length == b.zero_length && a.unknown_chrom == b.unknown_chrom &&
           a.shifted_away == b.shifted_away && a.past_chrom_end == b.past_chrom_end && a.stored == b.stored &&
           a.first_shifted_away_line == b.first_shifted_away_line &&
           a.first_past_chrom_end_line == b.first_past_chrom_end_line &&
           a.first_past_chrom_end == b.first_past_chrom_end && a.first_data_columns == b.first_data_columns;
}

std::string describe(const FragmentFileStats& s) {
    return "{lines " + std::to_string(s.lines) + ", zero " + std::to_string(s.zero_length) + ", unknown " +
           std::to_string(s.unknown_chrom) + ", shifted " + std::to_string(s.shifted_away) + " (first " +
           std::to_string(s.first_shifted_away_line) + "), past " + std::to_string(s.past_chrom_end) + " (first " +
           std::to_string(s.first_past_chrom_end_line) + " " + s.first_past_chrom_end + "), stored " +
           std::to_string(s.stored) + ", columns " + std::to_string(s.first_data_columns) + "}";
}

// Everything a reader gives: lines (all batches, concatenated), batch sizes,
// stats after every next(), the error.
struct Reading {
    FragmentBatch all;
    std::vector<std::string> barcodes;
    std::vector<size_t> batch_sizes;
    std::vector<FragmentFileStats> stats;
    std::string error;  // "" when none

    std::vector<Line> lines() const {
        std::vector<Line> out;
        for (size_t i = 0; i < all.size(); ++i) out.push_back(line_at(all, i, barcodes));
        return out;
    }
};

template <class T>
void append(PageVector<T>& to, const PageVector<T>& from) {
    to.insert(to.end(), from.begin(), from.end());
}

Reading read_all(const std::string& path, const FragmentFileOptions& o, size_t max_lines) {
    Reading r;
    FragmentFileReader reader(path, o);
    r.barcodes = reader.barcodes();
    FragmentBatch batch;
    try {
        while (reader.next(batch, max_lines)) {
            r.batch_sizes.push_back(batch.size());
            append(r.all.line, batch.line);
            append(r.all.barcode, batch.barcode);
            append(r.all.new_run, batch.new_run);
            append(r.all.status, batch.status);
            append(r.all.chrom, batch.chrom);
            append(r.all.position, batch.position);
            append(r.all.length, batch.length);
            append(r.all.reverse, batch.reverse);
            append(r.all.count, batch.count);
            r.stats.push_back(reader.stats());
        }
    } catch (const std::invalid_argument& e) {
        r.error = e.what();
    }
    r.stats.push_back(reader.stats());
    return r;
}

void check_lines(const std::vector<Line>& got, const std::vector<Line>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i)
        if (!(got[i] == want[i])) {
            CHECK(got[i] == want[i]);  // the first difference
            break;
        }
}

void check_same_reading(const Reading& got, const Reading& want) {
    CHECK(got.error == want.error);
    CHECK(got.batch_sizes == want.batch_sizes);
    const bool same = got.all.line == want.all.line && got.all.barcode == want.all.barcode &&
                      got.all.new_run == want.all.new_run && got.all.status == want.all.status &&
                      got.all.chrom == want.all.chrom && got.all.position == want.all.position &&
                      got.all.length == want.all.length && got.all.reverse == want.all.reverse &&
                      got.all.count == want.all.count;
    CHECK(same);
    if (!same) check_lines(got.lines(), want.lines());
    REQUIRE(got.stats.size() == want.stats.size());
    for (size_t i = 0; i < got.stats.size(); ++i)
        if (!same_stats(got.stats[i], want.stats[i])) {
            CAPTURE(i);
            CHECK(describe(got.stats[i]) == describe(want.stats[i]));
            break;
        }
}

// The file's text with line `n` (1-based) replaced by `replacement`.
std::string with_line(const std::string& text, uint64_t n, const std::string& replacement) {
    size_t begin = 0;
    for (uint64_t i = 1; i < n; ++i) begin = text.find('\n', begin) + 1;
    const size_t end = text.find('\n', begin);
    return text.substr(0, begin) + replacement + text.substr(end);
}

// The number of the line that holds byte `offset`.
uint64_t line_at(const std::string& text, size_t offset) {
    return 1 + static_cast<uint64_t>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

}  // namespace

TEST_CASE("n_threads 1, 2, 4, 7 give the same batches, stats and lines, worked out by hand, from every codec") {
    // pieces 0-3: a comment over piece 0; comments, then the first data line in
    // piece 2 (block 1); the first zero-length, shifted-away, past-the-end lines after 13 MB
    const BigFile f = big_file(size_t(16) << 20, size_t(9) << 20, size_t(13) << 20);
    REQUIRE(f.text.size() > 3 * DecompressedStream::kPieceBytes);
    const uint64_t block1 = line_at(f.text, size_t(8) << 20), late = line_at(f.text, size_t(13) << 20);
    CHECK(f.expected.front().line > block1);
    CHECK(f.stats.first_shifted_away_line >= late);
    CHECK(f.stats.first_past_chrom_end_line >= late);
    CHECK(f.stats.zero_length > 0);
    const Format formats[] = {Format::Plain, Format::Gzip, Format::Bgzf, Format::Zstd};
    for (Format format : formats) {
        CAPTURE(static_cast<int>(format));
        TempFile file("fragments.tsv");
        file.write(encode(f.text, format));
        const size_t max_lines = format == Format::Plain ? 7919 : size_t(1) << 16;
        const Reading one = read_all(file.path(), big_options(1), max_lines);
        CHECK(one.error == "");
        check_lines(one.lines(), f.expected);
        CHECK(describe(one.stats.back()) == describe(f.stats));
        for (int n : {2, 4, 7}) {
            CAPTURE(n);
            check_same_reading(read_all(file.path(), big_options(n), max_lines), one);
        }
    }
}

TEST_CASE("n_threads: a bad line in a late block gives the sequential error, after the same batches") {
    const BigFile f = big_file(size_t(17) << 19);
    const uint64_t bad = line_at(f.text, f.text.size() - 300000);  // in the last piece (the third)
    const std::string text = with_line(f.text, bad, "chr1\t1e5\t20\tBC3\t1");
    TempFile file("fragments.tsv.gz");
    file.write(encode(text, Format::Bgzf));
    const Reading one = read_all(file.path(), big_options(1), 5000);
    CHECK(one.error == file.path() + ": line " + std::to_string(bad) +
                           ": start and end must be non-negative base-10 integers; start (column 2) is '1e5': "
                           "'chr1\\t1e5\\t20\\tBC3\\t1'");
    CHECK(one.all.size() > 100000);
    CHECK(one.all.line.back() < bad);
    for (int n : {2, 4, 7}) {
        CAPTURE(n);
        check_same_reading(read_all(file.path(), big_options(n), 5000), one);
    }
    // a bad first data line sets first_data_columns too
    TempFile first;
    first.write("# h\nchr1\t1\t2\n" + f.text);
    const Reading a = read_all(first.path(), big_options(1), 100), b = read_all(first.path(), big_options(3), 100);
    check_same_reading(b, a);
    CHECK(a.stats.back().first_data_columns == 3);
    CHECK(a.stats.back().lines == 2);
}

TEST_CASE("n_threads: of bad lines in blocks k and k + 1, the first in the file wins, whatever the timing") {
    // plain text: blocks are the 4 MB pieces. The earlier bad line is near the
    // end of block 1, the later one near the start of block 2, found first.
    const BigFile f = big_file(size_t(17) << 19);
    const size_t piece = DecompressedStream::kPieceBytes;
    const uint64_t first = line_at(f.text, 2 * piece - 2000), second = line_at(f.text, 2 * piece + 200);
    std::string text = with_line(f.text, first, "chr2\t30\t20\tBC1");
    text = with_line(text, second, "chr1\t10");
    TempFile file;
    file.write(text);
    const Reading one = read_all(file.path(), big_options(1), size_t(1) << 16);
    CHECK(one.error == file.path() + ": line " + std::to_string(first) +
                           ": end (20) is smaller than start (30): 'chr2\\t30\\t20\\tBC1'");
    for (int round = 0; round < 2; ++round)
        for (int n : {2, 4, 7}) {
            CAPTURE(n);
            check_same_reading(read_all(file.path(), big_options(n), size_t(1) << 16), one);
        }
}

TEST_CASE("n_threads: a decompression error comes after every line before it, as sequentially") {
    const BigFile f = big_file(size_t(6) << 20);
    std::string data = encode(f.text, Format::Gzip);
    data.resize(data.size() - 1000);  // truncated
    TempFile file("fragments.tsv.gz");
    file.write(data);
    const Reading one = read_all(file.path(), big_options(1), 10000);
    CHECK(one.error.find("the gzip data ends early") != std::string::npos);
    CHECK(one.all.size() > 100000);
    for (int n : {2, 4}) {
        CAPTURE(n);
        check_same_reading(read_all(file.path(), big_options(n), 10000), one);
    }
}

TEST_CASE("n_threads: barcode runs and new_run across blocks") {
    // one barcode for the whole file: one run across every block
    std::string text;
    while (text.size() < size_t(9) << 20) text += "chr1\t10\t100\tBC1\t1\nchr1\t20\t30\tBC250\t1\n";
    TempFile file;
    file.write(text);
    const Reading one = read_all(file.path(), big_options(1), 100000);
    for (int n : {2, 5}) check_same_reading(read_all(file.path(), big_options(n), 100000), one);
    // lines with only one barcode per block boundary: every line after the first continues its run
    std::string same;
    while (same.size() < size_t(9) << 20) same += "chr1\t10\t100\tBC1\t1\n";
    file.write(same);
    const Reading runs = read_all(file.path(), big_options(4), 100000);
    CHECK(runs.error == "");
    CHECK(std::count(runs.all.new_run.begin(), runs.all.new_run.end(), 1) == 1);
    CHECK(runs.all.size() == same.size() / 18);
}

TEST_CASE("n_threads: cancel() mid-file, from another thread, stops next() with Cancelled") {
    const BigFile f = big_file(size_t(6) << 20);
    TempFile file;
    file.write(f.text);
    for (int n : {2, 4}) {
        FragmentFileReader reader(file.path(), big_options(n));
        FragmentBatch batch;
        REQUIRE(reader.next(batch, 1000));
        reader.cancel();
        CHECK_THROWS_AS(reader.next(batch, 1000), Cancelled);
        CHECK_THROWS_AS(reader.next(batch, 1000), Cancelled);
    }
    // from another thread while next() is at work: the test gate holds the reader's
    // second next() (its parse threads working ahead) until the cancel, whatever the
    // machine's speed
    test_gate::arm("fragment reader");
    FragmentFileReader reader(file.path(), big_options(3));
    FragmentBatch batch;
    REQUIRE(reader.next(batch, 10));
    std::thread canceller([&] {
        while (!test_gate::reached()) std::this_thread::yield();
        reader.cancel();
    });
    bool cancelled = false;
    try {
        while (reader.next(batch, 10)) {
        }
    } catch (const Cancelled&) {
        cancelled = true;
    }
    canceller.join();
    CHECK(test_gate::reached());
    CHECK(cancelled);
}

TEST_CASE("n_threads: destroying a reader mid-file joins its threads") {
    const BigFile f = big_file(size_t(6) << 20);
    TempFile file;
    file.write(encode(f.text, Format::Bgzf));
    for (int n : {2, 4, 7}) {
        { FragmentFileReader unread(file.path(), big_options(n)); }  // the splitter may be decompressing
        FragmentFileReader reader(file.path(), big_options(n));
        FragmentBatch batch;
        REQUIRE(reader.next(batch, 1000));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));  // workers ahead, window full
    }
}

TEST_CASE("n_threads: count_fragments and import_fragments' cells (whitelist) do not depend on it") {
    const BigFile f = big_file(size_t(9) << 20);
    TempFile file;
    file.write(f.text);
    FragmentFileReader sequential(file.path(), big_options(1)), parallel(file.path(), big_options(4));
    const std::vector<uint64_t> counts = count_fragments(sequential, {false, true});
    CHECK(count_fragments(parallel, {false, true}) == counts);
    CHECK(counts.size() == big_barcode_list().size());
    CHECK(counts.back() == 0);  // NEVER

    auto import = [&](int n, bool sorted) {
        ImportOptions o;
        o.reader = big_options(n);
        o.is_mito = {false, true};
        o.sorted_by_barcode = sorted;
        o.min_num_fragments = 10;
        o.max_fragments_per_batch = 5000;
        std::string out;
        try {
            FragmentImporter importer(file.path(), o);
            CellBatch cells;
            while (importer.next(cells)) {
                for (size_t i = 0; i < cells.size(); ++i)
                    out += cells.barcodes[i] + " " + std::to_string(cells.n_fragment[i]) + " " +
                           std::to_string(cells.n_mito[i]) + " " + std::to_string(cells.total[i]) + "\n";
                for (size_t i = 0; i < cells.n_fragments(); ++i)
                    out += std::to_string(cells.indices[i]) + ":" + std::to_string(cells.lengths[i]) + " ";
                out += "|\n";
            }
            const FragmentFileStats& s = importer.stats();
            out += describe(s);
        } catch (const std::invalid_argument& e) {
            out += std::string("error: ") + e.what();
        }
        return out;
    };
    const std::string unsorted = import(1, false);
    CHECK(unsorted.find("BC199 ") != std::string::npos);
    CHECK(unsorted.find("BC200 ") == std::string::npos);  // not in the list
    CHECK(import(4, false) == unsorted);
    const std::string sorted = import(1, true);  // barcodes reappear: an error with its line
    CHECK(sorted.find("error: ") != std::string::npos);
    CHECK(import(3, true) == sorted);
}

TEST_CASE("a data line longer than 1 MiB is one error naming its line, whatever the threads; a comment may be") {
    const std::string good = "chr1\t10\t20\tAAA\t1\n";
    std::string text = "# head\n" + good + "#" + std::string(size_t(3) << 20, 'c') + "\n" + good;
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        TempFile file("long-comment.tsv");
        file.write(text);
        FragmentFileOptions o = options();
        o.n_threads = threads;
        o.barcodes = std::vector<std::string>{"AAA"};
        const Reading ok = read_all(file.path(), o, 100);
        CHECK(ok.error == "");
        CHECK(ok.all.size() == 2);
        CHECK(ok.all.line.back() == 4);
        TempFile bad("long.tsv");
        bad.write(text + "chr1\t1\t" + std::string(size_t(2) << 20, '9') + "\tAAA\t1\n" + good);
        const Reading r = read_all(bad.path(), o, 100);
        CHECK(r.error == bad.path() + ": line 5: the line is longer than 1 MiB: this is not a fragment file (a "
                                      "binary file or a device?)");
        CHECK(r.all.size() <= 2);  // lines before it may or may not have been handed out: the caller drops them
        // a line without any end: reading stops at 1 MiB, with the same error
        TempFile endless("endless.tsv");
        endless.write(good + std::string(size_t(9) << 20, '\0'));
        CHECK(read_all(endless.path(), o, 100).error ==
              endless.path() + ": line 2: the line is longer than 1 MiB: this is not a fragment file (a binary file "
                               "or a device?)");
    }
}
