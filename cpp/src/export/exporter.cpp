#include "fragcov/exporter.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "output/bigwig_file.hpp"
#include "export/coverage.hpp"
#include "util/io_error.hpp"
#include "output/output_file.hpp"
#include "export/unit_store.hpp"
#include "util/cancel_poll.hpp"
#include "util/processors.hpp"

namespace fragcov {

namespace {

std::vector<Track> tracks_of(std::vector<std::string> paths) {
    std::vector<Track> tracks;
    tracks.reserve(paths.size());
    for (std::string& p : paths) tracks.emplace_back(std::move(p));
    return tracks;
}

}  // namespace

GroupedExporter::GroupedExporter(Genome genome, Regions regions, ExportOptions options,
                                 std::vector<std::string> output_paths)
    : GroupedExporter(std::move(genome), std::move(regions), std::move(options), tracks_of(std::move(output_paths))) {}

GroupedExporter::GroupedExporter(Genome genome, Regions regions, ExportOptions options, std::vector<Track> tracks)
    : genome_(std::move(genome)),
      regions_(std::move(regions)),
      options_(std::move(options)),
      tracks_(std::move(tracks)),
      stats_(tracks_.size()) {
    validate(options_);
    for (size_t c = 0; c < genome_.size(); ++c)
        if (genome_.length(c) / static_cast<uint64_t>(options_.bin_size) + 1 > UINT32_MAX)
            throw std::invalid_argument("chromosome " + genome_.name(c) + " has too many bins of " +
                                        std::to_string(options_.bin_size) + " bases");
    if (options_.format == OutputFormat::BigWig) check_bigwig_genome(genome_);
    std::unordered_set<std::string> seen;
    const bool compare = options_.compare != CompareOperation::None;
    for (size_t g = 0; g < tracks_.size(); ++g) {
        const Track& t = tracks_[g];
        if (compare) {
            if (t.reference != Track::kRest &&
                (t.reference < 0 || static_cast<size_t>(t.reference) >= tracks_.size() ||
                 static_cast<size_t>(t.reference) == g))
                throw std::invalid_argument("track " + std::to_string(g) + " has reference " +
                                            std::to_string(t.reference) + "; it must be -1 (the rest) or another "
                                            "group's index");
            if (t.path.empty()) continue;  // binned for the others' rest only
        }
        check_output_path(t.path);
        if (!seen.insert(t.path).second)
            throw std::invalid_argument("two tracks have the same output path '" + t.path + "'");
        if (!(t.norm_by_total >= 0) || !std::isfinite(t.norm_by_total))
            throw std::invalid_argument("the norm_by total of '" + t.path + "' must be a finite number >= 0");
    }
    if (!options_.tempdir.empty() && access(options_.tempdir.c_str(), W_OK | X_OK) != 0)
        throw io_error("tempdir is not a writable directory:", options_.tempdir);
    slots_.resize(static_cast<size_t>(binning_threads(options_.n_jobs)));
    for (size_t i = 0; i < slots_.size(); ++i) {
        slots_[i].index = i;
        slots_[i].stats.resize(tracks_.size());
    }
    units_ = std::make_unique<UnitStore>(tracks_.size(), genome_.size(), options_.memory_budget_bytes,
                                         options_.tempdir, slots_.size());
}

// More binning threads than processors would only add memory (each holds a
// chunk and its own unit buffers), so n_jobs is capped at the processors here;
// the writing threads are not (finish()).
int binning_threads(int64_t n_jobs) {
    const int procs = processor_count();
    return n_jobs <= 0 ? procs : static_cast<int>(std::min<int64_t>(n_jobs, procs));
}

GroupedExporter::~GroupedExporter() = default;

// docs/spec.md sections 3.3-3.5 for one unit [start, end) on `chrom`, in chromosome coordinates.
inline void GroupedExporter::add_unit(Slot& slot, int32_t group, uint32_t chrom, int64_t start, int64_t end) {
    if (!regions_.blacklist.empty() && regions_.blacklist.overlaps(chrom, start, end)) return;
    GroupStats& st = slot.stats[group];
    if ((!regions_.has_include || regions_.include_for_norm.overlaps(chrom, start, end)) &&
        (regions_.exclude_for_norm.empty() || !regions_.exclude_for_norm.overlaps(chrom, start, end))) {
        ++st.norm_count;
        st.norm_length += static_cast<uint64_t>(end - start);  // the whole unit, before the cut below
    }
    const int64_t len = static_cast<int64_t>(genome_.length(chrom));
    start = std::max<int64_t>(start, 0);
    end = std::min(end, len);
    if (start >= end) return;  // entirely past the chromosome end: nothing to bin
    const uint64_t b = static_cast<uint64_t>(options_.bin_size);
    const uint32_t first = static_cast<uint32_t>(start / b), last = static_cast<uint32_t>((end - 1) / b) + 1;
    ++st.n_units;
    if (options_.ceiling) {
        slot.cell_units.push_back({chrom, first, last});  // capped with the cell's other units (flush_capped_cell)
        return;
    }
    st.bin_sum += last - first;
    store(slot, group, chrom, first, last);
}

// Keeps bins [first_bin, end_bin) of a group's chromosome for writing, unless
// `regions` restricts the output and no record they can reach (smoothing
// included) is inside one: that is the work a `regions` export skips.
inline void GroupedExporter::store(Slot& slot, int32_t group, uint32_t chrom, uint32_t first_bin, uint32_t end_bin) {
    if (regions_.has_output) {
        const int64_t b = options_.bin_size, reach = options_.smooth_base.value_or(0);
        if (!regions_.output.overlaps(chrom, int64_t{first_bin} * b - reach, int64_t{end_bin} * b + reach)) return;
    }
    units_->add(slot.index, group, chrom, first_bin, end_bin);
}

// The ceiling (docs/spec.md section 3.5): a cell adds at most `ceiling` to a
// bin. Its capped coverage min(c(x), ceiling) is the sum of the level sets
// {c >= k}, k = 1..ceiling, each a set of bin intervals, which are stored as
// ordinary units: no array the size of a chromosome, and at most as many
// intervals as the cell had units.
void GroupedExporter::flush_capped_cell(Slot& slot, int32_t group) {
    std::vector<CellUnit>& cell = slot.cell_units;  // this cell's units
    if (cell.empty()) return;
    const uint32_t cap = static_cast<uint32_t>(std::min<int64_t>(*options_.ceiling, UINT32_MAX));
    std::sort(cell.begin(), cell.end(), [](const CellUnit& a, const CellUnit& b) {
        return a.chrom != b.chrom ? a.chrom < b.chrom : a.first < b.first;
    });
    GroupStats& st = slot.stats[group];
    std::priority_queue<uint32_t, std::vector<uint32_t>, std::greater<uint32_t>> ends;  // open units
    std::vector<uint32_t> opened;  // opened[k]: where the level set {c > k} began
    size_t i = 0;
    while (i < cell.size()) {
        const uint32_t chrom = cell[i].chrom;
        uint32_t level = 0;  // min(c, cap) just before the current position
        while (i < cell.size() && cell[i].chrom == chrom) {
            // next position where the coverage changes: a unit starts or one ends
            const uint32_t x = ends.empty() ? cell[i].first : std::min(ends.top(), cell[i].first);
            while (!ends.empty() && ends.top() == x) ends.pop();
            while (i < cell.size() && cell[i].chrom == chrom && cell[i].first == x)
                ends.push(cell[i++].end);
            const uint32_t now = static_cast<uint32_t>(std::min<size_t>(ends.size(), cap));
            for (; level < now; ++level) opened.resize(level + 1), opened[level] = x;
            for (; level > now; --level) {
                st.bin_sum += x - opened[level - 1];
                store(slot, group, chrom, opened[level - 1], x);
            }
        }
        while (!ends.empty()) {  // the chromosome's last units end
            const uint32_t x = ends.top();
            while (!ends.empty() && ends.top() == x) ends.pop();
            const uint32_t now = static_cast<uint32_t>(std::min<size_t>(ends.size(), cap));
            for (; level > now; --level) {
                st.bin_sum += x - opened[level - 1];
                store(slot, group, chrom, opened[level - 1], x);
            }
        }
    }
    cell.clear();
}

template <bool SingleEnd>
void GroupedExporter::add_cells_impl(const CellChunk& ch, Slot& slot) {
    const bool insertion = options_.counting == CountingStrategy::Insertion;
    const uint64_t min_len = static_cast<uint64_t>(options_.min_frag_length.value_or(0));
    const uint64_t max_len = options_.max_frag_length ? static_cast<uint64_t>(*options_.max_frag_length) : UINT64_MAX;
    // the current chromosome's range of genome positions, to avoid a search per fragment
    uint64_t lo = 1, hi = 0;
    uint32_t chrom = 0;
    for (size_t cell = 0; cell < ch.n_cells; ++cell) {
        const int32_t g = ch.cell_group[cell];
        if (g < 0) continue;
        for (int64_t k = ch.indptr[cell]; k < ch.indptr[cell + 1]; ++k) {
            const uint64_t pos = static_cast<uint64_t>(ch.indices[k]);
            if (pos < lo || pos >= hi) {
                const long c = genome_.chrom_of(pos);  // never -1: check_chunk() saw every position
                chrom = static_cast<uint32_t>(c);
                lo = genome_.offset(chrom);
                hi = lo + genome_.length(chrom);
            }
            const int64_t x = static_cast<int64_t>(pos - lo);
            if constexpr (SingleEnd) {
                const int64_t v = ch.signed_lengths[k];
                if (v > 0) {  // forward read starting at x
                    if (insertion) add_unit(slot, g, chrom, x, x + 1);
                    else add_unit(slot, g, chrom, x, x + v);
                } else if (v < 0) {  // reverse read whose last base is x
                    if (insertion) add_unit(slot, g, chrom, x, x + 1);
                    else add_unit(slot, g, chrom, x + v + 1, x + 1);
                }
            } else {
                const uint64_t len = ch.lengths[k];
                if (len == 0 || len < min_len || len > max_len) continue;
                const int64_t end = x + static_cast<int64_t>(len);
                if (insertion) {
                    add_unit(slot, g, chrom, x, x + 1);
                    add_unit(slot, g, chrom, end - 1, end);
                } else {
                    add_unit(slot, g, chrom, x, end);
                }
            }
        }
        if (options_.ceiling) flush_capped_cell(slot, g);
    }
}

// Everything add_cells_impl relies on, checked before any unit is added, so
// that a rejected chunk changes nothing. One pass over the positions: a
// compare per fragment (measured: within noise on the 45M export).
void GroupedExporter::check_chunk(const CellChunk& ch) const {
    if (ch.n_cells == 0) return;
    if (!ch.indptr || !ch.cell_group) throw std::invalid_argument("a chunk has no indptr or no cell groups");
    if (ch.n_fragments && !ch.indices) throw std::invalid_argument("a chunk has no fragment positions");
    if (ch.n_fragments && !ch.lengths && !ch.signed_lengths)
        throw std::invalid_argument("a chunk has no fragment values");
    if (ch.indptr[0] != 0)
        throw std::invalid_argument("indptr must start at 0, got " + std::to_string(ch.indptr[0]));
    for (size_t cell = 0; cell < ch.n_cells; ++cell) {
        if (ch.indptr[cell + 1] < ch.indptr[cell])
            throw std::invalid_argument("indptr decreases at cell " + std::to_string(cell) + " of the chunk (" +
                                        std::to_string(ch.indptr[cell]) + " -> " +
                                        std::to_string(ch.indptr[cell + 1]) + ")");
        const int32_t g = ch.cell_group[cell];
        if (g < -1 || (g >= 0 && static_cast<size_t>(g) >= tracks_.size()))
            throw std::invalid_argument("cell " + std::to_string(cell) + " of the chunk has group id " +
                                        std::to_string(g) + "; ids must be -1 (no group) or 0-" +
                                        std::to_string(tracks_.size() - 1));
    }
    const int64_t nnz = ch.indptr[ch.n_cells];
    if (static_cast<uint64_t>(nnz) > ch.n_fragments)
        throw std::invalid_argument("indptr ends at " + std::to_string(nnz) + ", past the chunk's " +
                                    std::to_string(ch.n_fragments) + " fragments");
    const uint64_t total = genome_.total_length();
    bool inside = true;
    for (int64_t k = 0; k < nnz; ++k) inside &= static_cast<uint64_t>(ch.indices[k]) < total;  // branch-free
    if (inside) return;
    size_t cell = 0;
    for (int64_t k = 0; k < nnz; ++k) {
        if (static_cast<uint64_t>(ch.indices[k]) < total) continue;
        while (ch.indptr[cell + 1] <= k) ++cell;
        throw std::invalid_argument("cell " + std::to_string(cell) + " of the chunk has a fragment at genome " +
                                    "position " + std::to_string(ch.indices[k]) + ", outside the reference " +
                                    "sequences (0-" + std::to_string(total - 1) +
                                    "): the fragment data does not match its genome");
    }
}

void GroupedExporter::add_cells(const CellChunk& chunk, size_t slot) {
    if (slot >= slots_.size())
        throw std::invalid_argument("binning slot " + std::to_string(slot) + " does not exist (there are " +
                                    std::to_string(slots_.size()) + ")");
    check_chunk(chunk);
    if (chunk.n_cells == 0) return;
    if (chunk.signed_lengths) add_cells_impl<true>(chunk, slots_[slot]);
    else add_cells_impl<false>(chunk, slots_[slot]);
}

namespace {

// What a group's bin values are divided by (docs/spec.md section 3.6); 0
// means an all-zero track.
double denominator(const ExportOptions& o, const GroupStats& st, const Track& track) {
    if (o.norm_by) return track.norm_by_total / 1e4;
    switch (o.normalization) {
        case Normalization::None: return 1.0;
        case Normalization::CPM: return st.norm_count / 1e6;
        case Normalization::RPKM: return st.norm_count / 1e6 * (static_cast<double>(o.bin_size) / 1e3);
        case Normalization::BPM: return st.bin_sum / 1e6;
        case Normalization::RPGC:
            return static_cast<double>(st.norm_length) / static_cast<double>(*o.effective_genome_size);
        case Normalization::NCells: return static_cast<double>(track.n_cells);
    }
    return 1.0;
}

// Cuts records to the regions of one chromosome; records come in order.
class RegionClipper {
public:
    explicit RegionClipper(const std::vector<RegionIndex::Interval>& regions) : regions_(regions) {}
    template <class Emit>
    void operator()(int64_t s, int64_t e, Emit emit) {
        while (k_ < regions_.size() && regions_[k_].end <= s) ++k_;
        for (size_t j = k_; j < regions_.size() && regions_[j].start < e; ++j)
            emit(std::max(s, regions_[j].start), std::min(e, regions_[j].end));
    }

private:
    const std::vector<RegionIndex::Interval>& regions_;
    size_t k_ = 0;
};

}  // namespace

std::unique_ptr<TrackWriter> GroupedExporter::write_group(size_t group, const std::function<bool()>& stop) {
    auto writer = make_track_writer(genome_, tracks_[group].path, options_);
    const double denom = denominator(options_, stats_[group], tracks_[group]);
    stats_[group].denominator = denom > 0 ? denom : 0;
    std::vector<uint32_t> first_bins, end_bins;
    for (size_t c = 0; c < genome_.size() && denom > 0; ++c) {
        if (stop()) throw Cancelled();
        if (regions_.has_output && regions_.output.intervals(c).empty()) continue;
        units_->load(group, c, first_bins, end_bins);
        if (first_bins.empty()) continue;
        const uint64_t bin_size = static_cast<uint64_t>(options_.bin_size), length = genome_.length(c);
        const uint32_t chrom = static_cast<uint32_t>(c);
        RegionClipper clip(regions_.output.intervals(c));
        // a stop request is honoured every kCheckEvery records, not only between chromosomes
        constexpr uint32_t kCheckEvery = 1 << 16;
        uint32_t until_check = kCheckEvery;
        auto check_stop = [&] {
            if (--until_check == 0) {
                until_check = kCheckEvery;
                if (stop()) throw Cancelled();
            }
        };
        auto write = [&](int64_t s, int64_t e, float v) {
            check_stop();
            if (!regions_.has_output) writer->add(chrom, s, e, v);
            else clip(s, e, [&](int64_t a, int64_t b) { writer->add(chrom, a, b, v); });
        };
        // value = count / denominator * scale_factor (smoothing: window sum / w, a linear step after it)
        const double scale = options_.scale_factor;
        if (options_.smooth_base) {
            const double per_window = denom * static_cast<double>(*options_.smooth_base);
            // Most smoothed records are one base long (the window's slopes): they go to
            // the writer in batches, which saves a chain of calls per base.
            constexpr size_t kBatch = 256;
            float batch[kBatch];
            size_t batch_n = 0;
            int64_t batch_start = 0;
            auto flush_batch = [&] {
                if (batch_n) writer->add_unit_records(chrom, static_cast<uint64_t>(batch_start), batch, batch_n);
                batch_n = 0;
            };
            const std::vector<Run> runs = bin_runs(first_bins, end_bins, bin_size, length);
            smooth_runs(runs, static_cast<uint64_t>(*options_.smooth_base), static_cast<int64_t>(length),
                        [&](int64_t s, int64_t e, int64_t sum) {
                            const float v = static_cast<float>(sum / per_window * scale);
                            if (e - s != 1 || regions_.has_output) {
                                flush_batch();
                                return write(s, e, v);
                            }
                            check_stop();
                            if (batch_n == kBatch || (batch_n && s != batch_start + static_cast<int64_t>(batch_n)))
                                flush_batch();
                            if (batch_n == 0) batch_start = s;
                            batch[batch_n++] = v;
                        });
            flush_batch();
        } else {
            for_each_run(first_bins, end_bins, bin_size, length, [&](int64_t s, int64_t e, int64_t count) {
                write(s, e, static_cast<float>(count / denom * scale));
            });
        }
    }
    writer->close();
    return writer;
}

namespace {

// a + sign * b of two step functions (sorted runs, 0 elsewhere); runs of 0 are left out.
std::vector<Run> add_steps(const std::vector<Run>& a, const std::vector<Run>& b, int64_t sign) {
    std::vector<Run> out;
    out.reserve(a.size() + b.size());
    StepCursor ca(a), cb(b);
    int64_t x = std::min(a.empty() ? INT64_MAX : a.front().start, b.empty() ? INT64_MAX : b.front().start);
    while (x != INT64_MAX) {
        int64_t na, nb;
        const int64_t v = ca.value_at(x, na) + sign * cb.value_at(x, nb);
        const int64_t e = std::min(na, nb);
        if (e == INT64_MAX) break;  // past both: 0 from here on
        if (v != 0) {
            if (!out.empty() && out.back().end == x && out.back().count == v) out.back().end = e;
            else out.push_back({x, e, v});
        }
        x = e;
    }
    return out;
}

// The smoothed window sums of 3.7 as runs covering [0, length) (zero sums included).
std::vector<Run> smoothed(const std::vector<Run>& runs, uint64_t window, int64_t length) {
    std::vector<Run> out;
    smooth_runs(runs, window, length, [&](int64_t s, int64_t e, int64_t sum) {
        if (!out.empty() && out.back().end == s && out.back().count == sum) out.back().end = e;
        else out.push_back({s, e, sum});
    });
    return out;
}

// Runs body(i) for i in [0, n) on n_threads threads (this one and n_threads - 1
// more, each taking the next i: dynamic, as the groups' writing is); the first
// exception is rethrown. std::thread, not OpenMP: see worker_team.cpp.
template <class Body>
void parallel_for(int n, int n_threads, Body body) {
    std::exception_ptr error;
    std::mutex error_mutex;
    std::atomic<int> next{0};
    auto work = [&] {
        for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
            try {
                body(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
            }
        }
    };
    std::vector<std::thread> helpers;
    try {
        for (int t = 1; t < std::min(n, n_threads); ++t) helpers.emplace_back(work);
    } catch (const std::system_error&) {
        // out of threads: those that started (and this one) do every i
    }
    work();
    for (std::thread& helper : helpers) helper.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace

// docs/spec.md section 14: one pass over the input has binned every group; per
// chromosome each group's runs are made once, the rest of group g is the sum of
// all groups minus g, and every written track is op(g, reference) per piece.
void GroupedExporter::write_comparisons(int n_threads, std::vector<std::unique_ptr<TrackWriter>>& out,
                                        const std::function<bool()>& stop) {
    const size_t n_groups = tracks_.size();
    std::vector<size_t> written, active;  // active: both denominators > 0
    std::vector<double> denom(n_groups, 0), ref_denom(n_groups, 0);
    bool needs_total = false;
    for (size_t g = 0; g < n_groups; ++g) {
        if (tracks_[g].path.empty()) continue;
        written.push_back(g);
        const int32_t ref = tracks_[g].reference;
        GroupStats other;
        Track other_track;
        if (ref == Track::kRest) {
            for (size_t h = 0; h < n_groups; ++h) {
                if (h == g) continue;
                other.n_units += stats_[h].n_units;
                other.norm_count += stats_[h].norm_count;
                other.norm_length += stats_[h].norm_length;
                other.bin_sum += stats_[h].bin_sum;
                other_track.n_cells += tracks_[h].n_cells;
            }
        } else {
            other = stats_[static_cast<size_t>(ref)];
            other_track = tracks_[static_cast<size_t>(ref)];
        }
        denom[g] = std::max(0.0, denominator(options_, stats_[g], tracks_[g]));
        ref_denom[g] = std::max(0.0, denominator(options_, other, other_track));
        stats_[g].denominator = denom[g];
        stats_[g].reference_denominator = ref_denom[g];
        out[g] = make_track_writer(genome_, tracks_[g].path, options_);
        if (denom[g] > 0 && ref_denom[g] > 0) {
            active.push_back(g);
            needs_total |= ref == Track::kRest;
        }
    }
    const double p = options_.pseudocount, scale = options_.scale_factor;
    const int64_t w = options_.smooth_base.value_or(1);
    const CompareOperation op = options_.compare;
    std::vector<std::vector<Run>> runs(n_groups);
    std::vector<Run> total;
    for (size_t c = 0; c < genome_.size() && !active.empty(); ++c) {
        if (stop()) throw Cancelled();
        if (regions_.has_output && regions_.output.intervals(c).empty()) continue;
        const int64_t length = static_cast<int64_t>(genome_.length(c));
        parallel_for(static_cast<int>(n_groups), n_threads, [&](int h) {
            std::vector<uint32_t> first_bins, end_bins;
            units_->load(static_cast<size_t>(h), c, first_bins, end_bins);
            runs[h] = first_bins.empty() ? std::vector<Run>{}
                                         : bin_runs(first_bins, end_bins, static_cast<uint64_t>(options_.bin_size),
                                                    genome_.length(c));
        });
        total.clear();
        if (needs_total)
            for (size_t h = 0; h < n_groups; ++h) total = add_steps(total, runs[h], 1);
        const uint32_t chrom = static_cast<uint32_t>(c);
        parallel_for(static_cast<int>(active.size()), n_threads, [&](int k) {
            const size_t g = active[static_cast<size_t>(k)];
            const int32_t ref = tracks_[g].reference;
            std::vector<Run> a = runs[g];
            std::vector<Run> b = ref == Track::kRest ? add_steps(total, runs[g], -1) : runs[static_cast<size_t>(ref)];
            if (options_.smooth_base) {  // each side smoothed on its own, then compared (14.2)
                a = smoothed(a, static_cast<uint64_t>(w), length);
                b = smoothed(b, static_cast<uint64_t>(w), length);
            }
            const double da = denom[g] * static_cast<double>(w), db = ref_denom[g] * static_cast<double>(w);
            TrackWriter& writer = *out[g];
            RegionClipper clip(regions_.output.intervals(c));
            StepCursor ca(a), cb(b);
            uint32_t until_check = 1 << 16;
            for (int64_t x = 0; x < length;) {
                if (--until_check == 0) {
                    until_check = 1 << 16;
                    if (stop()) throw Cancelled();
                }
                int64_t na, nb;
                const double va = static_cast<double>(ca.value_at(x, na)) / da * scale;
                const double vb = static_cast<double>(cb.value_at(x, nb)) / db * scale;
                const int64_t e = std::min({na, nb, length});
                double v;
                switch (op) {
                    case CompareOperation::Log2: v = std::log2((va + p) / (vb + p)); break;
                    case CompareOperation::Ratio: v = (va + p) / (vb + p); break;
                    default: v = va - vb; break;
                }
                const float f = static_cast<float>(v);
                if (!regions_.has_output) writer.add(chrom, x, e, f);
                else clip(x, e, [&](int64_t s1, int64_t e1) { writer.add(chrom, s1, e1, f); });
                x = e;
            }
        });
    }
    for (size_t g : written) out[g]->close();
}

std::vector<GroupStats> GroupedExporter::finish(const std::function<bool()>& cancelled) {
    const int n_groups = static_cast<int>(tracks_.size());
    int n_threads = options_.n_jobs <= 0 ? processor_count() : options_.n_jobs;
    n_threads = std::max(1, std::min(n_threads, n_groups));
    // every slot's counts; integer sums, so the order of the slots does not matter
    for (size_t g = 0; g < tracks_.size(); ++g) {
        GroupStats sum;
        for (const Slot& slot : slots_) {
            sum.n_units += slot.stats[g].n_units;
            sum.norm_count += slot.stats[g].norm_count;
            sum.norm_length += slot.stats[g].norm_length;
            sum.bin_sum += slot.stats[g].bin_sum;
        }
        stats_[g] = sum;
    }
    // Largest groups first: a big group started last would leave the other
    // threads idle at the end. Only the order of writing changes, not a byte.
    std::vector<int> order(tracks_.size());
    for (int g = 0; g < n_groups; ++g) order[g] = g;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return stats_[a].n_units > stats_[b].n_units; });

    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<TrackWriter>> done_tracks(tracks_.size());
    std::exception_ptr error;
    std::mutex error_mutex;
    auto stop_requested = [&] { return stop.load(std::memory_order_relaxed); };

