// FragmentFiles: several fragment files read at once as the chunks of one
// export (docs/spec.md 13, 13.6). Each open file prepares its next chunk on a
// thread of its own (a Prefetcher); next() takes one chunk from each open file
// in turn, checks and records the chunk's cells and maps them to their groups.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <unordered_map>

#include "fragcov/fragment_files.hpp"
#include "input/fragment_reader.hpp"
#include "util/prefetcher.hpp"
#include "util/processors.hpp"

namespace fragcov {

namespace {

// The column buffers of the chunks handed to the export, given back once they
// are binned and reused for the next chunks: a fresh mapped buffer costs a page
// fault and zeroing per 4 KB, a recycled one nothing (with the BGZF buffers'
// reuse, a 20-file export's faults fell 4x and its wall time 13%:
// BENCHMARKS.md, "Atlas"). Shared with the chunks, so it outlives its file.
class ColumnPool {
public:
    template <class T>
    PageVector<T> take() {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& list = free_list<T>();
        if (list.empty()) return {};
        PageVector<T> v = std::move(list.back());
        list.pop_back();
        return v;
    }
    template <class T>
    void give(PageVector<T>&& v) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& list = free_list<T>();
        // a few chunks' worth: as many as are freed while the next ones are made
        if (list.size() < kKeep && v.capacity() > 0) list.push_back(std::move(v));
    }
    void give_back(FragmentChunk& c) {
        give(std::move(c.indptr));
        give(std::move(c.indices));
        if (c.is_paired) give(std::move(c.lengths));
        else give(std::move(c.signed_lengths));
        give(std::move(c.cell_group));
    }

private:
    static constexpr size_t kKeep = 6;
    template <class T>
    std::vector<PageVector<T>>& free_list() {
        if constexpr (std::is_same_v<T, int64_t>) return i64_;
        else if constexpr (std::is_same_v<T, int32_t>) return i32_;
        else return u32_;
    }
    std::mutex mutex_;
    std::vector<PageVector<int64_t>> i64_;
    std::vector<PageVector<int32_t>> i32_;
    std::vector<PageVector<uint32_t>> u32_;
};

// A chunk of one file: its job (cell_group holds each cell's row until
// FragmentFiles maps it to the row's group) and whether a cell has a fragment.
struct FileChunk {
    BinJob job;
    int32_t* cells = nullptr;  // n_cells rows, rewritten in place into groups
    bool whole_cells = false;  // false: every cell is one fragment
};

class OpenFile {
public:
    virtual ~OpenFile() = default;
    virtual bool next(FileChunk& out, const std::function<bool()>& cancelled) = 0;
    virtual FragmentFileStats stats() = 0;  // after the last chunk
};

// One "cell" per stored fragment (FragmentChunk): the file streams in one pass.
class FragmentsOfFile : public OpenFile {
public:
    FragmentsOfFile(const FragmentFileInput& file, FragmentFileOptions reading, size_t chunk_lines)
        : rows_(file.cell_of_barcode),
          reader_(std::make_unique<FragmentFileReader>(file.path, std::move(reading))),
          prefetch_([this, chunk_lines](FragmentChunk& chunk) { return produce(chunk, chunk_lines); },
                    [this] { reader_->cancel(); }) {
        if (rows_.size() != reader_->barcodes().size())
            throw std::invalid_argument("cell_of_barcode needs one cell per barcode");
    }
    bool next(FileChunk& out, const std::function<bool()>& cancelled) override {
        std::optional<FragmentChunk> c = prefetch_.next(cancelled);
        if (!c) return false;
        auto chunk = std::shared_ptr<FragmentChunk>(new FragmentChunk(std::move(*c)), [pool = pool_](FragmentChunk* p) {
            pool->give_back(*p);
            delete p;
        });
        out.job.cells = chunk->view();
        out.job.n_fragments = chunk->size();
        out.cells = chunk->cell_group.data();
        out.job.keep = chunk;
        return true;
    }
    FragmentFileStats stats() override {
        prefetch_.wait();
        return reader_->stats();
    }

private:
    bool produce(FragmentChunk& chunk, size_t chunk_lines) {
        chunk.indptr = pool_->take<int64_t>();
        chunk.indices = pool_->take<int64_t>();
        if (reader_->options().is_paired) chunk.lengths = pool_->take<uint32_t>();
        else chunk.signed_lengths = pool_->take<int32_t>();
        chunk.cell_group = pool_->take<int32_t>();
        while (reader_->next(batch_, chunk_lines)) {
            chunk.assign(batch_, rows_, reader_->options().is_paired);
            if (chunk.size()) return true;
        }
        return false;
    }

