// Unit tests for FragmentImporter: cells, QC counts and CSR entries worked out
// by hand (docs/spec.md section 8), and the spilling sort
// checked against a plain in-memory model.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "input/fragment_reader.hpp"
#include "testing/test_files.hpp"
#include "testing/test_support.hpp"

using namespace fragcov;
using namespace fragcov::test;

namespace {

// tests/data/import/edge.tsv, written by tests/data/import/make_expected.py (comment,
// zero-length lines, unknown chromosomes, duplicates at one position, '.' count, a
// barcode with only a zero-length line); the cells below are worked out from it by hand.
std::string edge_text() {
    const std::string text = read_file(std::string(FRAGCOV_TEST_DATA_DIR) + "/import/edge.tsv");
    REQUIRE(text.rfind("#comment line\n", 0) == 0);
    return text;
}

struct Cell {
    std::string barcode;
    uint64_t n_fragment, n_mito, total;
    std::vector<std::pair<int64_t, int64_t>> entries;  // (column, value)
    bool operator==(const Cell& o) const {
        return barcode == o.barcode && n_fragment == o.n_fragment && n_mito == o.n_mito && total == o.total &&
               entries == o.entries;
    }
};

doctest::String toString(const Cell& c) {
    std::string s = "{" + c.barcode + " " + std::to_string(c.n_fragment) + "/" + std::to_string(c.n_mito) + "/" +
                    std::to_string(c.total) + ":";
    for (auto& e : c.entries) s += " (" + std::to_string(e.first) + "," + std::to_string(e.second) + ")";
    return (s + "}").c_str();
}

// chr1 = [0, 500), chr2 = [500, 1500), chrM = [1500, 1700): stored sorted by name
ImportOptions edge_options(bool sorted, uint64_t min_num_fragments = 0) {
    ImportOptions o;
    o.reader.genome = Genome({"chr1", "chr2", "chrM"}, {500, 1000, 200});
    o.is_mito = {false, false, true};
    o.sorted_by_barcode = sorted;
    o.min_num_fragments = min_num_fragments;
    return o;
}

std::vector<Cell> import_all(const std::string& path, const ImportOptions& o, size_t* n_batches = nullptr) {
    FragmentImporter importer(path, o);
    std::vector<Cell> cells;
    CellBatch batch;
    size_t batches = 0;
    while (importer.next(batch)) {
        ++batches;
        REQUIRE(batch.indptr.size() == batch.size() + 1);
        REQUIRE(batch.indptr.front() == 0);
        for (size_t c = 0; c < batch.size(); ++c) {
            Cell cell{batch.barcodes[c], batch.n_fragment[c], batch.n_mito[c], batch.total[c], {}};
            for (int64_t k = batch.indptr[c]; k < batch.indptr[c + 1]; ++k)
                cell.entries.emplace_back(batch.indices[k], o.reader.is_paired ? int64_t(batch.lengths[k])
                                                                               : int64_t(batch.signed_lengths[k]));
            cells.push_back(cell);
        }
    }
    if (n_batches) *n_batches = batches;
    return cells;
}

// Element by element, so that doctest prints the differing cells.
void check_cells(const std::vector<Cell>& got, const std::vector<Cell>& expected) {
    CHECK(got.size() == expected.size());
    for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) CHECK(got[i] == expected[i]);
}

const Cell kB{"B", 5, 1, 10, {{50, 2}, {50, 5}, {50, 5}, {50, 10}, {600, 50}, {1501, 99}}};
const Cell kA{"A", 2, 1, 3, {{5, 15}, {10, 10}, {1503, 7}}};
const Cell kE{"E", 1, 0, 1, {{8, 1}}};
const Cell kC{"C", 1, 0, 1, {{510, 10}}};

}  // namespace

TEST_CASE("barcode-sorted input: cells in order of appearance, entries by (column, value), QC counts") {
    TempFile file;
    file.write(edge_text());
    check_cells(import_all(file.path(), edge_options(true)), std::vector<Cell>{kB, kA, kE, kC});
    check_cells(import_all(file.path(), edge_options(true, 2)), std::vector<Cell>{kB, kA});
    size_t batches = 0;
    ImportOptions one = edge_options(true);
    one.max_cells_per_batch = 1;
    check_cells(import_all(file.path(), one, &batches), std::vector<Cell>{kB, kA, kE, kC});
    CHECK(batches == 4);
}

