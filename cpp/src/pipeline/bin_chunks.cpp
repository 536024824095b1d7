// Phase 1 of an export (docs/spec.md 7.2): this thread takes chunks from the
// source while binning_slots() workers read and bin the earlier ones. A
// WorkerTeam rather than std::async: several chunks are binned at once, into
// per-slot buffers, by one team of threads that lives through the whole pass.
#include <atomic>
#include <deque>

#include "fragcov/pipeline.hpp"
#include "util/test_gate.hpp"
#include "util/worker_team.hpp"

namespace fragcov {

ChunkSource::~ChunkSource() = default;

bool CellChunks::next(BinJob& job, const std::function<bool()>&) {
    if (next_ == chunks_.size()) return false;
    job.cells = chunks_[next_++];
    job.n_fragments = job.cells.n_fragments;
    return true;
}

void ChunkSources::start(size_t n_slots) {
    for (ChunkSource* part : parts_) part->start(n_slots);
}

bool ChunkSources::next(BinJob& job, const std::function<bool()>& cancelled) {
    for (; current_ < parts_.size(); ++current_)
        if (parts_[current_]->next(job, cancelled)) return true;
    return false;
}

void bin_chunks(GroupedExporter& exporter, ChunkSource& source, const ExportHooks& hooks) {
    const size_t n_slots = exporter.binning_slots();
    source.start(n_slots);
    std::atomic<bool> stop{false};  // a cancellation was seen (what the test gate waits for)
    std::function<bool()> cancelled;
    if (hooks.cancelled)
        cancelled = [&] {
            if (hooks.cancelled()) stop = true;
            return stop.load();
        };
    // `kept` holds each queued chunk's arrays until its job has finished;
    // declared before `team`, so that on an error the workers are stopped first.
    std::deque<std::shared_ptr<const void>> kept;
    uint64_t first_kept = 0;  // job index of kept.front()
    WorkerTeam team(n_slots, n_slots + 1);
    for (uint64_t index = 0;; ++index) {
        BinJob job;
        if (!source.next(job, cancelled)) break;
        kept.push_back(std::move(job.keep));
        if (hooks.progress) hooks.progress(job.n_fragments);
        team.submit(
            [&exporter, &stop, index, cells = job.cells, read = std::move(job.read)](size_t slot) mutable {
                if (index == 0) test_gate::hold("bin chunk", [&] { return stop.load(); });
                if (read) read(cells, slot);
                exporter.add_cells(cells, slot);
            },
            cancelled);
        for (uint64_t done = team.finished_prefix(); first_kept < done; ++first_kept) kept.pop_front();
    }
    team.wait(cancelled);
}

ExportResult export_coverage(ExportPlan plan, ChunkSource& source, const ExportHooks& hooks) {
    GroupedExporter exporter(std::move(plan.genome), std::move(plan.regions), std::move(plan.options),
                             std::move(plan.tracks));
    if (plan.profiles) exporter.add_profiles(std::move(plan.profiles->anchors), plan.profiles->options);
    if (hooks.before_reading) hooks.before_reading();
    bin_chunks(exporter, source, hooks);
    if (hooks.after_reading) hooks.after_reading();
    ExportResult result;
    result.stats = exporter.finish(hooks.cancelled);
    if (plan.profiles) result.profiles = exporter.take_profiles();
    return result;
}

}  // namespace fragcov
