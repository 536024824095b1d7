#include "unit_store.hpp"

#include "io_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace fragcov {

UnitStore::UnitStore(size_t n_groups, size_t n_chroms, uint64_t memory_budget_bytes, std::string tempdir)
    : n_chroms_(n_chroms),
      max_buffered_(std::max<uint64_t>(memory_budget_bytes / (2 * sizeof(uint32_t)), 1 << 16)),
      buffers_(n_groups * n_chroms),
      blocks_(n_groups * n_chroms),
      tempdir_(std::move(tempdir)) {
    if (tempdir_.empty()) {
        const char* env = std::getenv("TMPDIR");
        tempdir_ = env && *env ? env : "/tmp";
    }
}

UnitStore::~UnitStore() {
    if (fd_ >= 0) close(fd_);
}

void UnitStore::spill() {
    if (fd_ < 0) {
        std::string templ = tempdir_ + "/fragcov-spill-XXXXXX";
        std::vector<char> name(templ.begin(), templ.end());
        name.push_back('\0');
        fd_ = mkstemp(name.data());
        if (fd_ < 0)
            throw io_error("cannot create a spill file in", tempdir_);
        unlink(name.data());  // the file vanishes with the descriptor, even on a crash
    }
    for (size_t i = 0; i < buffers_.size(); ++i) {
        auto& buf = buffers_[i];
        if (buf.empty()) continue;
        size_t bytes = buf.size() * sizeof(uint32_t);
        const char* p = reinterpret_cast<const char*>(buf.data());
        size_t done = 0;
        while (done < bytes) {
            ssize_t w = pwrite(fd_, p + done, bytes - done, static_cast<off_t>(file_size_ + done));
            if (w < 0) {
                if (errno == EINTR) continue;
                throw io_error("cannot write the spill file in", tempdir_);
            }
            done += static_cast<size_t>(w);
        }
        blocks_[i].push_back({file_size_, buf.size() / 2});
        file_size_ += bytes;
        std::vector<uint32_t>().swap(buf);  // give the memory back
    }
    n_buffered_ = 0;
}

void UnitStore::load(size_t group, size_t chrom, std::vector<uint32_t>& first_bins,
                     std::vector<uint32_t>& end_bins) const {
    size_t i = group * n_chroms_ + chrom;
    const auto& buf = buffers_[i];
    uint64_t n = buf.size() / 2;
    for (const Block& b : blocks_[i]) n += b.n_units;
    first_bins.resize(n);
    end_bins.resize(n);
    size_t k = 0;
    std::vector<uint32_t> block;
    for (const Block& b : blocks_[i]) {
        block.resize(2 * b.n_units);
        size_t bytes = block.size() * sizeof(uint32_t), done = 0;
        char* p = reinterpret_cast<char*>(block.data());
        while (done < bytes) {
            ssize_t r = pread(fd_, p + done, bytes - done, static_cast<off_t>(b.offset + done));
            if (r <= 0) {
                if (r < 0 && errno == EINTR) continue;
                if (r == 0) errno = EIO;  // the file is shorter than what was written to it
                throw io_error("cannot read the spill file in", tempdir_);
            }
            done += static_cast<size_t>(r);
        }
        for (size_t j = 0; j < b.n_units; ++j, ++k) {
            first_bins[k] = block[2 * j];
            end_bins[k] = block[2 * j + 1];
        }
    }
    for (size_t j = 0; j < buf.size() / 2; ++j, ++k) {
        first_bins[k] = buf[2 * j];
        end_bins[k] = buf[2 * j + 1];
    }
}

}  // namespace fragcov
