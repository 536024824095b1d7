// The one Python entry point: fragcov._core.export_coverage.
// Python does argument checking and reading; this file only converts types.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <future>

#include "fragcov/fragcov.hpp"

namespace py = pybind11;
using namespace fragcov;

void bind_fragment_file(py::module_& m);  // fragment_file_bindings.cpp

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;  // no forcecast: Python passes exact dtypes

template <class T>
const T* data_of(const py::object& obj, const char* what, py::ssize_t expected = -1) {
    if (!py::isinstance<CArray<T>>(obj))
        throw py::type_error(std::string(what) + " must be a C-contiguous numpy array of " +
                             py::str(py::dtype::of<T>()).cast<std::string>());
    auto arr = obj.cast<CArray<T>>();
    if (arr.ndim() != 1) throw py::value_error(std::string(what) + " must be one-dimensional");
    if (expected >= 0 && arr.shape(0) != expected)
        throw py::value_error(std::string(what) + " has the wrong length");
    return arr.data();
}

RegionIndex to_index(size_t n_chroms, const py::tuple& regions) {
    // (chrom indices uint32, starts int64, ends int64)
    return RegionIndex(n_chroms, regions[0].cast<std::vector<uint32_t>>(),
                       regions[1].cast<std::vector<int64_t>>(), regions[2].cast<std::vector<int64_t>>());
}

template <class E>
E enum_of(const std::string& s, std::initializer_list<std::pair<const char*, E>> table, const char* what) {
    for (auto& kv : table)
        if (s == kv.first) return kv.second;
    throw py::value_error(std::string("unknown ") + what + " '" + s + "'");
}

py::list export_coverage(std::vector<std::string> chrom_names, std::vector<uint64_t> chrom_lengths,
                         py::iterable chunks, std::vector<std::string> output_paths,
                         py::tuple blacklist, py::object include_for_norm, py::tuple exclude_for_norm,
                         uint32_t bin_size, const std::string& normalization,
                         std::optional<uint64_t> min_frag_length, std::optional<uint64_t> max_frag_length,
                         const std::string& counting_strategy, std::optional<uint32_t> smooth_base,
                         const std::string& output_format, const std::string& compression,
                         int compression_level, const std::string& tempdir, int n_jobs,
                         uint64_t memory_budget_bytes) {
    ExportOptions o;
    o.bin_size = bin_size;
    o.normalization = enum_of<Normalization>(
        normalization, {{"none", Normalization::None}, {"CPM", Normalization::CPM},
                        {"RPKM", Normalization::RPKM}, {"BPM", Normalization::BPM}}, "normalization");
    o.min_frag_length = min_frag_length;
    o.max_frag_length = max_frag_length;
    o.counting = enum_of<CountingStrategy>(
        counting_strategy, {{"fragment", CountingStrategy::Fragment}, {"insertion", CountingStrategy::Insertion}},
        "counting_strategy");
    o.smooth_base = smooth_base;
    o.format = enum_of<OutputFormat>(output_format, {{"bedgraph", OutputFormat::BedGraph},
                                                     {"bigwig", OutputFormat::BigWig}}, "output_format");
    o.compression = enum_of<Compression>(compression, {{"none", Compression::None}, {"gzip", Compression::Gzip},
                                                       {"zstandard", Compression::Zstd}}, "compression");
    o.compression_level = compression_level;
    o.tempdir = tempdir;
    o.n_jobs = n_jobs;
    o.memory_budget_bytes = memory_budget_bytes;

    Genome genome(std::move(chrom_names), std::move(chrom_lengths));
    Regions regions;
    regions.blacklist = to_index(genome.size(), blacklist);
    regions.has_include = !include_for_norm.is_none();
    if (regions.has_include) regions.include_for_norm = to_index(genome.size(), include_for_norm.cast<py::tuple>());
    regions.exclude_for_norm = to_index(genome.size(), exclude_for_norm);

    GroupedExporter exporter(std::move(genome), std::move(regions), o, std::move(output_paths));
    // chunks yields (indptr int64, indices int64, values uint32 (paired) | int32 (single-end), cell_group int32)
    // Chunk k is binned on a worker thread while Python reads chunk k+1.
    // Declared in this order so that, if the iterator raises, the worker is
    // joined (future destructor) before the chunk it reads is released.
    py::object busy_chunk;
    std::future<void> busy;
    auto wait_busy = [&] {
        if (!busy.valid()) return;
        py::gil_scoped_release nogil;
        busy.get();
    };
    for (py::handle item : chunks) {
        py::tuple t = py::reinterpret_borrow<py::tuple>(item);
        if (t.size() != 4) throw py::value_error("a chunk must be (indptr, indices, values, cell_group)");
        py::object group_arr = t[3];
        const py::ssize_t n_cells = py::len(group_arr);
        CellChunk ch;
        ch.n_cells = static_cast<size_t>(n_cells);
        ch.cell_group = data_of<int32_t>(group_arr, "cell_group");
        ch.indptr = data_of<int64_t>(t[0], "indptr", n_cells + 1);
        const py::ssize_t nnz = static_cast<py::ssize_t>(ch.indptr[n_cells] - ch.indptr[0]);
        if (ch.indptr[0] != 0) throw py::value_error("indptr must start at 0");
        ch.indices = data_of<int64_t>(t[1], "indices", nnz);
        if (py::isinstance<CArray<int32_t>>(t[2])) ch.signed_lengths = data_of<int32_t>(t[2], "values", nnz);
        else ch.lengths = data_of<uint32_t>(t[2], "values", nnz);
        wait_busy();
        busy_chunk = t;  // keeps the arrays alive while the worker reads them
        busy = std::async(std::launch::async, [&exporter, ch] { exporter.add_cells(ch); });
    }
    wait_busy();

    std::vector<GroupStats> stats;
    {
        py::gil_scoped_release nogil;
        try {
            stats = exporter.finish([] {
                py::gil_scoped_acquire gil;
                return PyErr_CheckSignals() != 0;  // a KeyboardInterrupt is now pending
            });
        } catch (const Cancelled&) {
            py::gil_scoped_acquire gil;
            if (PyErr_Occurred()) throw py::error_already_set();
            throw py::value_error("export cancelled");
        }
    }
    py::list out;
    for (const GroupStats& s : stats) {
        py::dict d;
        d["n_units"] = s.n_units;
        d["norm_count"] = s.norm_count;
        d["bin_sum"] = s.bin_sum;
        out.append(d);
    }
    return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "fragcov C++ core";
    m.attr("__version__") = fragcov::version();
    m.def("export_coverage", &export_coverage, py::arg("chrom_names"), py::arg("chrom_lengths"),
          py::arg("chunks"), py::arg("output_paths"), py::arg("blacklist"), py::arg("include_for_norm"),
          py::arg("exclude_for_norm"), py::arg("bin_size"), py::arg("normalization"),
          py::arg("min_frag_length"), py::arg("max_frag_length"), py::arg("counting_strategy"),
          py::arg("smooth_base"), py::arg("output_format"), py::arg("compression"),
          py::arg("compression_level"), py::arg("tempdir"), py::arg("n_jobs"),
          py::arg("memory_budget_bytes") = uint64_t(32) << 20,
          "Bin, normalise, smooth and write one coverage track per group (see fragcov.export_coverage).");
    bind_fragment_file(m);
}
