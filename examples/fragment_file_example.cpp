// Tracks straight from a 10x fragment file with the fragcov C++ library: the
// reader parses the file (plain, gzip, BGZF or zstd), FragmentChunk turns each
// batch into exporter input, one pass, one bedGraph per group.
//
//   fragment_file_example FRAGMENTS CHROM_SIZES GROUPS_TSV OUT_DIR
//
// CHROM_SIZES: "name<TAB>length" lines; GROUPS_TSV: "barcode<TAB>group" lines.
// Barcodes missing from the table are left out (docs/spec.md sections 8, 13).
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fragcov/fragcov.hpp>

namespace {

std::vector<std::pair<std::string, std::string>> read_pairs(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<std::pair<std::string, std::string>> out;
    std::string line;
    while (std::getline(in, line)) {
        const size_t tab = line.find('\t');
        if (line.empty() || tab == std::string::npos) continue;
        out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: " << argv[0] << " FRAGMENTS CHROM_SIZES GROUPS_TSV OUT_DIR\n";
        return 2;
    }
    try {
        std::vector<std::string> names;
        std::vector<uint64_t> lengths;
        for (const auto& [name, length] : read_pairs(argv[2])) {
            names.push_back(name);
            lengths.push_back(std::stoull(length));
        }
        fragcov::Genome genome(names, lengths);

        // The table's barcodes get ids 0, 1, ... (their rows); the group of id i is group_of_barcode[i].
        std::vector<std::string> barcodes, group_names;
        std::map<std::string, int32_t> group_id;
        std::vector<int32_t> group_of_barcode;
        for (const auto& [barcode, group] : read_pairs(argv[3])) {
            auto [it, added] = group_id.emplace(group, static_cast<int32_t>(group_names.size()));
            if (added) group_names.push_back(group);
            barcodes.push_back(barcode);
            group_of_barcode.push_back(it->second);
        }

        fragcov::FragmentFileOptions reading;
        reading.genome = genome;
        reading.barcodes = barcodes;  // other barcodes get kNoBarcode and are left out
        reading.n_threads = 2;
        fragcov::FragmentFileReader reader(argv[1], reading);

        fragcov::ExportOptions options;  // as export_example: CPM, bin 10, bedGraph
        options.bin_size = 10;
        options.normalization = fragcov::Normalization::CPM;
        options.format = fragcov::OutputFormat::BedGraph;
        options.n_jobs = 2;
        const std::filesystem::path out_dir = argv[4];
        std::filesystem::create_directories(out_dir);
        std::vector<std::string> paths;
        for (const std::string& name : group_names) paths.push_back((out_dir / (name + ".bedGraph")).string());
        fragcov::GroupedExporter exporter(genome, fragcov::Regions{}, options, paths);

        fragcov::FragmentBatch batch;
        fragcov::FragmentChunk chunk;
        while (reader.next(batch)) {
            chunk.assign(batch, group_of_barcode, reading.is_paired);
            exporter.add_cells(chunk.view());
        }
        const std::vector<fragcov::GroupStats> stats = exporter.finish();
        for (size_t g = 0; g < paths.size(); ++g)
            std::cout << group_names[g] << ": " << stats[g].n_units << " units -> " << paths[g] << "\n";
        std::cout << reader.stats().stored << " fragments stored, " << reader.stats().unknown_chrom
                  << " lines on other chromosomes\n";
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
