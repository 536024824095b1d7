"""A newcomer's second hour (docs/spec.md 1.10.4-1.10.6, 1.3.22, 8.21, 10.5, 10.6, 14.1): the
command line speaks in flags, global flags go anywhere, a mistyped flag names the right one,
habits from SnapATAC2 and deepTools work (genome objects, 2.7e9, fragcov.read, the demo
dataset), and a fragment file read with the wrong genome fails instead of writing empty tracks.

Expected values are worked out by hand here (the demo's fragment file has 101,526 lines, all on
chr21/chr22; its 60 cells are 20 per cell type), never read back from the code under test."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fragcov
from fragcov._cli import in_flags

DEMO = Path(fragcov.__file__).resolve().parent / "data" / "demo"
FRAGS, GROUPS, SIZES = DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", DEMO / "chrom.sizes"
N_LINES = 101_526  # data lines of the demo's fragment file: 48,418 on chr21, 53,097 on chr22, 11 on chrM
CHR21_LINES = 48_418  # (zcat | cut -f1 | sort | uniq -c)
CELL_TYPES = ["CD14 Mono", "CD4 Naive", "CD8 Memory"]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fragcov", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


# ---- the command line speaks in flags (10.5.3) --------------------------------------


@pytest.mark.parametrize("args,said,not_said", [
    (["--normalization", "RPGC"], "--normalization RPGC needs --effective-genome-size", "effective_genome_size"),
    (["--norm-by", "3"], "needs --normalization none, not 'RPKM'", "normalization=None"),
    (["--bin-size", "0"], "--bin-size must be >= 1", "bin_size"),
    (["--max-cells", "0"], "--max-cells must be >= 1 or none", "max_cells"),
])
def test_errors_name_flags(tmp_path, args, said, not_said):
    r = run_cli("export-coverage", FRAGS, "--groups", GROUPS, "--chrom-sizes", SIZES, "--out-dir", tmp_path / "o",
                *args)
    assert r.returncode == 2 and said in r.stderr and not_said not in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_unsorted_file_error_names_the_flag(tmp_path):
    lines = [ln for ln in gzip.open(FRAGS, "rt") if not ln.startswith("#")]
    by_position = tmp_path / "pos.tsv.gz"
    with gzip.open(by_position, "wt") as fh:
        fh.writelines(sorted(lines, key=lambda ln: (ln.split("\t")[0], int(ln.split("\t")[1]))))
    r = run_cli("import-fragments", by_position, "--chrom-sizes", SIZES, "--output", tmp_path / "x.h5ad")
    assert r.returncode == 2 and "Pass --unsorted" in r.stderr and "sorted_by_barcode" not in r.stderr, r.stderr


def test_in_flags_keeps_file_names_and_words():
    parser = fragcov._cli.build_parser().subcommands["export-coverage"]
    assert in_flags("bin_size.tsv: line 2: groups table", parser) == "bin_size.tsv: line 2: groups table"
    assert in_flags("'/data/norm_by/x.bed' not found", parser) == "'/data/norm_by/x.bed' not found"
    assert in_flags("not in chrom_sizes.", parser) == "not in --chrom-sizes."
    assert in_flags("got None", parser) == "got none"


@pytest.mark.parametrize("before", [True, False])
def test_global_flags_before_or_after_the_subcommand(tmp_path, before):
    cmd = ["export-coverage", FRAGS, "--groups", GROUPS, "--chrom-sizes", SIZES, "--out-dir", tmp_path / "o",
           "--bin-size", "0"]
    r = run_cli("-q", "--debug", *cmd) if before else run_cli(*cmd, "-q", "--debug")
    assert r.returncode == 2
    assert "Traceback" in r.stderr and "ValueError" in r.stderr  # --debug took effect
    ok = run_cli(*cmd[:-2], "-q") if not before else run_cli("-q", *cmd[:-2])
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr  # -q: no log line, no progress bar


def test_unknown_flag_suggests_the_closest(tmp_path):
    r = run_cli("export-coverage", FRAGS, "--groups", GROUPS, "--chrom-sizes", SIZES, "--normalizaton", "none")
    assert r.returncode == 2
    assert "--normalizaton (did you mean --normalization?)" in r.stderr, r.stderr
    r = run_cli("import-fragments", FRAGS, "--chrom-sizes", SIZES, "--output", tmp_path / "x.h5ad", "--unsortd")
    assert "--unsortd (did you mean --unsorted?)" in r.stderr, r.stderr


def test_is_a_file_before_any_progress_line(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    r = run_cli("import-fragments", FRAGS, "--chrom-sizes", SIZES, "--output", blocker / "x.h5ad")
    assert r.returncode == 2 and f"'{blocker}' is a file, not a folder" in r.stderr, r.stderr
    r = run_cli("export-coverage", FRAGS, "--groups", GROUPS, "--chrom-sizes", SIZES, "--out-dir", blocker / "sub")
    assert r.returncode == 2 and r.stderr.startswith("fragcov: error: ") and "is a file, not a folder" in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr  # the error is the only line: nothing was announced before it


def test_plot_on_a_missing_path_says_so(tmp_path):
    r = run_cli("plot", tmp_path / "nosuch", "--region", "chr21:1-100", "--output", tmp_path / "x.png")
    assert r.returncode == 2 and "not found" in r.stderr and "nosuch" in r.stderr, r.stderr
    assert "groupby" not in r.stderr


# ---- compare: what it announces, and names that never collide (14.1) ------------------


@pytest.fixture(scope="module")
def demo_h5ad(tmp_path_factory):
    path = tmp_path_factory.mktemp("h5ad") / "demo.h5ad"
    fragcov.import_fragments(FRAGS, SIZES, file=path, min_num_fragments=0, groups=GROUPS).file.close()
    return path


def test_compare_reference_announces_the_tracks_it_writes(tmp_path, demo_h5ad):
    r = run_cli("compare", demo_h5ad, "--groupby", "group", "--reference", "CD4 Naive", "--out-dir", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "writing 2 bigWig comparison track(s)" in r.stderr, r.stderr  # 3 groups, one is the reference
    assert len(r.stdout.strip().splitlines()) == 2


@pytest.mark.parametrize("suffix,expected", [
    (None, "CD14 Mono.log2.bw"), (".bw", "CD14 Mono.log2.bw"), (".bedgraph.gz", "CD14 Mono.log2.bedgraph.gz"),
    (".log2.bw", "CD14 Mono.log2.bw"), ("bw", "CD14 Mono.log2.bw"),
])
def test_comparison_files_keep_the_operation_tag(tmp_path, demo_h5ad, suffix, expected):
    exported = fragcov.export_coverage(demo_h5ad, "group", selections="CD14 Mono", out_dir=tmp_path)
    before = Path(exported["CD14 Mono"]).read_bytes()
    paths = fragcov.compare_groups(demo_h5ad, "group", selections="CD14 Mono", out_dir=tmp_path,
                                   **({} if suffix is None else {"suffix": suffix}))
    assert Path(paths["CD14 Mono"]).name == expected
    assert Path(exported["CD14 Mono"]).read_bytes() == before  # the export's track is untouched


# ---- habits: 2.7e9, genome objects, read, datasets (1.3.22, 1.10.4-1.10.6) ---------


def test_effective_genome_size_as_a_float(tmp_path):
    a = fragcov.export_coverage(FRAGS, GROUPS, chrom_sizes=SIZES, normalization="RPGC",
                                effective_genome_size=2.7e9, out_dir=tmp_path / "f", suffix=".bedgraph")
    b = fragcov.export_coverage(FRAGS, GROUPS, chrom_sizes=SIZES, normalization="RPGC",
                                effective_genome_size=2_700_000_000, out_dir=tmp_path / "i", suffix=".bedgraph")
    assert all(Path(a[g]).read_bytes() == Path(b[g]).read_bytes() for g in CELL_TYPES)
    r = run_cli("-q", "export-coverage", FRAGS, "--groups", GROUPS, "--chrom-sizes", SIZES, "--normalization",
                "RPGC", "--effective-genome-size", "2.7e9", "--out-dir", tmp_path / "c", "--suffix", ".bedgraph")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c" / "CD4 Naive.bedgraph").read_bytes() == Path(b["CD4 Naive"]).read_bytes()
    for bad in (2.5e9 + 0.5, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="effective_genome_size must be a whole number"):
            fragcov.export_coverage(FRAGS, GROUPS, chrom_sizes=SIZES, normalization="RPGC",
                                    effective_genome_size=bad, out_dir=tmp_path / "x")
    with pytest.raises(TypeError):
        fragcov.export_coverage(FRAGS, GROUPS, chrom_sizes=SIZES, normalization="RPGC",
                                effective_genome_size="2.7e9", out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_genome_objects():
    # UCSC's hg38.chrom.sizes: chr1 248,956,422; chr21 46,709,983; chrM 16,569; 25 chromosomes
    assert fragcov.genome.hg38.chrom_sizes["chr1"] == 248_956_422
    assert fragcov.genome.GRCh38.chrom_sizes["chr21"] == 46_709_983
    assert len(fragcov.genome.hg38.chrom_sizes) == 25
    assert fragcov.genome.mm10.chrom_sizes["chr19"] == 61_431_566  # UCSC mm10
    assert fragcov.resolve_chrom_sizes(fragcov.genome.hg38)[:2] == [("chr1", 248_956_422), ("chr2", 242_193_529)]


def test_snapatac2_genome_objects_work_as_chrom_sizes(tmp_path):
    snap = pytest.importorskip("snapatac2")
    assert dict(fragcov.resolve_chrom_sizes(snap.genome.hg38))["chr21"] == 46_709_983
    a = fragcov.import_fragments(FRAGS, snap.genome.hg38, min_num_fragments=0)
    assert a.n_obs == 60


def test_read_streams_like_a_path(tmp_path, demo_h5ad):
    data = fragcov.read(demo_h5ad, backed="r")
    assert data.isbacked and data.n_obs == 60 and len(data.obsm) == 0  # fragments not loaded
    via_object = fragcov.export_coverage(data, groupby="group", out_dir=tmp_path / "o", suffix=".bedgraph")
    via_path = fragcov.export_coverage(demo_h5ad, groupby="group", out_dir=tmp_path / "p", suffix=".bedgraph")
    assert [Path(p).read_bytes() for p in via_object.values()] == [Path(p).read_bytes() for p in via_path.values()]
    data.obs["lineage"] = np.where(data.obs["group"] == "CD14 Mono", "myeloid", "lymphoid")  # a session edit
    got = fragcov.export_coverage(data, groupby="lineage", out_dir=tmp_path / "l", suffix=".bedgraph")
    assert list(got) == ["lymphoid", "myeloid"]
    view = data[data.obs["group"] == "CD8 Memory"]
    only = fragcov.export_coverage(view, groupby="group", out_dir=tmp_path / "v", suffix=".bedgraph")
    assert list(only) == ["CD8 Memory"]
    assert Path(only["CD8 Memory"]).read_bytes() == Path(via_path["CD8 Memory"]).read_bytes()
    data.file.close()
    assert fragcov.read(demo_h5ad, backed=None).obsm["fragment_paired"].nnz == N_LINES  # in memory
    with pytest.raises(ValueError, match="backed must be 'r'"):
        fragcov.read(demo_h5ad, backed="r+")
    with pytest.raises(FileNotFoundError):
        fragcov.read(tmp_path / "none.h5ad")


def test_the_seed_example_runs_on_the_demo(tmp_path, monkeypatch):
    """SnapATAC2's own example, with the bundled demo for pbmc5k and one of its cell types."""
    monkeypatch.setenv("FRAGCOV_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    import fragcov as snap

    data = snap.read(snap.datasets.demo(type="annotated_h5ad"), backed='r')
    paths = snap.ex.export_coverage(data, groupby='cell_type', selections=['CD14 Mono'], suffix='.bedgraph.zst')
    assert list(paths) == ["CD14 Mono"] and Path(paths["CD14 Mono"]).stat().st_size > 0
    obs = data.obs
    assert sorted(obs["cell_type"].unique()) == CELL_TYPES and (obs["cell_type"].value_counts() == 20).all()
    assert {"sample", "ReadsInTSS"} <= set(obs.columns)
    data.file.close()
    assert snap.datasets.demo() == snap.datasets.demo()  # made once, then reused
    assert snap.datasets.demo("fragment") == FRAGS and snap.datasets.demo("folder") == DEMO
    with pytest.raises(ValueError, match="unknown demo type"):
        snap.datasets.demo("pbmc5k")


def test_demo_cell_table_matches_its_recipe():
    """barcode_to_cluster.tsv holds groups.tsv's cell types, donor1/donor2 in turn, and ReadsInTSS =
    the cell's fragment lines within 1 kb of a TSS of genes.gtf (scripts/make_demo_cell_table.py),
    recounted here with pandas."""
    table = pd.read_csv(DEMO / "barcode_to_cluster.tsv", sep="\t")
    assert list(table.columns) == ["barcode", "cell_type", "sample", "ReadsInTSS"]
    groups = pd.read_csv(GROUPS, sep="\t", header=None, names=["barcode", "cell_type"])
    assert table["barcode"].tolist() == groups["barcode"].tolist()
    assert table["cell_type"].tolist() == groups["cell_type"].tolist()
    assert table["sample"].tolist() == [f"donor{1 + i % 2}" for i in range(len(table))]
    gtf = pd.read_csv(DEMO / "genes.gtf", sep="\t", header=None, comment="#")
    tx = gtf[gtf[2] == "transcript"]
    tss = np.where(tx[6] == "+", tx[3] - 1, tx[4])
    frags = pd.read_csv(FRAGS, sep="\t", header=None, comment="#", usecols=[0, 1, 2, 3])
    hit = np.zeros(len(frags), dtype=bool)
    for chrom, t in zip(tx[0], tss):
        hit |= (frags[0] == chrom).to_numpy() & (frags[1] < t + 1000).to_numpy() & (frags[2] > t - 1000).to_numpy()
    counts = frags[hit].groupby(3).size()
    assert table["ReadsInTSS"].tolist() == [int(counts.get(b, 0)) for b in table["barcode"]]
    assert table["ReadsInTSS"].sum() > 0


# ---- the wrong genome fails (8.21) ------------------------------------------------


@pytest.mark.filterwarnings("ignore:.* barcodes of the groups table occur in")  # a table of more cells than the file
def test_wrong_genome_is_an_error_before_any_output(tmp_path):
    # mm10 has no chr21/chr22: only the 11 chrM lines of 101,526 fit (0.011%)
    with pytest.raises(ValueError, match=r"fit chrom_sizes .*min_kept_fraction=0"):
        fragcov.export_coverage(FRAGS, GROUPS, chrom_sizes="mm10", out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="mm10 for human data"):
        fragcov.import_fragments(FRAGS, "mm10", file=tmp_path / "x.h5ad")
    assert os.listdir(tmp_path) == []
    r = run_cli("import-fragments", FRAGS, "--chrom-sizes", "mm10", "--output", tmp_path / "x.h5ad")
    assert r.returncode == 2 and "--min-kept-fraction 0" in r.stderr and "--chrom-sizes" in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []


def test_wrong_lengths_count_too(tmp_path):
    # every line starts past chr21's end at length 100 or is on chr22, which is not listed
    sizes = tmp_path / "tiny.sizes"
    sizes.write_text("chr21\t100\n")
    with pytest.raises(ValueError, match=r"only 0 of 101,526 fragment lines \(0%\)"):  # chrM: not listed
        fragcov.import_fragments(FRAGS, sizes, min_num_fragments=0)


def test_keeping_a_few_chromosomes_on_purpose(tmp_path):
    # chr21 alone keeps 48,418 of 101,526 lines (47.7%): no error at the default 1%
    with pytest.warns(fragcov.FragcovWarning, match="53,108 line"):  # chr22 + chrM lines: a warning only
        kept = fragcov.import_fragments(FRAGS, {"chr21": 46_709_983}, min_num_fragments=0)
    assert kept.obsm["fragment_paired"].nnz == CHR21_LINES
    # with a 60% floor it is an error, and min_kept_fraction=0 accepts anything
    with pytest.raises(ValueError, match="fit chrom_sizes"):
        fragcov.import_fragments(FRAGS, {"chr21": 46_709_983}, min_num_fragments=0, min_kept_fraction=0.6)
    with pytest.warns(fragcov.FragcovWarning, match="101,515 line"):
        mouse = fragcov.import_fragments(FRAGS, "mm10", min_num_fragments=0, min_kept_fraction=0)
    assert mouse.n_obs <= 60
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="min_kept_fraction must lie between 0 and 1"):
            fragcov.import_fragments(FRAGS, SIZES, min_kept_fraction=bad)
    with pytest.raises(TypeError):
        fragcov.import_fragments(FRAGS, SIZES, min_kept_fraction="0")


