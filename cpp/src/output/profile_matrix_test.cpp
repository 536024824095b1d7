// deepTools' matrix file (docs/spec.md section 16.7): the text, hand-written;
// many gzip members read as one stream; the same bytes on any thread count;
// nothing left behind on cancellation.
#include "output/profile_matrix.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fragcov/cancelled.hpp"
#include "testing/test_support.hpp"

using namespace fragcov;
using fragcov::test::read_file;
using fragcov::test::TempDir;

namespace {

std::string gunzip(const std::string& path) {  // every member, as gzip readers do
    gzFile f = gzopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    gzclose(f);
    return out;
}

}  // namespace

TEST_CASE("rows: prefix, then each sample's bins; shortest float32 text; nan") {
    TempDir dir;
    const std::string path = (dir.path / "m.gz").string();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> a{0.1f, 2.0f, nan, 1e-7f}, b{3.0f, 0.0f, 123456.78f, 0.333333343f};  // 2 rows x 2 bins
    write_deeptools_matrix(path, "{\"x\":1}", {"chr1\t0\t10\tA\t0\t+", "chr2\t5\t6\tB\t0\t-"}, {a.data(), b.data()},
                           2, 2);
    CHECK(gunzip(path) ==
          "@{\"x\":1}\n"
          "chr1\t0\t10\tA\t0\t+\t0.1\t2\t3\t0\n"
          "chr2\t5\t6\tB\t0\t-\tnan\t1e-07\t123456.78\t0.33333334\n");
    CHECK(dir.names() == std::vector<std::string>{"m.gz"});
}

TEST_CASE("many blocks: one stream, the same bytes on 1 and 3 threads") {
    TempDir dir;
    const size_t rows = 5000, bins = 200;  // about 20 MB of text: several gzip members
    std::vector<float> v(rows * bins);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 977) / 7.0f;
    std::vector<std::string> prefixes;
    for (size_t r = 0; r < rows; ++r) prefixes.push_back("chr1\t" + std::to_string(r) + "\t" + std::to_string(r + 1) +
                                                         "\tr\t0\t.");
    const std::string one = (dir.path / "1.gz").string(), three = (dir.path / "3.gz").string();
    write_deeptools_matrix(one, "{}", prefixes, {v.data()}, bins, 1);
    write_deeptools_matrix(three, "{}", prefixes, {v.data()}, bins, 3);
    CHECK(read_file(one) == read_file(three));
    const std::string text = gunzip(one);
    size_t lines = 0;
    for (char c : text) lines += c == '\n';
    CHECK(lines == rows + 1);
    CHECK(text.rfind("@{}\nchr1\t0\t1\tr\t0\t.\t0\t0.14285715\t0.2857143\t", 0) == 0);
}

TEST_CASE("a cancelled or refused write leaves nothing") {
    TempDir dir;
    const std::string path = (dir.path / "m.gz").string();
    const std::vector<float> v{1.0f};
    CHECK_THROWS_AS(write_deeptools_matrix(path, "{}", {"chr1\t0\t1\tA\t0\t+"}, {v.data()}, 1, 1, [] { return true; }),
                    Cancelled);
    CHECK_THROWS_AS(write_deeptools_matrix(path, "{}", {"chr1\t0\t1\tA\n0\t+"}, {v.data()}, 1, 1),
                    std::invalid_argument);
    CHECK(dir.names().empty());
}
