#include "output/profile_matrix.hpp"

#include <libdeflate.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "fragcov/cancelled.hpp"
#include "output/output_file.hpp"
#include "util/io_error.hpp"
#include "util/parallel_for.hpp"
#include "util/processors.hpp"

namespace fragcov {

namespace {

constexpr size_t kBlockBytes = 4 << 20;  // text per gzip member
constexpr int kLevel = 6;                // gzip's default level

// One gzip member holding `text`.
std::string gzip_member(const std::string& text) {
    std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> c(libdeflate_alloc_compressor(kLevel),
                                                                               libdeflate_free_compressor);
    if (!c) throw std::bad_alloc();
    std::string out(libdeflate_gzip_compress_bound(c.get(), text.size()), '\0');
    out.resize(libdeflate_gzip_compress(c.get(), text.data(), text.size(), out.data(), out.size()));
    if (out.empty()) throw std::runtime_error("gzip compression failed");
    return out;
}

void append_value(std::string& text, float v) {
    if (std::isnan(v)) {
        text += "nan";
        return;
    }
    char buf[32];
    text.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);  // shortest round-trip form
}

}  // namespace

void write_deeptools_matrix(const std::string& path, const std::string& header,
                            const std::vector<std::string>& row_prefixes, const std::vector<const float*>& samples,
                            size_t n_bins, int n_jobs, const std::function<bool()>& cancelled) {
    const int n_threads = thread_count(n_jobs);  // never more than the processors (docs/spec.md 7.1)
    if (header.find('\n') != std::string::npos) throw std::invalid_argument("the matrix header holds a line break");
    for (const std::string& p : row_prefixes)
        if (p.find('\n') != std::string::npos || p.find('\r') != std::string::npos)
            throw std::invalid_argument("a matrix row holds a line break: " + p.substr(0, 80));
    AtomicPath target(path);
    struct Closer {
        FILE* f;
        ~Closer() {
            if (f) std::fclose(f);
        }
    } file{std::fopen(target.temp_path().c_str(), "wb")};
    if (!file.f) throw io_error("cannot open", target.temp_path());
    auto write = [&](const std::string& bytes) {
        if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file.f) != bytes.size())
            throw io_error("cannot write", path);
    };
    write(gzip_member("@" + header + "\n"));

    const size_t n_rows = row_prefixes.size();
    const size_t row_bytes = 48 + samples.size() * n_bins * 10;  // about: the text of one row
    const size_t rows_per_block = std::max<size_t>(1, kBlockBytes / row_bytes);
    const size_t n_blocks = (n_rows + rows_per_block - 1) / rows_per_block;
    const size_t per_round = static_cast<size_t>(std::max(1, n_threads)) * 2;  // blocks held at once
    std::vector<std::string> members(per_round);
    for (size_t first = 0; first < n_blocks; first += per_round) {
        if (cancelled && cancelled()) throw Cancelled();
        const size_t n = std::min(per_round, n_blocks - first);
        parallel_for(n, n_threads, [&](size_t k) {
            const size_t r0 = (first + k) * rows_per_block, r1 = std::min(n_rows, r0 + rows_per_block);
            std::string text;
            text.reserve((r1 - r0) * row_bytes);
            for (size_t r = r0; r < r1; ++r) {
                text += row_prefixes[r];
                for (const float* sample : samples) {
                    const float* row = sample + r * n_bins;
                    for (size_t b = 0; b < n_bins; ++b) {
                        text += '\t';
                        append_value(text, row[b]);
                    }
                }
                text += '\n';
            }
            members[k] = gzip_member(text);
        });
        for (size_t k = 0; k < n; ++k) write(members[k]);
    }
    FILE* f = file.f;
    file.f = nullptr;
    if (std::fclose(f) != 0) throw io_error("cannot close", path);
    target.commit();
}

}  // namespace fragcov