def test_readme_examples_use_the_shipped_demo_files():
    """tests/test_readme.py copies the demo folder as it is: the files the README's examples name
    must be in it."""
    for name in ("fragments.tsv.gz", "barcode_to_cluster.tsv", "blacklist.bed", "chrom.sizes", "genes.gtf"):
        assert (DEMO / name).is_file(), name


# ---- help that stands alone (1.1) -------------------------------------------------


def _public_callables():
    import fragcov.datasets
    import fragcov.genome

    return {"export_coverage": fragcov.export_coverage, "compare_groups": fragcov.compare_groups,
            "export_fragments": fragcov.export_fragments, "import_fragments": fragcov.import_fragments,
            "read": fragcov.read, "set_quiet": fragcov.set_quiet, "resolve_chrom_sizes": fragcov.resolve_chrom_sizes,
            "pl.tracks": fragcov.pl.tracks, "datasets.demo": fragcov.datasets.demo,
            "profile": fragcov.profile, "Profiles": fragcov.Profiles, "pl.profile": fragcov.pl.profile,
            "pl.heatmap": fragcov.pl.heatmap,
            "genome.Genome": fragcov.genome.Genome, "genome": fragcov.genome, "datasets": fragcov.datasets}


@pytest.mark.parametrize("name", sorted(_public_callables()))
def test_help_stands_alone(name):
    doc = _public_callables()[name].__doc__ or ""
    assert "Examples\n" in doc and ">>> " in doc, f"{name}: no Examples section"
    assert "spec.md" not in doc, f"{name}: points to docs/spec.md, which a wheel does not have"
    obj = _public_callables()[name]
    if callable(obj) and not isinstance(obj, type) and name not in ("genome", "datasets"):
        import inspect

        params = [p for p in inspect.signature(obj).parameters if p not in ("args", "kwargs")]
        assert params == [] or "Parameters\n" in doc, f"{name}: no Parameters section"
        missing = [p for p in params if p not in doc]
        assert not missing, f"{name}: parameters not described: {missing}"