    // Workers run on their own thread so that the caller's thread stays free to
    // poll for cancellation (Ctrl-C in Python: signals are only seen on
    // Python's main thread) while they write. Within it, n_threads threads
    // (itself and n_threads - 1 more) take the next unwritten group, one at a
    // time (dynamic: groups differ a lot in size), as OpenMP's
    // schedule(dynamic, 1) did. std::thread rather than OpenMP, so that the
    // release wheels need no OpenMP runtime (worker_team.cpp says why).
    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool done = false;
    const bool compare = options_.compare != CompareOperation::None;
    std::thread worker([&] {
        if (compare) {
            try {
                write_comparisons(n_threads, done_tracks, stop_requested);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                stop = true;
            }
        }
        std::atomic<int> next{0};
        const int n_plain = compare ? 0 : n_groups;  // comparison tracks were written above
        auto write_groups = [&] {
            for (int k = next.fetch_add(1); k < n_plain; k = next.fetch_add(1)) {
                const int g = order[k];
                if (stop_requested()) continue;
                try {
                    done_tracks[g] = write_group(static_cast<size_t>(g), stop_requested);
                } catch (...) {
                    std::lock_guard<std::mutex> lock(error_mutex);
                    if (!error) error = std::current_exception();
                    stop = true;
                }
            }
        };
        std::vector<std::thread> helpers;
        try {
            for (int t = 1; t < n_threads; ++t) helpers.emplace_back(write_groups);
        } catch (const std::system_error&) {
            // out of threads: those that started (and this one) write every group
        }
        write_groups();
        for (std::thread& helper : helpers) helper.join();
        std::lock_guard<std::mutex> lock(done_mutex);
        done = true;
        done_cv.notify_all();
    });
    {
        std::unique_lock<std::mutex> lock(done_mutex);
        poll_until_ready([&](auto interval) { return done_cv.wait_for(lock, interval, [&] { return done; }); },
                         [&] {
                             if (cancelled && !stop) {
                                 lock.unlock();
                                 const bool c = cancelled();
                                 lock.lock();
                                 if (c) stop = true;
                             }
                             return false;  // keep waiting: the workers stop soon after `stop`
                         });
    }
    worker.join();
    if (error) std::rethrow_exception(error);  // done_tracks' destructors remove every temporary file
    if (stop) throw Cancelled();
    for (auto& track : done_tracks)
        if (track) track->commit();  // all complete: rename into place (comparisons: written tracks only)
    return stats_;
}

}  // namespace fragcov