TEST_CASE("unsorted input: cells sorted by barcode bytes, same cells") {
    TempFile file;
    file.write(edge_text());
    check_cells(import_all(file.path(), edge_options(false)), std::vector<Cell>{kA, kB, kC, kE});
    check_cells(import_all(file.path(), edge_options(false, 2)), std::vector<Cell>{kA, kB});
}

TEST_CASE("whitelist: only listed barcodes become cells; others still split runs") {
    TempFile file;
    file.write(edge_text());
    ImportOptions o = edge_options(true);
    o.reader.barcodes = std::vector<std::string>{"C", "B", "NOT-THERE"};
    check_cells(import_all(file.path(), o), std::vector<Cell>{kB, kC});
    o.sorted_by_barcode = false;
    check_cells(import_all(file.path(), o), std::vector<Cell>{kB, kC});

    file.write("chr1\t1\t5\tA\nchr1\t1\t5\tX\nchr1\t1\t5\tA\n");
    o = edge_options(true);
    o.reader.barcodes = std::vector<std::string>{"A"};
    CHECK_THROWS_WITH_AS(import_all(file.path(), o), doctest::Contains("line 3: barcode 'A' appears again"),
                         std::invalid_argument);
}

TEST_CASE("a barcode reappearing after others is an error when sorted_by_barcode") {
    TempFile file;
    file.write("chr1\t1\t5\tA\nchr1\t1\t5\tB\nchr1\t1\t1\tA\nchr1\t2\t5\tB\nchr1\t1\t5\tA\n");
    CHECK_THROWS_WITH_AS(import_all(file.path(), edge_options(true)),
                         doctest::Contains((file.path() + ": line 5: barcode 'A' appears again after lines of "
                                                           "other barcodes").c_str()),
                         std::invalid_argument);
    // the zero-length 'A' line on line 3 did not split B's run
    CHECK(import_all(file.path(), edge_options(false)).size() == 2);
}

TEST_CASE("single-end cells store +len at the start, -len at the last base, sorted by signed value") {
    TempFile file;
    file.write("chr1\t10\t20\tA\t1\t-\nchr1\t19\t29\tA\t1\t+\nchr1\t19\t25\tA\t1\t+\n");
    ImportOptions o = edge_options(true);
    o.reader.is_paired = false;
    check_cells(import_all(file.path(), o), std::vector<Cell>{{"A", 3, 0, 3, {{19, -10}, {19, 6}, {19, 10}}}});
}

TEST_CASE("the spilling sort gives the in-memory model's cells") {
    // 400k lines in random order over 997 barcodes and two chromosomes
    std::string text;
    std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> model;  // barcode -> entries
    std::map<std::string, uint64_t> counts;
    uint64_t x = 2463534242ull;
    for (int i = 0; i < 400000; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        const std::string bc = "BC" + std::to_string(x % 997) + "-1";
        const bool second = (x >> 20) & 1;
        const int64_t start = static_cast<int64_t>((x >> 8) % 900), len = static_cast<int64_t>(1 + (x >> 30) % 99);
        text += std::string(second ? "chr2" : "chr1") + "\t" + std::to_string(start) + "\t" +
                std::to_string(start + len) + "\t" + bc + "\t1\n";
        if (!second && start >= 500) continue;  // past chr1's end: never stored
        model[bc].emplace_back((second ? 500 : 0) + start, len);
        ++counts[bc];
    }
    TempFile file;
    file.write(gzip_members({text}));
    ImportOptions o = edge_options(false, 312);
    o.memory_budget_bytes = 1;  // the smallest buffer: 65536 fragments, so 5 runs are spilled
    o.tempdir = file.dir();
    o.max_fragments_per_batch = 10000;
    std::vector<Cell> expected;
    for (auto& [bc, entries] : model) {  // std::map iterates in byte order
        if (counts[bc] < 312) continue;
        std::sort(entries.begin(), entries.end());
        expected.push_back({bc, counts[bc], 0, counts[bc], entries});
    }
    REQUIRE(expected.size() > 100);
    REQUIRE(expected.size() < 900);
    check_cells(import_all(file.path(), o), expected);
    o.memory_budget_bytes = uint64_t(1) << 30;  // everything in memory
    check_cells(import_all(file.path(), o), expected);
}
