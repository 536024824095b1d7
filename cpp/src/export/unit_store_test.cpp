// UnitStore on its own: what goes in comes out per (group, chromosome), from
// memory and from the spill file alike.
#include "export/unit_store.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "testing/test_support.hpp"

using namespace fragcov;

namespace {

using Units = std::vector<std::pair<uint32_t, uint32_t>>;  // (first_bin, end_bin), sorted

Units loaded(const UnitStore& store, size_t group, size_t chrom) {
    std::vector<uint32_t> first, end;
    store.load(group, chrom, first, end);
    REQUIRE(first.size() == end.size());
    // load() splits units into first and end bins, not necessarily paired in
    // order: compare the two sorted lists with those of the expected units
    Units out;
    std::sort(first.begin(), first.end());
    std::sort(end.begin(), end.end());
    for (size_t i = 0; i < first.size(); ++i) out.emplace_back(first[i], end[i]);
    return out;
}

Units sorted_split(Units units) {
    std::vector<uint32_t> first, end;
    for (auto [f, e] : units) first.push_back(f), end.push_back(e);
    std::sort(first.begin(), first.end());
    std::sort(end.begin(), end.end());
    Units out;
    for (size_t i = 0; i < first.size(); ++i) out.emplace_back(first[i], end[i]);
    return out;
}

}  // namespace

TEST_CASE("UnitStore returns every unit of a (group, chromosome), in memory or spilled, from any shard") {
    fragcov::test::TempDir dir;
    // budget 0: the floor of 256 units per shard, so 10,000 units spill many blocks
    for (uint64_t budget : {uint64_t(0), uint64_t(1) << 30}) {
        CAPTURE(budget);
        const size_t n_groups = 3, n_chroms = 4, n_shards = 2;
        UnitStore store(n_groups, n_chroms, budget, dir.path.string(), n_shards);
        std::map<std::pair<size_t, size_t>, Units> expected;
        std::mt19937 rng(7);
        for (int i = 0; i < 10000; ++i) {
            const size_t g = rng() % n_groups, c = rng() % n_chroms, shard = rng() % n_shards;
            const uint32_t first = rng() % 1000, end = first + 1 + rng() % 5;
            store.add(shard, g, c, first, end);
            expected[{g, c}].emplace_back(first, end);
        }
        if (budget == 0) {
            CHECK(store.spilled_bytes() > 0);
        } else {
            CHECK(store.spilled_bytes() == 0);
        }
        for (size_t g = 0; g < n_groups; ++g)
            for (size_t c = 0; c < n_chroms; ++c) CHECK(loaded(store, g, c) == sorted_split(expected[{g, c}]));
        // load() does not consume: a second call returns the same units
        CHECK(loaded(store, 1, 2) == sorted_split(expected[{1, 2}]));
    }
    CHECK(dir.names().empty());  // the spill file is unlinked as soon as it is made
}

TEST_CASE("UnitStore: a (group, chromosome) that received nothing loads empty") {
    UnitStore store(2, 2, 0, "", 1);
    store.add(0, 1, 1, 5, 6);
    std::vector<uint32_t> first{99}, end{99};
    store.load(0, 0, first, end);
    CHECK(first.empty());
    CHECK(end.empty());
}

TEST_CASE("UnitStore: a spill folder that does not exist is an error naming it") {
    UnitStore store(1, 1, 0, "/nonexistent-fragcov-folder", 1);
    auto add_many = [&] {
        for (int i = 0; i < 1000; ++i) store.add(0, 0, 0, 1, 2);
    };
    CHECK_THROWS_WITH(add_many(), doctest::Contains("/nonexistent-fragcov-folder"));
}
