#include "input/parallel_parse.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>

#include "fragcov/cancelled.hpp"
#include "util/worker_team.hpp"
#include "input/decompress.hpp"
#include "input/line_parser.hpp"
#include "util/wait.hpp"

namespace fragcov {

struct ParallelParser::Block {
    // input, from the splitter
    std::string head;           // the start of the block's first line (the previous piece's end), or,
    bool head_is_line = false;  // the file's last line, which has no '\n' (`text` is then unused)
    PageVector<char> text;     // a piece of the decompressed stream...
    size_t text_end = 0;        // ...of which the block holds the lines before this (just after a '\n')

    // output, from a worker; line numbers count from 1 at the block's first line
    FragmentBatch batch;
    FragmentFileStats stats;                 // stats.lines: the block's lines (up to a bad one)
    uint64_t first_data_line = 0;            // the line that set stats.first_data_columns
    std::vector<uint64_t> zero_length_lines;
    bool listed_any = false;                 // the barcodes of the first and last listed line
    std::string first_barcode, last_barcode;
    std::optional<LineError> bad_line;       // the parse stopped at this line
    std::exception_ptr error;                // or failed otherwise (no memory)
    bool parsed = false;                     // with mutex_ held

    void reset() {
        head.clear();
        head_is_line = false;
        text_end = 0;
        error = nullptr;
        batch.clear();
        stats = FragmentFileStats();
        first_data_line = 0;
        zero_length_lines.clear();
        listed_any = false;
        bad_line.reset();
        parsed = false;
    }
};

namespace {

// Just past the last '\n' of [begin, end), or begin when there is none. (A
// loop rather than GNU memrchr: the last line is short.)
const char* after_last_newline(const char* begin, const char* end) {
    for (const char* p = end; p > begin; --p)
        if (p[-1] == '\n') return p;
    return begin;
}

}  // namespace

ParallelParser::ParallelParser(std::string path, const FragmentFileOptions& options, BarcodeTable& barcodes,
                               DecompressedStream& stream, int n_threads)
    : path_(std::move(path)), options_(options), stream_(stream), window_(blocks_in_flight(n_threads)) {
    if (!options_.barcodes) throw std::logic_error("ParallelParser needs a barcode list");
    const size_t workers = static_cast<size_t>(std::max(1, n_threads));
    for (size_t i = 0; i < workers; ++i) parsers_.push_back(std::make_unique<LineParser>(options_, barcodes));
    // the splitter keeps at most window_ blocks in blocks_, so the team never
    // holds more unfinished jobs; its own bound is only a backstop
    team_ = std::make_unique<WorkerTeam>(workers, 2 * window_);
    splitter_ = std::thread([this] { split(); });
}

ParallelParser::~ParallelParser() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    splitter_.join();  // it may first finish a stream_.next (one piece)
    team_.reset();     // drops the blocks not yet started, waits for those being parsed
}

void ParallelParser::cancel() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
}

std::unique_ptr<ParallelParser::Block> ParallelParser::spare_block() {
    std::unique_ptr<Block> b;
    if (spare_.empty()) {
        b = std::make_unique<Block>();
    } else {
        b = std::move(spare_.back());
        spare_.pop_back();
        b->reset();
    }
    return b;
}

void ParallelParser::split() {
    std::exception_ptr error;
    try {
        split_pieces();
    } catch (...) {  // a decompression error (or no memory): raised once the blocks before it are handed out
        error = std::current_exception();
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        split_error_ = error;
        split_done_ = true;
    }
    changed_.notify_all();
}

void ParallelParser::split_pieces() {
    std::string carry;       // the start of a line whose end is in a later piece
    PageVector<char> text;  // a buffer for the next piece
    for (;;) {
        std::unique_ptr<Block> block;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wait_for_condition(changed_, lock, [&] { return stop_ || blocks_.size() < window_; });
            if (stop_) return;
            block = spare_block();
            if (text.capacity() == 0 && !spare_text_.empty()) {  // a parsed piece: the stream refills it
                text = std::move(spare_text_.back());
                spare_text_.pop_back();
            }
        }
        if (!stream_.next(text)) {
            if (!carry.empty()) {  // the last line has no '\n'
                block->head = std::move(carry);
                block->head_is_line = true;
                publish(std::move(block));
            }
            return;
        }
        const char* begin = text.data();
        const char* cut = after_last_newline(begin, begin + text.size());
        if (cut == begin) {  // no line ends in this piece (a line longer than a piece)
            carry.append(begin, text.size());
            if (carry.size() > kMaxLineBytes) {  // raised once the lines before it are handed out
                if (carry[0] != '#') throw LineTooLong();
                carry.resize(1);  // a long comment: its start says what it is
            }
            std::lock_guard<std::mutex> lock(mutex_);
            spare_.push_back(std::move(block));
            continue;
        }
        block->text_end = static_cast<size_t>(cut - begin);
        block->head.swap(carry);
        carry.assign(cut, text.size() - block->text_end);
        block->text = std::move(text);
        text = PageVector<char>();
        publish(std::move(block));
    }
}

void ParallelParser::publish(std::unique_ptr<Block> block) {
    Block* b = block.get();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) return;
        blocks_.push_back(std::move(block));
    }
    team_->submit([this, b](size_t slot) { parse(*b, *parsers_[slot]); });
}

