#include "export/profile.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "fragcov/cancelled.hpp"
#include "fragcov/options.hpp"
#include "export/coverage.hpp"

namespace fragcov {

void validate(const ProfileOptions& o) {
    if (o.bin_size < 1 || o.bin_size > kMaxBinSize)
        throw std::invalid_argument("bin_size must be 1-2^31, got " + std::to_string(o.bin_size));
    for (const auto& [name, v] : {std::pair{"upstream", o.upstream}, std::pair{"downstream", o.downstream}}) {
        if (v < 0 || v > kMaxBinSize)
            throw std::invalid_argument(std::string(name) + " must be 0-2^31, got " + std::to_string(v));
        if (v % o.bin_size != 0)
            throw std::invalid_argument(std::string(name) + "=" + std::to_string(v) + " is not a multiple of bin_size=" +
                                        std::to_string(o.bin_size) + ": the anchor base must start a bin (as in "
                                        "deepTools' computeMatrix)");
    }
    if (o.upstream + o.downstream == 0)
        throw std::invalid_argument("upstream + downstream must be > 0: the window holds no base");
}

void range_sums(const std::vector<uint32_t>& starts, const std::vector<uint32_t>& ends, int64_t lo, int64_t w,
                size_t n, int64_t* sums) {
    // coverage at base lo: units started at or before it, minus those ended by then
    auto first_after = [lo](const std::vector<uint32_t>& v) {
        if (lo < 0) return size_t{0};
        return static_cast<size_t>(std::upper_bound(v.begin(), v.end(), lo,
                                                    [](int64_t x, uint32_t y) { return x < int64_t{y}; }) -
                                   v.begin());
    };
    size_t i = first_after(starts), j = first_after(ends);
    int64_t cov = static_cast<int64_t>(i) - static_cast<int64_t>(j);
    const size_t n_units = starts.size();
    int64_t pos = lo;
    for (size_t k = 0; k < n; ++k) {
        const int64_t bin_end = lo + static_cast<int64_t>(k + 1) * w;
        int64_t sum = 0;
        for (;;) {
            const int64_t next = std::min(i < n_units ? int64_t{starts[i]} : std::numeric_limits<int64_t>::max(),
                                          j < n_units ? int64_t{ends[j]} : std::numeric_limits<int64_t>::max());
            if (next >= bin_end) {
                sum += cov * (bin_end - pos);
                pos = bin_end;
                break;
            }
            sum += cov * (next - pos);  // next > pos: events at or before pos were consumed
            pos = next;
            while (i < n_units && starts[i] == next) ++cov, ++i;
            while (j < n_units && ends[j] == next) --cov, ++j;
        }
        sums[k] = sum;
    }
}

UnitCoverage::UnitCoverage(const std::vector<uint32_t>& sorted_starts, const std::vector<uint32_t>& sorted_ends)
    : starts_(sorted_starts), ends_(sorted_ends) {
    while ((uint64_t{1} << log_n_) <= starts_.size() && log_n_ < 63) ++log_n_;
}

uint64_t UnitCoverage::integral(int64_t x) const {
    if (x <= 0) return 0;
    const auto below = [x](const std::vector<uint32_t>& v) {  // how many values are < x
        return static_cast<size_t>(std::lower_bound(v.begin(), v.end(), x,
                                                    [](uint32_t y, int64_t b) { return int64_t{y} < b; }) -
                                   v.begin());
    };
    const size_t cs = below(starts_), ce = below(ends_);
    return static_cast<uint64_t>(x) * (cs - ce) - (start_sums_[cs] - end_sums_[ce]);  // modulo 2^64
}

void UnitCoverage::sums_by_search(int64_t lo, int64_t w, size_t n, int64_t* out) {
    if (start_sums_.empty()) {
        start_sums_.assign(starts_.size() + 1, 0);
        end_sums_.assign(ends_.size() + 1, 0);
        for (size_t i = 0; i < starts_.size(); ++i) start_sums_[i + 1] = start_sums_[i] + starts_[i];
        for (size_t i = 0; i < ends_.size(); ++i) end_sums_[i + 1] = end_sums_[i] + ends_[i];
    }
    uint64_t left = integral(lo);
    for (size_t k = 0; k < n; ++k) {
        const uint64_t right = integral(lo + static_cast<int64_t>(k + 1) * w);
        out[k] = static_cast<int64_t>(right - left);
        left = right;
    }
}

void UnitCoverage::sums(int64_t lo, int64_t w, size_t n, int64_t* out) {
    const int64_t hi = lo + static_cast<int64_t>(n) * w;
    const auto count_in = [&](const std::vector<uint32_t>& v) {  // values in [lo, hi)
        const auto at = [&](int64_t x) {
            return std::lower_bound(v.begin(), v.end(), x, [](uint32_t y, int64_t b) { return int64_t{y} < b; });
        };
        return static_cast<uint64_t>(at(hi) - at(lo));
    };
    const uint64_t sweep = count_in(starts_) + count_in(ends_) + n, search = (n + 1) * 2 * log_n_;
    if (sweep <= search) range_sums(starts_, ends_, lo, w, n, out);
    else sums_by_search(lo, w, n, out);
}

namespace {

uint64_t physical_memory() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : UINT64_MAX;
}

// Where an anchor's profile window lies in chromosome coordinates: [lo, lo + upstream + downstream).
int64_t window_start(const ProfileAnchor& a, const ProfileOptions& o) {
    return a.minus ? a.position - o.downstream + 1 : a.position - o.upstream;
}

RegionIndex anchor_windows(size_t n_chroms, const std::vector<ProfileAnchor>& anchors, const ProfileOptions& o) {
    std::vector<uint32_t> chroms;
    std::vector<int64_t> starts, ends;
    chroms.reserve(2 * anchors.size());
    starts.reserve(2 * anchors.size());
    ends.reserve(2 * anchors.size());
    for (const ProfileAnchor& a : anchors) {
        const int64_t lo = window_start(a, o);
        chroms.push_back(a.chrom), starts.push_back(lo), ends.push_back(lo + o.upstream + o.downstream);
        chroms.push_back(a.chrom), starts.push_back(a.position - kTssWindow), ends.push_back(a.position + kTssWindow + 1);
    }
    return RegionIndex(n_chroms, chroms, starts, ends);
}

}  // namespace

