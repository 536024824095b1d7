// Unit tests for BigWigFile: a small track is written and its bytes are read
// back with the tiny decoder below (header, chromosome tree, R-tree leaves, each
// block inflated with zlib), against section layouts worked out by hand from the
// rules in bigwig_file.cpp ("data sections"): one section per block; fixedStep
// item i covers [start + i*step, +span); varStep items are (start, value) with
// `span` bases each; bedGraph items are (start, end, value).
#include "output/bigwig_file.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fragcov/track_writer.hpp"
#include "testing/test_support.hpp"

using namespace fragcov;

namespace {

template <class T>
T get(const std::string& bytes, uint64_t offset) {
    REQUIRE(offset + sizeof(T) <= bytes.size());
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

struct Item {
    uint32_t start, end;
    float value;
    bool operator==(const Item& o) const { return start == o.start && end == o.end && value == o.value; }
};

struct Section {
    uint32_t chrom, start, end, step, span;
    uint8_t type;
    std::vector<Item> items;  // expanded to (start, end, value)
    uint32_t index_start, index_end;  // the block's R-tree leaf entry (chromosome checked equal)
    size_t raw_size;
};

struct Decoded {
    uint16_t zoom_levels;
    uint32_t uncompress_buf_size;
    uint64_t n_sections;  // the count before the data
    std::map<std::string, std::pair<uint32_t, uint32_t>> chroms;  // name -> (id, length)
    std::vector<Section> sections;  // in R-tree order
    uint64_t bases_covered;
    double min, max, sum, sum_squares;
};

// Reads the file as UCSC's bbi readers do, assuming a one-level chromosome tree
// and R-tree (enough for a few chromosomes and fewer than 256 blocks).
Decoded decode(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    const std::string b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Decoded d;
    REQUIRE(get<uint32_t>(b, 0) == 0x888FFC26);
    REQUIRE(get<uint32_t>(b, b.size() - 4) == 0x888FFC26);
    REQUIRE(get<uint16_t>(b, 4) == 4);
    d.zoom_levels = get<uint16_t>(b, 6);
    const uint64_t chrom_tree = get<uint64_t>(b, 8), data = get<uint64_t>(b, 16), index = get<uint64_t>(b, 24);
    const uint64_t summary = get<uint64_t>(b, 44);
    d.uncompress_buf_size = get<uint32_t>(b, 52);
    d.bases_covered = get<uint64_t>(b, summary);
    d.min = get<double>(b, summary + 8);
    d.max = get<double>(b, summary + 16);
    d.sum = get<double>(b, summary + 24);
    d.sum_squares = get<double>(b, summary + 32);

    REQUIRE(get<uint32_t>(b, chrom_tree) == 0x78CA8C91);
    const uint32_t key_size = get<uint32_t>(b, chrom_tree + 8);
    const uint64_t node = chrom_tree + 32;
    REQUIRE(get<uint8_t>(b, node) == 1);  // a leaf
    for (uint16_t i = 0; i < get<uint16_t>(b, node + 2); ++i) {
        const uint64_t item = node + 4 + i * (key_size + 8);
        std::string name = b.substr(item, key_size);
        name.resize(std::strlen(name.c_str()));
        d.chroms[name] = {get<uint32_t>(b, item + key_size), get<uint32_t>(b, item + key_size + 4)};
    }

    d.n_sections = get<uint64_t>(b, data);
    REQUIRE(get<uint32_t>(b, index) == 0x2468ACE0);
    const uint64_t root = index + 48;
    REQUIRE(get<uint8_t>(b, root) == 1);
    for (uint16_t i = 0; i < get<uint16_t>(b, root + 2); ++i) {
        const uint64_t leaf = root + 4 + 32 * uint64_t{i};
        Section s;
        REQUIRE(get<uint32_t>(b, leaf) == get<uint32_t>(b, leaf + 8));  // one chromosome per block
        s.index_start = get<uint32_t>(b, leaf + 4);
        s.index_end = get<uint32_t>(b, leaf + 12);
        const uint64_t offset = get<uint64_t>(b, leaf + 16), size = get<uint64_t>(b, leaf + 24);
        std::string raw(d.uncompress_buf_size, '\0');
        uLongf raw_size = raw.size();
        REQUIRE(uncompress(reinterpret_cast<Bytef*>(&raw[0]), &raw_size,
                           reinterpret_cast<const Bytef*>(b.data() + offset), size) == Z_OK);
        raw.resize(raw_size);
        s.raw_size = raw_size;
        s.chrom = get<uint32_t>(raw, 0);
        REQUIRE(s.chrom == get<uint32_t>(b, leaf));
        s.start = get<uint32_t>(raw, 4);
        s.end = get<uint32_t>(raw, 8);
        s.step = get<uint32_t>(raw, 12);
        s.span = get<uint32_t>(raw, 16);
        s.type = get<uint8_t>(raw, 20);
        const uint16_t count = get<uint16_t>(raw, 22);
        const size_t item_size = s.type == 1 ? 12 : s.type == 2 ? 8 : 4;
        REQUIRE(raw.size() == 24 + count * item_size);  // nothing after the section
        for (uint16_t k = 0; k < count; ++k) {
            const uint64_t at = 24 + k * item_size;
            const uint32_t fixed_start = s.start + k * s.step;
            if (s.type == 1)
                s.items.push_back({get<uint32_t>(raw, at), get<uint32_t>(raw, at + 4), get<float>(raw, at + 8)});
            if (s.type == 2)
                s.items.push_back({get<uint32_t>(raw, at), get<uint32_t>(raw, at) + s.span, get<float>(raw, at + 4)});
            if (s.type == 3) s.items.push_back({fixed_start, fixed_start + s.span, get<float>(raw, at)});
        }
        d.sections.push_back(s);
    }
    return d;
}

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() / (std::string("fragcov_bigwig_test_") + name)).string();
}