    std::vector<int32_t> rows_;  // row of each barcode id
    std::unique_ptr<FragmentFileReader> reader_;
    FragmentBatch batch_;
    std::shared_ptr<ColumnPool> pool_ = std::make_shared<ColumnPool>();
    Prefetcher<FragmentChunk> prefetch_;  // last: stopped before the reader goes
};

// Whole cells, as import_fragments stores them (sorted by barcode through
// tempdir): what a per-cell ceiling needs.
class CellsOfFile : public OpenFile {
public:
    CellsOfFile(const FragmentFileInput& file, FragmentFileOptions reading, const std::vector<bool>& is_mito,
                const std::string& tempdir)
        : importer_(std::make_unique<FragmentImporter>(file.path, import_options(file, std::move(reading), is_mito,
                                                                                 tempdir))),
          prefetch_([this](CellBatch& cells) { return importer_->next(cells); }, [this] { importer_->cancel(); }) {
        for (size_t i = 0; i < file.barcodes.size(); ++i) row_of_.emplace(file.barcodes[i], file.cell_of_barcode[i]);
    }
    bool next(FileChunk& out, const std::function<bool()>& cancelled) override {
        std::optional<CellBatch> c = prefetch_.next(cancelled);
        if (!c) return false;
        struct Owned {
            CellBatch cells;
            std::vector<int32_t> rows;
        };
        auto owned = std::make_shared<Owned>(Owned{std::move(*c), {}});
        for (const std::string& barcode : owned->cells.barcodes) owned->rows.push_back(row_of_.at(barcode));
        CellChunk& ch = out.job.cells;
        ch.n_cells = owned->rows.size();
        ch.n_fragments = owned->cells.indices.size();
        ch.indptr = owned->cells.indptr.data();
        ch.indices = owned->cells.indices.data();
        if (importer_->options().reader.is_paired) ch.lengths = owned->cells.lengths.data();
        else ch.signed_lengths = owned->cells.signed_lengths.data();
        ch.cell_group = owned->rows.data();
        out.job.n_fragments = ch.n_fragments;
        out.cells = owned->rows.data();
        out.whole_cells = true;
        out.job.keep = owned;
        return true;
    }
    FragmentFileStats stats() override {
        prefetch_.wait();
        return importer_->stats();
    }

private:
    static ImportOptions import_options(const FragmentFileInput& file, FragmentFileOptions reading,
                                        const std::vector<bool>& is_mito, const std::string& tempdir) {
        ImportOptions o;
        o.reader = std::move(reading);
        o.reader.barcodes = file.barcodes;  // the whitelist
        o.is_mito = is_mito;
        o.sorted_by_barcode = false;
        o.min_num_fragments = 0;
        o.tempdir = tempdir;
        o.max_cells_per_batch = size_t(1) << 30;  // batches end by fragment count only (the default)
        return o;
    }
    std::unordered_map<std::string, int32_t> row_of_;
    std::unique_ptr<FragmentImporter> importer_;
    Prefetcher<CellBatch> prefetch_;  // last: stopped before the importer goes
};

bool opens_early(const std::string& path, uint64_t limit) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return true;  // opening it early reports the error in its turn (13.6)
    return static_cast<uint64_t>(st.st_size) < limit;
}

}  // namespace

