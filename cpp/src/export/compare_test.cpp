// Comparison tracks (docs/spec.md section 14), hand-worked on one 50-base
// chromosome in bins of 10, normalization None:
//   A: [0,20)           -> bins 0,1 = 1
//   B: [10,20) [30,40)  -> bins 1,3 = 1
//   C: [10,20)          -> bin 1   = 1
// so the rest of A (B + C) is bin 1 = 2, bin 3 = 1.
#include "fragcov/fragcov.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "testing/test_support.hpp"

using namespace fragcov;
using fragcov::test::export_texts;
using fragcov::test::PairedCells;
using fragcov::test::TempDir;

namespace {

ExportOptions compare_options(CompareOperation op, double pseudocount = 1.0) {
    ExportOptions o;
    o.format = OutputFormat::BedGraph;
    o.normalization = Normalization::None;
    o.max_frag_length.reset();
    o.n_jobs = 2;
    o.compare = op;
    o.pseudocount = pseudocount;
    return o;
}

// Runs the three groups above into `tracks` (path "" = binned only) and
// returns the text of each written track, in track order.
std::vector<std::string> run(const ExportOptions& o, std::vector<Track> tracks, std::vector<GroupStats>* stats = nullptr,
                             bool only_a = false) {
    PairedCells cells{{0, 1, 3, 4}, {0, 10, 30, 10}, {20, 10, 10, 10}, {0, 1, 2}};
    if (only_a) cells.groups = {0, -1, -1};
    return export_texts(Genome({"chr1"}, {50}), {}, o, std::move(tracks), cells, stats);
}

Track track(const TempDir& dir, const char* name, int32_t reference = Track::kRest) {
    Track t(name[0] ? (dir.path / name).string() : std::string());
    t.reference = reference;
    return t;
}

}  // namespace

TEST_CASE("compare: difference of each group and the rest of the cells") {
    TempDir dir;
    const auto out = run(compare_options(CompareOperation::Difference),
                         {track(dir, "A.bg"), track(dir, "B.bg"), track(dir, "C.bg")});
    CHECK(out[0] == "chr1\t0\t10\t1\nchr1\t10\t20\t-1\nchr1\t30\t40\t-1\n");  // A - (B + C)
    CHECK(out[1] == "chr1\t0\t20\t-1\nchr1\t30\t40\t1\n");   // B - (A + C): 0 - 1, 1 - 2 (merged), 1 - 0
    CHECK(out[2] == "chr1\t0\t20\t-1\nchr1\t30\t40\t-1\n");  // C - (A + B): 0 - 1, 1 - 2, 0 - 1
}

TEST_CASE("compare: ratio writes 1 where both sides are 0; a binned-only group is part of the rest") {
    TempDir dir;
    std::vector<GroupStats> st;
    const auto out = run(compare_options(CompareOperation::Ratio), {track(dir, "A.bg"), track(dir, ""), track(dir, "")},
                         &st);
    REQUIRE(out.size() == 1);
    // (1+1)/(0+1), (1+1)/(2+1), (0+1)/(0+1), (0+1)/(1+1), (0+1)/(0+1)
    CHECK(out[0] == "chr1\t0\t10\t2\nchr1\t10\t20\t0.6666667\nchr1\t20\t30\t1\nchr1\t30\t40\t0.5\nchr1\t40\t50\t1\n");
    CHECK(dir.names().size() == 1);  // no file for the binned-only groups
    CHECK(st[0].denominator == 1.0);
    CHECK(st[0].reference_denominator == 1.0);
}

TEST_CASE("compare: log2 against one named group, and smoothing of each side first") {
    TempDir dir;
    auto out = run(compare_options(CompareOperation::Log2), {track(dir, "A.bg", 1), track(dir, ""), track(dir, "")});
    CHECK(out[0] == "chr1\t0\t10\t1\nchr1\t30\t40\t-1\n");  // log2(2/1), log2(2/2) = 0 not written, log2(1/2)
    // smooth_base 20 (left 9, right 10): A's window sums over bases; vs B, p = 1
    ExportOptions o = compare_options(CompareOperation::Difference, 0);
    o.smooth_base = 20;
    out = run(o, {track(dir, "A2.bg", 1), track(dir, ""), track(dir, "")});
    // A - B per base = (sum_A - sum_B) / 20, window [i - 10, i + 9]: for i <= 10, A holds i + 10 bases
    // (at most 20) and B i bases of [10, 20): 10 / 20 = 0.5; at 11, (19 - 10) / 20 = 0.45
    CHECK(out[0].rfind("chr1\t0\t11\t0.5\nchr1\t11\t12\t0.45\n", 0) == 0);
}

TEST_CASE("compare: an empty rest gives an empty track; pseudocount and reference are checked") {
    TempDir dir;
    ExportOptions o = compare_options(CompareOperation::Log2);
    o.normalization = Normalization::CPM;
    std::vector<GroupStats> st;
    const auto out = run(o, {track(dir, "A.bg"), track(dir, "B.bg"), track(dir, "C.bg")}, &st, true);
    CHECK(out[0].empty());                       // B and C have no units: N of the rest is 0
    CHECK(st[0].denominator == doctest::Approx(1e-6));
    CHECK(st[0].reference_denominator == 0.0);
    CHECK(out[1].empty());                       // B itself has N = 0
    o.pseudocount = 0;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("pseudocount must be a finite number > 0"),
                         std::invalid_argument);
    o.compare = CompareOperation::Difference;
    CHECK_NOTHROW(validate(o));
    o.norm_by = true;
    o.normalization = Normalization::None;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("norm_by is not available"), std::invalid_argument);
    CHECK(parse_compare_operation("LOG2") == CompareOperation::Log2);
    CHECK_THROWS_AS(parse_compare_operation("log10"), std::invalid_argument);
    const Genome genome({"chr1"}, {50});
    Track self = track(dir, "S.bg", 0);
    CHECK_THROWS_WITH_AS(GroupedExporter(genome, {}, compare_options(CompareOperation::Log2), {self}),
                         doctest::Contains("another group's index"), std::invalid_argument);
}
