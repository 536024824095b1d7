// Python bindings of the fragment-file reader (fragcov._core): the file's
// fragments as exporter chunks, fragment counts per barcode, and the cells
// import_fragments stores. Python checks arguments; this file converts types
// and keeps one batch in preparation on a worker thread while Python uses the
// previous one.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "fragcov/fragment_file.hpp"
#include "util/cancel_poll.hpp"

namespace py = pybind11;
using namespace fragcov;

namespace {

// A numpy array that owns the vector's buffer (no copy).
template <class T, class A>
py::array_t<T> to_numpy(std::vector<T, A>&& v) {
    auto* owned = new std::vector<T, A>(std::move(v));
    py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T, A>*>(p); });
    return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), free_when_done);
}

// The column buffers of the chunks FragmentChunks hands to Python, given back
// when numpy frees them and reused for the next chunks: a fresh mapped buffer
// costs a page fault and zeroing per 4 KB, a recycled one nothing (with the
// BGZF buffers' reuse, a 20-file export's faults fell 4x and its wall time 13%:
// BENCHMARKS.md, "Atlas"). Shared with the arrays, so it outlives the reader
// when Python keeps a chunk longer.
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

// to_numpy whose buffer goes back to `pool` when the array is freed.
template <class T>
py::array_t<T> to_numpy(PageVector<T>&& v, std::shared_ptr<ColumnPool> pool) {
    struct Owned {
        PageVector<T> v;
        std::shared_ptr<ColumnPool> pool;
    };
    auto* owned = new Owned{std::move(v), std::move(pool)};
    py::capsule free_when_done(owned, [](void* p) {
        auto* o = static_cast<Owned*>(p);
        o->pool->give(std::move(o->v));
        delete o;
    });
    return py::array_t<T>(static_cast<py::ssize_t>(owned->v.size()), owned->v.data(), free_when_done);
}

py::dict stats_dict(const FragmentFileStats& s) {
    py::dict d;
    d["lines"] = s.lines;
    d["zero_length"] = s.zero_length;
    d["unknown_chrom"] = s.unknown_chrom;
    d["shifted_away"] = s.shifted_away;
    d["past_chrom_end"] = s.past_chrom_end;
    d["stored"] = s.stored;
    d["first_shifted_away_line"] = s.first_shifted_away_line;
    d["first_past_chrom_end_line"] = s.first_past_chrom_end_line;
    d["first_past_chrom_end"] = s.first_past_chrom_end;
    d["first_data_columns"] = s.first_data_columns;
    return d;
}

FragmentFileOptions reader_options(std::vector<std::string> chrom_names, std::vector<uint64_t> chrom_lengths,
                                   bool is_paired, int64_t shift_left, int64_t shift_right, int n_threads,
                                   std::optional<std::vector<std::string>> barcodes) {
    FragmentFileOptions o;
    o.genome = Genome(std::move(chrom_names), std::move(chrom_lengths));
    o.is_paired = is_paired;
    o.shift_left = shift_left;
    o.shift_right = shift_right;
    o.n_threads = n_threads;
    o.barcodes = std::move(barcodes);
    return o;
}

// Waits for `work` (running on another thread) with the GIL released, checking
// for Ctrl-C every kCancelPollInterval; on a signal, `cancel()` stops the work and the
// signal's exception (KeyboardInterrupt) is raised once the work has ended.
template <class T>
T wait_interruptible(std::future<T>& work, const std::function<void()>& cancel) {
    const bool ready = poll_until_ready(
        [&](auto interval) {
            py::gil_scoped_release nogil;
            return work.wait_for(interval) == std::future_status::ready;
        },
        [] { return PyErr_CheckSignals() != 0; });
    if (!ready) {
        cancel();
        {
            py::gil_scoped_release nogil;
            work.wait();
        }
        throw py::error_already_set();
    }
    py::gil_scoped_release nogil;
    return work.get();
}

// Runs `produce(item)` for the next item on a worker thread while Python
// handles the previous one. `produce` returns false at the end.
template <class Item>
class Prefetcher {
public:
    template <class F>
    Prefetcher(F produce, std::function<void()> cancel) : produce_(std::move(produce)), cancel_(std::move(cancel)) {}
    ~Prefetcher() {
        if (pending_.valid()) {
            cancel_();
            py::gil_scoped_release nogil;
            pending_.wait();  // the worker uses this object's state
        }
    }
    // The next item, or nullopt at the end.
    std::optional<Item> next() {
        if (done_) return std::nullopt;
        if (!pending_.valid()) launch();
        std::optional<Item> item;
        try {
            item = wait_interruptible(pending_, cancel_);
        } catch (...) {
            done_ = true;  // a malformed line or an interrupt ends the iteration
            throw;
        }
        if (item) launch();
        else done_ = true;
        return item;
    }
    // Waits for the item in preparation (statistics are read after it).
    void wait() {
        if (!pending_.valid()) return;
        py::gil_scoped_release nogil;
        pending_.wait();
    }

private:
    void launch() {
        pending_ = std::async(std::launch::async, [this]() -> std::optional<Item> {
            Item item;
            if (!produce_(item)) return std::nullopt;
            return item;
        });
    }
    std::function<bool(Item&)> produce_;
    std::function<void()> cancel_;
    std::future<std::optional<Item>> pending_;
    bool done_ = false;
};

