// Reference sequences and the SnapATAC2 "genome position" coordinate system.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fragcov {

// Chromosomes in genome order. Genome position of (chrom, pos) is the summed
// length of the chromosomes before `chrom` plus `pos` (docs/spec.md section 2).
class Genome {
public:
    Genome() = default;
    // Throws std::invalid_argument, naming the chromosome, unless every name is
    // unique, non-empty and free of whitespace and control characters (they
    // end up in bedGraph columns and the bigWig name index), every length is
    // > 0, and genome positions fit int64 (docs/spec.md section 2).
    Genome(std::vector<std::string> names, std::vector<uint64_t> lengths);

    size_t size() const { return names_.size(); }
    const std::string& name(size_t chrom) const { return names_[chrom]; }
    uint64_t length(size_t chrom) const { return lengths_[chrom]; }
    uint64_t offset(size_t chrom) const { return offsets_[chrom]; }
    uint64_t total_length() const { return offsets_.back(); }
    const std::vector<std::string>& names() const { return names_; }
    const std::vector<uint64_t>& lengths() const { return lengths_; }

    // Index of the chromosome holding genome position `pos`, or -1 when past the end.
    long chrom_of(uint64_t pos) const;

private:
    std::vector<std::string> names_;
    std::vector<uint64_t> lengths_;
    std::vector<uint64_t> offsets_{0};  // size()+1 entries, offsets_[i] = start of chrom i
};

}  // namespace fragcov
