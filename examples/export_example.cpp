// Writes one bedGraph per cell group with the fragcov C++ library, in one call.
//
//   export_example OUT_DIR     -> OUT_DIR/B.bedGraph, OUT_DIR/T.bedGraph
//
// The input is a toy genome (chr1: 1000 bp, chr2: 500 bp) and four cells with
// paired-end fragments in SnapATAC2's CSR layout (docs/spec.md section 2): row = cell,
// column = genome position of the fragment start, value = fragment length.
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fragcov/fragcov.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " OUT_DIR\n";
        return 2;
    }
    const std::filesystem::path out_dir = argv[1];
    std::cout << "fragcov " << fragcov::version() << "\n";

    try {
        std::filesystem::create_directories(out_dir);

        // cell 0, 1 -> B (group 0); cell 2 -> T (group 1); cell 3 -> no group (-1)
        const std::vector<std::string> group_names = {"B", "T"};
        const std::vector<int32_t> cell_group = {0, 0, 1, -1};
        const std::vector<int64_t> indptr = {0, 2, 5, 7, 8};
        const std::vector<int64_t> indices = {
            100, 120,          // cell 0: chr1:100 (50 bp), chr1:120 (15 bp)
            0, 995, 1010,      // cell 1: chr1:0 (2500 bp), chr1:995 (10 bp), chr2:10 (20 bp)
            100, 1485,         // cell 2: chr1:100 (50 bp), chr2:485 (30 bp)
            500,               // cell 3: chr1:500 (100 bp)
        };
        const std::vector<uint32_t> lengths = {50, 15, 2500, 10, 20, 50, 30, 100};

        // The plan: the genome (genome position of (chrom, pos) = length of the
        // chromosomes before + pos, so chr1:x is x and chr2:x is 1000 + x), the
        // regions (none), the options and one track per group.
        fragcov::ExportPlan plan;
        plan.genome = fragcov::Genome({"chr1", "chr2"}, {1000, 500});
        plan.options.bin_size = 10;
        plan.options.normalization = fragcov::Normalization::CPM;
        plan.options.max_frag_length = 2000;  // the default, as in SnapATAC2
        plan.options.format = fragcov::OutputFormat::BedGraph;
        plan.options.n_jobs = 2;
        for (const std::string& name : group_names)
            plan.tracks.emplace_back((out_dir / (name + ".bedGraph")).string());

        // Cells may come in any number of chunks; here, all four at once.
        fragcov::CellChunk chunk;
        chunk.n_cells = cell_group.size();
        chunk.n_fragments = indices.size();
        chunk.indptr = indptr.data();
        chunk.indices = indices.data();
        chunk.lengths = lengths.data();  // paired-end (signed_lengths for single-end)
        chunk.cell_group = cell_group.data();
        fragcov::CellChunks cells({chunk});

        const std::vector<fragcov::GroupStats> stats = fragcov::export_coverage(plan, cells).stats;
        for (size_t g = 0; g < group_names.size(); ++g)
            std::cout << group_names[g] << ": " << stats[g].n_units << " units, N = " << stats[g].norm_count
                      << " -> " << plan.tracks[g].path << "\n";
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
