// An allocator that maps large blocks straight from the system (mmap) and
// returns them on free (munmap), for the readers' big buffers: decompressed
// pieces and parsed chunks of several MB, allocated on one thread and freed on
// another. From malloc they would land in per-thread arenas once glibc's
// dynamic mmap threshold has risen past their size, and the freed holes stay
// resident: peak RSS then grew with the number of files read (BENCHMARKS.md,
// "Atlas"). Small blocks still come from malloc.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define FRAGCOV_HAVE_MMAP 1
#endif

namespace fragcov {

template <class T>
struct PageAllocator {
    using value_type = T;
    static constexpr size_t kMapBytes = size_t(256) << 10;  // from this size on: mmap

    PageAllocator() noexcept = default;
    template <class U>
    PageAllocator(const PageAllocator<U>&) noexcept {}

    T* allocate(size_t n) {
        if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_alloc();
        const size_t bytes = n * sizeof(T);
#ifdef FRAGCOV_HAVE_MMAP
        if (bytes >= kMapBytes) {
            void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) throw std::bad_alloc();
            return static_cast<T*>(p);
        }
#endif
        void* p = std::malloc(bytes ? bytes : 1);
        if (!p) throw std::bad_alloc();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, size_t n) noexcept {
#ifdef FRAGCOV_HAVE_MMAP
        if (n * sizeof(T) >= kMapBytes) {
            munmap(p, n * sizeof(T));
            return;
        }
#endif
        std::free(p);
    }
    friend bool operator==(const PageAllocator&, const PageAllocator&) noexcept { return true; }
    friend bool operator!=(const PageAllocator&, const PageAllocator&) noexcept { return false; }
};

// A vector whose large buffers are mapped pages (see above).
template <class T>
using PageVector = std::vector<T, PageAllocator<T>>;

}  // namespace fragcov
