// Tracks straight from a 10x fragment file with the fragcov C++ library, in one
// call: the file is decompressed (plain, gzip, BGZF or zstd) and parsed on its
// own threads while n_jobs threads bin its chunks, as in Python; one pass, one
// bedGraph per group.
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
        const fragcov::Genome genome(names, lengths);

        // The table's rows are the cells: barcode i is cell i, in group group_of_cell[i].
        fragcov::FragmentFileInput file{argv[1], "", {}, {}};
        fragcov::FragmentFilesOptions reading;
        std::vector<std::string> group_names;
        std::map<std::string, int32_t> group_id;
        for (const auto& [barcode, group] : read_pairs(argv[3])) {
            auto [it, added] = group_id.emplace(group, static_cast<int32_t>(group_names.size()));
            if (added) group_names.push_back(group);
            file.cell_of_barcode.push_back(static_cast<int32_t>(file.barcodes.size()));
            file.barcodes.push_back(barcode);  // other barcodes are left out
            reading.group_of_cell.push_back(it->second);
        }
        reading.reading.genome = genome;
        reading.reading.n_threads = 2;

        fragcov::ExportPlan plan;  // CPM, bins of 10, bedGraph
        plan.genome = genome;
        plan.options.bin_size = 10;
        plan.options.normalization = fragcov::Normalization::CPM;
        plan.options.format = fragcov::OutputFormat::BedGraph;
        plan.options.n_jobs = 2;
        const std::filesystem::path out_dir = argv[4];
        std::filesystem::create_directories(out_dir);
        for (const std::string& name : group_names) plan.tracks.emplace_back((out_dir / (name + ".bedGraph")).string());

        fragcov::FragmentFiles files({file}, reading);
        const std::vector<fragcov::GroupStats> stats = fragcov::export_coverage(plan, files).stats;
        for (size_t g = 0; g < group_names.size(); ++g)
            std::cout << group_names[g] << ": " << stats[g].n_units << " units -> " << plan.tracks[g].path << "\n";
        const fragcov::FragmentFileStats& read = files.file_stats()[0];
        std::cout << read.stored << " fragments stored, " << read.unknown_chrom << " lines on other chromosomes\n";
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