ProfileCollector::ProfileCollector(const Genome& genome, std::vector<ProfileAnchor> anchors,
                                   const ProfileOptions& options, size_t n_groups, size_t n_shards,
                                   uint64_t memory_budget_bytes, const std::string& tempdir)
    : anchors_((validate(options), std::move(anchors))),
      by_chrom_(genome.size()),
      options_(options),
      units_(n_groups, genome.size(), memory_budget_bytes, tempdir, n_shards) {
    for (size_t c = 0; c < genome.size(); ++c) lengths_.push_back(genome.length(c));
    for (size_t i = 0; i < anchors_.size(); ++i) {
        const ProfileAnchor& a = anchors_[i];
        if (a.chrom >= genome.size())
            throw std::invalid_argument("anchor " + std::to_string(i) + " is on chromosome " + std::to_string(a.chrom) +
                                        "; the genome has " + std::to_string(genome.size()));
        if (a.position < 0 || a.position >= (int64_t{1} << 62))
            throw std::invalid_argument("anchor " + std::to_string(i) + " has position " +
                                        std::to_string(a.position) + "; it must be 0 <= position < 2^62");
        if (lengths_[a.chrom] > UINT32_MAX)
            throw std::invalid_argument("profiles need chromosomes shorter than 2^32 bases; " +
                                        genome.name(a.chrom) + " has " + std::to_string(lengths_[a.chrom]));
        by_chrom_[a.chrom].push_back(static_cast<uint32_t>(i));
    }
    // Every value of the result exists at once; refuse what cannot fit before any input is read.
    const double bytes = static_cast<double>(n_groups) * static_cast<double>(anchors_.size()) *
                         (static_cast<double>(options_.n_bins()) * sizeof(float) + 2 * sizeof(uint64_t));
    if (bytes > static_cast<double>(physical_memory()))
        throw std::invalid_argument(
            "the profiles would take " + std::to_string(static_cast<uint64_t>(bytes / 1e6)) + " MB (" +
            std::to_string(n_groups) + " groups x " + std::to_string(anchors_.size()) + " anchors x " +
            std::to_string(options_.n_bins()) + " bins), more than this machine's memory (" +
            std::to_string(physical_memory() / 1000000) + " MB): use fewer anchors or groups, a larger bin_size "
            "or a smaller window");
    for (auto& list : by_chrom_)
        std::sort(list.begin(), list.end(), [&](uint32_t x, uint32_t y) {
            return anchors_[x].position < anchors_[y].position;
        });
    windows_ = anchor_windows(genome.size(), anchors_, options_);
    for (size_t c = 0; c < genome.size(); ++c)
        if (!by_chrom_[c].empty())
            for (size_t g = 0; g < n_groups; ++g) tasks_.push_back({g, c});
    profiles_.resize(n_groups);
    sized_ = std::make_unique<std::once_flag[]>(n_groups);
}

