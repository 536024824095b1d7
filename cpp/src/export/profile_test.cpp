// Profiles around anchors (docs/spec.md section 16), hand-worked: the range
// sums of the kernel, then whole exports with anchors on both strands and
// at a chromosome's start, each counting strategy and a normalization.
#include "fragcov/fragcov.hpp"

#include <doctest/doctest.h>

#include "export/profile.hpp"
#include "testing/test_support.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fragcov;
using fragcov::test::PairedCells;
using fragcov::test::TempDir;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// NaN-aware equality of a row of values
bool same(const float* row, const std::vector<float>& expected) {
    for (size_t i = 0; i < expected.size(); ++i) {
        if (std::isnan(expected[i]) ? !std::isnan(row[i]) : row[i] != expected[i]) return false;
    }
    return true;
}

std::vector<float> row_of(const GroupProfile& p, size_t anchor, size_t n_bins) {
    return std::vector<float>(p.values.begin() + anchor * n_bins, p.values.begin() + (anchor + 1) * n_bins);
}

// chr1 (100 bases) and chr2 (50). Group 0: chr1 [10, 30), chr1 [20, 25), chr2 [0, 5); group 1: chr1 [50, 60).
const Genome kGenome({"chr1", "chr2"}, {100, 50});
PairedCells cells() {
    PairedCells c;
    c.indptr = {0, 3, 4};
    c.indices = {10, 20, 100, 50};
    c.lengths = {20, 5, 5, 10};
    c.groups = {0, 1};
    return c;
}

// Anchors: chr1 base 20 on + and on -, chr2 base 2 on + (its window starts before the chromosome).
const std::vector<ProfileAnchor> kAnchors = {{0, 20, false}, {0, 20, true}, {1, 2, false}};

std::vector<GroupProfile> run(ExportOptions o, std::vector<Track> tracks, ProfileOptions p = {10, 10, 5},
                              std::vector<GroupStats>* stats = nullptr) {
    GroupedExporter exporter(kGenome, {}, o, std::move(tracks));
    exporter.add_profiles(kAnchors, p);
    exporter.add_cells(cells().chunk());
    std::vector<GroupStats> st = exporter.finish();
    if (stats) *stats = st;
    return exporter.take_profiles();
}

ExportOptions raw(CountingStrategy counting) {
    ExportOptions o;
    o.format = OutputFormat::BedGraph;
    o.normalization = Normalization::None;
    o.counting = counting;
    o.bin_size = 5;
    o.n_jobs = 2;
    return o;
}

}  // namespace

TEST_CASE("range sums: exact coverage sums over consecutive ranges") {
    // units [2, 5) and [4, 8): c = 1 on 2, 3; 2 on 4; 1 on 5-7
    const std::vector<uint32_t> starts{2, 4}, ends{5, 8};
    int64_t s[3];
    range_sums(starts, ends, 0, 3, 3, s);
    CHECK(s[0] == 1);  // bases 0-2
    CHECK(s[1] == 4);  // 3, 4, 5
    CHECK(s[2] == 2);  // 6, 7, 8
    range_sums(starts, ends, -3, 3, 2, s);  // before the chromosome: nothing
    CHECK(s[0] == 0);
    CHECK(s[1] == 1);
    range_sums(starts, ends, 4, 1, 1, s);  // one base
    CHECK(s[0] == 2);
    range_sums({}, {}, 0, 10, 1, s);
    CHECK(s[0] == 0);
    const std::vector<uint32_t> same_start{3, 3, 3}, ends3{4, 5, 9};
    range_sums(same_start, ends3, 3, 6, 1, s);  // 3 + 2 + 1 + 1 + 1 + 1
    CHECK(s[0] == 9);
}

TEST_CASE("unit coverage: the sweep and the prefix-sum search give the same exact sums") {
    std::mt19937_64 rng(7);
    std::vector<uint32_t> starts, ends;
    for (int i = 0; i < 5000; ++i) {
        const uint32_t s = static_cast<uint32_t>(rng() % 100000), len = 1 + static_cast<uint32_t>(rng() % 700);
        starts.push_back(s);
        ends.push_back(s + len);
    }
    starts.push_back(UINT32_MAX - 10);  // near the largest position a chromosome can have
    ends.push_back(UINT32_MAX - 1);
    std::sort(starts.begin(), starts.end());
    std::sort(ends.begin(), ends.end());
    UnitCoverage coverage(starts, ends);
    for (int trial = 0; trial < 300; ++trial) {
        const int64_t w = 1 + static_cast<int64_t>(rng() % 5000), lo = static_cast<int64_t>(rng() % 120000) - 10000;
        const size_t n = 1 + rng() % 60;
        std::vector<int64_t> a(n), b(n), c(n);
        range_sums(starts, ends, lo, w, n, a.data());
        coverage.sums_by_search(lo, w, n, b.data());
        coverage.sums(lo, w, n, c.data());
        CHECK(a == b);
        CHECK(a == c);
    }
    int64_t all;  // one range over everything: the units' summed length
    coverage.sums_by_search(0, int64_t{UINT32_MAX}, 1, &all);
    int64_t total = 0;
    for (size_t i = 0; i < starts.size(); ++i) total += int64_t{ends[i]} - int64_t{starts[i]};
    CHECK(all == total);
}

