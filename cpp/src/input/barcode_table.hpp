// Barcode interning: each distinct barcode is stored once and known by a
// 32-bit id (ids count up from 0 in order of insertion).
#pragma once
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fragcov {

// Open addressing over ids, looked up by std::string_view. Hand-written
// because C++17's std::unordered_map cannot be searched with a string_view
// without building a std::string for every line.
class BarcodeTable {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    uint32_t find(std::string_view name) const { return find_hashed(name, hash(name)); }

    // The id of `name`, inserted when new.
    uint32_t insert(std::string_view name) {
        const uint64_t h = hash(name);
        const uint32_t found = find_hashed(name, h);
        if (found != kNone) return found;
        if (names_.size() >= kNone - 1) throw std::length_error("more than 2^32 - 2 distinct barcodes");
        if ((names_.size() + 1) * 2 > slots_.size()) grow();
        const uint32_t id = static_cast<uint32_t>(names_.size());
        names_.emplace_back(name);
        hashes_.push_back(h);
        place(id, h);
        return id;
    }

    size_t size() const { return names_.size(); }
    const std::vector<std::string>& names() const { return names_; }

private:
    static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

    uint32_t find_hashed(std::string_view name, uint64_t h) const {
        if (slots_.empty()) return kNone;
        const size_t mask = slots_.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            const uint32_t id = slots_[i];
            if (id == kNone) return kNone;
            if (hashes_[id] == h && names_[id] == name) return id;
        }
    }

    void place(uint32_t id, uint64_t h) {
        const size_t mask = slots_.size() - 1;
        size_t i = h & mask;
        while (slots_[i] != kNone) i = (i + 1) & mask;
        slots_[i] = id;
    }

    void grow() {
        slots_.assign(slots_.empty() ? 1024 : slots_.size() * 2, kNone);
        for (uint32_t id = 0; id < names_.size(); ++id) place(id, hashes_[id]);
    }

    std::vector<std::string> names_;
    std::vector<uint64_t> hashes_;  // hash of names_[id]
    std::vector<uint32_t> slots_;   // ids; size a power of two, at most half full
};

}  // namespace fragcov