void ProfileCollector::run_task(size_t k, const std::vector<TrackScale>& scales, const std::function<bool()>& stop) {
    const Task task = tasks_.at(k);
    const size_t n_bins = options_.n_bins(), n_anchors = anchors_.size();
    GroupProfile& out = profiles_[task.group];
    // A group's arrays are sized by the first of its tasks to run (so that groups are
    // allocated in parallel); its tasks then write disjoint rows.
    std::call_once(sized_[task.group], [&] {
        out.values.resize(n_anchors * n_bins);
        out.tss_centre.resize(n_anchors);
        out.tss_flank.resize(n_anchors);
    });
    std::vector<uint32_t> starts, ends, scratch;
    units_.load(task.group, task.chrom, starts, ends);
    radix_sort(starts, scratch);
    radix_sort(ends, scratch);
    scratch = {};
    const int64_t length = static_cast<int64_t>(lengths_[task.chrom]), w = options_.bin_size;
    const TrackScale per_bin = scales.at(task.group).per(static_cast<double>(w));
    UnitCoverage coverage(starts, ends);
    std::vector<int64_t> sums(n_bins);
    size_t until_check = 256;
    for (uint32_t i : by_chrom_[task.chrom]) {
        if (--until_check == 0) {
            until_check = 256;
            if (stop && stop()) throw Cancelled();
        }
        const ProfileAnchor& a = anchors_[i];
        const int64_t lo = window_start(a, options_);
        // only the bins inside the chromosome are summed (the others are NaN): in ascending genome
        // order, bins [first, end) with lo + b w >= 0 and lo + (b + 1) w <= length
        const int64_t first = lo >= 0 ? 0 : (-lo + w - 1) / w;
        const int64_t end = length - lo < w ? 0 : std::min<int64_t>(static_cast<int64_t>(n_bins), (length - lo) / w);
        if (first < end) coverage.sums(lo + first * w, w, static_cast<size_t>(end - first), sums.data() + first);
        float* row = out.values.data() + static_cast<size_t>(i) * n_bins;
        for (int64_t b = 0; b < static_cast<int64_t>(n_bins); ++b) {  // b: ascending genome order
            float v;
            if (b < first || b >= end) v = std::numeric_limits<float>::quiet_NaN();
            else if (per_bin.denominator > 0)
                v = static_cast<float>(per_bin.value(static_cast<double>(sums[static_cast<size_t>(b)])));
            else v = 0.0f;
            row[a.minus ? n_bins - 1 - static_cast<size_t>(b) : static_cast<size_t>(b)] = v;  // bin 0: upstream end
        }
        int64_t centre, left, right;
        coverage.sums(a.position - kTssCentre / 2, kTssCentre, 1, &centre);
        coverage.sums(a.position - kTssWindow, kTssFlank, 1, &left);
        coverage.sums(a.position + kTssWindow - kTssFlank + 1, kTssFlank, 1, &right);
        out.tss_centre[i] = static_cast<uint64_t>(centre);
        out.tss_flank[i] = static_cast<uint64_t>(left + right);
    }
}

}  // namespace fragcov