// Fragments of a file as (indptr, indices, values, group) chunks, one "cell"
// per fragment (FragmentChunk).
class PyFragmentChunks {
public:
    PyFragmentChunks(const std::string& path, std::vector<std::string> chrom_names,
                     std::vector<uint64_t> chrom_lengths, std::vector<std::string> barcodes,
                     std::vector<int32_t> barcode_group, bool is_paired, int64_t shift_left, int64_t shift_right,
                     int n_threads, size_t chunk_lines)
        : group_of_(std::move(barcode_group)),
          reader_(std::make_unique<FragmentFileReader>(
              path, reader_options(std::move(chrom_names), std::move(chrom_lengths), is_paired, shift_left,
                                   shift_right, n_threads, std::move(barcodes)))),
          prefetch_(
              [this, chunk_lines](FragmentChunk& chunk) {
                  chunk.indptr = pool_->take<int64_t>();
                  chunk.indices = pool_->take<int64_t>();
                  if (reader_->options().is_paired) chunk.lengths = pool_->take<uint32_t>();
                  else chunk.signed_lengths = pool_->take<int32_t>();
                  chunk.cell_group = pool_->take<int32_t>();
                  while (reader_->next(batch_, chunk_lines)) {
                      chunk.assign(batch_, group_of_, reader_->options().is_paired);
                      if (chunk.size()) return true;
                  }
                  return false;
              },
              [this] { reader_->cancel(); }) {
        if (group_of_.size() != reader_->barcodes().size())
            throw std::invalid_argument("barcode_group needs one group per barcode");
    }

    py::tuple next() {
        std::optional<FragmentChunk> c = prefetch_.next();
        if (!c) throw py::stop_iteration();
        py::object values = c->is_paired ? py::object(to_numpy(std::move(c->lengths), pool_))
                                         : py::object(to_numpy(std::move(c->signed_lengths), pool_));
        return py::make_tuple(to_numpy(std::move(c->indptr), pool_), to_numpy(std::move(c->indices), pool_), values,
                              to_numpy(std::move(c->cell_group), pool_));
    }

    py::dict stats() {
        prefetch_.wait();
        return stats_dict(reader_->stats());
    }

private:
    std::vector<int32_t> group_of_;
    std::unique_ptr<FragmentFileReader> reader_;
    FragmentBatch batch_;
    std::shared_ptr<ColumnPool> pool_ = std::make_shared<ColumnPool>();
    Prefetcher<FragmentChunk> prefetch_;  // last: stopped before the reader goes
};

class PyFragmentImporter {
public:
    PyFragmentImporter(const std::string& path, std::vector<std::string> chrom_names,
                       std::vector<uint64_t> chrom_lengths, std::vector<bool> is_mito, bool is_paired,
                       bool sorted_by_barcode, std::optional<std::vector<std::string>> whitelist,
                       uint64_t min_num_fragments, int64_t shift_left, int64_t shift_right, const std::string& tempdir,
                       int n_threads, size_t max_cells_per_batch, size_t max_fragments_per_batch,
                       uint64_t memory_budget_bytes)
        : importer_(std::make_unique<FragmentImporter>(path, [&] {
              ImportOptions o;
              o.reader = reader_options(std::move(chrom_names), std::move(chrom_lengths), is_paired, shift_left,
                                        shift_right, n_threads, std::move(whitelist));
              o.is_mito = std::move(is_mito);
              o.sorted_by_barcode = sorted_by_barcode;
              o.min_num_fragments = min_num_fragments;
              o.tempdir = tempdir;
              o.max_cells_per_batch = max_cells_per_batch;
              o.max_fragments_per_batch = max_fragments_per_batch;
              o.memory_budget_bytes = memory_budget_bytes;
              return o;
          }())),
          prefetch_([this](CellBatch& cells) { return importer_->next(cells); }, [this] { importer_->cancel(); }) {}

    py::dict next() {
        std::optional<CellBatch> c = prefetch_.next();
        if (!c) throw py::stop_iteration();
        py::dict d;
        d["barcodes"] = py::cast(c->barcodes);
        d["n_fragment"] = to_numpy(std::move(c->n_fragment));
        d["n_mito"] = to_numpy(std::move(c->n_mito));
        d["total"] = to_numpy(std::move(c->total));
        d["indptr"] = to_numpy(std::move(c->indptr));
        d["indices"] = to_numpy(std::move(c->indices));
        if (importer_->options().reader.is_paired) d["data"] = to_numpy(std::move(c->lengths));
        else d["data"] = to_numpy(std::move(c->signed_lengths));
        return d;
    }

