// The one call (fragcov::export_coverage) with the library's sources: fragment
// files and an .h5ad's columns give the tracks worked out by hand from
// docs/spec.md section 3 (the values of examples/export_example.cpp); errors
// and cancellation come out as the spec says, whatever the threads' timing.
#include "fragcov/fragcov.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "testing/test_files.hpp"
#include "testing/test_support.hpp"
#include "util/test_gate.hpp"

using namespace fragcov;
using fragcov::test::read_file;
using fragcov::test::TempDir;
using fragcov::test::TempFile;
using fragcov::test::encode;
using fragcov::test::Format;

namespace {

// Four cells on chr1 (1000 bp) and chr2 (500 bp); c3 has no group.
const char* kFragments =
    "# a header line\n"
    "chr1\t100\t150\tc0\t1\nchr1\t120\t135\tc0\t2\n"
    "chr1\t0\t2500\tc1\t1\nchr1\t995\t1005\tc1\t1\nchr2\t10\t30\tc1\t1\n"
    "chr1\t100\t150\tc2\t1\nchr2\t485\t515\tc2\t1\n"
    "chr1\t500\t600\tc3\t1\nchrUn\t1\t50\tc0\t1\n";
// CPM, bins of 10 (tests/test_cpp_package.py works them out): B = c0 + c1, T = c2
const char* kB = "chr1\t100\t120\t250000\nchr1\t120\t140\t500000\nchr1\t140\t150\t250000\n"
                 "chr1\t990\t1000\t250000\nchr2\t10\t30\t250000\n";
const char* kT = "chr1\t100\t150\t500000\nchr2\t480\t500\t500000\n";

Genome genome() { return Genome({"chr1", "chr2"}, {1000, 500}); }

ExportPlan plan(const TempDir& dir, int n_jobs = 2) {
    ExportOptions o;
    o.normalization = Normalization::CPM;
    o.format = OutputFormat::BedGraph;
    o.n_jobs = n_jobs;
    return {genome(), {}, o, {Track((dir.path / "B.bg").string()), Track((dir.path / "T.bg").string())}, {}};
}

FragmentFilesOptions files_options(std::vector<int32_t> group_of_cell, int n_threads) {
    FragmentFilesOptions o;
    o.reading.genome = genome();
    o.reading.n_threads = n_threads;
    o.group_of_cell = std::move(group_of_cell);
    o.is_mito = {false, false};
    return o;
}

// The matrix of the four cells (rows c0, c3, c1, c2) as an unfiltered
// one-dimensional dataset pair, written at known offsets of a file: positions
// (int64) in chunks of 3, values (uint32) in one chunk.
struct Matrix {
    std::vector<int64_t> indptr{0, 2, 3, 6, 8};
    std::vector<int64_t> positions{100, 120, 500, 0, 995, 1010, 100, 1485};
    std::vector<uint32_t> lengths{50, 15, 100, 2500, 10, 20, 50, 30};
};

Hdf5Layout raw_layout(const std::string& what, const char* dtype, uint64_t n, uint64_t chunk,
                      const std::vector<uint64_t>& addresses, const std::string& first_chunk) {
    Hdf5Layout l;
    l.what = what;
    l.dtype = dtype;
    l.shape = {n};
    l.chunk_shape = {chunk};
    for (size_t k = 0; k < addresses.size(); ++k) {
        l.chunk_offsets.push_back(k * chunk);
        l.chunk_addresses.push_back(addresses[k]);
        l.chunk_sizes.push_back(first_chunk.size());
        l.chunk_masks.push_back(0);
    }
    l.first_chunk = first_chunk;
    return l;
}

template <class T>
std::string bytes_of(const std::vector<T>& v, size_t first, size_t count) {
    std::vector<T> padded(count, 0);  // the last chunk is stored whole
    for (size_t i = 0; i < count && first + i < v.size(); ++i) padded[i] = v[first + i];
    return std::string(reinterpret_cast<const char*>(padded.data()), count * sizeof(T));
}

}  // namespace