struct FragmentFiles::State {
    struct Entry {
        size_t k;
        std::unique_ptr<OpenFile> file;
    };
    std::vector<FragmentFileInput> files;
    FragmentFilesOptions o;
    size_t n_parallel = 1;
    int threads_per_file = 1;
    std::vector<bool> early;  // per file, decided once (not per round)
    std::vector<Entry> active;
    std::vector<Entry> ahead;  // opened, not read from yet (at most one)
    size_t next_file = 0;
    std::map<size_t, std::exception_ptr> errors;  // by file: the first in file order wins
    std::vector<size_t> round;                    // the files of this round robin pass
    size_t round_pos = 0;
    std::vector<FragmentFileStats> stats;
    std::vector<int32_t> seen;  // the file each cell was seen in, -1: none
    bool check_collisions = false;

    void open_next();
    bool start_round();
    bool take(size_t k, FileChunk& chunk, const std::function<bool()>& cancelled);
    void record(size_t k, FileChunk& chunk);
    std::invalid_argument collision(int32_t row, int32_t file_a, int32_t file_b) const;
};

namespace {
// Python's repr() of a string, as the Python layer's messages quote names.
std::string quoted(const std::string& s) {
    const char q = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
    std::string out(1, q);
    for (char c : s) {
        if (c == q || c == '\\') out += '\\';
        out += c;
    }
    return out + q;
}
}  // namespace

std::invalid_argument FragmentFiles::State::collision(int32_t row, int32_t file_a, int32_t file_b) const {
    const FragmentFileInput& a = files[static_cast<size_t>(std::min(file_a, file_b))];
    const FragmentFileInput& b = files[static_cast<size_t>(std::max(file_a, file_b))];
    const std::string cell = o.cell_names.empty() ? "of row " + std::to_string(row) : quoted(o.cell_names[row]);
    return std::invalid_argument("barcode " + cell + " of the groups table occurs in two fragment files, '" + a.path +
                                 "' (sample " + quoted(a.sample) + ") and '" + b.path + "' (sample " +
                                 quoted(b.sample) + "); fragcov never merges barcodes of different files: give the "
                                 "table a sample column or write its barcodes as sample#barcode");
}

void FragmentFiles::State::open_next() {
    const size_t k = next_file++;
    FragmentFileOptions reading = o.reading;
    reading.n_threads = threads_per_file;
    try {
        std::unique_ptr<OpenFile> file;
        if (o.whole_cells) {
            file = std::make_unique<CellsOfFile>(files[k], std::move(reading), o.is_mito, o.tempdir);
        } else {
            reading.barcodes = files[k].barcodes;
            file = std::make_unique<FragmentsOfFile>(files[k], std::move(reading), o.chunk_lines);
        }
        ahead.push_back({k, std::move(file)});
    } catch (const std::invalid_argument&) {
        errors[k] = std::current_exception();
    } catch (const std::system_error&) {
        errors[k] = std::current_exception();
    }
}

// The next round robin pass over the open files (opening more first); false at the end.
bool FragmentFiles::State::start_round() {
    const size_t n = files.size();
    if (!errors.empty())  // files after the first bad one are not read
        ahead.erase(std::remove_if(ahead.begin(), ahead.end(), [&](const Entry& e) { return e.k > errors.begin()->first; }),
                    ahead.end());
    if (active.empty() && ahead.empty() && !(next_file < n && errors.empty())) return false;
    while (active.size() < n_parallel && (!ahead.empty() || (next_file < n && errors.empty()))) {
        if (ahead.empty()) open_next();
        if (!ahead.empty()) {
            active.push_back(std::move(ahead.front()));
            ahead.erase(ahead.begin());
        }
    }
    if (ahead.empty() && next_file < n && errors.empty() && early[next_file]) open_next();
    round.clear();
    for (const Entry& e : active) round.push_back(e.k);
    round_pos = 0;
    return true;
}

