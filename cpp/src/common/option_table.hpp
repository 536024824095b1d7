// Every field of ExportOptions that Python sets, each named once: its name (as
// Python, the command line's errors and validate()'s messages spell it), its
// member, and its rule (docs/spec.md section 1.3). validate() checks the
// ranges from this table and the Python bindings expose the fields from it,
// so a new option is one field in options.hpp and one row here. What depends
// on another option (compression_level's range is its codec's, pseudocount's
// the operation's, and the contradictions between options) validate() checks
// after the table.
#pragma once
#include <cstdint>
#include <limits>
#include <string_view>

#include "fragcov/options.hpp"

namespace fragcov::option_table {

struct Unchecked {};  // any value of the field's type (or checked with another option)
struct Whole {        // a whole number in [min, max]; an optional one may also be None
    int64_t min;
    int64_t max = std::numeric_limits<int64_t>::max();
};
struct Positive {};  // a finite number > 0
template <class E>
struct Spelled {     // an enum, read and written as its user spelling (parse_* / to_string)
    E (*parse)(std::string_view);
};

template <class Visit>
void for_each_field(Visit&& visit) {
    using O = ExportOptions;
    visit("bin_size", &O::bin_size, Whole{1, kMaxBinSize});
    visit("normalization", &O::normalization, Spelled<Normalization>{parse_normalization});
    visit("min_frag_length", &O::min_frag_length, Whole{0});
    visit("max_frag_length", &O::max_frag_length, Whole{0});
    visit("counting_strategy", &O::counting, Spelled<CountingStrategy>{parse_counting_strategy});
    visit("smooth_base", &O::smooth_base, Whole{1, kMaxBinSize});
    visit("output_format", &O::format, Spelled<OutputFormat>{parse_output_format});
    visit("compression", &O::compression, Spelled<Compression>{parse_compression});
    visit("compression_level", &O::compression_level, Unchecked{});
    visit("tempdir", &O::tempdir, Unchecked{});
    visit("n_jobs", &O::n_jobs, Unchecked{});
    visit("memory_budget_bytes", &O::memory_budget_bytes, Unchecked{});
    visit("effective_genome_size", &O::effective_genome_size, Whole{1});
    visit("norm_by", &O::norm_by, Unchecked{});
    visit("scale_factor", &O::scale_factor, Positive{});
    visit("ceiling", &O::ceiling, Whole{1});
    visit("compare", &O::compare, Spelled<CompareOperation>{parse_compare_operation});
    visit("pseudocount", &O::pseudocount, Unchecked{});
}

}  // namespace fragcov::option_table
