// OutputFile / AtomicPath: a file appears only when committed, complete.
#include "output/output_file.hpp"

#include <doctest/doctest.h>

#include "testing/test_support.hpp"
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace fragcov;
using fragcov::test::read_file;
using fragcov::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string gunzip(const fs::path& p) {
    gzFile f = gzopen(p.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string out;
    char buf[4096];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    gzclose(f);
    return out;
}

}  // namespace

TEST_CASE("an uncommitted file leaves nothing; a committed one replaces the old file whole") {
    TempDir dir;
    const std::string path = (dir.path / "t.txt.gz").string();
    {
        std::ofstream(path) << "old";
        OutputFile f(path, Compression::Gzip, 9);
        f.write("abc\n", 4);
        CHECK(dir.names().size() == 2);  // the old file and the hidden temporary
        CHECK(dir.names()[0].rfind(".t.txt.gz.fragcov-", 0) == 0);
    }  // destroyed without commit
    CHECK(dir.names() == std::vector<std::string>{"t.txt.gz"});
    {
        std::ifstream in(path);
        std::string s;
        in >> s;
        CHECK(s == "old");
    }
    OutputFile f(path, Compression::Gzip);
    f.write("abc\n", 4);
    f.write("def\n", 4);
    f.commit();
    CHECK(dir.names() == std::vector<std::string>{"t.txt.gz"});
    CHECK(gunzip(path) == "abc\ndef\n");
}

TEST_CASE("files get the usual mode (0666 minus the umask), not mkstemp's 0600") {
    TempDir dir;
    const mode_t old = umask(022);
    AtomicPath a((dir.path / "x").string());
    a.commit();
    umask(old);
    struct stat st;
    REQUIRE(stat((dir.path / "x").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("check_output_path") {
    TempDir dir;
    CHECK_NOTHROW(check_output_path((dir.path / std::string(kMaxOutputNameBytes, 'a')).string()));
    CHECK_THROWS_AS(check_output_path((dir.path / std::string(kMaxOutputNameBytes + 1, 'a')).string()),
                    std::invalid_argument);
    CHECK_THROWS_AS(check_output_path((dir.path / "").string()), std::invalid_argument);
    CHECK_THROWS_AS(check_output_path(dir.path.string()), std::invalid_argument);  // a directory
    CHECK_THROWS_AS(OutputFile((dir.path / "f").string(), Compression::Zstd, 23), std::invalid_argument);
    CHECK(dir.names().empty());
}

TEST_CASE("check_output_path: only a regular file may be replaced") {
    TempDir dir;
    // never a FIFO, a symbolic link or a device (renaming over one would replace that node)
    const fs::path fifo = dir.path / "fifo", link = dir.path / "link", target = dir.path / "target";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(check_output_path(fifo.string()), doctest::Contains("is a FIFO, not a regular file"),
                         std::invalid_argument);
    std::ofstream(target) << "x";
    fs::create_symlink(target, link);
    CHECK_THROWS_WITH_AS(check_output_path(link.string()), doctest::Contains("is a symbolic link"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(AtomicPath(link.string()), doctest::Contains("is a symbolic link"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(check_output_path("/dev/null"), doctest::Contains("is a device"), std::invalid_argument);
    CHECK_NOTHROW(check_output_path(target.string()));
    CHECK(read_file(target) == "x");
}

TEST_CASE("check_output_path: no control character in a file name") {
    TempDir dir;
    for (const char* name : {"a\tb", "a\nb", "a\rb", "a\x1b[1mb", "a\x7f"}) {
        CAPTURE(name);
        CHECK_THROWS_WITH_AS(check_output_path((dir.path / name).string()),
                             doctest::Contains("contains a control character"), std::invalid_argument);
    }
    CHECK_NOTHROW(check_output_path((dir.path / "CD4+ T cells (naive).bw").string()));
    CHECK(dir.names().empty());
}

TEST_CASE("AtomicPath checks its path again before the rename: a node put there meanwhile is never replaced") {
    TempDir dir;
    const fs::path path = dir.path / "track.bw";
    AtomicPath a(path.string());
    REQUIRE(mkfifo(path.c_str(), 0600) == 0);  // made while the file was written
    CHECK_THROWS_WITH_AS(a.commit(), doctest::Contains("is a FIFO"), std::invalid_argument);
    struct stat st;
    REQUIRE(lstat(path.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
}
