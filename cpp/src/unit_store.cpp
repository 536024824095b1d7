#include "unit_store.hpp"

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
      // a floor of 256 units keeps a zero budget from spilling every unit, yet lets
      // tests spill small data with a budget of a few KB
      max_buffered_(std::max<uint64_t>(memory_budget_bytes / (2 * sizeof(uint32_t)), 1 << 8)),
      buffers_(n_groups * n_chroms),
      blocks_(n_groups * n_chroms),
      tempdir_(std::move(tempdir)) {}

UnitStore::~UnitStore() {
    if (fd_ >= 0) close(fd_);
}

void UnitStore::spill() {
    if (fd_ < 0) {
        std::string dir = tempdir_;
        if (dir.empty()) {
            const char* env = std::getenv("TMPDIR");
            dir = env && *env ? env : "/tmp";
        }
        std::string templ = dir + "/fragcov-spill-XXXXXX";
        std::vector<char> name(templ.begin(), templ.end());
        name.push_back('\0');
        fd_ = mkstemp(name.data());
        if (fd_ < 0)
            throw std::runtime_error("cannot create a spill file in '" + dir + "': " + std::strerror(errno));
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
                throw std::runtime_error(std::string("cannot write the spill file: ") + std::strerror(errno));
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
                throw std::runtime_error(std::string("cannot read the spill file: ") +
                                         (r == 0 ? "truncated" : std::strerror(errno)));
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
