// A chunked HDF5 dataset as HDF5 reports it (h5py in Python, H5Dget_* in C):
// what the core needs to decide whether it reads the dataset itself
// (h5ad_columns.hpp, docs/spec.md 2.5.0).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fragcov {

struct Hdf5Filter {
    uint32_t id = 0;                // HDF5 filter id
    std::vector<uint32_t> values;  // its client data (cd_values)
};

// A dataset of the file as HDF5 reports it.
struct Hdf5Layout {
    std::string what;                   // its name in messages, e.g. "fragment positions (obsm/.../indices)"
    std::string dtype;                  // numpy's dtype.str: "<i8", "<u4", "<i4", ...
    std::vector<uint64_t> shape;        // the dataset's dimensions
    std::vector<uint64_t> chunk_shape;  // empty: not chunked
    std::vector<Hdf5Filter> filters;    // the filter pipeline, in write order
    // every stored chunk, in any order: its first element, filter mask (bit i:
    // filter i skipped), byte address and byte size in the file
    std::vector<uint64_t> chunk_offsets, chunk_addresses, chunk_sizes;
    std::vector<uint32_t> chunk_masks;
    // chunk 0 as HDF5 reads it unfiltered (H5Dread_chunk) and its filter mask:
    // the addresses are the file's byte offsets only if the same bytes are there
    std::string first_chunk;
    uint32_t first_chunk_mask = 0;
};

}  // namespace fragcov
