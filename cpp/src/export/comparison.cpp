// Comparison tracks (docs/spec.md section 14): one pass over the input has
// binned every group; the tracks are written in batches (Comparison::write);
// per chromosome the batch's groups' runs are made, the rest of group g is the
// sum of all groups minus g, and every written track is op(g, reference) per
// piece, both sides read lazily (SideCursor).
#include <cmath>
#include <optional>

#include "export/coverage.hpp"
#include "export/normalization.hpp"
#include "export/writing.hpp"
#include "util/parallel_for.hpp"

namespace fragcov {

namespace {

// One side of a comparison on one chromosome (docs/spec.md 14.2): a group's
// runs, or the rest (all groups minus one), smoothed on its own when
// smooth_base is set; read lazily, so no side's (per-base) runs are built.
class SideCursor {
public:
    SideCursor(const std::vector<Run>& minuend, const std::vector<Run>& subtrahend, int64_t window, int64_t length)
        : raw_(minuend, subtrahend) {
        if (window > 0) smooth_.emplace(raw_, static_cast<uint64_t>(window), length);
    }
    int64_t value_at(int64_t x, int64_t& next_change) {
        return smooth_ ? smooth_->value_at(x, next_change) : raw_.value_at(x, next_change);
    }

private:
    DifferenceCursor raw_;
    std::optional<SmoothCursor<DifferenceCursor>> smooth_;
};

// op(va, vb) of docs/spec.md section 14.2.
double compare_values(CompareOperation op, double va, double vb, double p) {
    switch (op) {
        case CompareOperation::Log2: return std::log2((va + p) / (vb + p));
        case CompareOperation::Ratio: return (va + p) / (vb + p);
        default: return va - vb;
    }
}

class Comparison {
public:
    Comparison(const WriteContext& ctx, const std::vector<Track>& tracks, std::vector<GroupStats>& stats,
               std::vector<std::unique_ptr<TrackWriter>>& out)
        : ctx_(ctx), o_(ctx.options), tracks_(tracks), out_(out), scale_(tracks.size()),
          ref_scale_(tracks.size()), runs_(tracks.size()) {
        for (size_t g = 0; g < tracks.size(); ++g) {
            if (tracks[g].path.empty()) continue;
            scale_[g] = track_scale(o_, stats[g], tracks[g]);
            ref_scale_[g] = reference_scale(o_, stats, tracks, g);
            stats[g].denominator = scale_[g].denominator;
            stats[g].reference_denominator = ref_scale_[g].denominator;
            if (scale_[g].denominator > 0 && ref_scale_[g].denominator > 0) {  // both sides have a total: written, in its batch
                active_.push_back(g);
            } else {  // an empty track (14.4)
                out[g] = make_track_writer(ctx.genome, tracks[g].path, o_);
                out[g]->close();
            }
        }
    }

    // The tracks are written in batches, each over the whole genome, then closed
    // (a closed writer frees its buffers and index): an open bigWig keeps an
    // index entry per block until it is closed, so writing every group at once
    // held all of them (with smooth_base, 18x the memory of the same export).
    // Each batch bins again what it needs, chromosome by chromosome: its groups,
    // their reference groups and, for the rest, all units at once (one sweep).
    // A batch is n_threads tracks, or an eighth of them when there are many
    // groups, so that the genome is binned at most 8 times over.
    void write(int n_threads, const std::function<bool()>& stop) {
        const size_t batch_size = std::max<size_t>(static_cast<size_t>(std::max(1, n_threads)),
                                                   (active_.size() + 7) / 8);
        for (size_t first = 0; first < active_.size(); first += batch_size) {
            const std::vector<size_t> batch(active_.begin() + static_cast<std::ptrdiff_t>(first),
                                            active_.begin() + static_cast<std::ptrdiff_t>(
                                                                  std::min(active_.size(), first + batch_size)));
            std::vector<size_t> needed;  // the groups whose runs the batch reads
            std::vector<char> is_needed(tracks_.size(), 0);
            bool needs_total = false;
            for (size_t g : batch) {
                const int32_t ref = tracks_[g].reference;
                for (size_t h : {g, ref == Track::kRest ? g : static_cast<size_t>(ref)})
                    if (!is_needed[h]) is_needed[h] = 1, needed.push_back(h);
                needs_total |= ref == Track::kRest;
            }
            for (size_t g : batch) out_[g] = make_track_writer(ctx_.genome, tracks_[g].path, o_);
            for (size_t c = 0; c < ctx_.genome.size(); ++c) {
                if (stop()) throw Cancelled();
                if (ctx_.regions.has_output && ctx_.regions.output.intervals(c).empty()) continue;
                // task k < needed.size(): group needed[k]'s runs; the last one: the total's
                parallel_for(needed.size() + (needs_total ? 1 : 0), n_threads, [&](size_t k) {
                    if (k < needed.size()) bin(needed[k], c);
                    else bin_total(c);
                });
                parallel_for(batch.size(), n_threads, [&](size_t k) { write_track(batch[k], c, stop); });
            }
            for (size_t g : batch) out_[g]->close();
            for (size_t h : needed) std::vector<Run>().swap(runs_[h]);
            std::vector<Run>().swap(total_);
        }
    }

private:
    // group h's runs on chromosome c
    void bin(size_t h, size_t c) {
        std::vector<uint32_t> first_bins, end_bins;
        ctx_.units.load(h, c, first_bins, end_bins);
        runs_[h] = first_bins.empty() ? std::vector<Run>{}
                                      : bin_runs(first_bins, end_bins, static_cast<uint64_t>(o_.bin_size),
                                                 ctx_.genome.length(c));
    }

