// The core guards itself (docs/spec.md section 11): hostile chunks, genomes and
// options fed straight into the library, built with ASan + UBSan, must give
// std::invalid_argument or a correct export - never a crash or a wrong read.
#include "fragcov/fragcov.hpp"

#include <doctest/doctest.h>

#include "testing/test_support.hpp"
#include "util/worker_team.hpp"

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <limits>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fragcov;
using fragcov::test::export_texts;
using fragcov::test::PairedCells;
using fragcov::test::read_file;
using fragcov::test::TempDir;
namespace fs = std::filesystem;

namespace {


ExportOptions bedgraph_raw() {
    ExportOptions o;
    o.format = OutputFormat::BedGraph;
    o.normalization = Normalization::None;
    o.max_frag_length.reset();
    o.n_jobs = 2;
    return o;
}

}  // namespace

TEST_CASE("Genome refuses names and lengths that would corrupt the output") {
    CHECK_THROWS_WITH_AS(Genome({"chr1", "chr1"}, {10, 20}), doctest::Contains("same name as reference sequence 0"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(Genome({"chr1", ""}, {10, 20}), doctest::Contains("empty name"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Genome({"chr 1"}, {10}), doctest::Contains("whitespace"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Genome({"chr1\n"}, {10}), doctest::Contains("'chr1\\x0a'"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Genome({"chr1"}, {0}), doctest::Contains("length 0"), std::invalid_argument);
    CHECK_THROWS_AS(Genome({"a", "b"}, {uint64_t{1} << 62, uint64_t{1} << 62}), std::invalid_argument);
    CHECK_THROWS_AS(Genome({"a"}, {1, 2}), std::invalid_argument);
    const Genome g({"chr1", "chr2"}, {1000, 500});
    CHECK(g.chrom_of(999) == 0);
    CHECK(g.chrom_of(1000) == 1);
    CHECK(g.chrom_of(1500) == -1);
}

TEST_CASE("options: one place for ranges and spellings") {
    ExportOptions o;
    CHECK_NOTHROW(validate(o));
    o.bin_size = 0;
    CHECK_THROWS_WITH_AS(validate(o), "bin_size must be >= 1, got 0", std::invalid_argument);
    o.bin_size = kMaxBinSize + 1;
    CHECK_THROWS_AS(validate(o), std::invalid_argument);
    o = ExportOptions{};
    o.min_frag_length = 300;
    o.max_frag_length = 100;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("larger than max_frag_length"), std::invalid_argument);
    o = ExportOptions{};
    o.compression = Compression::Gzip;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("compressed internally"), std::invalid_argument);
    o.format = OutputFormat::BedGraph;
    o.compression_level = 10;
    CHECK_THROWS_WITH_AS(validate(o), "gzip compression_level must be 1-9, got 10", std::invalid_argument);
    CHECK(resolve_compression_level(Compression::Gzip, std::nullopt) == 6);
    CHECK(resolve_compression_level(Compression::Zstd, std::nullopt) == 3);
    CHECK(resolve_compression_level(Compression::None, 99) == 0);
    CHECK(parse_normalization("rpkm") == Normalization::RPKM);
    CHECK(parse_compression("ZST") == Compression::Zstd);
    CHECK(std::string(to_string(parse_counting_strategy("Insertion"))) == "insertion");
    CHECK_THROWS_WITH_AS(parse_normalization("TPM"), doctest::Contains("unknown normalization 'TPM'"),
                         std::invalid_argument);
}

TEST_CASE("GroupedExporter refuses unusable outputs before any file exists") {
    TempDir dir;
    const Genome genome({"chr1"}, {1000});
    const std::string long_name(240, 'x');
    CHECK_THROWS_WITH_AS(GroupedExporter(genome, {}, bedgraph_raw(), {(dir.path / long_name).string()}),
                         doctest::Contains("240 bytes long"), std::invalid_argument);
    fs::create_directory(dir.path / "d.bg");
    CHECK_THROWS_WITH_AS(GroupedExporter(genome, {}, bedgraph_raw(), {(dir.path / "d.bg").string()}),
                         doctest::Contains("is a directory"), std::invalid_argument);
    const std::string same = (dir.path / "a.bg").string();
    CHECK_THROWS_WITH_AS(GroupedExporter(genome, {}, bedgraph_raw(), {same, same}),
                         doctest::Contains("same output path"), std::invalid_argument);
    ExportOptions o = bedgraph_raw();
    o.tempdir = (dir.path / "missing").string();
    CHECK_THROWS_AS(GroupedExporter(genome, {}, o, {same}), std::system_error);
    CHECK(dir.names().size() == 1);  // only the directory made above
}

TEST_CASE("add_cells refuses inconsistent chunks and the export stays exact") {
    TempDir dir;
    const Genome genome({"chr1", "chr2"}, {1000, 500});
    const std::vector<std::string> paths{(dir.path / "g0.bg").string(), (dir.path / "g1.bg").string()};
    GroupedExporter exporter(genome, {}, bedgraph_raw(), paths);

    // three fragments; each call gives its own cell boundaries and groups
    auto cells = [](std::vector<int64_t> indptr, std::vector<int32_t> groups) {
        return PairedCells{std::move(indptr), {100, 1010, 1499}, {50, 20, 5}, std::move(groups)};
    };
    CHECK_THROWS_WITH_AS(exporter.add_cells(cells({0, 2, 4}, {0, 1}).chunk()), doctest::Contains("past the chunk's 3"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(exporter.add_cells(cells({0, 2, 1}, {0, 1}).chunk()),
                         doctest::Contains("decreases at cell 1"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(exporter.add_cells(cells({1, 2, 3}, {0, 1}).chunk()), doctest::Contains("start at 0"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(exporter.add_cells(cells({0, 2, 3}, {0, 2}).chunk()), doctest::Contains("group id 2"),
                         std::invalid_argument);
    const PairedCells negative{{0, 1, 1}, {-1}, {50}, {0, 1}};
    CHECK_THROWS_WITH_AS(exporter.add_cells(negative.chunk()), doctest::Contains("position -1, outside"),
                         std::invalid_argument);

    // the rejected chunks left nothing behind: this good one alone makes the tracks
    exporter.add_cells(cells({0, 2, 3}, {0, 1}).chunk());
    exporter.finish();
    // hand-worked, bin 10, no normalization: g0 = chr1:100-150 and chr2:10-30; g1 = chr2:499-504 cut at 500
    CHECK(read_file(paths[0]) == "chr1\t100\t150\t1\nchr2\t10\t30\t1\n");
    CHECK(read_file(paths[1]) == "chr2\t490\t500\t1\n");
    CHECK(dir.names().size() == 2);
}

TEST_CASE("random hostile chunks: an error or an export, never a crash") {
    std::mt19937_64 rng(20261126);
    const Genome genome({"chr1", "chr2"}, {1000, 500});
    int accepted = 0, refused = 0;
    for (int round = 0; round < 400; ++round) {
        TempDir dir;
        ExportOptions o = bedgraph_raw();
        o.bin_size = 1 + static_cast<int64_t>(rng() % 20);
        o.smooth_base = rng() % 3 == 0 ? std::optional<int64_t>(1 + rng() % 30) : std::nullopt;
        o.counting = rng() % 2 ? CountingStrategy::Insertion : CountingStrategy::Fragment;
        const bool single_end = rng() % 2;
        GroupedExporter exporter(genome, {}, o, {(dir.path / "a.bg").string(), (dir.path / "b.bg").string()});
        const size_t n_cells = rng() % 6, n_frags = rng() % 12;
        std::vector<int64_t> indptr(n_cells + 1), indices(n_frags);
        std::vector<uint32_t> lengths(n_frags);
        std::vector<int32_t> signed_lengths(n_frags), groups(n_cells);
        auto wild = [&]() -> int64_t {
            switch (rng() % 4) {
                case 0: return static_cast<int64_t>(rng());  // anything, negative included
                case 1: return -static_cast<int64_t>(rng() % 5);
                default: return static_cast<int64_t>(rng() % 1600);
            }
        };
        for (auto& x : indptr) x = rng() % 5 == 0 ? wild() : static_cast<int64_t>(rng() % (n_frags + 1));
        if (rng() % 2) std::sort(indptr.begin(), indptr.end());
        if (rng() % 2) indptr[0] = 0;
        for (auto& x : indices) x = wild();
        for (auto& x : lengths) x = static_cast<uint32_t>(rng());
        for (auto& x : signed_lengths) x = static_cast<int32_t>(rng());
        for (auto& x : groups) x = static_cast<int32_t>(rng() % 6) - 2;
        CellChunk ch;
        ch.n_cells = n_cells;
        ch.n_fragments = n_frags;
        ch.indptr = indptr.data();
        ch.indices = indices.data();
        if (single_end) ch.signed_lengths = signed_lengths.data();
        else ch.lengths = lengths.data();
        ch.cell_group = groups.data();
        try {
            exporter.add_cells(ch);
            ++accepted;
        } catch (const std::invalid_argument&) {
            ++refused;
        }
        exporter.finish();
        CHECK(dir.names().size() == 2);
    }
    CHECK(accepted > 20);
    CHECK(refused > 20);
}

namespace {

// Two cells on a 100-base chr1, bin 10, one track. Cell A: [0,30), [10,30),
// [15,25); cell B: [10,20). Per-cell bin counts: A = 1, 3, 3 on bins 0-2;
// B = 1 on bin 1; summed: 1, 4, 3.
std::string export_two_cells(ExportOptions o, Regions regions = {}, Track track = Track{},
                             GroupStats* stats = nullptr) {
    TempDir dir;
    track.path = (dir.path / "t.bg").string();
    o.format = OutputFormat::BedGraph;
    std::vector<GroupStats> st;
    const std::string text = export_texts(Genome({"chr1"}, {100}), std::move(regions), o, {track},
                                          PairedCells{{0, 3, 4}, {0, 10, 15, 10}, {30, 20, 10, 10}, {0, 0}}, &st)[0];
    if (stats) *stats = st[0];
    return text;
}

}  // namespace

TEST_CASE("ceiling caps each cell's contribution to a bin before cells are summed") {
    ExportOptions o = bedgraph_raw();
    CHECK(export_two_cells(o) == "chr1\t0\t10\t1\nchr1\t10\t20\t4\nchr1\t20\t30\t3\n");
    o.ceiling = 2;  // A becomes 1, 2, 2
    GroupStats st;
    CHECK(export_two_cells(o, {}, Track{}, &st) == "chr1\t0\t10\t1\nchr1\t10\t20\t3\nchr1\t20\t30\t2\n");
    CHECK(st.bin_sum == 6);     // S uses the capped values
    CHECK(st.norm_count == 4);  // N does not
    CHECK(st.norm_length == 70);
    o.ceiling = 1;  // A becomes 1, 1, 1
    CHECK(export_two_cells(o) == "chr1\t0\t10\t1\nchr1\t10\t20\t2\nchr1\t20\t30\t1\n");
    o.ceiling = 3;  // nothing to cap
    CHECK(export_two_cells(o) == "chr1\t0\t10\t1\nchr1\t10\t20\t4\nchr1\t20\t30\t3\n");
}

TEST_CASE("per-track normalizations: RPGC, n_cells, norm_by, scale_factor") {
    ExportOptions o = bedgraph_raw();
    o.normalization = Normalization::RPGC;
    o.effective_genome_size = 140;  // value = v * G / L = v * 140 / 70 = 2v
    GroupStats st;
    CHECK(export_two_cells(o, {}, Track{}, &st) == "chr1\t0\t10\t2\nchr1\t10\t20\t8\nchr1\t20\t30\t6\n");
    CHECK(st.denominator == 0.5);
    o = bedgraph_raw();
    o.normalization = Normalization::NCells;  // v / 4 cells
    CHECK(export_two_cells(o, {}, Track{"", 4}) == "chr1\t0\t10\t0.25\nchr1\t10\t20\t1\nchr1\t20\t30\t0.75\n");
    CHECK(export_two_cells(o, {}, Track{"", 0}, &st).empty());  // no cells: an empty track
    CHECK(st.denominator == 0);
    o = bedgraph_raw();
    o.norm_by = true;  // v * 1e4 / Q with Q = 20000: v / 2; then x 3
    o.scale_factor = 3;
    CHECK(export_two_cells(o, {}, Track{"", 0, 20000}) == "chr1\t0\t10\t1.5\nchr1\t10\t20\t6\nchr1\t20\t30\t4.5\n");
    o.normalization = Normalization::CPM;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("needs normalization=None"), std::invalid_argument);
    o = bedgraph_raw();
    o.normalization = Normalization::RPGC;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("needs effective_genome_size"), std::invalid_argument);
    o.normalization = Normalization::CPM;
    o.effective_genome_size = 10;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("only used by normalization='RPGC'"), std::invalid_argument);
    o = bedgraph_raw();
    o.scale_factor = 0;
    CHECK_THROWS_AS(validate(o), std::invalid_argument);
    o.scale_factor = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(validate(o), std::invalid_argument);
    o.scale_factor = 1;
    o.ceiling = 0;
    CHECK_THROWS_AS(validate(o), std::invalid_argument);
}

TEST_CASE("output regions cut records at their edges and leave the values as they were") {
    Regions r;
    r.output = RegionIndex(1, {0, 0}, {15, 95}, {25, 100});
    r.has_output = true;
    CHECK(export_two_cells(bedgraph_raw(), r) == "chr1\t15\t20\t4\nchr1\t20\t25\t3\n");
    ExportOptions bpm = bedgraph_raw();
    bpm.normalization = Normalization::BPM;  // S = 8 whatever the regions: 4 / 8e-6 = 500000
    CHECK(export_two_cells(bpm, r) == "chr1\t15\t20\t500000\nchr1\t20\t25\t375000\n");
}

TEST_CASE("chunks binned in any slot, through a WorkerTeam, give the bytes of one thread") {
    // 3 groups on two chromosomes, random fragments; ceiling on and the smallest
    // memory budget (a slot spills every 65,536 units), so that the per-slot
    // cell buffers, counts and spilled shards are all exercised
    std::mt19937_64 rng(99);
    const Genome genome({"chr1", "chr2"}, {200000, 50000});
    const size_t n_cells = 300;
    std::vector<int64_t> indptr{0}, indices;
    std::vector<uint32_t> lengths;
    std::vector<int32_t> groups;
    for (size_t cell = 0; cell < n_cells; ++cell) {
        const size_t n = rng() % 1200;
        std::vector<int64_t> pos(n);
        for (auto& p : pos) p = static_cast<int64_t>(rng() % 249000);
        std::sort(pos.begin(), pos.end());
        for (int64_t p : pos) indices.push_back(p), lengths.push_back(1 + static_cast<uint32_t>(rng() % 700));
        indptr.push_back(static_cast<int64_t>(indices.size()));
        groups.push_back(static_cast<int32_t>(rng() % 4) - 1);  // -1: no group
    }
    REQUIRE(2 * indices.size() > 4 * 65536);  // two insertions per fragment: the slots spill
    auto export_all = [&](int n_jobs, size_t cells_per_chunk, bool team) {
        TempDir dir;
        ExportOptions o = bedgraph_raw();
        o.counting = CountingStrategy::Insertion;
        o.ceiling = 2;
        o.memory_budget_bytes = 1;
        o.n_jobs = n_jobs;
        std::vector<std::string> paths;
        for (int g = 0; g < 3; ++g) paths.push_back((dir.path / ("g" + std::to_string(g) + ".bg")).string());
        GroupedExporter exporter(genome, {}, o, paths);
        // chunk k: cells [k * cells_per_chunk, ...), indptr rebased to 0
        std::vector<std::vector<int64_t>> rebased;
        std::vector<CellChunk> chunks;
        for (size_t a = 0; a < n_cells; a += cells_per_chunk) {
            const size_t b = std::min(n_cells, a + cells_per_chunk);
            std::vector<int64_t> ip;
            for (size_t c = a; c <= b; ++c) ip.push_back(indptr[c] - indptr[a]);
            rebased.push_back(std::move(ip));
            CellChunk ch;
            ch.n_cells = b - a;
            ch.n_fragments = static_cast<size_t>(indptr[b] - indptr[a]);
            ch.indices = indices.data() + indptr[a];
            ch.lengths = lengths.data() + indptr[a];
            ch.cell_group = groups.data() + a;
            chunks.push_back(ch);
        }
        for (size_t k = 0; k < chunks.size(); ++k) chunks[k].indptr = rebased[k].data();
        if (team) {
            WorkerTeam workers(exporter.binning_slots(), exporter.binning_slots() + 1);
            for (const CellChunk& ch : chunks)
                workers.submit([&exporter, ch](size_t slot) { exporter.add_cells(ch, slot); });
            workers.wait();
        } else {
            for (size_t k = 0; k < chunks.size(); ++k) exporter.add_cells(chunks[k], k % exporter.binning_slots());
        }
        const std::vector<GroupStats> stats = exporter.finish();
        std::string all;
        for (size_t g = 0; g < paths.size(); ++g)
            all += read_file(paths[g]) + "|" + std::to_string(stats[g].n_units) + "," +
                   std::to_string(stats[g].norm_count) + "," + std::to_string(stats[g].bin_sum) + "\n";
        return all;
    };
    const std::string one = export_all(1, n_cells, false);
    CHECK(one.size() > 10000);
    CHECK(export_all(1, 7, false) == one);
    CHECK(export_all(2, 7, false) == one);  // chunks alternate between the slots (with 2 processors)
    CHECK(export_all(2, 13, true) == one);
    CHECK(export_all(0, 1, true) == one);
    CHECK_THROWS_WITH_AS(GroupedExporter(genome, {}, bedgraph_raw(), std::vector<std::string>{"/tmp/x.bg"})
                             .add_cells(CellChunk{}, 64),
                         doctest::Contains("binning slot 64 does not exist"), std::invalid_argument);
}