// Per-base items of the given records.
std::vector<Item> as_items(const std::vector<Item>& records, uint32_t span) {
    std::vector<Item> out;
    for (const Item& r : records)
        for (uint32_t s = r.start; s < r.end; s += span) out.push_back({s, s + span, r.value});
    return out;
}

}  // namespace

TEST_CASE("each block is the section type estimated smallest, and readers' rules recover the records") {
    const Genome genome({"chrA", "chrB", "chrC", "chrD", "chrE"}, {5000, 3000, 100000, 2000, 10000});
    const std::string path = temp_path("sections.bw");
    std::map<uint32_t, std::vector<Item>> records;

    // chrA, a smoothed bump: 20 one-base records, a run of 6 equal bases, 20 more.
    // fixedStep at span 1: 128 (block) + 41 x 4 + (6 + 6/16) for the run = 298
    // estimated bytes, less than the 46 varStep items (368) or 41 bedGraph items (492).
    for (uint32_t i = 0; i < 20; ++i) records[0].push_back({100 + i, 101 + i, float(i + 1)});
    records[0].push_back({120, 126, 99.0f});
    for (uint32_t i = 0; i < 20; ++i) records[0].push_back({126 + i, 127 + i, float(21 + i)});
    // chrB, a sparse per-bin track: single bins and one 2-bin record, apart:
    // one varStep block at span 10 (128 + 7 x 8 = 184 per 6 records) beats
    // bedGraph (128 + 6 x 12 = 200).
    for (uint32_t i = 0; i < 5; ++i) records[1].push_back({1000 + 100 * i, 1010 + 100 * i, 2.5f + i});
    records[1].push_back({1600, 1620, 9.5f});
    // chrC, irregular lengths with gaps: span 1 would make 56 varStep items, so bedGraph.
    records[2] = {{10, 17, 1.0f}, {30, 43, 2.0f}, {50, 51, 3.0f}, {60, 95, 4.0f}};
    // chrD, a dense per-bin track: 40 touching records, one of them 2 bins long:
    // fixedStep at span 10 (128 + 40 x 4 + 6 + 2/16 = 294 < 41 x 8 = 328). The bin
    // cut at the chromosome end (5 bases, after a gap) is a block of its own.
    for (uint32_t i = 0, s = 0; i < 40; ++i) {
        const uint32_t len = i == 17 ? 20 : 10;
        records[3].push_back({s, s + len, 0.5f * float(i + 1)});
        s += len;
    }
    records[3].push_back({1995, 2000, 7.0f});
    // chrE, 3000 touching one-base records: fixedStep blocks of at most 1024 items.
    for (uint32_t i = 0; i < 3000; ++i) records[4].push_back({i, i + 1, float(i % 7 + 1)});

    uint64_t bases = 0;
    double sum = 0, sum_squares = 0;
    {
        BigWigFile bw(path, genome, 1, 40960);
        for (const auto& [chrom, recs] : records)
            for (const Item& r : recs) {
                bw.add(chrom, r.start, r.end, r.value);
                bases += r.end - r.start;
                sum += double(r.value) * (r.end - r.start);
                sum_squares += double(r.value) * r.value * (r.end - r.start);
            }
        bw.close();
    }
    const Decoded d = decode(path);
    std::remove(path.c_str());

    CHECK(d.chroms.at("chrA") == std::make_pair(0u, 5000u));
    CHECK(d.chroms.at("chrE") == std::make_pair(4u, 10000u));
    CHECK(d.bases_covered == bases);
    CHECK(d.min == 0.5);
    CHECK(d.max == 99.0);
    CHECK(d.sum == doctest::Approx(sum));
    CHECK(d.sum_squares == doctest::Approx(sum_squares));
    CHECK(d.zoom_levels == 2);  // 40960 and 163840 bases: the second spans the longest chromosome

    // (chrom, type, step, span, start, end) of every block, in order
    struct Expected {
        uint32_t chrom;
        uint8_t type;
        uint32_t step, span, start, end;
    };
    const std::vector<Expected> expected{
        {0, 3, 1, 1, 100, 146},       {1, 2, 0, 10, 1000, 1620}, {2, 1, 0, 0, 10, 95},
        {3, 3, 10, 10, 0, 410},       {3, 2, 0, 5, 1995, 2000},  {4, 3, 1, 1, 0, 1024},
        {4, 3, 1, 1, 1024, 2048},     {4, 3, 1, 1, 2048, 3000},
    };
    REQUIRE(d.sections.size() == expected.size());
    CHECK(d.n_sections == expected.size());
    size_t largest = 0;
    for (size_t k = 0; k < expected.size(); ++k) {
        const Section& s = d.sections[k];
        const Expected& e = expected[k];
        CAPTURE(k);
        CHECK(s.chrom == e.chrom);
        CHECK(int(s.type) == int(e.type));
        CHECK(s.step == e.step);
        CHECK(s.span == e.span);
        CHECK(s.start == e.start);
        CHECK(s.end == e.end);
        // the R-tree entry covers exactly the items: first start to last end
        CHECK(s.index_start == s.start);
        CHECK(s.index_end == s.end);
        REQUIRE(!s.items.empty());
        CHECK(s.items.front().start == s.start);
        CHECK(s.items.back().end == s.end);
        CHECK(s.items.size() <= BigWigFile::kItemsPerBlock);
        largest = std::max(largest, s.raw_size);
    }
    CHECK(d.uncompress_buf_size >= largest);

    // items, worked out from the records: runs expanded to span-sized items
    CHECK(d.sections[0].items == as_items(records[0], 1));
    CHECK(d.sections[0].items.size() == 46);
    CHECK(d.sections[1].items == as_items(records[1], 10));
    CHECK(d.sections[1].items.size() == 7);
    CHECK(d.sections[2].items == records[2]);
    CHECK(d.sections[3].items == as_items({records[3].begin(), records[3].end() - 1}, 10));
    CHECK(d.sections[3].items.size() == 41);
    CHECK(d.sections[4].items == std::vector<Item>{{1995, 2000, 7.0f}});
    std::vector<Item> chr_e;
    for (size_t k = 5; k < 8; ++k)
        chr_e.insert(chr_e.end(), d.sections[k].items.begin(), d.sections[k].items.end());
    CHECK(chr_e == records[4]);
}