TEST_CASE("export_coverage from fragment files: one call, the hand-worked tracks, any threads") {
    TempFile file("fragments.tsv.gz");
    file.write(encode(kFragments, Format::Bgzf));
    for (int n_jobs : {1, 3}) {
        TempDir dir;
        FragmentFiles files({{file.path(), "", {"c0", "c1", "c2"}, {0, 1, 2}}}, files_options({0, 0, 1}, n_jobs));
        const std::vector<GroupStats> stats = export_coverage(plan(dir, n_jobs), files).stats;
        CHECK(read_file(dir.path / "B.bg") == kB);
        CHECK(read_file(dir.path / "T.bg") == kT);
        CHECK(stats[0].norm_count == 4);
        CHECK(files.file_stats()[0].unknown_chrom == 1);
        CHECK(files.file_of_cell() == std::vector<int32_t>{0, 0, 0});
    }
    // the plan's profiles come back with the result, one per group (docs/spec.md section 16)
    TempDir dir;
    FragmentFiles files({{file.path(), "", {"c0", "c1", "c2"}, {0, 1, 2}}}, files_options({0, 0, 1}, 2));
    ExportPlan with_profiles = plan(dir);
    ProfileOptions po;
    po.upstream = 0;
    po.downstream = 20;
    with_profiles.profiles = ProfileRequest{{{0, 100, false}, {1, 10, false}}, po};
    const ExportResult result = export_coverage(std::move(with_profiles), files);
    REQUIRE(result.profiles.size() == 2);
    CHECK(result.profiles[0].values.size() == 4);  // 2 anchors x 2 bins
    CHECK(read_file(dir.path / "B.bg") == kB);
}

TEST_CASE("export_coverage from fragment files: whole cells (the ceiling's input) give the same tracks") {
    TempFile file("fragments.tsv");
    file.write(kFragments);
    TempDir dir;
    FragmentFilesOptions o = files_options({0, 0, 1}, 1);
    o.whole_cells = true;
    o.tempdir = dir.path.string();
    FragmentFiles files({{file.path(), "", {"c0", "c1", "c2"}, {0, 1, 2}}}, o);
    export_coverage(plan(dir), files);
    CHECK(read_file(dir.path / "B.bg") == kB);
    CHECK(read_file(dir.path / "T.bg") == kT);
}

TEST_CASE("export_coverage from two fragment files: cells of several files, errors in file order") {
    const std::string text = kFragments;
    const size_t cut = text.find("chr1\t100\t150\tc2");
    TempFile a("a.tsv"), b("b.tsv");
    a.write(text.substr(0, cut));  // c0, c1
    b.write(text.substr(cut));     // c2, c3, and c0's chrUn line
    {
        TempDir dir;
        FragmentFiles files({{a.path(), "a", {"c0", "c1"}, {0, 1}}, {b.path(), "b", {"c2", "c0"}, {2, 0}}},
                            files_options({0, 0, 1}, 2));
        export_coverage(plan(dir), files);
        CHECK(read_file(dir.path / "B.bg") == kB);
        CHECK(read_file(dir.path / "T.bg") == kT);
    }
    {  // a cell without a known sample occurring in both files (13.6)
        TempFile c("c.tsv");
        c.write("chr1\t100\t150\tc0\t1\n");
        TempDir dir;
        FragmentFilesOptions o = files_options({0, 0, 1}, 2);
        o.check_one_file_per_cell = true;
        o.cell_names = {"c0", "c1", "c2"};
        FragmentFiles files({{a.path(), "a", {"c0", "c1"}, {0, 1}}, {c.path(), "c", {"c0"}, {0}}}, o);
        CHECK_THROWS_WITH_AS(export_coverage(plan(dir), files),
                             doctest::Contains("barcode 'c0' of the groups table occurs in two fragment files"),
                             std::invalid_argument);
        CHECK(dir.names().empty());
    }
    {  // two bad files: the first one's error, although the second failed first (chunks of 2
       // lines: bad1 hands out a good chunk, then bad2 fails, then bad1)
        TempFile bad1("bad1.tsv"), bad2("bad2.tsv");
        bad1.write("chr1\t10\t20\tc0\t1\nchr1\t10\t20\tc0\t1\nchr1\t10\t20\tc0\t1\nchr1\t10\tx\tc0\t1\n");
        bad2.write("chr1\t10\ty\tc0\t1\n");
        for (int round = 0; round < 5; ++round) {
            TempDir dir;
            FragmentFilesOptions o = files_options({0}, 2);
            o.chunk_lines = 2;
            FragmentFiles files({{bad1.path(), "1", {"c0"}, {0}}, {bad2.path(), "2", {"c0"}, {0}}}, o);
            ExportPlan p = plan(dir);
            p.tracks.pop_back();
            CHECK_THROWS_WITH_AS(export_coverage(std::move(p), files), doctest::Contains("bad1.tsv: line 4"),
                                 std::invalid_argument);
        }
    }
}

