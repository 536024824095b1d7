// The Python extension fragcov._core. It converts types and maps exceptions;
// every option rule lives in the core (options.cpp: validate(), the enum
// parsers), so Python and C++ users get the same checks.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <system_error>

#include <algorithm>

#include "common/option_table.hpp"
#include "fragcov/fragcov.hpp"
#include "input/hdf5_column.hpp"
#include "output/output_file.hpp"

namespace py = pybind11;
using namespace fragcov;

void bind_fragment_file(py::module_& m);  // fragment_file_bindings.cpp
void bind_profiles(py::module_& m);       // profile_bindings.cpp
ProfileRequest profile_request(const py::tuple& profile);  // profile_bindings.cpp
py::list profiles_to_python(std::vector<GroupProfile> profiles, const py::tuple& profile);

// The cancellation check of every wait in C++: Ctrl-C (only seen on Python's main thread).
bool check_signals() {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;  // a KeyboardInterrupt is now pending
}

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

// One chunk of cells from Python: (indptr int64, indices int64, values,
// cell_group int32), values uint32 (paired-end) or int32 (single-end). The core
// checks the content (add_cells).
CellChunk to_chunk(const py::handle& item) {
    if (!py::isinstance<py::tuple>(item) || py::len(item) != 4)
        throw py::value_error("a chunk must be a tuple (indptr, indices, values, cell_group)");
    py::tuple t = py::reinterpret_borrow<py::tuple>(item);
    CellChunk ch;
    auto [groups, n_cells] = array_of<int32_t>(t[3], "cell_group");
    auto [indptr, n_offsets] = array_of<int64_t>(t[0], "indptr");
    if (n_offsets != n_cells + 1)
        throw py::value_error("indptr has " + std::to_string(n_offsets) + " entries for " +
                              std::to_string(n_cells) + " cells (needs one more than cells)");
    ch.n_cells = n_cells;
    ch.indptr = indptr;
    ch.cell_group = groups;
    auto [indices, n_fragments] = array_of<int64_t>(t[1], "indices");
    size_t n_values;
    if (py::isinstance<CArray<int32_t>>(t[2])) std::tie(ch.signed_lengths, n_values) = array_of<int32_t>(t[2], "values");
    else std::tie(ch.lengths, n_values) = array_of<uint32_t>(t[2], "values");
    if (n_values != n_fragments)
        throw py::value_error("values has " + std::to_string(n_values) + " entries, indices " +
                              std::to_string(n_fragments));
    ch.n_fragments = n_fragments;
    ch.indices = indices;
    return ch;
}

// A Python iterator of chunk tuples as a source of the export; it is asked on
// the exporting thread with the GIL released, so each call takes the GIL.
class PyChunks : public ChunkSource {
public:
    explicit PyChunks(py::iterator it) : it_(std::move(it)) {}
    ~PyChunks() override {
        py::gil_scoped_acquire gil;
        it_ = py::iterator();
    }
    bool next(BinJob& job, const std::function<bool()>&) override {
        py::gil_scoped_acquire gil;
        if (started_) ++it_;
        started_ = true;
        if (it_ == py::iterator::sentinel()) return false;
        job.cells = to_chunk(*it_);
        job.n_fragments = static_cast<uint64_t>(job.cells.indptr[job.cells.n_cells]);
        // the tuple keeps its arrays alive until the chunk is binned; freed with the GIL
        auto* item = new py::object(py::reinterpret_borrow<py::object>(*it_));
        job.keep = std::shared_ptr<const void>(item, [](const void* p) {
            py::gil_scoped_acquire gil;
            delete static_cast<const py::object*>(p);
        });
        return true;
    }

private:
    py::iterator it_;
    bool started_ = false;
};

// `chunks` of export_coverage: a source of the core, a list of such sources and
// Python iterators (read one after the other), or an iterable of chunk tuples.
struct Sources {
    std::vector<std::unique_ptr<ChunkSource>> owned;
    std::unique_ptr<ChunkSources> chain;
    ChunkSource* source = nullptr;
};

