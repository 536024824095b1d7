// The one way fragcov writes a file: under a hidden temporary name beside the
// final path, renamed into place by commit(), removed if never committed. A
// failed or interrupted export therefore never leaves a partial file, and an
// existing file is replaced only by a complete one (docs/spec.md section 6).
// Used by every track writer and, through the bindings, by the Python layer
// (fragment BED files, .h5ad files).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "fragcov/options.hpp"

namespace fragcov {

// Length a file name may have so that its temporary name still fits the
// file system's 255-byte limit.
inline constexpr size_t kMaxOutputNameBytes = 255 - 16;  // "." + name + ".fragcov-XXXXXX"

// Throws std::invalid_argument when `path` cannot be an output file: an empty
// or too long file name, a NUL or control character in it, or anything but a
// regular file standing at it (a directory, a device, a FIFO, a socket, a
// symbolic link; docs/spec.md 4.1.2, 6.7). The one output-path guard:
// AtomicPath (every writer, C++ and Python) calls it when it is created and
// again before its rename.
void check_output_path(const std::string& path);

class AtomicPath {
public:
    // Creates the temporary file (empty, mode 0666 minus the umask).
    explicit AtomicPath(std::string path);
    ~AtomicPath();
    AtomicPath(const AtomicPath&) = delete;
    AtomicPath& operator=(const AtomicPath&) = delete;

    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }
    // Renames the temporary file to path(); the caller has closed it.
    void commit();
    bool committed() const { return committed_; }

private:
    std::string path_, temp_path_;
    bool committed_ = false;
};

// A byte stream into an AtomicPath, plain or through gzip / zstd.
class OutputFile {
public:
    // `level` is checked against the codec's range; empty: the codec's default.
    OutputFile(std::string path, Compression compression, std::optional<int> level = std::nullopt);
    ~OutputFile();
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    void write(const char* data, size_t n);
    // Flushes the codec and closes the temporary file.
    void close();
    // close() if needed, then rename into place.
    void commit();
    const std::string& path() const { return target_.path(); }

    class Sink;  // a codec writing into the temporary file

private:
    AtomicPath target_;
    std::unique_ptr<Sink> sink_;
};

}  // namespace fragcov
