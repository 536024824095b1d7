// Parsing a fragment file on several threads (docs/spec.md 8.1.1), for a
// reader with a barcode list (FragmentFileOptions::barcodes: ids are lookups
// in a table nobody writes, so no line depends on the lines before it but
// for its number and its new_run flag).
//
// A splitter thread cuts the decompressed pieces into blocks at line ends (a
// line split between two pieces goes with the later block); n_threads
// workers (a WorkerTeam) parse blocks at once, each with its own LineParser
// and local line numbers and statistics; next() hands the blocks' lines out
// strictly in file order, adding the lines before each block to its line
// numbers and statistics and joining barcode runs across blocks. So batches,
// statistics (after every next()) and error messages are those of
// FragmentFileReader's own loop, whatever n_threads and the timing.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "input/fragment_reader.hpp"

namespace fragcov {

class BarcodeTable;
class DecompressedStream;
class LineParser;
class WorkerTeam;

class ParallelParser {
public:
    // Every reference must outlive the parser; `options.barcodes` must be
    // set. At most blocks_in_flight(n_threads) blocks are parsed or waiting
    // to be handed out at a time.
    ParallelParser(std::string path, const FragmentFileOptions& options, BarcodeTable& barcodes,
                   DecompressedStream& stream, int n_threads);
    // Stops the splitter and the workers and joins them (mid-file too).
    ~ParallelParser();
    ParallelParser(const ParallelParser&) = delete;
    ParallelParser& operator=(const ParallelParser&) = delete;

    // FragmentFileReader::next: fills `batch` (cleared first) with up to
    // `max_lines` listed lines and sets `stats` to the statistics of the
    // lines read so far; false at the end. Throws std::invalid_argument for
    // a malformed line (after every line before it was handed out) or a
    // decompression error, and Cancelled once cancel() was called.
    bool next(FragmentBatch& batch, size_t max_lines, FragmentFileStats& stats);

    // From any thread: stops the splitter and the workers; next() throws Cancelled.
    void cancel();

    static size_t blocks_in_flight(int n_threads) { return 2 * static_cast<size_t>(n_threads < 1 ? 1 : n_threads); }

private:
    struct Block;
    void split();         // the splitter thread's body
    void split_pieces();  // its loop, until the end of the stream or stop_
    void publish(std::unique_ptr<Block> block);       // appends it to blocks_ and has it parsed
    void parse(Block& block, LineParser& parser);     // a worker's job
    std::unique_ptr<Block> spare_block();             // mutex_ held
    // The first block once parsed; nullptr at the end of the file. Throws
    // Cancelled, or the stream's error once every block before it is handed out.
    Block* front();
    FragmentFileStats through(const Block& block, uint64_t local_line) const;
    void retire(const Block& block);  // the front block, handed out whole

    std::string path_;
    const FragmentFileOptions& options_;
    DecompressedStream& stream_;
    size_t window_;
    std::vector<std::unique_ptr<LineParser>> parsers_;  // one per worker slot

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::unique_ptr<Block>> blocks_;    // in file order: being parsed, or parsed and not handed out
    std::vector<std::unique_ptr<Block>> spare_;    // recycled (their vectors keep their capacity)
    std::vector<PageVector<char>> spare_text_;    // parsed pieces, for the stream to refill
    std::atomic<bool> stop_{false};                // written with mutex_ held
    bool split_done_ = false;                      // the splitter has ended...
    std::exception_ptr split_error_;               // ...with this error (decompression)

    // the consumer's (next()'s) state
    size_t cursor_ = 0;             // lines of blocks_.front() handed out
    uint64_t base_line_ = 0;        // lines of the file before blocks_.front()
    FragmentFileStats running_;     // the blocks before the front one, plus the front one's lines handed out
    bool has_last_barcode_ = false; // the last listed line handed out, for new_run across blocks
    std::string last_barcode_;
    bool finished_ = false;

    std::unique_ptr<WorkerTeam> team_;
    std::thread splitter_;  // last: started once everything else exists
};

}  // namespace fragcov