TEST_CASE("a record too long for a fixedStep block stays whole between two fixedStep blocks") {
    // c1: 200 one-base records, one record of 5000 bases, 200 one-base records.
    // The long record would be 5000 items at span 1, more than a block holds, so
    // it ends the first stretch: fixedStep [100,300) (128 + 200 x 4 = 928 < 200 x
    // 8). It waits alone as a shared record; the second stretch still pays with
    // the cost of cutting it off (128 + 800 + 512 = 1440 < 1600), which leaves the
    // long record a block of its own: varStep, one item of span 5000 (128 + 8
    // beats bedGraph's 128 + 12). c2's one record starts a block of its own.
    const Genome genome({"c1", "c2"}, {20000, 20000});
    const std::string path = temp_path("long.bw");
    {
        BigWigFile bw(path, genome, 1, 40960);
        for (uint32_t i = 0; i < 200; ++i) bw.add(0, 100 + i, 101 + i, float(i + 1));
        bw.add(0, 300, 5300, 3.0f);
        for (uint32_t i = 0; i < 200; ++i) bw.add(0, 5300 + i, 5301 + i, float(i + 1));
        bw.add(1, 0, 10, 1.0f);
        bw.close();
    }
    const Decoded d = decode(path);
    std::remove(path.c_str());
    REQUIRE(d.sections.size() == 4);
    CHECK(int(d.sections[0].type) == 3);
    CHECK(d.sections[0].start == 100);
    CHECK(d.sections[0].end == 300);
    CHECK(d.sections[0].items.size() == 200);
    CHECK(int(d.sections[1].type) == 2);
    CHECK(d.sections[1].span == 5000);
    CHECK(d.sections[1].items == std::vector<Item>{{300, 5300, 3.0f}});
    CHECK(int(d.sections[2].type) == 3);
    CHECK(d.sections[2].start == 5300);
    CHECK(d.sections[2].end == 5500);
    CHECK(d.sections[3].chrom == 1);
    CHECK(d.sections[3].items == std::vector<Item>{{0, 10, 1.0f}});
    CHECK(d.bases_covered == 200 + 5000 + 200 + 10);
}