    // every group's units of chromosome c swept at once: the total of the rest (kRest)
    void bin_total(size_t c) {
        std::vector<uint32_t> first_bins, end_bins, f, e;
        for (size_t h = 0; h < tracks_.size(); ++h) {
            ctx_.units.load(h, c, f, e);
            first_bins.insert(first_bins.end(), f.begin(), f.end());
            end_bins.insert(end_bins.end(), e.begin(), e.end());
        }
        total_ = first_bins.empty() ? std::vector<Run>{}
                                    : bin_runs(first_bins, end_bins, static_cast<uint64_t>(o_.bin_size),
                                               ctx_.genome.length(c));
    }

    // track g on chromosome c: each side normalized (and smoothed on its own, 14.2), then compared
    void write_track(size_t g, size_t c, const std::function<bool()>& stop) {
        const int64_t length = static_cast<int64_t>(ctx_.genome.length(c));
        const int64_t w = o_.smooth_base.value_or(1);
        const int32_t ref = tracks_[g].reference;
        const int64_t window = o_.smooth_base ? w : 0;
        SideCursor ca(runs_[g], kNoRuns, window, length);
        SideCursor cb(ref == Track::kRest ? total_ : runs_[static_cast<size_t>(ref)],
                      ref == Track::kRest ? runs_[g] : kNoRuns, window, length);
        const TrackScale sa = scale_[g].per(static_cast<double>(w)), sb = ref_scale_[g].per(static_cast<double>(w));
        const double p = o_.pseudocount;
        TrackWriter& writer = *out_[g];
        const uint32_t chrom = static_cast<uint32_t>(c);
        RegionClipper clip(ctx_.regions.output.intervals(c));
        StopCheck check_stop(stop);
        for (int64_t x = 0; x < length;) {
            check_stop();
            int64_t na, nb;
            const double va = sa.value(static_cast<double>(ca.value_at(x, na)));
            const double vb = sb.value(static_cast<double>(cb.value_at(x, nb)));
            const int64_t e = std::min({na, nb, length});
            const float f = static_cast<float>(compare_values(o_.compare, va, vb, p));
            if (!ctx_.regions.has_output) writer.add(chrom, x, e, f);
            else clip(x, e, [&](int64_t s1, int64_t e1) { writer.add(chrom, s1, e1, f); });
            x = e;
        }
    }

    const WriteContext& ctx_;
    const ExportOptions& o_;
    const std::vector<Track>& tracks_;
    std::vector<std::unique_ptr<TrackWriter>>& out_;
    std::vector<size_t> active_;  // written and both denominators > 0
    std::vector<TrackScale> scale_, ref_scale_;  // each side's: the group's, its reference's
    std::vector<std::vector<Run>> runs_;  // per group the batch reads, of the current chromosome
    std::vector<Run> total_;              // every group's units swept together (for kRest)
    const std::vector<Run> kNoRuns;
};

}  // namespace

void write_comparisons(const WriteContext& ctx, const std::vector<Track>& tracks, std::vector<GroupStats>& stats,
                       int n_threads, std::vector<std::unique_ptr<TrackWriter>>& out,
                       const std::function<bool()>& stop) {
    Comparison comparison(ctx, tracks, stats, out);
    comparison.write(n_threads, stop);
}

}  // namespace fragcov