// A worker's job: the block's lines, numbered from 1. Never throws: a bad line
// or any other failure is kept in the block, for next() to raise in its turn.
void ParallelParser::parse(Block& b, LineParser& parser) {
    uint64_t n = 0;
    if (!stop_) {
        parser.restart_runs();
        auto one = [&](const char* begin, const char* end) {
            if (parser.parse(begin, end, ++n, b.batch, b.stats) == LineKind::ZeroLength)
                b.zero_length_lines.push_back(n);
            if (b.first_data_line == 0 && b.stats.first_data_columns != 0) b.first_data_line = n;
        };
        try {
            if (b.head_is_line) {
                one(b.head.data(), b.head.data() + b.head.size());
            } else {
                const char* p = b.text.data();
                const char* const stop = p + b.text_end;
                if (!b.head.empty()) {  // the first line began in the previous piece
                    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
                    b.head.append(p, nl);
                    one(b.head.data(), b.head.data() + b.head.size());
                    p = nl + 1;
                }
                while (p < stop) {
                    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
                    one(p, nl);
                    p = nl + 1;
                }
            }
        } catch (const LineError& e) {
            b.bad_line = e;
            if (b.first_data_line == 0 && b.stats.first_data_columns != 0) b.first_data_line = n;
        } catch (...) {
            b.error = std::current_exception();
        }
        try {  // (also when the block has a bad line: the lines before it are handed out)
            b.listed_any = parser.listed_any();
            if (b.listed_any) {
                b.first_barcode = parser.first_barcode();
                b.last_barcode = parser.last_barcode();
            }
        } catch (...) {
            b.error = std::current_exception();
        }
    }
    b.stats.lines = n;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (b.text.capacity() >= DecompressedStream::kPieceBytes && spare_text_.size() < window_)
            spare_text_.push_back(std::move(b.text));
        b.text = PageVector<char>();
        b.parsed = true;
    }
    changed_.notify_all();
}

ParallelParser::Block* ParallelParser::front() {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_for_condition(changed_, lock, [&] {
        return stop_ || (!blocks_.empty() && blocks_.front()->parsed) || (blocks_.empty() && split_done_);
    });
    if (stop_) throw Cancelled();
    if (!blocks_.empty()) return blocks_.front().get();
    if (split_error_) std::rethrow_exception(split_error_);
    return nullptr;
}

// The statistics of the file's lines up to the front block's line `local_line`
// (the front block's listed lines up to there are in running_ already).
FragmentFileStats ParallelParser::through(const Block& b, uint64_t local_line) const {
    FragmentFileStats s = running_;
    s.lines = base_line_ + local_line;
    s.zero_length += static_cast<uint64_t>(
        std::upper_bound(b.zero_length_lines.begin(), b.zero_length_lines.end(), local_line) -
        b.zero_length_lines.begin());
    if (s.past_chrom_end > 0 && s.first_past_chrom_end.empty()) s.first_past_chrom_end = b.stats.first_past_chrom_end;
    if (s.first_data_columns == 0 && b.first_data_line != 0 && b.first_data_line <= local_line)
        s.first_data_columns = b.stats.first_data_columns;
    return s;
}

// The front block is handed out whole: on to the next one.
void ParallelParser::retire(const Block& b) {
    running_ = through(b, b.stats.lines);
    base_line_ += b.stats.lines;
    if (b.listed_any) {
        has_last_barcode_ = true;
        last_barcode_ = b.last_barcode;
    }
    cursor_ = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        spare_.push_back(std::move(blocks_.front()));
        blocks_.pop_front();
    }
    changed_.notify_all();
}

bool ParallelParser::next(FragmentBatch& batch, size_t max_lines, FragmentFileStats& stats) {
    batch.clear();
    while (batch.size() < max_lines && !finished_) {
        Block* front_block;
        try {
            front_block = front();
        } catch (const Cancelled&) {
            throw;
        } catch (const LineTooLong&) {  // every line before it is handed out: its number is the next one
            stats = running_;
            throw std::invalid_argument(long_line_message(path_, running_.lines + 1));
        } catch (...) {  // the stream failed after the lines handed out
            stats = running_;
            throw;
        }
        if (!front_block) {
            finished_ = true;
            stats = running_;
            break;
        }
        Block& b = *front_block;
        if (b.error) {
            stats = running_;
            std::rethrow_exception(b.error);
        }
        const FragmentBatch& in = b.batch;
        const size_t from = cursor_, to = std::min(in.size(), from + (max_lines - batch.size()));
        if (to > from) {
            const size_t at = batch.size();
            auto append = [&](auto& out, const auto& v) { out.insert(out.end(), v.begin() + from, v.begin() + to); };
            append(batch.line, in.line);
            append(batch.barcode, in.barcode);
            append(batch.new_run, in.new_run);
            append(batch.status, in.status);
            append(batch.chrom, in.chrom);
            append(batch.position, in.position);
            append(batch.length, in.length);
            append(batch.reverse, in.reverse);
            append(batch.count, in.count);
            for (size_t i = at; i < batch.size(); ++i) {
                batch.line[i] += base_line_;
                count_listed(running_, batch.status[i], batch.line[i]);
            }
            // the block's first listed line continues the previous block's last run when
            // their barcodes are equal (the worker could not know)
            if (from == 0) batch.new_run[at] = !(has_last_barcode_ && b.first_barcode == last_barcode_);
            cursor_ = to;
        }
        if (cursor_ < in.size() || batch.size() == max_lines) {
            // full: the sequential reader stops after this line, before reading the next
            stats = through(b, batch.line.back() - base_line_);
            return true;
        }
        if (b.bad_line) {
            stats = through(b, b.bad_line->line);
            throw std::invalid_argument(line_error_message(path_, base_line_ + b.bad_line->line, b.bad_line->what()));
        }
        retire(b);
    }
    return batch.size() > 0 || !finished_;
}

}  // namespace fragcov