TEST_CASE("records out of order are refused") {
    const Genome genome({"c1", "c2"}, {1000, 1000});
    const std::string path = temp_path("order.bw");
    BigWigFile bw(path, genome, 1, 40960);
    bw.add(1, 10, 20, 1.0f);
    CHECK_THROWS_AS(bw.add(0, 30, 40, 1.0f), std::logic_error);  // earlier chromosome
    CHECK_THROWS_AS(bw.add(1, 15, 25, 1.0f), std::logic_error);  // overlaps
    CHECK_THROWS_AS(bw.add(1, 990, 1001, 1.0f), std::logic_error);  // past the end
    bw.close();
    std::remove(path.c_str());
}

TEST_CASE("small and large blocks inflate to their sections whatever the values") {
    // Blocks up to kSmallBlockBytes go through the writer's own fixed-Huffman encoder,
    // larger ones through libdeflate; zlib must inflate both to the exact items. Random
    // floats (every byte value, few matches), runs of one value (long matches)
    // and a repeating pattern (matches at many distances; 2-base records with gaps,
    // varStep blocks of 8 KB) on separate chromosomes.
    const Genome genome({"random", "runs", "pattern"}, {100000, 100000, 100000});
    const std::string path = temp_path("encoder.bw");
    std::map<uint32_t, std::vector<Item>> records;
    uint64_t state = 12345;
    auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull; };
    for (uint32_t i = 0; i < 2000; ++i) {  // stretches of 300 one-base records: 1224-byte blocks
        float v;
        const uint32_t bits = static_cast<uint32_t>(next() >> 32) & 0x7F7FFFFF;  // finite, positive
        std::memcpy(&v, &bits, 4);
        const uint32_t s = i + i / 300 * 5;
        records[0].push_back({s, s + 1, v == 0 ? 1.0f : v});
    }
    for (uint32_t i = 0, s = 0; i < 40; ++i) {  // one-base records between runs of 1 to 200 bases
        const uint32_t len = i % 2 ? 1 + static_cast<uint32_t>(next() >> 33) % 200 : 1;
        records[1].push_back({s, s + len, float(i + 1)});
        s += len;
    }
    for (uint32_t i = 0; i < 3000; ++i)  // large blocks
        records[2].push_back({3 * i, 3 * i + 2, float(i % 37 + 1) / 8});
    {
        BigWigFile bw(path, genome, 1, 40960);
        for (const auto& [chrom, recs] : records)
            for (const Item& r : recs) bw.add(chrom, r.start, r.end, r.value);
        bw.close();
    }
    const Decoded d = decode(path);
    std::remove(path.c_str());
    std::map<uint32_t, std::vector<Item>> items;
    size_t small = 0, large = 0;
    for (const Section& s : d.sections) {
        ++(s.raw_size <= BigWigFile::kSmallBlockBytes ? small : large);
        items[s.chrom].insert(items[s.chrom].end(), s.items.begin(), s.items.end());
    }
    CHECK(small >= 7);  // the random stretches
    CHECK(large >= 2);
    // compared base by base: a long run may have gone to a bedGraph section
    for (const auto& [chrom, recs] : records) CHECK(as_items(items[chrom], 1) == as_items(recs, 1));
}