@pytest.mark.parametrize("name", sorted(_public_callables()))
def test_help_examples_run(name, tmp_path, monkeypatch):
    """The Examples of each docstring run (doctest, output compared; lines marked +SKIP are the
    ones needing files a newcomer does not have, or slow calls shown elsewhere)."""
    import doctest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FRAGCOV_DATA_DIR", str(tmp_path / "cache"))
    fragcov.set_quiet()
    try:
        finder = doctest.DocTestFinder(recurse=False)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        for test in finder.find(_public_callables()[name], name, globs={}):
            runner.run(test)
        failed, attempted = runner.summarize(verbose=False)
    finally:
        fragcov.set_quiet(False)
    assert attempted > 0 and failed == 0, f"{name}: {failed} of {attempted} examples failed"


def test_every_command_explains_itself():
    parser = fragcov._cli.build_parser()
    texts = {"fragcov": parser.format_help()}
    texts.update({name: sub.format_help() for name, sub in parser.subcommands.items()})
    for name, text in texts.items():
        assert "examples:\n  fragcov " in text, f"{name} --help has no examples"
        assert "spec.md" not in text, f"{name} --help points to docs/spec.md"
    for name, sub in parser.subcommands.items():
        assert sub.description and len(sub.description) > 80, f"{name}: no description"
        assert "-q, --quiet" in texts[name] and "--debug" in texts[name]
