// FragmentSorter on its own: cells come back in barcode byte order with all of
// their fragments, whether the records stayed in memory or went through runs
// spilled to the sort file.
#include "input/fragment_sorter.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "testing/test_support.hpp"

using namespace fragcov;

namespace {

using Fragments = std::vector<std::pair<uint64_t, uint32_t>>;

std::vector<std::pair<std::string, Fragments>> drain(FragmentSorter& sorter, const std::vector<std::string>& names) {
    std::vector<std::pair<std::string, Fragments>> out;
    uint32_t id = 0;
    Fragments f;
    while (sorter.next_cell(id, f)) {
        std::sort(f.begin(), f.end());  // a cell's fragments come unsorted
        out.emplace_back(names.at(id), f);
    }
    return out;
}

}  // namespace

TEST_CASE("FragmentSorter: cells in barcode byte order, each with every fragment, in memory and spilled") {
    fragcov::test::TempDir dir;
    // ids in insertion order, names deliberately not in byte order ("B" < "a")
    std::vector<std::string> names;
    const int n_barcodes = 300;
    std::mt19937 rng(11);
    std::map<std::string, Fragments> expected;
    std::vector<uint32_t> ids;
    for (int i = 0; i < n_barcodes; ++i) {
        std::string name = std::string(1, "aBzA0"[i % 5]) + std::to_string((i * 7919) % 1000);
        names.push_back(name);
        ids.push_back(static_cast<uint32_t>(i));
    }
    // budget 0: the floor of 65,536 records, so 200,000 records spill 3 runs
    for (uint64_t budget : {uint64_t(0), uint64_t(1) << 30}) {
        CAPTURE(budget);
        FragmentSorter sorter(names, budget, dir.path.string());
        expected.clear();
        for (int i = 0; i < 200000; ++i) {
            const uint32_t b = rng() % n_barcodes;
            const uint64_t pos = rng() % 1000000;
            const uint32_t value = rng() % 1000;
            sorter.add(b, pos, value);
            expected[names[b]].emplace_back(pos, value);
        }
        CHECK((budget == 0 ? sorter.n_runs() >= 3 : sorter.n_runs() == 0));
        sorter.finish(ids);
        auto got = drain(sorter, names);
        REQUIRE(got.size() == expected.size());  // cells without fragments are not returned
        size_t k = 0;
        for (auto& [name, frags] : expected) {  // std::map: byte order of the names
            std::sort(frags.begin(), frags.end());
            CHECK(got[k].first == name);
            CHECK(got[k].second == frags);
            ++k;
        }
    }
    CHECK(dir.names().empty());  // the sort file is unlinked as soon as it is made
}

TEST_CASE("FragmentSorter returns only the cells it is asked for") {
    std::vector<std::string> names{"c", "a", "b"};
    FragmentSorter sorter(names, 0, "");
    sorter.add(0, 10, 1);
    sorter.add(1, 20, 2);
    sorter.add(2, 30, 3);
    sorter.add(1, 5, 4);
    sorter.finish({0, 1});  // not "b"
    auto got = drain(sorter, names);
    REQUIRE(got.size() == 2);
    CHECK(got[0].first == "a");
    CHECK(got[0].second == Fragments{{5, 4}, {20, 2}});
    CHECK(got[1].first == "c");
    CHECK(got[1].second == Fragments{{10, 1}});
}

TEST_CASE("FragmentSorter: a sort folder that does not exist is a std::system_error naming it") {
    std::vector<std::string> names{"a"};
    FragmentSorter sorter(names, 0, "/nonexistent-fragcov-folder");
    auto add_many = [&] {
        for (int i = 0; i < 70000; ++i) sorter.add(0, static_cast<uint64_t>(i), 1);
    };
    CHECK_THROWS_WITH_AS(add_many(), doctest::Contains("/nonexistent-fragcov-folder"), std::system_error);
}
