// Helpers shared by the C++ unit tests (cpp/src/*_test.cpp).
#pragma once
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>  // mkdtemp on macOS (glibc declares it in stdlib.h)

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fragcov/exporter.hpp"

namespace fragcov::test {

// A fresh directory under the system temporary folder, removed with its content.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "fragcov-test-XXXXXX").string();
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        REQUIRE(mkdtemp(buf.data()) != nullptr);
        path = buf.data();
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Paired-end cells for hand-worked export tests: cell i has fragments
// indptr[i]..indptr[i+1] (genome position, length) and group groups[i].
struct PairedCells {
    std::vector<int64_t> indptr, indices;
    std::vector<uint32_t> lengths;
    std::vector<int32_t> groups;

    CellChunk chunk() const {
        CellChunk ch;
        ch.n_cells = groups.size();
        ch.n_fragments = indices.size();
        ch.indptr = indptr.data();
        ch.indices = indices.data();
        ch.lengths = lengths.data();
        ch.cell_group = groups.data();
        return ch;
    }
};

// Exports `cells` in one chunk into `tracks` and returns the text of every
// written track (path "" = binned only, skipped), in track order.
inline std::vector<std::string> export_texts(const Genome& genome, Regions regions, const ExportOptions& options,
                                             std::vector<Track> tracks, const PairedCells& cells,
                                             std::vector<GroupStats>* stats = nullptr) {
    std::vector<std::string> paths;
    for (const Track& t : tracks) paths.push_back(t.path);
    GroupedExporter exporter(genome, std::move(regions), options, std::move(tracks));
    exporter.add_cells(cells.chunk());
    std::vector<GroupStats> st = exporter.finish();
    if (stats) *stats = st;
    std::vector<std::string> out;
    for (const std::string& p : paths)
        if (!p.empty()) out.push_back(read_file(p));
    return out;
}

}  // namespace fragcov::test
