#include "input/fragment_sorter.hpp"

#include "util/io_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <system_error>

namespace fragcov {

namespace {

constexpr size_t kWindowRecords = size_t(1) << 16;  // read-ahead per spilled run (1 MiB)

void write_all(int fd, const void* data, size_t bytes, uint64_t offset) {
    const char* p = static_cast<const char*>(data);
    size_t done = 0;
    while (done < bytes) {
        ssize_t w = pwrite(fd, p + done, bytes - done, static_cast<off_t>(offset + done));
        if (w < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "cannot write the sort file");
        }
        done += static_cast<size_t>(w);
    }
}

void read_all(int fd, void* data, size_t bytes, uint64_t offset) {
    char* p = static_cast<char*>(data);
    size_t done = 0;
    while (done < bytes) {
        ssize_t r = pread(fd, p + done, bytes - done, static_cast<off_t>(offset + done));
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            // end of file inside a run: the file was truncated under us
            throw std::system_error(r == 0 ? EIO : errno, std::generic_category(), "cannot read the sort file");
        }
        done += static_cast<size_t>(r);
    }
}

}  // namespace

FragmentSorter::FragmentSorter(const std::vector<std::string>& names, uint64_t memory_budget_bytes,
                               std::string tempdir)
    : names_(names),
      // a buffered record costs its 16 bytes plus 4 for its place in the sort order
      capacity_(static_cast<size_t>(std::max<uint64_t>(memory_budget_bytes / (sizeof(Record) + 4), 1 << 16))),
      tempdir_(std::move(tempdir)) {
    buffer_.reserve(capacity_);
}

FragmentSorter::~FragmentSorter() {
    if (fd_ >= 0) close(fd_);
}

void FragmentSorter::update_ranks() {
    const size_t old = by_name_.size(), n = names_.size();
    if (old == n) return;
    by_name_.resize(n);
    std::iota(by_name_.begin() + static_cast<long>(old), by_name_.end(), static_cast<uint32_t>(old));
    // names compare as bytes (std::string uses unsigned char order), as SnapATAC2 sorts them
    auto by_barcode = [this](uint32_t a, uint32_t b) { return names_[a] < names_[b]; };
    std::sort(by_name_.begin() + static_cast<long>(old), by_name_.end(), by_barcode);
    std::inplace_merge(by_name_.begin(), by_name_.begin() + static_cast<long>(old), by_name_.end(), by_barcode);
    rank_.resize(n);
    for (size_t i = 0; i < n; ++i) rank_[by_name_[i]] = static_cast<uint32_t>(i);
}

// Counting sort on the barcode's rank: linear, and the order within a barcode
// does not matter (each cell is sorted by position when it is returned).
void FragmentSorter::order_by_rank(std::vector<uint32_t>& order) const {
    std::vector<uint32_t> first(rank_.size() + 1, 0);
    for (const Record& r : buffer_) ++first[rank_[r.barcode] + 1];
    std::partial_sum(first.begin(), first.end(), first.begin());
    order.resize(buffer_.size());
    for (size_t i = 0; i < buffer_.size(); ++i) order[first[rank_[buffer_[i].barcode]]++] = static_cast<uint32_t>(i);
}

void FragmentSorter::spill() {
    if (fd_ < 0) {
        std::string dir = tempdir_;
        if (dir.empty()) {
            const char* env = std::getenv("TMPDIR");
            dir = env && *env ? env : "/tmp";
        }
        std::string templ = dir + "/fragcov-sort-XXXXXX";
        std::vector<char> name(templ.begin(), templ.end());
        name.push_back('\0');
        fd_ = mkstemp(name.data());
        if (fd_ < 0) throw io_error("cannot create a sort file in", dir);
        unlink(name.data());  // the file vanishes with the descriptor, even on a crash
    }
    update_ranks();
    std::vector<uint32_t>& order = memory_order_;  // reused: the in-memory run's order is needed only at the end
    order_by_rank(order);
    Run run;
    run.offset = file_size_ / sizeof(Record);
    run.size = buffer_.size();
    std::vector<Record> out;
    out.reserve(kWindowRecords);
    for (size_t i = 0; i < order.size(); i += kWindowRecords) {
        out.clear();
        for (size_t k = i; k < std::min(order.size(), i + kWindowRecords); ++k) out.push_back(buffer_[order[k]]);
        write_all(fd_, out.data(), out.size() * sizeof(Record), file_size_);
        file_size_ += out.size() * sizeof(Record);
    }
    runs_.push_back(std::move(run));
    buffer_.clear();
}

void FragmentSorter::finish(std::vector<uint32_t> cells) {
    update_ranks();
    order_by_rank(memory_order_);
    if (!buffer_.empty()) {
        Run run;
        run.size = buffer_.size();
        run.in_memory = true;
        runs_.push_back(std::move(run));
    }
    for (uint32_t c : cells)
        if (c >= rank_.size()) throw std::out_of_range("FragmentSorter: unknown barcode id");
    std::sort(cells.begin(), cells.end(), [this](uint32_t a, uint32_t b) { return rank_[a] < rank_[b]; });
    cells_ = std::move(cells);
    next_cell_ = 0;
}

const FragmentSorter::Record* FragmentSorter::head(Run& run) {
    if (run.next == run.size) return nullptr;
    if (run.in_memory) return &buffer_[memory_order_[run.next]];
    if (run.buffer_pos == run.buffer.size()) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kWindowRecords, run.size - run.next));
        run.buffer.resize(n);
        read_all(fd_, run.buffer.data(), n * sizeof(Record), (run.offset + run.next) * sizeof(Record));
        run.buffer_pos = 0;
    }
    return &run.buffer[run.buffer_pos];
}

bool FragmentSorter::next_cell(uint32_t& barcode, std::vector<std::pair<uint64_t, uint32_t>>& fragments) {
    if (next_cell_ == cells_.size()) return false;
    barcode = cells_[next_cell_++];
    const uint32_t rank = rank_[barcode];
    fragments.clear();
    // every run is sorted by rank, so each run's head only moves forward
    for (Run& run : runs_) {
        for (const Record* r; (r = head(run)) && rank_[r->barcode] <= rank;) {
            if (r->barcode == barcode) fragments.emplace_back(r->position, r->value);
            ++run.next;
            ++run.buffer_pos;
        }
    }
    return true;
}

}  // namespace fragcov
