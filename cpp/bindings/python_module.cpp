// The Python extension fragcov._core. It converts types and maps exceptions;
// every option rule lives in the core (options.cpp: validate(), the enum
// parsers), so Python and C++ users get the same checks.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <deque>
#include <system_error>

#include "input/hdf5_column.hpp"
#include "output/output_file.hpp"
#include "util/worker_team.hpp"
#include "fragcov/fragcov.hpp"

namespace py = pybind11;
using namespace fragcov;

void bind_fragment_file(py::module_& m);  // fragment_file_bindings.cpp
void bind_profiles(py::module_& m);       // profile_bindings.cpp
void add_profiles(GroupedExporter& exporter, const py::tuple& profile);
py::list take_profiles(GroupedExporter& exporter, const py::tuple& profile);

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;  // no forcecast: Python passes exact dtypes

// The data of a one-dimensional C-contiguous array of T, and its length.
template <class T>
std::pair<const T*, size_t> array_of(const py::handle& obj, const char* what) {
    if (!py::isinstance<CArray<T>>(obj))
        throw py::type_error(std::string(what) + " must be a C-contiguous numpy array of " +
                             py::str(py::dtype::of<T>()).cast<std::string>());
    auto arr = py::reinterpret_borrow<CArray<T>>(obj);
    if (arr.ndim() != 1) throw py::value_error(std::string(what) + " must be one-dimensional");
    return {arr.data(), static_cast<size_t>(arr.shape(0))};
}

RegionIndex to_index(size_t n_chroms, const py::tuple& regions) {
    // (chrom indices uint32, starts int64, ends int64)
    if (regions.size() != 3) throw py::value_error("regions must be (chroms, starts, ends)");
    return RegionIndex(n_chroms, regions[0].cast<std::vector<uint32_t>>(),
                       regions[1].cast<std::vector<int64_t>>(), regions[2].cast<std::vector<int64_t>>());
}

// One chunk of cells from Python: (indptr int64, indices, values, cell_group
// int32). indices and values are numpy arrays (int64; uint32 paired, int32
// single-end), or both (Hdf5Column, first, count): elements read from the file
// by the worker that bins the chunk. The core checks the content (add_cells).
struct ChunkInput {
    CellChunk cells;  // indices and values are unset when they come from columns
    const Hdf5Column* positions = nullptr;
    const Hdf5Column* values = nullptr;
    uint64_t first = 0;
};

std::pair<const Hdf5Column*, std::pair<uint64_t, uint64_t>> column_range(const py::handle& obj, const char* what) {
    if (!py::isinstance<py::tuple>(obj) || py::len(obj) != 3 ||
        !py::isinstance<Hdf5Column>(py::reinterpret_borrow<py::tuple>(obj)[0]))
        throw py::type_error(std::string(what) + " must be an array or (Hdf5Column, first, count), "
                             "both columns or neither");
    py::tuple t = py::reinterpret_borrow<py::tuple>(obj);
    const auto* column = t[0].cast<const Hdf5Column*>();
    const uint64_t first = t[1].cast<uint64_t>(), count = t[2].cast<uint64_t>();
    if (first > column->size() || count > column->size() - first)  // before any buffer is sized by it
        throw py::value_error(std::string(what) + ": elements " + std::to_string(first) + " + " +
                              std::to_string(count) + " are past the column's " + std::to_string(column->size()));
    return {column, {first, count}};
}

