"""Command line: fragment file + groups table gives the Python API's tracks."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import fragcov
from fragcov._cli import main
from fragcov.demo import DEMO
import model
from helpers import DATA, assert_import_matches, assert_track_matches, load_dataset
from pathlib import Path

FRAGS, GROUPS, SIZES = DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", DEMO / "chrom.sizes"


def api_tracks(tmp_path, fragments=FRAGS, min_num_fragments=200, is_paired=True, shift_left=0, shift_right=0, **kw):
    adata = fragcov.import_fragments(fragments, SIZES, min_num_fragments=min_num_fragments, is_paired=is_paired,
                                     shift_left=shift_left, shift_right=shift_right)
    table = dict(pd.read_csv(GROUPS, sep="\t", header=None).values)
    labels = [table.get(bc) for bc in adata.obs_names]
    return fragcov.export_coverage(adata, labels, out_dir=tmp_path / "api", **kw)


def read_all(paths: dict) -> dict:
    return {g: Path(p).read_bytes() for g, p in paths.items()}


@pytest.mark.parametrize("extra,kw", [
    ([], dict(min_num_fragments=0)),  # default: every barcode of --groups (docs/spec-fragment-files.md F.6)
    (["--min-num-fragments", "600", "--shift-left", "4", "--shift-right", "-5", "--n-jobs", "1"],
     dict(min_num_fragments=600, shift_left=4, shift_right=-5, n_jobs=1)),
    (["--min-num-fragments", "0", "--suffix", ".bedgraph.gz", "--normalization", "none", "--bin-size", "1"],
     dict(min_num_fragments=0, suffix=".bedgraph.gz", normalization=None, bin_size=1)),
    (["--counting-strategy", "insertion", "--suffix", ".bedgraph", "--smooth-base", "4", "--max-frag-length", "none",
      "--exclude-for-norm", "chr21:1,000,000-20,000,000", "chr22:1-100000000", "--selections", "CD4 Naive"],
     dict(counting_strategy="insertion", suffix=".bedgraph", smooth_base=4, max_frag_length=None,
          exclude_for_norm=["chr21:1000000-20000000", "chr22:1-100000000"], selections=["CD4 Naive"])),
])
def test_fragment_file_equals_import_then_export(tmp_path, extra, kw, capsys):
    rc = main(["-q", "export-coverage", str(FRAGS), "--groups", str(GROUPS), "--chrom-sizes", str(SIZES),
               "--out-dir", str(tmp_path / "cli"), *extra])
    assert rc == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    api = api_tracks(tmp_path, **kw)
    assert set(printed) == set(api)
    assert read_all(printed) == read_all(api)


@pytest.mark.filterwarnings("ignore:.* barcodes of the groups table occur in")  # a table of more cells than the file
@pytest.mark.filterwarnings("ignore:group .* has no fragments to count")  # 5,000 lines: not every group has some
def test_single_end_fragment_file(tmp_path):
    lines = gzip.decompress(Path(FRAGS).read_bytes()).decode().splitlines()[:5000]
    se = tmp_path / "se.tsv.gz"
    with gzip.open(se, "wt") as fh:
        for i, line in enumerate(lines):
            fh.write(f"{line}\t{'+-'[i % 2]}\n")
    assert main(["-q", "export-coverage", str(se), "--groups", str(GROUPS), "--chrom-sizes", str(SIZES),
                 "--single-end", "--min-num-fragments", "0", "--suffix", ".bedgraph",
                 "--out-dir", str(tmp_path / "cli")]) == 0
    api = api_tracks(tmp_path, fragments=se, min_num_fragments=0, is_paired=False, suffix=".bedgraph")
    for g, p in api.items():
        assert Path(tmp_path / "cli" / f"{g}.bedgraph").read_bytes() == Path(p).read_bytes()


def test_h5ad_input_with_groupby(tmp_path):
    adata = fragcov.import_fragments(FRAGS, SIZES)
    table = dict(pd.read_csv(GROUPS, sep="\t", header=None).values)
    adata.obs["cell_type"] = [table.get(bc) for bc in adata.obs_names]
    h5 = tmp_path / "d.h5ad"
    adata.write_h5ad(h5)
    assert main(["-q", "export-coverage", str(h5), "--groupby", "cell_type", "--out-dir", str(tmp_path / "cli")]) == 0
    api = fragcov.export_coverage(adata, "cell_type", out_dir=tmp_path / "api")
    for g, p in api.items():
        assert Path(tmp_path / "cli" / f"{g}.bw").read_bytes() == Path(p).read_bytes()


def test_export_fragments_command(tmp_path):
    """`export-fragments` with a groups table writes, per group, exactly the stored
    fragments of its cells that pass the length filter, as the Python API does."""
    adata = fragcov.import_fragments(FRAGS, SIZES)
    h5 = tmp_path / "d.h5ad"
    adata.write_h5ad(h5)
    out = tmp_path / "cli"
    assert main(["-q", "export-fragments", str(h5), "--groups", str(GROUPS), "--min-frag-length", "100",
                 "--suffix", ".bed.gz", "--out-dir", str(out)]) == 0
    table = dict(pd.read_csv(GROUPS, sep="\t", header=None).values)
    labels = [table.get(bc) for bc in adata.obs_names]
    api = fragcov.export_fragments(adata, labels, min_frag_length=100, suffix=".bed.gz", out_dir=tmp_path / "api")
    m = adata.obsm["fragment_paired"].tocsr()
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{g}.bed.gz" for g in set(table.values()))
    for g, p in api.items():
        lines = gzip.decompress(Path(out / f"{g}.bed.gz").read_bytes()).decode().splitlines()
        assert lines == gzip.decompress(Path(p).read_bytes()).decode().splitlines()
        rows = [i for i, lab in enumerate(labels) if lab == g]
        expected = sum(int((m.data[m.indptr[i]:m.indptr[i + 1]] >= 100).sum()) for i in rows)
        assert len(lines) == expected > 0
        fields = [ln.split("\t") for ln in lines]
        assert all(int(f[2]) - int(f[1]) >= 100 and table[f[3]] == g for f in fields)


@pytest.mark.parametrize("extra,kw", [
    ([], {}),
    (["--unsorted", "--shift-left", "4", "--shift-right", "-5", "--tempdir", "{tmp}", "--n-jobs", "1",
      "--min-num-fragments", "600"],
     dict(sorted_by_barcode=False, shift_left=4, shift_right=-5, n_jobs=1, min_num_fragments=600)),
])
def test_import_fragments_command(tmp_path, extra, kw):
    out = tmp_path / "x.h5ad"
    extra = [x.replace("{tmp}", str(tmp_path)) for x in extra]
    assert main(["-q", "import-fragments", str(FRAGS), "--chrom-sizes", str(SIZES), "--output", str(out), *extra]) == 0
    import anndata as ad

    a, b = ad.read_h5ad(out), fragcov.import_fragments(FRAGS, SIZES, **kw)
    assert list(a.obs_names) == list(b.obs_names)
    assert (a.obsm["fragment_paired"] != b.obsm["fragment_paired"]).nnz == 0
    if kw:  # the options changed something: the result differs from the default import
        c = fragcov.import_fragments(FRAGS, SIZES)
        assert list(c.obs_names) != list(b.obs_names) or (c.obsm["fragment_paired"] != b.obsm["fragment_paired"]).nnz


def test_errors_exit_2_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["-q", "export-coverage", str(FRAGS), "--groups", str(GROUPS), "--chrom-sizes", str(SIZES),
                 "--out-dir", str(out), "--bin-size", "0"]) == 2
    assert "--bin-size must be >= 1" in capsys.readouterr().err  # flags, not Python arguments
    assert not out.exists()
    assert main(["export-coverage", str(FRAGS), "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragcov: error: ") and "--groups" in err and err.count("\n") == 1


@pytest.mark.parametrize("cmd", [[], ["export-coverage"], ["export-fragments"], ["import-fragments"], ["demo"]])
def test_help(cmd):
    r = subprocess.run([sys.executable, "-m", "fragcov", *cmd, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: fragcov" in r.stdout


def test_demo_writes_readable_tracks(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fragcov", "demo", "--out-dir", str(tmp_path / "demo")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import pyBigWig

    bws = sorted((tmp_path / "demo").glob("*.bw"))
    assert [p.name for p in bws] == ["CD14 Mono.bw", "CD4 Naive.bw", "CD8 Memory.bw"]
    for p in bws:
        bw = pyBigWig.open(str(p))
        assert bw.chroms() == {"chr21": 46709983, "chr22": 50818468, "chrM": 16569}
        assert np.nanmax(bw.stats("chr21", type="max")) > 0
        bw.close()
    assert "CD4 Naive.bw" in r.stdout


# ---------------------------------------------------------------------------
# Every flag, checked against the model, SnapATAC2's files or the Python API
# ---------------------------------------------------------------------------

EDGES = DATA / "edges"  # fragments touching region edges and chromosome ends (data/README.md)


def decompressed(path) -> bytes:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        import zstandard
        return zstandard.ZstdDecompressor().stream_reader(raw).read()
    return raw


@pytest.fixture
def export_calls(monkeypatch):
    """The track options of every request the CLI hands to the export (the real export still
    runs): shows where a flag goes when its effect is not in the output."""
    import dataclasses

    import fragcov._export as ex

    calls, real = [], ex.export_tracks

    def spy(request):
        calls.append(dataclasses.asdict(request.options))
        return real(request)
    monkeypatch.setattr(ex, "export_tracks", spy)
    return calls


def edges_model(**kw):
    ds = load_dataset("edges")
    opts = dict(bin_size=10, normalization="RPKM", max_frag_length=2000)
    opts.update(kw)
    return model.coverage_tracks(ds["chrom_sizes"], ds["chrom"], ds["start"], ds["end"], ds["label"],
                                 groups=["g1", "g2"], as_list=False, **opts)


def test_export_coverage_region_length_format_flags_against_model(tmp_path, capsys, export_calls, monkeypatch):
    """--blacklist --include-for-norm --exclude-for-norm --min-frag-length --max-frag-length
    --prefix --suffix --output-format --compression --compression-level --tempdir --n-jobs
    --selections on a fragment file: the files hold the model's tracks, in zstd at level 19
    (the API's bytes at that level, not the default level's), and the spill file goes to
    --tempdir (tiny memory budget)."""
    from fragcov import _settings

    monkeypatch.setattr(_settings, "memory_budget_bytes", 4096)
    spill = tmp_path / "spill"
    spill.mkdir()
    os.utime(spill, (0, 0))
    out = tmp_path / "cli"
    opts = dict(bin_size=5, normalization="CPM", counting_strategy="insertion", smooth_base=3,
                min_frag_length=30, max_frag_length=400, blacklist=str(EDGES / "blacklist.bed"),
                include_for_norm=str(EDGES / "include_for_norm.bed"),
                exclude_for_norm=["chrA:2,000-2,100", "chrB:1200-1201"])
    rc = main(["-q", "export-coverage", str(EDGES / "fragments.tsv.gz"), "--groups", str(EDGES / "groups.tsv"),
               "--chrom-sizes", str(EDGES / "chrom.sizes"), "--min-num-fragments", "0",
               "--blacklist", opts["blacklist"], "--include-for-norm", opts["include_for_norm"],
               "--exclude-for-norm", *opts["exclude_for_norm"], "--min-frag-length", "30",
               "--max-frag-length", "400", "--normalization", "CPM", "--bin-size", "5",
               "--counting-strategy", "insertion", "--smooth-base", "3", "--prefix", "cov_", "--suffix", ".txt",
               "--output-format", "bedgraph", "--compression", "zstandard", "--compression-level", "19",
               "--tempdir", str(spill), "--n-jobs", "1", "--selections", "g2", "g1", "--out-dir", str(out)])
    assert rc == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    assert printed == {g: str(out / f"cov_{g}.txt") for g in ("g2", "g1")}
    assert sorted(os.listdir(out)) == ["cov_g1.txt", "cov_g2.txt"]
    assert os.stat(spill).st_mtime_ns != 0 and os.listdir(spill) == [], "no spill in --tempdir"
    assert export_calls[-1]["tempdir"] == str(spill) and export_calls[-1]["n_jobs"] == 1
    expected = edges_model(**opts)
    names = [c for c, _ in load_dataset("edges")["chrom_sizes"]]
    for g, p in printed.items():
        assert Path(p).read_bytes()[:4] == b"\x28\xb5\x2f\xfd", "not zstd"
        plain = tmp_path / f"{g}.bedgraph"
        plain.write_bytes(decompressed(p))
        assert_track_matches(plain, expected[g], names, label=g)
    # the level is applied: the API at level 19 gives these bytes, its default level others
    adata = fragcov.import_fragments(EDGES / "fragments.tsv.gz", EDGES / "chrom.sizes", min_num_fragments=0)
    labels = [dict(pd.read_csv(EDGES / "groups.tsv", sep="\t", header=None).values)[b] for b in adata.obs_names]
    kw = dict(opts, prefix="cov_", suffix=".txt", output_format="bedgraph", compression="zstandard")
    at19 = fragcov.export_coverage(adata, labels, out_dir=tmp_path / "api19", compression_level=19, **kw)
    at3 = fragcov.export_coverage(adata, labels, out_dir=tmp_path / "api3", **kw)
    for g, p in printed.items():
        assert Path(p).read_bytes() == Path(at19[g]).read_bytes()
        assert Path(p).read_bytes() != Path(at3[g]).read_bytes()


def test_export_coverage_bigwig_output_format_and_gzip_level(tmp_path, capsys, export_calls):
    """--output-format bigwig with a suffix that names no format gives the model's bigWig;
    --compression gzip --compression-level 1 gives the API's bytes at level 1, larger
    than at level 9; --n-jobs 2 reaches the call."""
    common = [str(EDGES / "fragments.tsv.gz"), "--groups", str(EDGES / "groups.tsv"),
              "--chrom-sizes", str(EDGES / "chrom.sizes"), "--min-num-fragments", "0"]
    out = tmp_path / "bw"
    assert main(["-q", "export-coverage", *common, "--output-format", "bigwig", "--suffix", ".data",
                 "--n-jobs", "2", "--out-dir", str(out)]) == 0
    assert export_calls[-1]["n_jobs"] == 2 and export_calls[-1]["output_format"] == "bigwig"
    names = [c for c, _ in load_dataset("edges")["chrom_sizes"]]
    expected = edges_model()
    for g in ("g1", "g2"):
        p = out / f"{g}.data"
        assert Path(p).read_bytes()[:4] == b"\x26\xfc\x8f\x88", "not bigWig"
        bw = tmp_path / f"{g}.bw"  # read_track decides the reader by file name
        bw.write_bytes(p.read_bytes())
        assert_track_matches(bw, expected[g], names, label=g)
    sizes = {}
    for level in ("1", "9"):
        d = tmp_path / f"gz{level}"
        assert main(["-q", "export-coverage", *common, "--suffix", ".bedgraph", "--compression", "gzip",
                     "--compression-level", level, "--normalization", "none", "--bin-size", "1",
                     "--out-dir", str(d)]) == 0
        sizes[level] = os.path.getsize(d / "g1.bedgraph")
        assert Path(d / "g1.bedgraph").read_bytes()[:2] == b"\x1f\x8b"
    assert sizes["1"] > sizes["9"]
    capsys.readouterr()
    adata = fragcov.import_fragments(EDGES / "fragments.tsv.gz", EDGES / "chrom.sizes", min_num_fragments=0)
    labels = [dict(pd.read_csv(EDGES / "groups.tsv", sep="\t", header=None).values)[b] for b in adata.obs_names]
    api = fragcov.export_coverage(adata, labels, out_dir=tmp_path / "api", suffix=".bedgraph", compression="gzip",
                                  compression_level=1, normalization=None, bin_size=1)
    assert Path(api["g1"]).read_bytes() == Path(tmp_path / "gz1" / "g1.bedgraph").read_bytes()


EXPORT_FRAGMENTS = DATA / "export_fragments"


@pytest.mark.parametrize("name,flags", [
    ("paired_ids_gz_sel", ["--ids", "alias", "--selections", "CD8 Memory", "CD14 Mono", "--prefix", "frag_",
                           "--suffix", ".bed.gz"]),
    ("paired_len100to300_plain", ["--min-frag-length", "100", "--max-frag-length", "300", "--suffix", ".bed"]),
    ("paired_min150_zstd19", ["--min-frag-length", "150", "--suffix", ".tsv", "--compression", "zstandard",
                              "--compression-level", "19"]),
])
def test_export_fragments_flags_match_snapatac2(name, flags, tmp_path):
    """export-fragments --groupby --ids --selections --prefix --suffix --min/--max-frag-length
    --compression --compression-level: SnapATAC2 2.9.0's files for the same call
    (data/export_fragments/CONFIGS.txt), same names, content and codec."""
    out = tmp_path / "cli"
    assert main(["-q", "export-fragments", str(EXPORT_FRAGMENTS / "paired_sub.h5ad"), "--groupby", "cell_type",
                 *flags, "--out-dir", str(out)]) == 0
    exp = EXPORT_FRAGMENTS / "expected" / name
    assert sorted(os.listdir(out)) == sorted(os.listdir(exp))
    for f in os.listdir(exp):
        assert decompressed(out / f) == decompressed(exp / f), f
        assert Path(out / f).read_bytes()[:2] == Path(exp / f).read_bytes()[:2], f"{f}: codec"


def test_export_fragments_compression_level_is_applied(tmp_path):
    """--compression gzip --compression-level N writes the API's bytes at level N."""
    from fragcov import export_fragments

    sizes = {}
    for level in ("1", "9"):
        out = tmp_path / f"cli{level}"
        assert main(["-q", "export-fragments", str(EXPORT_FRAGMENTS / "paired_sub.h5ad"), "--groupby", "cell_type",
                     "--selections", "CD14 Mono", "--suffix", ".bed", "--compression", "gzip",
                     "--compression-level", level, "--out-dir", str(out)]) == 0
        api = export_fragments(str(EXPORT_FRAGMENTS / "paired_sub.h5ad"), "cell_type", selections=["CD14 Mono"],
                               suffix=".bed", compression="gzip", compression_level=int(level),
                               out_dir=tmp_path / f"api{level}")
        got = Path(out / "CD14 Mono.bed").read_bytes()
        assert got == Path(api["CD14 Mono"]).read_bytes()
        sizes[level] = len(got)
    assert sizes["1"] > sizes["9"]