namespace {

// Smoothed-track-like values: bumps of one-base records with plateaus of equal
// values, zeros between them, and some values that repeat their neighbour.
std::vector<float> bumpy_values(size_t n, uint64_t seed) {
    std::vector<float> v(n);
    uint64_t state = seed;
    auto next = [&] { return static_cast<uint32_t>((state = state * 6364136223846793005ull + 1442695040888963407ull) >> 33); };
    for (size_t i = 0; i < n; ++i) {
        const uint32_t r = next() % 100;
        v[i] = r < 15 ? 0.0f : r < 40 && i > 0 ? v[i - 1] : static_cast<float>(next() % 50 + 1) / 7.0f;
    }
    return v;
}

}  // namespace

TEST_CASE("one-base records in batches write the same bytes as one at a time") {
    // BigWigFile::add_unit_records is a fast path of add() for smoothed tracks; it
    // must take exactly the same decisions (section types, stretches, zoom levels).
    const Genome genome({"a", "b"}, {300000, 9000});
    const std::vector<float> v = bumpy_values(200000, 7);
    const std::string one = temp_path("one.bw"), batched = temp_path("batched.bw");
    {
        BigWigFile bw(one, genome, 1, 40960);
        for (uint32_t i = 0; i < v.size(); ++i)
            if (v[i] != 0) bw.add(0, 50000 + i, 50000 + i + 1, v[i]);
        bw.add(1, 10, 8990, 2.5f);
        bw.close();
    }
    {
        BigWigFile bw(batched, genome, 1, 40960);
        // non-zero runs, cut into batches of varying size
        size_t i = 0, cut = 1;
        while (i < v.size()) {
            if (v[i] == 0) {
                ++i;
                continue;
            }
            size_t j = i;
            while (j < v.size() && v[j] != 0 && j - i < cut) ++j;
            bw.add_unit_records(0, static_cast<uint32_t>(50000 + i), v.data() + i, j - i);
            i = j;
            cut = cut % 300 + 7;
        }
        bw.add(1, 10, 8990, 2.5f);
        CHECK_THROWS_AS(bw.add_unit_records(1, 8995, v.data(), 10), std::logic_error);  // past the end
        CHECK_THROWS_AS(bw.add_unit_records(0, 10, v.data(), 1), std::logic_error);     // out of order
        bw.close();
    }
    CHECK(test::read_file(one) == test::read_file(batched));
    std::remove(one.c_str());
    std::remove(batched.c_str());
}

TEST_CASE("TrackWriter::add_unit_records merges and drops zeros as add() does") {
    const Genome genome({"a"}, {100000});
    const std::vector<float> v = bumpy_values(60000, 11);
    for (const OutputFormat format : {OutputFormat::BedGraph, OutputFormat::BigWig}) {
        test::TempDir dir;
        ExportOptions o;
        o.format = format;
        o.compression = Compression::None;
        {
            auto w = make_track_writer(genome, (dir.path / "one").string(), o);
            for (size_t i = 0; i < v.size(); ++i) w->add(0, 100 + i, 100 + i + 1, v[i]);
            w->add(0, 70000, 70010, 1.0f);
            w->commit();
        }
        {
            auto w = make_track_writer(genome, (dir.path / "batched").string(), o);
            w->add(0, 100, 101, v[0]);  // a pending record the first batch continues
            for (size_t i = 1, cut = 1; i < v.size(); cut = cut % 97 + 3) {
                const size_t n = std::min(cut, v.size() - i);
                w->add_unit_records(0, 100 + i, v.data() + i, n);
                i += n;
            }
            w->add(0, 70000, 70010, 1.0f);
            w->commit();
        }
        CHECK(test::read_file(dir.path / "one") == test::read_file(dir.path / "batched"));
    }
}