bool is_part(const py::handle& obj) { return py::isinstance<ChunkSource>(obj) || PyIter_Check(obj.ptr()); }

Sources sources_of(const py::object& chunks) {
    Sources out;
    if (py::isinstance<ChunkSource>(chunks)) {
        out.source = chunks.cast<ChunkSource*>();
        return out;
    }
    const bool parts = py::isinstance<py::list>(chunks) && py::len(chunks) > 0 &&
                       std::all_of(chunks.begin(), chunks.end(), [](const py::handle& h) { return is_part(h); });
    if (!parts) {
        out.owned.push_back(std::make_unique<PyChunks>(py::iter(chunks)));
        out.source = out.owned.back().get();
        return out;
    }
    std::vector<ChunkSource*> chain;
    for (py::handle part : chunks) {
        if (py::isinstance<ChunkSource>(part)) {
            chain.push_back(part.cast<ChunkSource*>());
        } else {
            out.owned.push_back(std::make_unique<PyChunks>(py::iter(part)));
            chain.push_back(out.owned.back().get());
        }
    }
    out.chain = std::make_unique<ChunkSources>(std::move(chain));
    out.source = out.chain.get();
    return out;
}

// A Python callable as a hook of the export: called with the GIL.
template <class... Args>
std::function<void(Args...)> hook(const py::object& callable) {
    if (callable.is_none()) return {};
    return [callable](Args... args) {
        py::gil_scoped_acquire gil;
        callable(args...);
    };
}

ExportPlan plan_of(std::vector<std::string> chrom_names, std::vector<uint64_t> chrom_lengths,
                   std::vector<std::string> output_paths, const py::tuple& blacklist, const py::object& include_for_norm,
                   const py::tuple& exclude_for_norm, const ExportOptions& options,
                   const std::optional<std::vector<uint64_t>>& n_cells,
                   const std::optional<std::vector<double>>& norm_by_totals, const py::object& regions_out,
                   const std::optional<std::vector<int32_t>>& references) {
    ExportPlan plan{Genome(std::move(chrom_names), std::move(chrom_lengths)), {}, options, {}, std::nullopt};
    Regions& regions = plan.regions;
    const size_t n_chroms = plan.genome.size();
    regions.blacklist = to_index(n_chroms, blacklist);
    regions.has_include = !include_for_norm.is_none();
    if (regions.has_include) regions.include_for_norm = to_index(n_chroms, include_for_norm.cast<py::tuple>());
    regions.exclude_for_norm = to_index(n_chroms, exclude_for_norm);
    regions.has_output = !regions_out.is_none();
    if (regions.has_output) regions.output = to_index(n_chroms, regions_out.cast<py::tuple>());
    const size_t n_tracks = output_paths.size();
    if ((n_cells && n_cells->size() != n_tracks) || (norm_by_totals && norm_by_totals->size() != n_tracks) ||
        (references && references->size() != n_tracks))
        throw py::value_error("n_cells, norm_by_totals and references need one entry per output path");
    for (size_t g = 0; g < n_tracks; ++g) {
        plan.tracks.emplace_back(std::move(output_paths[g]), n_cells ? (*n_cells)[g] : 0,
                                 norm_by_totals ? (*norm_by_totals)[g] : 0.0);
        if (references) plan.tracks.back().reference = (*references)[g];
    }
    return plan;
}