IMPORT = DATA / "import"


@pytest.mark.parametrize("name,fragments,flags", [
    ("paired_min1500", "pbmc_sub.tsv.gz", ["--min-num-fragments", "1500"]),
    ("paired_whitelist", "pbmc_sub.tsv.gz", ["--min-num-fragments", "0", "--whitelist", "whitelist.txt"]),
    ("paired_chrM_chr22", "pbmc_sub.tsv.gz", ["--min-num-fragments", "0", "--chrm", "chr22"]),
    ("paired_unsorted", "pbmc_sub_shuffled.tsv.gz", ["--unsorted", "--min-num-fragments", "1000"]),
    ("single_end", "single_end.tsv.gz", ["--single-end", "--min-num-fragments", "0"]),
    ("paired_default", "zstd", []),
])
def test_import_fragments_flags_match_snapatac2(name, fragments, flags, tmp_path, capsys):
    """import-fragments --min-num-fragments --whitelist --chrm --unsorted --single-end, and a
    zstd-compressed fragment file: SnapATAC2 2.9.0's import of the same file
    (data/import/make_expected.py), read back from the written .h5ad."""
    import anndata as ad

    if fragments == "zstd":
        import zstandard
        src = tmp_path / "pbmc_sub.tsv.zst"
        src.write_bytes(zstandard.ZstdCompressor(level=3).compress(gzip.decompress(
            (IMPORT / "pbmc_sub.tsv.gz").read_bytes())))
    else:
        src = IMPORT / fragments
    sizes = "hg38" if name == "single_end" else str(IMPORT / "pbmc_sub.chrom.sizes")
    flags = [str(IMPORT / f) if f == "whitelist.txt" else f for f in flags]
    out = tmp_path / "x.h5ad"
    assert main(["-q", "import-fragments", str(src), "--chrom-sizes", sizes, "--output", str(out), *flags]) == 0
    a = ad.read_h5ad(out)
    assert_import_matches(a, name)
    assert capsys.readouterr().out.strip() == f"wrote {out}: {a.n_obs} cells"
