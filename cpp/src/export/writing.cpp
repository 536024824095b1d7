// One group's track: its units binned into runs per chromosome, divided by the
// denominator, optionally smoothed, cut to `regions`, handed to the writer.
#include "export/writing.hpp"

#include "export/coverage.hpp"

namespace fragcov {

namespace {

// Records of one chromosome of one track, to its writer: cut to the output
// regions when there are some, with a stop check every StopCheck::kEvery records.
class ChromosomeRecords {
public:
    ChromosomeRecords(const WriteContext& ctx, TrackWriter::Chromosome& out, const std::function<bool()>& stop)
        : has_output_(ctx.regions.has_output),
          out_(out),
          clip_(ctx.regions.output.intervals(out.chrom())),
          check_stop(stop) {}

    void write(int64_t s, int64_t e, float v) {
        check_stop();
        if (!has_output_) out_.add(s, e, v);
        else clip_(s, e, [&](int64_t a, int64_t b) { out_.add(a, b, v); });
    }

    // A smoothed track's records: most are one base long (the window's slopes)
    // and go to the writer in batches, which saves a chain of calls per base.
    void write_smoothed(int64_t s, int64_t e, float v) {
        if (e - s != 1 || has_output_) {
            flush_batch();
            return write(s, e, v);
        }
        check_stop();
        if (batch_n_ == kBatch || (batch_n_ && s != batch_start_ + static_cast<int64_t>(batch_n_))) flush_batch();
        if (batch_n_ == 0) batch_start_ = s;
        batch_[batch_n_++] = v;
    }
    void flush_batch() {
        if (batch_n_) out_.add_unit_records(static_cast<uint64_t>(batch_start_), batch_, batch_n_);
        batch_n_ = 0;
    }

private:
    const bool has_output_;
    TrackWriter::Chromosome& out_;
    RegionClipper clip_;
    static constexpr size_t kBatch = 256;
    float batch_[kBatch];
    size_t batch_n_ = 0;
    int64_t batch_start_ = 0;

public:
    StopCheck check_stop;
};

}  // namespace

std::unique_ptr<TrackWriter> write_track(const WriteContext& ctx, size_t group, const Track& track,
                                         const TrackScale& scale, int n_threads, const std::function<bool()>& stop) {
    const ExportOptions& options = ctx.options;
    auto writer = make_track_writer(ctx.genome, track.path, options);
    std::vector<uint32_t> chroms;  // each swept, encoded and compressed on one of n_threads (7.1.1)
    for (size_t c = 0; c < ctx.genome.size() && scale.denominator > 0; ++c)
        if (!ctx.regions.has_output || !ctx.regions.output.intervals(c).empty())
            chroms.push_back(static_cast<uint32_t>(c));
    writer->write_chromosomes(chroms, n_threads, [&](TrackWriter::Chromosome& out) {
        if (stop()) throw Cancelled();
        const uint32_t c = out.chrom();
        std::vector<uint32_t> first_bins, end_bins;
        ctx.units.load(group, c, first_bins, end_bins);
        if (first_bins.empty()) return;
        const uint64_t bin_size = static_cast<uint64_t>(options.bin_size), length = ctx.genome.length(c);
        ChromosomeRecords records(ctx, out, stop);
        if (options.smooth_base) {  // a window's mean: its sum's value over w bases
            const TrackScale per_window = scale.per(static_cast<double>(*options.smooth_base));
            const std::vector<Run> runs = bin_runs(first_bins, end_bins, bin_size, length);
            smooth_runs(runs, static_cast<uint64_t>(*options.smooth_base), static_cast<int64_t>(length),
                        [&](int64_t s, int64_t e, int64_t sum) {
                            records.write_smoothed(s, e, static_cast<float>(per_window.value(static_cast<double>(sum))));
                        });
            records.flush_batch();
        } else {
            for_each_run(first_bins, end_bins, bin_size, length, [&](int64_t s, int64_t e, int64_t count) {
                records.write(s, e, static_cast<float>(scale.value(static_cast<double>(count))));
            });
        }
    });
    writer->close();
    return writer;
}

}  // namespace fragcov
