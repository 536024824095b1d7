#include "util/page_allocator.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>

#ifdef FRAGCOV_HAVE_MMAP
#include <unistd.h>
#endif

using namespace fragcov;

TEST_CASE("PageVector: large buffers are mapped pages, small ones malloc'd, contents kept on growth") {
    PageVector<int64_t> v(1000);  // 8 KB: below kMapBytes
    std::iota(v.begin(), v.end(), 0);
    v.resize(1 << 20);  // 8 MB: reallocated into mapped pages, the first 1000 values moved
    for (int64_t k = 0; k < 1000; ++k) REQUIRE(v[static_cast<size_t>(k)] == k);
    CHECK(v[999 + 1] == 0);  // value-initialised like std::vector
#ifdef FRAGCOV_HAVE_MMAP
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    CHECK(reinterpret_cast<uintptr_t>(v.data()) % page == 0);  // mmap's, not malloc's header offset
#endif
    PageVector<int64_t> moved(std::move(v));  // move keeps the buffer (equal allocators)
    CHECK(moved.size() == size_t(1) << 20);
    CHECK(moved[500] == 500);
    moved.clear();
    moved.shrink_to_fit();  // returned with munmap; must not crash under ASan
    CHECK(moved.capacity() == 0);
    PageVector<char> empty;
    empty.reserve(0);
    CHECK(empty.empty());
}