TEST_CASE("export_coverage from an .h5ad's columns: every cell, a subset, cells out of file order") {
    const Matrix m;
    TempFile file("matrix.bin");
    // positions: chunks of 3 at 0, 24, 48; values: one chunk of 8 at 72
    const std::string bytes = bytes_of(m.positions, 0, 3) + bytes_of(m.positions, 3, 3) + bytes_of(m.positions, 6, 3) +
                              bytes_of(m.lengths, 0, 8);
    file.write(bytes);
    const int fd = ::open(file.path().c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    const Hdf5Layout positions = raw_layout("positions", "<i8", 8, 3, {0, 24, 48}, bytes.substr(0, 24));
    const Hdf5Layout values = raw_layout("values", "<u4", 8, 8, {72}, bytes.substr(72, 32));
    std::shared_ptr<const H5adColumns> columns = H5adColumns::open(fd, file.path(), true, positions, values);
    REQUIRE(columns);
    CHECK_FALSE(H5adColumns::open(fd, file.path(), false, positions, values));  // single-end values are int32
    Hdf5Layout moved = positions;
    moved.chunk_addresses[0] = 8;  // HDF5's bytes are not at the address
    CHECK_FALSE(H5adColumns::open(fd, file.path(), true, moved, values));
    Hdf5Layout lz4 = positions;
    lz4.filters = {{32001, {2, 2, 8, 24, 5, 1, 1}}};  // Blosc with lz4: h5py reads it
    CHECK_FALSE(H5adColumns::open(fd, file.path(), true, lz4, values));
    struct Case {
        std::vector<int64_t> rows;
        std::vector<int32_t> groups;
        uint64_t chunk_fragments;
    };
    // every cell in chunks of 1 fragment (a cell each) or all at once; the cells
    // with a group, a subset with a gap (gathered), in the order c2, c0, c1 (read
    // in file order), in one chunk or in chunks of 3 fragments
    for (const Case& c : {Case{{0, 1, 2, 3}, {0, -1, 0, 1}, 1}, Case{{0, 1, 2, 3}, {0, -1, 0, 1}, 100},
                          Case{{3, 0, 2}, {1, 0, 0}, 100}, Case{{3, 0, 2}, {1, 0, 0}, 3}}) {
        TempDir dir;
        H5adCells cells(columns, m.indptr, c.rows, c.groups, c.chunk_fragments);
        export_coverage(plan(dir, 2), cells);
        CHECK(read_file(dir.path / "B.bg") == kB);
        CHECK(read_file(dir.path / "T.bg") == kT);
    }
    CHECK_THROWS_AS(H5adCells(columns, {0, 9}, {0}, {0}), std::invalid_argument);  // past the columns
    CHECK_THROWS_AS(H5adCells(columns, m.indptr, {4}, {0}), std::invalid_argument);  // not a cell
    CHECK_THROWS_AS(H5adCells(columns, {0, 5, 3, 8}, {0}, {0}), std::invalid_argument);  // indptr decreases
    ::close(fd);
}

TEST_CASE("export_coverage: cancelled while a chunk is binned, or while a track is written, leaves nothing") {
    TempFile file("fragments.tsv");
    file.write(kFragments);
    for (const char* gate : {"bin chunk", "write track"}) {
        TempDir dir;
        test_gate::arm(gate);  // held there until the export is cancelled: no race with its speed
        FragmentFiles files({{file.path(), "", {"c0", "c1", "c2"}, {0, 1, 2}}}, files_options({0, 0, 1}, 2));
        ExportHooks hooks;
        std::atomic<int> polls{0};
        hooks.cancelled = [&] {
            ++polls;
            return test_gate::reached();
        };
        CHECK_THROWS_AS(export_coverage(plan(dir), files, hooks), Cancelled);
        CHECK(test_gate::reached());
        CHECK(dir.names().empty());  // no track, no temporary file
    }
}