ChunkInput to_chunk(const py::handle& item) {
    if (!py::isinstance<py::tuple>(item) || py::len(item) != 4)
        throw py::value_error("a chunk must be a tuple (indptr, indices, values, cell_group)");
    py::tuple t = py::reinterpret_borrow<py::tuple>(item);
    ChunkInput in;
    CellChunk& ch = in.cells;
    auto [groups, n_cells] = array_of<int32_t>(t[3], "cell_group");
    auto [indptr, n_offsets] = array_of<int64_t>(t[0], "indptr");
    if (n_offsets != n_cells + 1)
        throw py::value_error("indptr has " + std::to_string(n_offsets) + " entries for " +
                              std::to_string(n_cells) + " cells (needs one more than cells)");
    ch.n_cells = n_cells;
    ch.indptr = indptr;
    ch.cell_group = groups;
    if (py::isinstance<py::tuple>(t[1])) {
        auto [positions, p_range] = column_range(t[1], "indices");
        auto [values, v_range] = column_range(t[2], "values");
        if (positions->type() != ElementType::Int64 || values->type() == ElementType::Int64)
            throw py::type_error("the columns must hold int64 positions and uint32 or int32 values");
        if (p_range != v_range)
            throw py::value_error("the positions and values columns must be read over the same range");
        in.positions = positions;
        in.values = values;
        in.first = p_range.first;
        ch.n_fragments = p_range.second;
        return in;
    }
    auto [indices, n_fragments] = array_of<int64_t>(t[1], "indices");
    size_t n_values;
    if (py::isinstance<CArray<int32_t>>(t[2])) std::tie(ch.signed_lengths, n_values) = array_of<int32_t>(t[2], "values");
    else std::tie(ch.lengths, n_values) = array_of<uint32_t>(t[2], "values");
    if (n_values != n_fragments)
        throw py::value_error("values has " + std::to_string(n_values) + " entries, indices " +
                              std::to_string(n_fragments));
    ch.n_fragments = n_fragments;
    ch.indices = indices;
    return in;
}

// What one binning thread reuses from chunk to chunk when it reads columns itself.
struct SlotBuffers {
    Hdf5Scratch scratch;
    std::vector<int64_t> positions;
    std::vector<uint32_t> values;  // int32 single-end values are read as their bits
};

void bin_chunk(GroupedExporter& exporter, const ChunkInput& in, size_t slot, SlotBuffers& buf) {
    if (!in.positions) return exporter.add_cells(in.cells, slot);
    CellChunk ch = in.cells;
    buf.positions.resize(ch.n_fragments);
    buf.values.resize(ch.n_fragments);
    in.positions->read(in.first, ch.n_fragments, buf.positions.data(), buf.scratch);
    in.values->read(in.first, ch.n_fragments, buf.values.data(), buf.scratch);
    ch.indices = buf.positions.data();
    if (in.values->type() == ElementType::Int32)
        ch.signed_lengths = reinterpret_cast<const int32_t*>(buf.values.data());  // same bits, signed view
    else
        ch.lengths = buf.values.data();
    exporter.add_cells(ch, slot);
}

// Chunk tables come as numpy arrays (tens of thousands of entries): copied
// in one go rather than element by element as a list would be.
using U64Array = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;
using U32Array = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
template <class T>
std::vector<T> to_vector(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
    if (a.ndim() != 1) throw py::value_error("chunk tables must be one-dimensional");
    return std::vector<T>(a.data(), a.data() + a.shape(0));
}

bool check_signals() {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;  // a KeyboardInterrupt is now pending
}