// One chunk of file k, which is active; false when the file gave none (it ended
// or failed: it is no longer active).
bool FragmentFiles::State::take(size_t k, FileChunk& chunk, const std::function<bool()>& cancelled) {
    auto it = std::find_if(active.begin(), active.end(), [&](const Entry& e) { return e.k == k; });
    if (!errors.empty() && k > errors.begin()->first) {
        active.erase(it);
        return false;
    }
    try {
        if (it->file->next(chunk, cancelled)) return errors.empty();  // after an error chunks are dropped
        stats[k] = it->file->stats();
    } catch (const std::invalid_argument&) {
        errors[k] = std::current_exception();
    } catch (const std::system_error&) {
        errors[k] = std::current_exception();
    }
    active.erase(it);
    return false;
}

// docs/spec.md 13.6: a cell without a known sample belongs to the one file it
// occurs in; its rows become groups.
void FragmentFiles::State::record(size_t k, FileChunk& chunk) {
    const CellChunk& ch = chunk.job.cells;
    const int32_t file = static_cast<int32_t>(k);
    for (size_t i = 0; i < ch.n_cells; ++i) {
        if (chunk.whole_cells && ch.indptr[i + 1] == ch.indptr[i]) continue;  // lines but no stored fragment
        const int32_t row = chunk.cells[i];
        const int32_t before = seen[row];
        if (check_collisions && before >= 0 && before != file) throw collision(row, before, file);
        seen[row] = file;
    }
    for (size_t i = 0; i < ch.n_cells; ++i) chunk.cells[i] = o.group_of_cell[chunk.cells[i]];
}

FragmentFiles::FragmentFiles(std::vector<FragmentFileInput> files, FragmentFilesOptions options)
    : state_(std::make_unique<State>()) {
    State& s = *state_;
    s.files = std::move(files);
    s.o = std::move(options);
    const int threads = thread_count(s.o.reading.n_threads);  // never more than the processors (spec 7.1)
    s.n_parallel = std::max<size_t>(1, std::min<size_t>(s.files.size(), static_cast<size_t>(threads)));
    // decompression and parsing threads (docs/spec.md 8.1.1) are shared out between the files read at once
    s.threads_per_file = s.files.size() > 1 ? std::max(1, threads / static_cast<int>(s.n_parallel))
                                            : s.o.reading.n_threads;
    for (const FragmentFileInput& f : s.files) {
        s.early.push_back(opens_early(f.path, s.o.early_open_bytes));
        for (int32_t row : f.cell_of_barcode)
            if (row < 0 || static_cast<size_t>(row) >= s.o.group_of_cell.size())
                throw std::invalid_argument("cell_of_barcode names cell " + std::to_string(row) + " of " +
                                            std::to_string(s.o.group_of_cell.size()));
    }
    s.stats.resize(s.files.size());
    s.seen.assign(s.o.group_of_cell.size(), -1);
    s.check_collisions = s.files.size() > 1 && s.o.check_one_file_per_cell;
    if (!s.o.cell_names.empty() && s.o.cell_names.size() != s.seen.size())
        throw std::invalid_argument("cell_names needs one name per cell");
    if (s.o.whole_cells && s.o.is_mito.size() != s.o.reading.genome.size())
        throw std::invalid_argument("is_mito needs one flag per chromosome of the genome");
}

FragmentFiles::~FragmentFiles() = default;

bool FragmentFiles::next(BinJob& job, const std::function<bool()>& cancelled) {
    State& s = *state_;
    for (;;) {
        if (s.round_pos == s.round.size() && !s.start_round()) break;
        while (s.round_pos < s.round.size()) {
            const size_t k = s.round[s.round_pos++];
            FileChunk chunk;
            if (!s.take(k, chunk, cancelled)) continue;
            s.record(k, chunk);
            job = std::move(chunk.job);
            return true;
        }
    }
    if (!s.errors.empty()) std::rethrow_exception(s.errors.begin()->second);
    return false;
}

const std::vector<FragmentFileStats>& FragmentFiles::file_stats() const { return state_->stats; }
const std::vector<int32_t>& FragmentFiles::file_of_cell() const { return state_->seen; }

}  // namespace fragcov
