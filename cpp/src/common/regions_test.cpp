// Unit tests for RegionIndex (half-open overlap, merging), values worked by hand.
#include "fragcov/regions.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace fragcov;

TEST_CASE("RegionIndex answers half-open overlap queries") {
    // chromosome 0: [10,20) and [15,30) merge into [10,30); [40,50); an empty [60,60) is ignored
    RegionIndex idx(2, {0, 0, 0, 0}, {10, 15, 40, 60}, {20, 30, 50, 60});
    CHECK(idx.n_regions() == 3);
    CHECK(idx.overlaps(0, 29, 31));
    CHECK_FALSE(idx.overlaps(0, 30, 40));  // touches both ends, overlaps neither
    CHECK_FALSE(idx.overlaps(0, 5, 10));
    CHECK(idx.overlaps(0, 5, 11));
    CHECK(idx.overlaps(0, 49, 50));
    CHECK_FALSE(idx.overlaps(0, 50, 60));
    CHECK_FALSE(idx.overlaps(0, 60, 61));
    CHECK_FALSE(idx.overlaps(0, 12, 12));  // an empty unit overlaps nothing
    CHECK_FALSE(idx.overlaps(1, 0, 100));  // no regions on chromosome 1
    CHECK_FALSE(idx.overlaps(7, 0, 100));  // unknown chromosome
    CHECK(RegionIndex().empty());
}

TEST_CASE("RegionIndex rejects inconsistent input") {
    CHECK_THROWS_AS(RegionIndex(1, {0}, {1, 2}, {3}), std::invalid_argument);
    CHECK_THROWS_AS(RegionIndex(1, {1}, {1}, {3}), std::invalid_argument);
}