py::object export_coverage(std::vector<std::string> chrom_names, std::vector<uint64_t> chrom_lengths,
                         py::iterable chunks, std::vector<std::string> output_paths, py::tuple blacklist,
                         py::object include_for_norm, py::tuple exclude_for_norm, const ExportOptions& options,
                         std::optional<std::vector<uint64_t>> n_cells,
                         std::optional<std::vector<double>> norm_by_totals, py::object regions_out,
                         std::optional<std::vector<int32_t>> references, py::object profile) {
    Genome genome(std::move(chrom_names), std::move(chrom_lengths));
    Regions regions;
    regions.blacklist = to_index(genome.size(), blacklist);
    regions.has_include = !include_for_norm.is_none();
    if (regions.has_include) regions.include_for_norm = to_index(genome.size(), include_for_norm.cast<py::tuple>());
    regions.exclude_for_norm = to_index(genome.size(), exclude_for_norm);
    regions.has_output = !regions_out.is_none();
    if (regions.has_output) regions.output = to_index(genome.size(), regions_out.cast<py::tuple>());

    const size_t n_tracks = output_paths.size();
    if ((n_cells && n_cells->size() != n_tracks) || (norm_by_totals && norm_by_totals->size() != n_tracks) ||
        (references && references->size() != n_tracks))
        throw py::value_error("n_cells, norm_by_totals and references need one entry per output path");
    std::vector<Track> tracks;
    for (size_t g = 0; g < n_tracks; ++g)
        tracks.emplace_back(std::move(output_paths[g]), n_cells ? (*n_cells)[g] : 0,
                            norm_by_totals ? (*norm_by_totals)[g] : 0.0);
    if (references)
        for (size_t g = 0; g < n_tracks; ++g) tracks[g].reference = (*references)[g];

    GroupedExporter exporter(std::move(genome), std::move(regions), options, std::move(tracks));
    if (!profile.is_none()) add_profiles(exporter, profile.cast<py::tuple>());
    try {
        // Phase 1 (docs/spec.md section 7.2): this thread takes chunks from
        // Python (which needs the GIL) while binning_slots() workers read and
        // bin the earlier ones. A WorkerTeam rather than std::async: several
        // chunks are binned at once, into per-slot buffers, by one team of
        // threads that lives through the whole pass. `inputs` holds each
        // queued chunk's Python object until its job has finished; declared
        // before `team`, so that on an error the workers are stopped first.
        std::deque<py::object> inputs;
        uint64_t first_input = 0;  // job index of inputs.front()
        std::vector<SlotBuffers> buffers(exporter.binning_slots());
        WorkerTeam team(exporter.binning_slots(), exporter.binning_slots() + 1);
        for (py::handle item : chunks) {
            ChunkInput in = to_chunk(item);
            inputs.push_back(py::reinterpret_borrow<py::object>(item));
            {
                py::gil_scoped_release nogil;
                team.submit([&exporter, &buffers, in](size_t slot) { bin_chunk(exporter, in, slot, buffers[slot]); },
                            check_signals);
            }
            for (uint64_t done = team.finished_prefix(); first_input < done; ++first_input) inputs.pop_front();
        }
        py::gil_scoped_release nogil;
        team.wait(check_signals);
    } catch (const Cancelled&) {
        if (PyErr_Occurred()) throw py::error_already_set();
        throw py::value_error("export cancelled");
    }

    std::vector<GroupStats> stats;
    {
        py::gil_scoped_release nogil;
        try {
            stats = exporter.finish(check_signals);
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
        d["norm_length"] = s.norm_length;
        d["bin_sum"] = s.bin_sum;
        d["denominator"] = s.denominator;
        d["reference_denominator"] = s.reference_denominator;
        out.append(d);
    }
    if (!profile.is_none()) return py::make_tuple(out, take_profiles(exporter, profile.cast<py::tuple>()));
    return out;
}

// A property that reads and writes an enum field as its user spelling.
template <class E, E ExportOptions::*Field>
void enum_property(py::class_<ExportOptions>& cls, const char* name, E (*parse)(std::string_view)) {
    cls.def_property(
        name, [](const ExportOptions& o) { return std::string(to_string(o.*Field)); },
        [parse](ExportOptions& o, const std::string& text) { o.*Field = parse(text); });
}

// OutputFile for Python: a context manager that commits on success and
// removes the temporary file on an exception.
struct PyOutputFile {
    std::unique_ptr<OutputFile> file;
    void write(const py::buffer& data) {
        if (!file) throw py::value_error("the output file is closed");
        py::buffer_info info = data.request();
        py::gil_scoped_release nogil;
        file->write(static_cast<const char*>(info.ptr), static_cast<size_t>(info.size * info.itemsize));
    }
    void commit() {
        if (!file) throw py::value_error("the output file is closed");
        file->commit();
        file.reset();
    }
    void abort() { file.reset(); }
    bool open() const { return static_cast<bool>(file); }
};

// commit(), abort(), and a context manager that commits on success and aborts on an exception.
template <class T>
void bind_commit_or_abort(py::class_<T>& cls) {
    cls.def("commit", &T::commit)
        .def("abort", &T::abort)
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](T& t, py::object type, py::object, py::object) {
            if (type.is_none() && t.open()) t.commit();
            else t.abort();
        });
}

