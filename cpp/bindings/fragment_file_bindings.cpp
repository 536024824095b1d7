// Python bindings of the fragment-file reading (fragcov._core): the source an
// export reads fragment files through (FragmentFiles), fragment counts per
// barcode, and the cells import_fragments stores. Python checks arguments;
// this file converts types, releases the GIL while C++ works and hands Ctrl-C
// checks to it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <utility>

#include "fragcov/fragment_files.hpp"
#include "input/fragment_reader.hpp"
#include "util/prefetcher.hpp"

namespace py = pybind11;
using namespace fragcov;

bool check_signals();  // python_module.cpp

namespace {

// A numpy array that owns the vector's buffer (no copy).
template <class T, class A>
py::array_t<T> to_numpy(std::vector<T, A>&& v) {
    auto* owned = new std::vector<T, A>(std::move(v));
    py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T, A>*>(p); });
    return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), free_when_done);
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
    d["bgzf_eof_marker_missing"] = s.bgzf_eof_marker_missing;
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

using I32Array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

std::vector<int32_t> to_vector(const I32Array& a) {
    if (a.ndim() != 1) throw py::value_error("cell tables must be one-dimensional");
    return std::vector<int32_t>(a.data(), a.data() + a.shape(0));
}

// FragmentFiles from Python values: files as (path, sample, barcodes, cells of the barcodes).
std::unique_ptr<FragmentFiles> fragment_files(
    const std::vector<std::tuple<std::string, std::string, std::vector<std::string>, I32Array>>& files,
    std::vector<std::string> chrom_names, std::vector<uint64_t> chrom_lengths, std::vector<bool> is_mito,
    const I32Array& group_of_cell, std::vector<std::string> cell_names, bool is_paired, int64_t shift_left,
    int64_t shift_right, int n_threads, bool whole_cells, std::string tempdir, bool check_one_file_per_cell,
    size_t chunk_lines, uint64_t early_open_bytes) {
    std::vector<FragmentFileInput> inputs;
    for (const auto& [path, sample, barcodes, cells] : files) inputs.push_back({path, sample, barcodes, to_vector(cells)});
    FragmentFilesOptions o;
    o.reading = reader_options(std::move(chrom_names), std::move(chrom_lengths), is_paired, shift_left, shift_right,
                               n_threads, std::nullopt);
    o.group_of_cell = to_vector(group_of_cell);
    o.cell_names = std::move(cell_names);
    o.is_mito = std::move(is_mito);
    o.check_one_file_per_cell = check_one_file_per_cell;
    o.whole_cells = whole_cells;
    o.tempdir = std::move(tempdir);
    o.chunk_lines = chunk_lines;
    o.early_open_bytes = early_open_bytes;
    return std::make_unique<FragmentFiles>(std::move(inputs), std::move(o));
}

class PyFragmentImporter {
public:
    explicit PyFragmentImporter(ImportOptions options, const std::string& path)
        : importer_(std::make_unique<FragmentImporter>(path, std::move(options))),
          prefetch_(std::make_unique<Prefetcher<CellBatch>>([this](CellBatch& cells) { return importer_->next(cells); },
                                                            [this] { importer_->cancel(); })) {}
    ~PyFragmentImporter() {
        py::gil_scoped_release nogil;  // while the prefetch thread is stopped and joined
        prefetch_.reset();
    }

    py::dict next() {
        std::optional<CellBatch> c;
        {
            py::gil_scoped_release nogil;
            c = prefetch_->next(check_signals);
        }
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
        {
            py::gil_scoped_release nogil;
            prefetch_->wait();
        }
        return stats_dict(importer_->stats());
    }

private:
    std::unique_ptr<FragmentImporter> importer_;
    std::unique_ptr<Prefetcher<CellBatch>> prefetch_;  // last: stopped before the importer goes
};

py::tuple count_fragments_py(const std::string& path, std::vector<std::string> chrom_names,
                             std::vector<uint64_t> chrom_lengths, std::vector<bool> is_mito,
                             std::vector<std::string> barcodes, bool is_paired, int64_t shift_left,
                             int64_t shift_right, int n_threads) {
    const FragmentFileOptions options = reader_options(std::move(chrom_names), std::move(chrom_lengths), is_paired,
                                                       shift_left, shift_right, n_threads, std::move(barcodes));
    FragmentFileStats stats;
    std::vector<uint64_t> counts;
    {
        py::gil_scoped_release nogil;
        counts = count_fragments(path, options, is_mito, stats, check_signals);
    }
    return py::make_tuple(to_numpy(std::move(counts)), stats_dict(stats));
}

}  // namespace

void bind_fragment_file(py::module_& m) {
    const FragmentFileOptions reader_defaults;
    const ImportOptions import_defaults;
    const FragmentFilesOptions files_defaults;
    py::class_<FragmentFiles, ChunkSource>(m, "FragmentFiles",
                                           "Fragment files as the chunks of one export (docs/spec.md 13.6): "
                                           "files as (path, sample, barcodes, cell of each barcode).")
        .def(py::init(&fragment_files), py::kw_only(), py::arg("files"), py::arg("chrom_names"),
             py::arg("chrom_lengths"), py::arg("is_mito"), py::arg("group_of_cell"),
             py::arg("cell_names") = std::vector<std::string>(), py::arg("is_paired") = reader_defaults.is_paired,
             py::arg("shift_left") = reader_defaults.shift_left, py::arg("shift_right") = reader_defaults.shift_right,
             py::arg("n_threads") = reader_defaults.n_threads, py::arg("whole_cells") = files_defaults.whole_cells,
             py::arg("tempdir") = files_defaults.tempdir,
             py::arg("check_one_file_per_cell") = files_defaults.check_one_file_per_cell,
             py::arg("chunk_lines") = files_defaults.chunk_lines,
             py::arg("early_open_bytes") = files_defaults.early_open_bytes)
        .def("file_stats",
             [](const FragmentFiles& f) {
                 py::list out;
                 for (const FragmentFileStats& s : f.file_stats()) out.append(stats_dict(s));
                 return out;
             })
        .def("file_of_cell", [](const FragmentFiles& f) {
            std::vector<int32_t> copy = f.file_of_cell();
            return to_numpy(std::move(copy));
        });

    py::class_<PyFragmentImporter>(m, "FragmentImporter",
                                   "Cells of a fragment file as import_fragments stores them, in batches.")
        .def(py::init([](const std::string& path, std::vector<std::string> chrom_names,
                         std::vector<uint64_t> chrom_lengths, std::vector<bool> is_mito, bool is_paired,
                         bool sorted_by_barcode, std::optional<std::vector<std::string>> whitelist,
                         uint64_t min_num_fragments, int64_t shift_left, int64_t shift_right,
                         const std::string& tempdir, int n_threads, size_t max_cells_per_batch,
                         size_t max_fragments_per_batch, uint64_t memory_budget_bytes) {
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
                 return std::make_unique<PyFragmentImporter>(std::move(o), path);
             }),
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
