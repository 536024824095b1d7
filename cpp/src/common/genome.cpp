#include "fragcov/genome.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace fragcov {

namespace {

std::string describe(size_t i, const std::string& name) {
    std::string shown;
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789abcdef";
            shown += "\\x";
            shown += hex[c >> 4];
            shown += hex[c & 15];
        } else {
            shown += static_cast<char>(c);
        }
    }
    return "reference sequence " + std::to_string(i) + " ('" + shown + "')";
}

}  // namespace

Genome::Genome(std::vector<std::string> names, std::vector<uint64_t> lengths)
    : names_(std::move(names)), lengths_(std::move(lengths)) {
    if (names_.size() != lengths_.size())
        throw std::invalid_argument("reference sequence names (" + std::to_string(names_.size()) +
                                    ") and lengths (" + std::to_string(lengths_.size()) + ") differ in number");
    std::unordered_map<std::string, size_t> seen;
    offsets_.reserve(names_.size() + 1);
    for (size_t i = 0; i < names_.size(); ++i) {
        const std::string& name = names_[i];
        if (name.empty()) throw std::invalid_argument(describe(i, name) + " has an empty name");
        if (std::any_of(name.begin(), name.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
            throw std::invalid_argument(describe(i, name) +
                                        " has a name with whitespace or a control character");
        auto [it, inserted] = seen.emplace(name, i);
        if (!inserted)
            throw std::invalid_argument(describe(i, name) + " has the same name as reference sequence " +
                                        std::to_string(it->second));
        if (lengths_[i] == 0) throw std::invalid_argument(describe(i, name) + " has length 0");
        // genome positions are int64 in the fragment matrix
        if (lengths_[i] > static_cast<uint64_t>(INT64_MAX) - offsets_.back())
            throw std::invalid_argument(describe(i, name) + ": the genome is longer than 2^63 bases");
        offsets_.push_back(offsets_.back() + lengths_[i]);
    }
}

long Genome::chrom_of(uint64_t pos) const {
    if (pos >= total_length()) return -1;
    // first offset > pos, minus one
    auto it = std::upper_bound(offsets_.begin(), offsets_.end(), pos);
    return static_cast<long>(it - offsets_.begin()) - 1;
}

}  // namespace fragcov