TEST_CASE("TrackWriter::write_chromosomes writes the bytes of add() whatever the threads") {
    // docs/spec.md 7.3: chromosomes encoded on several threads and committed in
    // order are the file one thread writes. Many chromosomes of unequal size,
    // runs of equal values (merged), zeros (dropped), one-base batches, an empty
    // chromosome, records given to add() first; max_held_bytes 1 makes threads
    // wait for their turn, the default lets them hold whole chromosomes.
    std::vector<std::string> names;
    std::vector<uint64_t> lengths;
    for (int c = 0; c < 23; ++c) {
        names.push_back("chr" + std::to_string(c));
        lengths.push_back(c == 5 ? 100 : 20000 + 13000 * static_cast<uint64_t>(c % 7));
    }
    const Genome genome(names, lengths);
    auto records = [&](uint32_t c) {
        return c == 5 ? std::vector<float>{} : bumpy_values(static_cast<size_t>(genome.length(c) - 10), 100 + c);
    };
    auto fill = [&](TrackWriter::Chromosome& out) {
        const std::vector<float> v = records(out.chrom());
        const size_t half = v.size() / 2;
        for (size_t i = 0; i < half; ++i) out.add(5 + i, 6 + i, v[i]);
        if (!v.empty()) out.add_unit_records(5 + half, v.data() + half, v.size() - half);
    };
    std::vector<uint32_t> rest;  // every chromosome but the first
    for (uint32_t c = 1; c < genome.size(); ++c) rest.push_back(c);
    const std::vector<std::pair<OutputFormat, Compression>> formats = {
        {OutputFormat::BigWig, Compression::None}, {OutputFormat::BedGraph, Compression::None},
        {OutputFormat::BedGraph, Compression::Gzip}, {OutputFormat::BedGraph, Compression::Zstd}};
    for (const auto& [format, compression] : formats) {
        test::TempDir dir;
        ExportOptions o;
        o.format = format;
        o.compression = compression;
        auto first = [&](TrackWriter& w) {  // chromosome 0 through add()
            w.add(0, 1, 2, 9.0f);
            const std::vector<float> v = records(0);
            for (size_t i = 0; i < v.size(); ++i) w.add(0, 5 + i, 6 + i, v[i]);
        };
        {
            auto w = make_track_writer(genome, (dir.path / "add").string(), o);
            first(*w);
            for (uint32_t c : rest) {
                const std::vector<float> v = records(c);
                for (size_t i = 0; i < v.size(); ++i) w->add(c, 5 + i, 6 + i, v[i]);
            }
            w->commit();
        }
        const std::string expected = test::read_file(dir.path / "add");
        REQUIRE(expected.size() > 10000);
        for (int threads : {1, 2, 3, 8})
            for (size_t held : {size_t{1}, TrackWriter::kMaxHeldBytes}) {
                const std::string name = "t" + std::to_string(threads) + "-" + std::to_string(held);
                INFO(name);
                auto w = make_track_writer(genome, (dir.path / name).string(), o);
                first(*w);
                w->write_chromosomes(rest, threads, fill, held);
                w->commit();
                CHECK(test::read_file(dir.path / name) == expected);
            }
        // a failing fill fails the call; the other threads stop, nothing is committed
        for (int threads : {1, 3}) {
            auto w = make_track_writer(genome, (dir.path / "failed").string(), o);
            CHECK_THROWS_AS(w->write_chromosomes(rest, threads,
                                                 [&](TrackWriter::Chromosome& out) {
                                                     fill(out);
                                                     if (out.chrom() == 9) throw std::runtime_error("fill failed");
                                                 },
                                                 1),
                            std::runtime_error);
        }
        CHECK(!std::filesystem::exists(dir.path / "failed"));
        auto w = make_track_writer(genome, (dir.path / "order").string(), o);
        CHECK_THROWS_AS(w->write_chromosomes({3, 2}, 2, fill), std::invalid_argument);
    }
}

TEST_CASE("bigWig compressors are the thread's: one set per thread and level, shared by its files") {
    // docs/spec.md 1.6.3: no track holds a compressor of its own (an open track
    // held two sets, and compare_groups keeps many tracks open at once); a block's
    // bytes depend on its raw bytes only, so sharing them changes no byte (the
    // write_chromosomes test above checks the bytes on 1-8 threads).
    BigWigFile::Codec& mine = BigWigFile::thread_codec(1);
    CHECK(&BigWigFile::thread_codec(1) == &mine);
    CHECK(&BigWigFile::thread_codec(2) != &mine);
    const BigWigFile::Codec* other = nullptr;
    std::thread([&] { other = &BigWigFile::thread_codec(1); }).join();
    CHECK(other != &mine);
    CHECK_THROWS_AS(BigWigFile::thread_codec(13), std::invalid_argument);
}
