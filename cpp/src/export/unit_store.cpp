#include "export/unit_store.hpp"

#include "util/io_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace fragcov {

UnitStore::UnitStore(size_t n_groups, size_t n_chroms, uint64_t memory_budget_bytes, std::string tempdir,
                     size_t n_shards)
    : n_chroms_(n_chroms),
      // a floor of 256 units keeps a zero budget from spilling every unit, yet lets
      // tests spill small data with a budget of a few KB
      max_buffered_(std::max<uint64_t>(memory_budget_bytes / (2 * sizeof(uint32_t)) / std::max<size_t>(n_shards, 1),
                                       1 << 8)),
      shards_(std::max<size_t>(n_shards, 1)),
      tempdir_(std::move(tempdir)) {
    for (Shard& s : shards_) {
        s.buffers.resize(n_groups * n_chroms);
        s.blocks.resize(n_groups * n_chroms);
    }
    if (tempdir_.empty()) {
        const char* env = std::getenv("TMPDIR");
        tempdir_ = env && *env ? env : "/tmp";
    }
}

UnitStore::~UnitStore() {
    if (fd_ >= 0) close(fd_);
}

int UnitStore::spill_fd() {
    std::lock_guard<std::mutex> lock(fd_mutex_);
    if (fd_ < 0) {
        std::string templ = tempdir_ + "/fragcov-spill-XXXXXX";
        std::vector<char> name(templ.begin(), templ.end());
        name.push_back('\0');
        fd_ = mkstemp(name.data());
        if (fd_ < 0)
            throw io_error("cannot create a spill file in", tempdir_);
        unlink(name.data());  // the file vanishes with the descriptor, even on a crash
    }
    return fd_;
}

void UnitStore::spill(Shard& shard) {
    const int fd = spill_fd();
    for (size_t i = 0; i < shard.buffers.size(); ++i) {
        auto& buf = shard.buffers[i];
        if (buf.empty()) continue;
        size_t bytes = buf.size() * sizeof(uint32_t);
        const uint64_t offset = file_size_.fetch_add(bytes);  // this shard's own range of the file
        const char* p = reinterpret_cast<const char*>(buf.data());
        size_t done = 0;
        while (done < bytes) {
            ssize_t w = pwrite(fd, p + done, bytes - done, static_cast<off_t>(offset + done));
            if (w < 0) {
                if (errno == EINTR) continue;
                throw io_error("cannot write the spill file in", tempdir_);
            }
            done += static_cast<size_t>(w);
        }
        shard.blocks[i].push_back({offset, buf.size() / 2});
        std::vector<uint32_t>().swap(buf);  // give the memory back
    }
    shard.n_buffered = 0;
}

void UnitStore::load(size_t group, size_t chrom, std::vector<uint32_t>& first_bins,
                     std::vector<uint32_t>& end_bins) const {
    const size_t i = group * n_chroms_ + chrom;
    uint64_t n = 0;
    for (const Shard& s : shards_) {
        n += s.buffers[i].size() / 2;
        for (const Block& b : s.blocks[i]) n += b.n_units;
    }
    first_bins.resize(n);
    end_bins.resize(n);
    size_t k = 0;
    std::vector<uint32_t> block;
    for (const Shard& s : shards_) {
        for (const Block& b : s.blocks[i]) {
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
        const auto& buf = s.buffers[i];
        for (size_t j = 0; j < buf.size() / 2; ++j, ++k) {
            first_bins[k] = buf[2 * j];
            end_bins[k] = buf[2 * j + 1];
        }
    }
}

}  // namespace fragcov