py::object export_coverage_py(std::vector<std::string> chrom_names, std::vector<uint64_t> chrom_lengths,
                              py::object chunks, std::vector<std::string> output_paths, py::tuple blacklist,
                              py::object include_for_norm, py::tuple exclude_for_norm, const ExportOptions& options,
                              std::optional<std::vector<uint64_t>> n_cells,
                              std::optional<std::vector<double>> norm_by_totals, py::object regions_out,
                              std::optional<std::vector<int32_t>> references, py::object profile,
                              py::object before_reading, py::object progress, py::object after_reading) {
    ExportPlan plan = plan_of(std::move(chrom_names), std::move(chrom_lengths), std::move(output_paths), blacklist,
                              include_for_norm, exclude_for_norm, options, n_cells, norm_by_totals, regions_out,
                              references);
    if (!profile.is_none()) plan.profiles = profile_request(profile.cast<py::tuple>());
    Sources sources = sources_of(chunks);  // outlives the call: an error is fetched before they go
    const ExportHooks hooks{check_signals, hook<>(before_reading), hook<uint64_t>(progress), hook<>(after_reading)};
    ExportResult result;
    try {
        py::gil_scoped_release nogil;
        result = fragcov::export_coverage(std::move(plan), *sources.source, hooks);
    } catch (const Cancelled&) {
        if (PyErr_Occurred()) throw py::error_already_set();
        throw py::value_error("export cancelled");
    }
    py::list out;
    for (const GroupStats& s : result.stats) {
        py::dict d;
        d["n_units"] = s.n_units;
        d["norm_count"] = s.norm_count;
        d["norm_length"] = s.norm_length;
        d["bin_sum"] = s.bin_sum;
        d["denominator"] = s.denominator;
        d["reference_denominator"] = s.reference_denominator;
        out.append(d);
    }
    if (!profile.is_none())
        return py::make_tuple(out, profiles_to_python(std::move(result.profiles), profile.cast<py::tuple>()));
    return out;
}

// Chunk tables come as numpy arrays (tens of thousands of entries): copied
// in one go rather than element by element as a list would be.
using U64Array = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;
using U32Array = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
using I64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using I32Array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
template <class T>
std::vector<T> to_vector(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
    if (a.ndim() != 1) throw py::value_error("chunk tables must be one-dimensional");
    return std::vector<T>(a.data(), a.data() + a.shape(0));
}

// An .h5ad dataset's layout from h5py's answers: a dict with the fields of Hdf5Layout.
Hdf5Layout layout_of(const py::dict& d) {
    Hdf5Layout l;
    l.what = d["what"].cast<std::string>();
    l.dtype = d["dtype"].cast<std::string>();
    l.shape = d["shape"].cast<std::vector<uint64_t>>();
    l.chunk_shape = d["chunk_shape"].cast<std::vector<uint64_t>>();
    for (const auto& [id, values] : d["filters"].cast<std::vector<std::pair<uint32_t, std::vector<uint32_t>>>>())
        l.filters.push_back({id, values});
    l.chunk_offsets = to_vector(d["chunk_offsets"].cast<U64Array>());
    l.chunk_addresses = to_vector(d["chunk_addresses"].cast<U64Array>());
    l.chunk_sizes = to_vector(d["chunk_sizes"].cast<U64Array>());
    l.chunk_masks = to_vector(d["chunk_masks"].cast<U32Array>());
    l.first_chunk = d["first_chunk"].cast<std::string>();
    l.first_chunk_mask = d["first_chunk_mask"].cast<uint32_t>();
    return l;
}

// A field of option_table: an attribute of its type, or an enum's user spelling.
template <class T, class Rule>
void bind_field(py::class_<ExportOptions>& cls, const char* name, T ExportOptions::*field, Rule) {
    cls.def_readwrite(name, field);
}

