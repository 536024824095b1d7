#include "fragcov/options.hpp"

#include "common/option_table.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace fragcov {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// Looks `text` up (case-insensitively) among `spellings`; the error lists the
// canonical names `choices`.
template <class E>
E parse(std::string_view text, std::initializer_list<std::pair<const char*, E>> spellings, const char* option,
        const char* choices) {
    const std::string key = lower(text);
    for (const auto& [name, value] : spellings)
        if (key == name) return value;
    throw std::invalid_argument("unknown " + std::string(option) + " '" + std::string(text) + "': use " + choices);
}

// The range checks of option_table's rules: std::invalid_argument naming the option.
void check(const char* name, int64_t v, option_table::Whole rule, const char* or_none = "") {
    if (v < rule.min)
        throw std::invalid_argument(std::string(name) + " must be >= " + std::to_string(rule.min) + or_none +
                                    ", got " + std::to_string(v));
    if (v > rule.max)
        throw std::invalid_argument(std::string(name) + " must be at most " + std::to_string(rule.max) + ", got " +
                                    std::to_string(v));
}

void check(const char* name, const std::optional<int64_t>& v, option_table::Whole rule) {
    if (v) check(name, *v, rule, " or None");
}

void check(const char* name, double v, option_table::Positive) {
    if (!std::isfinite(v) || v <= 0) {
        std::ostringstream text;
        text << name << " must be a finite number > 0, got " << v;
        throw std::invalid_argument(text.str());
    }
}

template <class T>
void check(const char*, const T&, option_table::Unchecked) {}

template <class T, class E>
void check(const char*, const T&, option_table::Spelled<E>) {}  // an enum holds only valid values

}  // namespace

Normalization parse_normalization(std::string_view text) {
    return parse<Normalization>(text,
                                {{"none", Normalization::None}, {"cpm", Normalization::CPM},
                                 {"rpkm", Normalization::RPKM}, {"bpm", Normalization::BPM},
                                 {"rpgc", Normalization::RPGC}, {"n_cells", Normalization::NCells}},
                                "normalization", "'RPKM', 'CPM', 'BPM', 'RPGC', 'n_cells' or None");
}

CountingStrategy parse_counting_strategy(std::string_view text) {
    return parse<CountingStrategy>(text,
                                   {{"fragment", CountingStrategy::Fragment},
                                    {"insertion", CountingStrategy::Insertion}},
                                   "counting_strategy", "'fragment' or 'insertion'");
}

OutputFormat parse_output_format(std::string_view text) {
    return parse<OutputFormat>(text, {{"bigwig", OutputFormat::BigWig}, {"bedgraph", OutputFormat::BedGraph}},
                               "output_format", "'bigwig', 'bedgraph' or None");
}

Compression parse_compression(std::string_view text) {
    return parse<Compression>(text,
                              {{"none", Compression::None}, {"gzip", Compression::Gzip},
                               {"gz", Compression::Gzip}, {"zstandard", Compression::Zstd},
                               {"zstd", Compression::Zstd}, {"zst", Compression::Zstd}},
                              "compression", "'gzip', 'zstandard' or None");
}

CompareOperation parse_compare_operation(std::string_view text) {
    return parse<CompareOperation>(text,
                                   {{"none", CompareOperation::None}, {"log2", CompareOperation::Log2},
                                    {"ratio", CompareOperation::Ratio}, {"difference", CompareOperation::Difference}},
                                   "operation", "'log2', 'ratio' or 'difference'");
}

const char* to_string(CompareOperation v) {
    switch (v) {
        case CompareOperation::None: return "none";
        case CompareOperation::Log2: return "log2";
        case CompareOperation::Ratio: return "ratio";
        case CompareOperation::Difference: return "difference";
    }
    return "?";
}

const char* to_string(Normalization v) {
    switch (v) {
        case Normalization::None: return "none";
        case Normalization::CPM: return "CPM";
        case Normalization::RPKM: return "RPKM";
        case Normalization::BPM: return "BPM";
        case Normalization::RPGC: return "RPGC";
        case Normalization::NCells: return "n_cells";
    }
    return "?";
}

const char* to_string(CountingStrategy v) {
    return v == CountingStrategy::Insertion ? "insertion" : "fragment";
}

const char* to_string(OutputFormat v) { return v == OutputFormat::BigWig ? "bigwig" : "bedgraph"; }

const char* to_string(Compression v) {
    switch (v) {
        case Compression::None: return "none";
        case Compression::Gzip: return "gzip";
        case Compression::Zstd: return "zstandard";
    }
    return "?";
}

std::optional<LevelRange> level_range(Compression compression) {
    switch (compression) {
        case Compression::Gzip: return LevelRange{1, 9, 6};
        case Compression::Zstd: return LevelRange{1, 22, 3};
        case Compression::None: break;
    }
    return std::nullopt;
}

int resolve_compression_level(Compression compression, std::optional<int> level) {
    const std::optional<LevelRange> range = level_range(compression);
    if (!range) return 0;  // nothing to compress: a given level is ignored
    if (!level) return range->default_level;
    if (*level < range->min || *level > range->max)
        throw std::invalid_argument(std::string(to_string(compression)) + " compression_level must be " +
                                    std::to_string(range->min) + "-" + std::to_string(range->max) + ", got " +
                                    std::to_string(*level));
    return *level;
}

void validate(const ExportOptions& o) {
    auto fail = [](const std::string& msg) { throw std::invalid_argument(msg); };
    option_table::for_each_field([&](const char* name, auto member, auto rule) { check(name, o.*member, rule); });
    if (o.min_frag_length && o.max_frag_length && *o.min_frag_length > *o.max_frag_length)
        fail("min_frag_length (" + std::to_string(*o.min_frag_length) + ") is larger than max_frag_length (" +
             std::to_string(*o.max_frag_length) + ")");
    if (o.format == OutputFormat::BigWig && o.compression != Compression::None)
        fail(std::string("bigWig files are compressed internally and take no outer codec (got compression '") +
             to_string(o.compression) + "'): use a suffix such as '.bw', or output_format='bedgraph' for "
             "compressed text");
    resolve_compression_level(o.compression, o.compression_level);
    if (o.normalization == Normalization::RPGC && !o.effective_genome_size)
        fail("normalization='RPGC' needs effective_genome_size (deepTools' --effectiveGenomeSize, e.g. "
             "2913022398 for GRCh38)");
    if (o.effective_genome_size && o.normalization != Normalization::RPGC)
        fail(std::string("effective_genome_size is only used by normalization='RPGC', not '") +
             to_string(o.normalization) + "'");
    if (o.norm_by && o.normalization != Normalization::None)
        fail(std::string("norm_by scales by its own total and needs normalization=None, not '") +
             to_string(o.normalization) + "'");
    if (o.compare != CompareOperation::None) {  // docs/spec.md section 14.3
        const bool needs_positive = o.compare != CompareOperation::Difference;
        if (!std::isfinite(o.pseudocount) || o.pseudocount < 0 || (needs_positive && o.pseudocount == 0)) {
            std::ostringstream text;
            text << "pseudocount must be a finite number " << (needs_positive ? "> 0" : ">= 0") << " for operation '"
                 << to_string(o.compare) << "', got " << o.pseudocount;
            fail(text.str());
        }
        if (o.norm_by) fail("norm_by is not available for comparison tracks: use normalization='CPM' (default), "
                            "'RPKM', 'BPM', 'RPGC', 'n_cells' or None");
    }
}

}  // namespace fragcov
