// Unit tests for TrackWriter's own rules, with a writer that only records what
// reaches it: a closed track keeps no thread state (docs/spec.md 1.6.3).
#include "fragcov/track_writer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fragcov;

namespace {

// Counts its live thread states and the records its chromosomes were given.
class RecordingWriter : public TrackWriter {
public:
    explicit RecordingWriter(const Genome& genome) : TrackWriter(genome) {}
    static inline int live_states = 0;
    std::vector<std::string> records;  // "chrom:start-end=value", in commit order

protected:
    struct State : ThreadState {
        State() { ++live_states; }
        ~State() override { --live_states; }
    };
    struct Part : Chromosome {
        explicit Part(uint32_t chrom) : Chromosome(chrom) {}
        std::vector<std::string> held;
        void write_record(uint64_t start, uint64_t end, float value) override {
            held.push_back(std::to_string(chrom()) + ":" + std::to_string(start) + "-" + std::to_string(end) + "=" +
                           std::to_string(value));
        }
        void finish_records() override {}
        size_t held_bytes() const override { return held.size(); }
    };
    std::unique_ptr<ThreadState> new_thread_state() override { return std::make_unique<State>(); }
    std::unique_ptr<Chromosome> new_chromosome(uint32_t chrom, ThreadState* state) override {
        if (!state) throw std::logic_error("a chromosome without its thread's state");
        return std::make_unique<Part>(chrom);
    }
    void commit_chromosome(Chromosome& part) override {
        auto& held = static_cast<Part&>(part).held;
        records.insert(records.end(), held.begin(), held.end());
        held.clear();
    }
    void close_file() override {}
    void commit_file() override {}
};

}  // namespace

TEST_CASE("a closed TrackWriter keeps no thread state, whichever way it was filled") {
    // An export keeps every closed track until the last one is done (6.4.2): what
    // a closed track holds is held once per group (8,000 one-cell bigWig groups
    // held ~80 KB of compressors each). The states are live while the track is
    // open (the count sees them), and none is left once it is closed.
    const Genome genome({"a", "b", "c", "d"}, {1000, 1000, 1000, 1000});
    const std::vector<std::string> expected = {"0:10-20=1.000000", "1:5-6=2.000000", "2:5-6=2.000000",
                                               "3:5-6=2.000000"};
    for (int threads : {0, 1, 3}) {  // 0: add() only
        INFO("threads " << threads);
        REQUIRE(RecordingWriter::live_states == 0);
        {
            RecordingWriter w(genome);
            w.add(0, 10, 20, 1.0f);
            if (threads == 0)
                for (uint32_t c = 1; c < 4; ++c) w.add(c, 5, 6, 2.0f);
            else
                w.write_chromosomes({1, 2, 3}, threads, [](TrackWriter::Chromosome& out) { out.add(5, 6, 2.0f); });
            CHECK(RecordingWriter::live_states == 1);  // the calling thread's, the helpers' are gone
            w.close();
            CHECK(RecordingWriter::live_states == 0);
            CHECK(w.records == expected);
            w.commit();  // after close(): nothing new is made
            CHECK(RecordingWriter::live_states == 0);
        }
        CHECK(RecordingWriter::live_states == 0);
    }
}