template <class E>
void bind_field(py::class_<ExportOptions>& cls, const char* name, E ExportOptions::*field,
                option_table::Spelled<E> rule) {
    cls.def_property(
        name, [field](const ExportOptions& o) { return std::string(to_string(o.*field)); },
        [field, rule](ExportOptions& o, const std::string& text) { o.*field = rule.parse(text); });
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

    // Cancelled without a pending signal (a C++ caller's cancellation): ValueError;
    // with one, the KeyboardInterrupt that PyErr_CheckSignals left pending.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Cancelled&) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "export cancelled");
        }
    });

    py::class_<ChunkSource>(m, "ChunkSource", "Where the core reads an export's chunks from (fragcov/pipeline.hpp).");
    py::class_<H5adColumns, std::shared_ptr<H5adColumns>>(m, "H5adColumns",
                                                         "The positions and values columns of an .h5ad's fragment "
                                                         "matrix, read and decoded by the core.")
        .def_static(
            "open",
            [](int fd, const std::string& path, bool paired, const py::dict& positions, const py::dict& values) {
                return std::shared_ptr<H5adColumns>(
                    H5adColumns::open(fd, path, paired, layout_of(positions), layout_of(values)));
            },
            py::arg("fd"), py::arg("path"), py::arg("paired"), py::arg("positions"), py::arg("values"),
            "The columns, or None when the core does not decode these datasets (h5py reads them).")
        .def("__len__", &H5adColumns::size)
        .def_property_readonly("positions", &H5adColumns::positions, py::return_value_policy::reference_internal)
        .def_property_readonly("values", &H5adColumns::values, py::return_value_policy::reference_internal);
    py::class_<H5adCells, ChunkSource>(m, "H5adCells", "Cells of an .h5ad's fragment matrix as chunks of an export.")
        .def(py::init([](std::shared_ptr<H5adColumns> columns, const I64Array& indptr, const I64Array& rows,
                         const I32Array& group_of_row, uint64_t chunk_fragments) {
                 return std::make_unique<H5adCells>(std::move(columns), to_vector(indptr), to_vector(rows),
                                                    to_vector(group_of_row), chunk_fragments);
             }),
             py::arg("columns"), py::arg("indptr"), py::arg("rows"), py::arg("group_of_row"),
             py::arg("chunk_fragments"));

    py::class_<ExportOptions> options(m, "ExportOptions",
                                      "Options of one export; defaults as export_coverage's. validate() checks them.");
    options.def(py::init<>())
        .def("validate", [](const ExportOptions& o) { validate(o); },
             "Raise ValueError when an option is out of range or contradicts another.");
    option_table::for_each_field(
        [&](const char* name, auto field, auto rule) { bind_field(options, name, field, rule); });

    m.def("export_coverage", &export_coverage_py, py::arg("chrom_names"), py::arg("chrom_lengths"),
          py::arg("chunks"), py::arg("output_paths"), py::arg("blacklist"), py::arg("include_for_norm"),
          py::arg("exclude_for_norm"), py::arg("options"), py::arg("n_cells") = py::none(),
          py::arg("norm_by_totals") = py::none(), py::arg("regions") = py::none(),
          py::arg("references") = py::none(), py::arg("profile") = py::none(), py::arg("before_reading") = py::none(),
          py::arg("progress") = py::none(), py::arg("after_reading") = py::none(),
          "Bin, normalise, smooth and write one coverage track per group (see fragcov.export_coverage); with "
          "options.compare, one comparison track per group with a path, against references[g] (-1: the "
          "rest); with `profile` ((chroms, positions, minus, upstream, downstream, bin_size)), also every "
          "group's profile around the anchors (docs/spec.md section 16): returns (stats, [(values, "
          "tss_centre, tss_flank), ...]). chunks: a ChunkSource (FragmentFiles, H5adCells), an iterable of "
          "(indptr, indices, values, cell_group) tuples, or a list of such sources and iterators read in turn; "
          "before_reading() runs once everything is checked, progress(n) for each chunk's fragments, "
          "after_reading() once all are binned, before anything is written.");

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
                         const U64Array& addresses, const U64Array& sizes,
                         const std::optional<U32Array>& filter_masks) {
                 ElementType type;
                 if (dtype == "int64") type = ElementType::Int64;
                 else if (dtype == "uint32") type = ElementType::UInt32;
                 else if (dtype == "int32") type = ElementType::Int32;
                 else throw py::value_error("dtype must be 'int64', 'uint32' or 'int32', got '" + dtype + "'");
                 return Hdf5Column(fd, std::move(path), std::move(what), type, std::move(filters), n_elements,
                                   chunk_elements, to_vector(addresses), to_vector(sizes),
                                   filter_masks ? to_vector(*filter_masks) : std::vector<uint32_t>{});
             }),
             py::arg("fd"), py::arg("path"), py::arg("what"), py::arg("dtype"), py::arg("filters"),
             py::arg("n_elements"), py::arg("chunk_elements"), py::arg("addresses"), py::arg("sizes"),
             // None, not an empty array: a numpy default would import numpy with the module (spec 1.1.1)
             py::arg("filter_masks") = py::none())
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
