// Python bindings of profiles around anchors (docs/spec.md section 16): the
// anchors handed to the exporter, its profiles handed back as numpy arrays
// that own their buffers (no copy of a result that can be gigabytes), and
// deepTools' matrix file. Python checks and converts the arguments.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "fragcov/pipeline.hpp"
#include "fragcov/profile.hpp"
#include "output/profile_matrix.hpp"

namespace py = pybind11;
using namespace fragcov;

namespace {

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* owned = new std::vector<T>(std::move(v));
    py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(shape, owned->data(), free_when_done);
}

template <class T>
std::vector<T> vector_of(const py::handle& obj, const char* what) {
    auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(obj);
    if (!a || a.ndim() != 1) throw py::type_error(std::string(what) + " must be a one-dimensional array");
    return std::vector<T>(a.data(), a.data() + a.shape(0));
}

ProfileOptions options_of(const py::tuple& t) {
    return ProfileOptions{t[3].cast<int64_t>(), t[4].cast<int64_t>(), t[5].cast<int64_t>()};
}

bool check_signals() {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
}

}  // namespace

// `profile`: (chroms uint32, positions int64, minus bool, upstream, downstream, bin_size).
ProfileRequest profile_request(const py::tuple& profile) {
    if (profile.size() != 6)
        throw py::value_error("profile must be (chroms, positions, minus, upstream, downstream, bin_size)");
    const auto chroms = vector_of<uint32_t>(profile[0], "chroms");
    const auto positions = vector_of<int64_t>(profile[1], "positions");
    const auto minus = vector_of<bool>(profile[2], "minus");
    if (positions.size() != chroms.size() || minus.size() != chroms.size())
        throw py::value_error("chroms, positions and minus need one entry per anchor");
    ProfileRequest request{std::vector<ProfileAnchor>(chroms.size()), options_of(profile)};
    for (size_t i = 0; i < chroms.size(); ++i) request.anchors[i] = {chroms[i], positions[i], minus[i]};
    return request;
}

// An export's profiles: per group (values as anchors x bins, tss_centre, tss_flank).
py::list profiles_to_python(std::vector<GroupProfile> profiles, const py::tuple& profile) {
    const auto n_anchors = static_cast<py::ssize_t>(py::len(profile[0]));
    const auto n_bins = static_cast<py::ssize_t>(options_of(profile).n_bins());
    py::list out;
    for (GroupProfile& p : profiles) {
        if (p.values.empty()) {  // no anchor: the arrays were never sized
            p.values.resize(static_cast<size_t>(n_anchors * n_bins));
            p.tss_centre.resize(static_cast<size_t>(n_anchors));
            p.tss_flank.resize(static_cast<size_t>(n_anchors));
        }
        out.append(py::make_tuple(to_numpy(std::move(p.values), {n_anchors, n_bins}),
                                  to_numpy(std::move(p.tss_centre), {n_anchors}),
                                  to_numpy(std::move(p.tss_flank), {n_anchors})));
    }
    return out;
}

void bind_profiles(py::module_& m) {
    m.def(
        "check_profile_options",
        [](int64_t upstream, int64_t downstream, int64_t bin_size) {
            validate(ProfileOptions{upstream, downstream, bin_size});
        },
        py::arg("upstream"), py::arg("downstream"), py::arg("bin_size"),
        "Raise ValueError when upstream, downstream and bin_size break docs/spec.md section 16.4.1.");
    m.def(
        "write_deeptools_matrix",
        [](const std::string& path, const std::string& header, const std::vector<std::string>& prefixes,
           const std::vector<py::array_t<float, py::array::c_style>>& samples, size_t n_bins, int n_jobs) {
            std::vector<const float*> data;
            for (const auto& s : samples) {
                if (static_cast<size_t>(s.size()) != prefixes.size() * n_bins)
                    throw py::value_error("each sample needs rows x n_bins values");
                data.push_back(s.data());
            }
            py::gil_scoped_release nogil;
            try {
                write_deeptools_matrix(path, header, prefixes, data, n_bins, n_jobs, check_signals);
            } catch (const Cancelled&) {
                py::gil_scoped_acquire gil;
                if (PyErr_Occurred()) throw py::error_already_set();
                throw py::value_error("cancelled");
            }
        },
        py::arg("path"), py::arg("header"), py::arg("prefixes"), py::arg("samples"), py::arg("n_bins"),
        py::arg("n_jobs"), "Write deepTools' computeMatrix file (docs/spec.md section 16.7).");
}