TEST_CASE("profile options: ranges and multiples of bin_size") {
    CHECK_NOTHROW(validate(ProfileOptions{}));
    CHECK(ProfileOptions{}.n_bins() == 400);
    CHECK_THROWS_WITH_AS(validate(ProfileOptions{2005, 2000, 10}), doctest::Contains("not a multiple of bin_size"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(validate(ProfileOptions{-10, 2000, 10}), "upstream must be 0-2^31, got -10",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(validate(ProfileOptions{0, 0, 10}), doctest::Contains("holds no base"),
                         std::invalid_argument);
    CHECK_THROWS_AS(validate(ProfileOptions{10, 10, 0}), std::invalid_argument);
    CHECK_THROWS_AS(validate(ProfileOptions{0, (int64_t{1} << 31) + 1, 1}), std::invalid_argument);
    CHECK_NOTHROW(validate(ProfileOptions{0, 5, 5}));
}

TEST_CASE("insertions around anchors on both strands and at a chromosome's start") {
    // insertions of group 0: chr1 10, 29, 20, 24; chr2 0, 4. Bins of 5 bases, r from -10 to 10.
    const auto p = run(raw(CountingStrategy::Insertion), {Track{""}, Track{""}});
    REQUIRE(p.size() == 2);
    REQUIRE(p[0].values.size() == 3 * 4);
    // +: bases 10-14 (10), 15-19, 20-24 (20, 24), 25-29 (29); means over 5 bases
    CHECK(same(&p[0].values[0], {0.2f, 0.0f, 0.4f, 0.2f}));
    // -: r at base 20 - r: bin 0 is bases 30..26 (none; 29 is r = -9: yes), 25..21 (24), 20..16 (20), 15..11
    CHECK(same(&p[0].values[4], {0.2f, 0.2f, 0.2f, 0.0f}));
    // chr2 base 2: bins over bases -8..-4 and -3..1 leave the chromosome
    CHECK(same(&p[0].values[8], {kNaN, kNaN, 0.2f, 0.0f}));
    // group 1 (insertions at 50 and 59) has nothing in these windows
    CHECK(same(&p[1].values[0], {0.0f, 0.0f, 0.0f, 0.0f}));
    CHECK(same(&p[1].values[8], {kNaN, kNaN, 0.0f, 0.0f}));
    // TSS counts: the centre (base 20 +- 50) holds all four chr1 insertions of group 0, both of group 1
    CHECK(p[0].tss_centre == std::vector<uint64_t>{4, 4, 2});
    CHECK(p[1].tss_centre == std::vector<uint64_t>{2, 2, 0});
    CHECK(p[0].tss_flank == std::vector<uint64_t>{0, 0, 0});
}

TEST_CASE("whole fragments, CPM and scale_factor") {
    auto o = raw(CountingStrategy::Fragment);
    auto p = run(o, {Track{""}, Track{""}});
    // chr1 [10, 30) and [20, 25): 1 on 10-19, 2 on 20-24, 1 on 25-29
    CHECK(row_of(p[0], 0, 4) == std::vector<float>{1.0f, 1.0f, 2.0f, 1.0f});
    // -: bases 30..26 (4 x 1), 25..21 (1 + 4 x 2), 20..16 (2 + 4 x 1), 15..11 (5 x 1)
    CHECK(row_of(p[0], 1, 4) == std::vector<float>{0.8f, 1.8f, 1.2f, 1.0f});
    o.counting = CountingStrategy::Insertion;
    o.normalization = Normalization::CPM;  // N = 6 insertions: sum / (5 x 6e-6) x 2
    o.scale_factor = 2;
    std::vector<GroupStats> st;
    p = run(o, {Track{""}, Track{""}}, {10, 10, 5}, &st);
    CHECK(st[0].denominator == 6 / 1e6);
    const float one = static_cast<float>(1.0 / (5 * (6 / 1e6)) * 2), two = static_cast<float>(2.0 / (5 * (6 / 1e6)) * 2);
    CHECK(row_of(p[0], 0, 4) == std::vector<float>{one, 0.0f, two, one});
}

TEST_CASE("a group without units gets zeros; tracks and profiles come from one pass") {
    TempDir dir;
    const std::string a = (dir.path / "A.bedgraph").string();
    auto o = raw(CountingStrategy::Insertion);
    o.normalization = Normalization::CPM;
    PairedCells only_a = cells();
    only_a.groups = {0, -1};  // group 1 gets no cell
    GroupedExporter exporter(kGenome, {}, o, std::vector<Track>{Track{a}, Track{""}});
    exporter.add_profiles(kAnchors, {10, 10, 5});
    exporter.add_cells(only_a.chunk());
    const auto st = exporter.finish();
    const auto p = exporter.take_profiles();
    CHECK(dir.names() == std::vector<std::string>{"A.bedgraph"});  // the track with a path only
    CHECK(!fragcov::test::read_file(a).empty());
    CHECK(st[1].denominator == 0);
    CHECK(same(&p[1].values[0], {0.0f, 0.0f, 0.0f, 0.0f}));
    CHECK(same(&p[1].values[8], {kNaN, kNaN, 0.0f, 0.0f}));
    CHECK(p[0].values[2] == static_cast<float>(2.0 / (5 * (6 / 1e6))));
}

TEST_CASE("the same profiles whatever the threads and the spill budget") {
    auto o = raw(CountingStrategy::Fragment);
    const auto base = run(o, {Track{""}, Track{""}});
    o.n_jobs = 1;
    o.memory_budget_bytes = 0;  // spill every 256 units
    const auto other = run(o, {Track{""}, Track{""}});
    for (size_t g = 0; g < 2; ++g) {
        REQUIRE(other[g].values.size() == base[g].values.size());
        for (size_t i = 0; i < base[g].values.size(); ++i)
            CHECK((std::isnan(base[g].values[i]) ? std::isnan(other[g].values[i])
                                                  : base[g].values[i] == other[g].values[i]));
        CHECK(other[g].tss_centre == base[g].tss_centre);
    }
}

TEST_CASE("a window far larger than the chromosome: NaN outside, one exact bin inside") {
    auto o = raw(CountingStrategy::Fragment);
    const int64_t big = int64_t{1} << 30;
    const auto p = run(o, {Track{""}, Track{""}}, {big, big, big});  // bins [a - 2^30, a) and [a, a + 2^30)
    CHECK(std::isnan(p[0].values[0]));
    CHECK(std::isnan(p[0].values[1]));
    // one bin of 100 bases from base 0 on + and from base 99 on -: all of chr1 (its 4 insertions)
    o.counting = CountingStrategy::Insertion;
    GroupedExporter exporter(kGenome, {}, o, std::vector<Track>{Track{""}, Track{""}});
    exporter.add_profiles({{0, 0, false}, {0, 99, true}, {0, 1, false}}, {0, 100, 100});
    exporter.add_cells(cells().chunk());
    exporter.finish();
    const auto q = exporter.take_profiles();
    CHECK(q[0].values[0] == static_cast<float>(4.0 / 100));
    CHECK(q[0].values[1] == static_cast<float>(4.0 / 100));
    CHECK(std::isnan(q[0].values[2]));  // from base 1: base 100 is past chr1's end
}

TEST_CASE("the exporter refuses profiles it cannot compute") {
    auto o = raw(CountingStrategy::Insertion);
    GroupedExporter plain(kGenome, {}, o, std::vector<Track>{Track{""}});
    CHECK_THROWS_WITH_AS(plain.add_profiles({{2, 0, false}}, {}), doctest::Contains("anchor 0 is on chromosome 2"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(plain.add_profiles({{0, -1, false}}, {}), doctest::Contains("0 <= position < 2^62"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(plain.add_profiles({{0, 0, false}}, {15, 10, 10}), doctest::Contains("multiple of bin_size"),
                         std::invalid_argument);
    // 100 groups x 2^32 bins of 4 bytes: more than any machine's memory
    std::vector<Track> many(100, Track{""});
    GroupedExporter huge(kGenome, {}, o, many);
    CHECK_THROWS_WITH_AS(huge.add_profiles({{0, 0, false}}, {int64_t{1} << 31, int64_t{1} << 31, 1}),
                         doctest::Contains("more than this machine's memory"), std::invalid_argument);
    o.ceiling = 1;
    GroupedExporter capped(kGenome, {}, o, std::vector<Track>{Track{""}});
    CHECK_THROWS_WITH_AS(capped.add_profiles({{0, 0, false}}, {}), doctest::Contains("ceiling"),
                         std::invalid_argument);
    o.ceiling.reset();
    o.compare = CompareOperation::Log2;
    o.normalization = Normalization::CPM;
    GroupedExporter compared(kGenome, {}, o, std::vector<Track>{Track{""}, Track{""}});
    CHECK_THROWS_WITH_AS(compared.add_profiles({{0, 0, false}}, {}), doctest::Contains("comparison"),
                         std::invalid_argument);
}
