// Comparison tracks (docs/spec.md section 14): one pass over the input has
// binned every group; per chromosome each group's runs are made once, the rest
// of group g is the sum of all groups minus g, and every written track is
// op(g, reference) per piece.
#include <cmath>

#include "export/coverage.hpp"
#include "export/normalization.hpp"
#include "export/writing.hpp"
#include "util/parallel_for.hpp"

namespace fragcov {

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
        : ctx_(ctx), o_(ctx.options), tracks_(tracks), out_(out), denom_(tracks.size(), 0),
          ref_denom_(tracks.size(), 0), runs_(tracks.size()) {
        for (size_t g = 0; g < tracks.size(); ++g) {
            if (tracks[g].path.empty()) continue;
            written_.push_back(g);
            denom_[g] = std::max(0.0, denominator(o_, stats[g], tracks[g]));
            ref_denom_[g] = std::max(0.0, reference_denominator(o_, stats, tracks, g));
            stats[g].denominator = denom_[g];
            stats[g].reference_denominator = ref_denom_[g];
            out[g] = make_track_writer(ctx.genome, tracks[g].path, o_);
            if (denom_[g] > 0 && ref_denom_[g] > 0) {  // both sides have a total: written
                active_.push_back(g);
                needs_total_ |= tracks[g].reference == Track::kRest;
            }
        }
    }

    void write(int n_threads, const std::function<bool()>& stop) {
        for (size_t c = 0; c < ctx_.genome.size() && !active_.empty(); ++c) {
            if (stop()) throw Cancelled();
            if (ctx_.regions.has_output && ctx_.regions.output.intervals(c).empty()) continue;
            parallel_for(tracks_.size(), n_threads, [&](size_t h) { bin(h, c); });
            total_.clear();
            if (needs_total_)
                for (size_t h = 0; h < tracks_.size(); ++h) total_ = add_steps(total_, runs_[h], 1);
            parallel_for(active_.size(), n_threads, [&](size_t k) { write_track(active_[k], c, stop); });
        }
        for (size_t g : written_) out_[g]->close();
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

    // track g on chromosome c: each side normalized (and smoothed on its own, 14.2), then compared
    void write_track(size_t g, size_t c, const std::function<bool()>& stop) {
        const int64_t length = static_cast<int64_t>(ctx_.genome.length(c));
        const int64_t w = o_.smooth_base.value_or(1);
        const int32_t ref = tracks_[g].reference;
        std::vector<Run> a = runs_[g];
        std::vector<Run> b = ref == Track::kRest ? add_steps(total_, runs_[g], -1) : runs_[static_cast<size_t>(ref)];
        if (o_.smooth_base) {
            a = smoothed(a, static_cast<uint64_t>(w), length);
            b = smoothed(b, static_cast<uint64_t>(w), length);
        }
        const double da = denom_[g] * static_cast<double>(w), db = ref_denom_[g] * static_cast<double>(w);
        const double p = o_.pseudocount, scale = o_.scale_factor;
        TrackWriter& writer = *out_[g];
        const uint32_t chrom = static_cast<uint32_t>(c);
        RegionClipper clip(ctx_.regions.output.intervals(c));
        StopCheck check_stop(stop);
        StepCursor ca(a), cb(b);
        for (int64_t x = 0; x < length;) {
            check_stop();
            int64_t na, nb;
            const double va = static_cast<double>(ca.value_at(x, na)) / da * scale;
            const double vb = static_cast<double>(cb.value_at(x, nb)) / db * scale;
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
    std::vector<size_t> written_, active_;  // active: both denominators > 0
    std::vector<double> denom_, ref_denom_;
    bool needs_total_ = false;
    std::vector<std::vector<Run>> runs_;  // per group, of the current chromosome
    std::vector<Run> total_;              // every group's runs added up (for kRest)
};

}  // namespace

void write_comparisons(const WriteContext& ctx, const std::vector<Track>& tracks, std::vector<GroupStats>& stats,
                       int n_threads, std::vector<std::unique_ptr<TrackWriter>>& out,
                       const std::function<bool()>& stop) {
    Comparison comparison(ctx, tracks, stats, out);
    comparison.write(n_threads, stop);
}

}  // namespace fragcov