    py::dict stats() {
        prefetch_.wait();
        return stats_dict(importer_->stats());
    }

private:
    std::unique_ptr<FragmentImporter> importer_;
    Prefetcher<CellBatch> prefetch_;
};

py::tuple count_fragments_py(const std::string& path, std::vector<std::string> chrom_names,
                             std::vector<uint64_t> chrom_lengths, std::vector<bool> is_mito,
                             std::vector<std::string> barcodes, bool is_paired, int64_t shift_left,
                             int64_t shift_right, int n_threads) {
    FragmentFileReader reader(path, reader_options(std::move(chrom_names), std::move(chrom_lengths), is_paired,
                                                   shift_left, shift_right, n_threads, std::move(barcodes)));
    std::future<std::vector<uint64_t>> work =
        std::async(std::launch::async, [&] { return count_fragments(reader, is_mito); });
    std::vector<uint64_t> counts = wait_interruptible(work, [&] { reader.cancel(); });
    return py::make_tuple(to_numpy(std::move(counts)), stats_dict(reader.stats()));
}

}  // namespace

void bind_fragment_file(py::module_& m) {
    const FragmentFileOptions reader_defaults;
    const ImportOptions import_defaults;
    py::class_<PyFragmentChunks>(m, "FragmentChunks",
                                 "Stored fragments of a fragment file as exporter chunks (one cell per fragment).")
        .def(py::init<const std::string&, std::vector<std::string>, std::vector<uint64_t>, std::vector<std::string>,
                      std::vector<int32_t>, bool, int64_t, int64_t, int, size_t>(),
             py::arg("path"), py::kw_only(), py::arg("chrom_names"), py::arg("chrom_lengths"), py::arg("barcodes"),
             py::arg("barcode_group"), py::arg("is_paired") = reader_defaults.is_paired,
             py::arg("shift_left") = reader_defaults.shift_left, py::arg("shift_right") = reader_defaults.shift_right,
             py::arg("n_threads") = reader_defaults.n_threads, py::arg("chunk_lines") = size_t(1) << 20)
        .def("__iter__", [](PyFragmentChunks& self) -> PyFragmentChunks& { return self; })
        .def("__next__", &PyFragmentChunks::next)
        .def("stats", &PyFragmentChunks::stats);

    py::class_<PyFragmentImporter>(m, "FragmentImporter",
                                   "Cells of a fragment file as import_fragments stores them, in batches.")
        .def(py::init<const std::string&, std::vector<std::string>, std::vector<uint64_t>, std::vector<bool>, bool,
                      bool, std::optional<std::vector<std::string>>, uint64_t, int64_t, int64_t, const std::string&,
                      int, size_t, size_t, uint64_t>(),
             // Keyword-only: every caller names what it passes. The defaults are the C++
             // structs' own (ImportOptions, FragmentFileOptions); Python's import_fragments
             // passes its public arguments explicitly (docs/spec.md 1.8).
             py::arg("path"), py::kw_only(), py::arg("chrom_names"), py::arg("chrom_lengths"), py::arg("is_mito"),
             py::arg("is_paired") = reader_defaults.is_paired,
             py::arg("sorted_by_barcode") = import_defaults.sorted_by_barcode,
             py::arg("whitelist") = std::optional<std::vector<std::string>>(),
             py::arg("min_num_fragments") = import_defaults.min_num_fragments,
             py::arg("shift_left") = reader_defaults.shift_left, py::arg("shift_right") = reader_defaults.shift_right,
             py::arg("tempdir") = import_defaults.tempdir, py::arg("n_threads") = reader_defaults.n_threads,
             py::arg("max_cells_per_batch") = import_defaults.max_cells_per_batch,
             py::arg("max_fragments_per_batch") = import_defaults.max_fragments_per_batch,
             py::arg("memory_budget_bytes") = import_defaults.memory_budget_bytes)
        .def("__iter__", [](PyFragmentImporter& self) -> PyFragmentImporter& { return self; })
        .def("__next__", &PyFragmentImporter::next)
        .def("stats", &PyFragmentImporter::stats);

    m.def("count_fragments", &count_fragments_py, py::arg("path"), py::kw_only(), py::arg("chrom_names"),
          py::arg("chrom_lengths"), py::arg("is_mito"), py::arg("barcodes"),
          py::arg("is_paired") = reader_defaults.is_paired, py::arg("shift_left") = reader_defaults.shift_left,
          py::arg("shift_right") = reader_defaults.shift_right, py::arg("n_threads") = reader_defaults.n_threads,
          "Stored non-mitochondrial fragments per barcode (n_fragment) and the reader's statistics.");
}
