// GroupedExporter: checks everything before any file exists, then phase 1
// (binning.cpp) and phase 2: finish() writes the tracks (writing.cpp,
// comparison.cpp) with the denominators of normalization.cpp.
#include "fragcov/exporter.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <stdexcept>
#include <unordered_set>

#include "export/normalization.hpp"
#include "export/profile.hpp"
#include "export/unit_store.hpp"
#include "export/writing.hpp"
#include "output/bigwig_file.hpp"
#include "output/output_file.hpp"
#include "util/cancel_poll.hpp"
#include "util/io_error.hpp"
#include "util/parallel_for.hpp"
#include "util/processors.hpp"
#include "util/test_gate.hpp"

namespace fragcov {

namespace {

std::vector<Track> tracks_of(std::vector<std::string> paths) {
    std::vector<Track> tracks;
    tracks.reserve(paths.size());
    for (std::string& p : paths) tracks.emplace_back(std::move(p));
    return tracks;
}

// docs/spec.md 4.1.2 and 14: every written track's path usable and distinct
// (an empty path: no file, Track), its norm_by total a number, a comparison's
// reference another group.
void check_tracks(const std::vector<Track>& tracks, bool compare) {
    std::unordered_set<std::string> seen;
    for (size_t g = 0; g < tracks.size(); ++g) {
        const Track& t = tracks[g];
        if (compare) {
            if (t.reference != Track::kRest &&
                (t.reference < 0 || static_cast<size_t>(t.reference) >= tracks.size() ||
                 static_cast<size_t>(t.reference) == g))
                throw std::invalid_argument("track " + std::to_string(g) + " has reference " +
                                            std::to_string(t.reference) + "; it must be -1 (the rest) or another "
                                            "group's index");
        }
        if (!t.path.empty()) {
            check_output_path(t.path);
            if (!seen.insert(t.path).second)
                throw std::invalid_argument("two tracks have the same output path '" + t.path + "'");
        }
        if (!(t.norm_by_total >= 0) || !std::isfinite(t.norm_by_total))
            throw std::invalid_argument("the norm_by total of track " + std::to_string(g) + " ('" + t.path +
                                        "') must be a finite number >= 0");
    }
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
    const bool compare = options_.compare != CompareOperation::None;
    check_tracks(tracks_, compare);
    for (const Track& t : tracks_) stores_units_.push_back(compare || !t.path.empty());
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
// chunk and its own unit buffers): thread_count caps n_jobs at the processors.
int binning_threads(int64_t n_jobs) { return thread_count(n_jobs); }

GroupedExporter::~GroupedExporter() = default;

void GroupedExporter::add_profiles(std::vector<ProfileAnchor> anchors, const ProfileOptions& options) {
    if (options_.ceiling)
        throw std::invalid_argument("profiles count every unit: they cannot be computed with a ceiling");
    if (options_.compare != CompareOperation::None)
        throw std::invalid_argument("profiles cannot be computed with comparison tracks");
    profiles_ = std::make_unique<ProfileCollector>(genome_, std::move(anchors), options, tracks_.size(),
                                                   slots_.size(), options_.memory_budget_bytes, options_.tempdir);
}

std::vector<GroupProfile> GroupedExporter::take_profiles() {
    return profiles_ ? profiles_->take() : std::vector<GroupProfile>{};
}

// Writes the tracks on n_threads threads, each taking the next unwritten group
// (largest first: a big group started last would leave the other threads idle
// at the end; only the order of writing changes, not a byte), then the
// profiles' (group, chromosome) tasks (docs/spec.md section 16.10), or the
// comparison tracks. A failure or `stop` ends the writing; the first error is
// rethrown.
void GroupedExporter::write_tracks(int n_threads, std::vector<std::unique_ptr<TrackWriter>>& out,
                                   std::atomic<bool>& stop) {
    const std::function<bool()> stop_requested = [&] { return stop.load(std::memory_order_relaxed); };
    const WriteContext ctx{genome_, regions_, options_, *units_};
    if (options_.compare != CompareOperation::None) {
        try {
            write_comparisons(ctx, tracks_, stats_, n_threads, out, stop_requested);
        } catch (...) {
            stop = true;
            throw;
        }
        return;
    }
    // Threads left over when there are fewer groups than min(n_jobs, processors)
    // write the chromosomes of each group in parallel (7.1.1); never more threads
    // than that in all.
    const int per_group = std::max(1, binning_threads(options_.n_jobs) / n_threads);
    std::vector<size_t> order(tracks_.size());
    for (size_t g = 0; g < order.size(); ++g) order[g] = g;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return stats_[a].n_units > stats_[b].n_units; });
    std::vector<TrackScale> scales(tracks_.size());  // denominator 0: an all-zero track (and profile)
    for (size_t g = 0; g < tracks_.size(); ++g) {
        scales[g] = track_scale(options_, stats_[g], tracks_[g]);
        stats_[g].denominator = scales[g].denominator;
    }
    const size_t n_profile_tasks = profiles_ ? profiles_->n_tasks() : 0;
    parallel_for(order.size() + n_profile_tasks, n_threads, [&](size_t k) {
        test_gate::hold("write track", stop_requested);
        if (stop_requested()) return;
        try {
            if (k >= order.size())
                return profiles_->run_task(k - order.size(), scales, stop_requested);
            const size_t g = order[k];
            if (!tracks_[g].path.empty())
                out[g] = write_track(ctx, g, tracks_[g], scales[g], per_group, stop_requested);
        } catch (...) {
            stop = true;
            throw;
        }
    });
}

std::vector<GroupStats> GroupedExporter::finish(const std::function<bool()>& cancelled) {
    const int n_groups = static_cast<int>(tracks_.size());
    int n_threads = thread_count(options_.n_jobs);  // never more than the processors (docs/spec.md 7.1)
    const int n_tasks = std::max(n_groups, profiles_ ? static_cast<int>(profiles_->n_tasks()) : 0);
    n_threads = std::max(1, std::min(n_threads, n_tasks));
    for (size_t g = 0; g < tracks_.size(); ++g) {  // every slot's counts
        stats_[g] = GroupStats{};
        for (const Slot& slot : slots_) add_counts(stats_[g], slot.stats[g]);
    }
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<TrackWriter>> done_tracks(tracks_.size());
    std::exception_ptr error;
    run_while_polling(
        [&] {
            try {
                write_tracks(n_threads, done_tracks, stop);
            } catch (...) {
                error = std::current_exception();
            }
        },
        cancelled, stop);
    if (error) std::rethrow_exception(error);  // done_tracks' destructors remove every temporary file
    if (stop) throw Cancelled();
    for (auto& track : done_tracks)
        if (track) track->commit();  // all complete: rename into place (comparisons: written tracks only)
    return stats_;
}

}  // namespace fragcov