struct PyAtomicPath {
    std::unique_ptr<AtomicPath> target;
    void commit() {
        if (!target) throw py::value_error("the output is closed");
        target->commit();
        target.reset();
    }
    void abort() { target.reset(); }
    bool open() const { return static_cast<bool>(target); }
};

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "fragcov C++ core";
    m.attr("__version__") = fragcov::version();

    // File-system failures (std::system_error) are OSError with their errno.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const std::system_error& e) {
            py::object err = py::module_::import("builtins").attr("OSError")(e.code().value(), e.what());
            PyErr_SetObject(PyExc_OSError, err.ptr());
        }
    });

    py::class_<ExportOptions> options(m, "ExportOptions",
                                      "Options of one export; defaults as export_coverage's. validate() checks them.");
    options.def(py::init<>())
        .def_readwrite("bin_size", &ExportOptions::bin_size)
        .def_readwrite("min_frag_length", &ExportOptions::min_frag_length)
        .def_readwrite("max_frag_length", &ExportOptions::max_frag_length)
        .def_readwrite("smooth_base", &ExportOptions::smooth_base)
        .def_readwrite("compression_level", &ExportOptions::compression_level)
        .def_readwrite("tempdir", &ExportOptions::tempdir)
        .def_readwrite("n_jobs", &ExportOptions::n_jobs)
        .def_readwrite("memory_budget_bytes", &ExportOptions::memory_budget_bytes)
        .def_readwrite("effective_genome_size", &ExportOptions::effective_genome_size)
        .def_readwrite("norm_by", &ExportOptions::norm_by)
        .def_readwrite("scale_factor", &ExportOptions::scale_factor)
        .def_readwrite("ceiling", &ExportOptions::ceiling)
        .def_readwrite("pseudocount", &ExportOptions::pseudocount)
        .def("validate", [](const ExportOptions& o) { validate(o); },
             "Raise ValueError when an option is out of range or contradicts another.");
    enum_property<Normalization, &ExportOptions::normalization>(options, "normalization", parse_normalization);
    enum_property<CountingStrategy, &ExportOptions::counting>(options, "counting_strategy", parse_counting_strategy);
    enum_property<OutputFormat, &ExportOptions::format>(options, "output_format", parse_output_format);
    enum_property<Compression, &ExportOptions::compression>(options, "compression", parse_compression);
    enum_property<CompareOperation, &ExportOptions::compare>(options, "compare", parse_compare_operation);

    m.def("export_coverage", &export_coverage, py::arg("chrom_names"), py::arg("chrom_lengths"),
          py::arg("chunks"), py::arg("output_paths"), py::arg("blacklist"), py::arg("include_for_norm"),
          py::arg("exclude_for_norm"), py::arg("options"), py::arg("n_cells") = py::none(),
          py::arg("norm_by_totals") = py::none(), py::arg("regions") = py::none(),
          py::arg("references") = py::none(), py::arg("profile") = py::none(),
          "Bin, normalise, smooth and write one coverage track per group (see fragcov.export_coverage); with "
          "options.compare, one comparison track per group with a path, against references[g] (-1: the "
          "rest); with `profile` ((chroms, positions, minus, upstream, downstream, bin_size)), also every "
          "group's profile around the anchors (docs/spec.md section 16): returns (stats, [(values, "
          "tss_centre, tss_flank), ...]).");

    auto output_file = py::class_<PyOutputFile>(m, "OutputFile",
                             "A file written under a temporary name, optionally gzip/zstd-compressed, and "
                             "renamed into place by commit(); as a context manager it commits on success "
                             "and removes the temporary file on an exception.")
        .def(py::init([](const std::string& path, const std::string& compression, std::optional<int> level) {
                 return PyOutputFile{std::make_unique<OutputFile>(path, parse_compression(compression), level)};
             }),
             py::arg("path"), py::arg("compression") = "none", py::arg("level") = py::none())
        .def("write", &PyOutputFile::write, py::arg("data"));

    bind_commit_or_abort(output_file);
    auto atomic_path = py::class_<PyAtomicPath>(m, "AtomicPath",
                             "A temporary path beside `path` for a writer that needs a file name (e.g. HDF5); "
                             "commit() renames it into place; as a context manager it commits on success and "
                             "removes it on an exception.")
        .def(py::init([](const std::string& path) { return PyAtomicPath{std::make_unique<AtomicPath>(path)}; }),
             py::arg("path"))
        .def_property_readonly("temp_path", [](const PyAtomicPath& a) {
            if (!a.target) throw py::value_error("the output is closed");
            return a.target->temp_path();
        });
    bind_commit_or_abort(atomic_path);

    py::class_<Hdf5Column>(m, "Hdf5Column",
                           "A chunked one-dimensional HDF5 dataset read with pread from `fd` and decoded by the "
                           "core (filters: none, 1 deflate, 2 shuffle, 32001 Blosc/zstd, 32015 zstd; a chunk's "
                           "filter mask bit i set: filter i was skipped for it); chunks may name (column, first, "
                           "count) instead of an array.")
        .def(py::init([](int fd, std::string path, std::string what, const std::string& dtype,
                         std::vector<uint32_t> filters, uint64_t n_elements, uint64_t chunk_elements,
                         const U64Array& addresses, const U64Array& sizes, const U32Array& filter_masks) {
                 ElementType type;
                 if (dtype == "int64") type = ElementType::Int64;
                 else if (dtype == "uint32") type = ElementType::UInt32;
                 else if (dtype == "int32") type = ElementType::Int32;
                 else throw py::value_error("dtype must be 'int64', 'uint32' or 'int32', got '" + dtype + "'");
                 return Hdf5Column(fd, std::move(path), std::move(what), type, std::move(filters), n_elements,
                                   chunk_elements, to_vector(addresses), to_vector(sizes), to_vector(filter_masks));
             }),
             py::arg("fd"), py::arg("path"), py::arg("what"), py::arg("dtype"), py::arg("filters"),
             py::arg("n_elements"), py::arg("chunk_elements"), py::arg("addresses"), py::arg("sizes"),
             py::arg("filter_masks") = U32Array(0))
        .def("__len__", &Hdf5Column::size)
        .def(
            "read",
            [](const Hdf5Column& c, uint64_t first, uint64_t count) -> py::array {
                auto read = [&](auto out) {
                    void* data = out.mutable_data();
                    Hdf5Scratch scratch;
                    py::gil_scoped_release nogil;
                    c.read(first, count, data, scratch);
                    return out;
                };
                const auto n = static_cast<py::ssize_t>(count);
                if (c.type() == ElementType::Int64) return read(py::array_t<int64_t>(n));
                if (c.type() == ElementType::UInt32) return read(py::array_t<uint32_t>(n));
                return read(py::array_t<int32_t>(n));
            },
            py::arg("first"), py::arg("count"), "Elements [first, first + count) as a numpy array.");

    m.def("check_output_path", &check_output_path, py::arg("path"),
          "Raise ValueError when `path` cannot be an output file (name too long with its temporary "
          "name, a directory at it).");
    m.def(
        "resolve_compression_level",
        [](const std::string& compression, std::optional<int> level) {
            return resolve_compression_level(parse_compression(compression), level);
        },
        py::arg("compression"), py::arg("level") = py::none(),
        "The level a codec will use: `level` checked against its range, or its default (0 for 'none').");

    bind_fragment_file(m);
    bind_profiles(m);
}
