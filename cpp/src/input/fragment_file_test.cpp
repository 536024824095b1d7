// Unit tests for FragmentFileReader: every parsing, skipping and shifting rule
// of docs/spec.md section 8, on hand-written lines whose
// expected records are worked out by hand, through every codec.
#include "fragcov/fragment_file.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "testing/test_files.hpp"
#include "testing/test_support.hpp"

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

std::vector<Line> read_lines(FragmentFileReader& reader, size_t max_lines = 3) {
    std::vector<Line> out;
    FragmentBatch batch;
    while (reader.next(batch, max_lines)) {
        for (size_t i = 0; i < batch.size(); ++i) {
            Line l{batch.line[i],
                   batch.barcode[i] == FragmentFileReader::kNoBarcode ? "" : reader.barcodes()[batch.barcode[i]],
                   batch.new_run[i] != 0, batch.status[i]};
            if (l.status == LineStatus::Stored) {
                l.position = batch.position[i];
                l.length = batch.length[i];
                l.reverse = batch.reverse[i] != 0;
            }
            l.count = batch.count[i];
            out.push_back(l);
        }
    }
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
    CHECK(chunk.indptr == std::vector<int64_t>{0, 1, 2, 3});
    CHECK(chunk.indices == std::vector<int64_t>{1, 7, 3});
    CHECK(chunk.signed_lengths == std::vector<int32_t>{4, 2, -2});
    CHECK(chunk.cell_group == std::vector<int32_t>{1, 0, 1});
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
