"""Command line: fragment file + groups table gives the Python API's tracks (issue 5)."""
from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import fragcov
from fragcov._cli import main
from fragcov.demo import DEMO

FRAGS, GROUPS, SIZES = DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", DEMO / "chrom.sizes"


def api_tracks(tmp_path, fragments=FRAGS, min_num_fragments=200, is_paired=True, shift_left=0, shift_right=0, **kw):
    adata = fragcov.import_fragments(fragments, SIZES, min_num_fragments=min_num_fragments, is_paired=is_paired,
                                     shift_left=shift_left, shift_right=shift_right)
    table = dict(pd.read_csv(GROUPS, sep="\t", header=None).values)
    labels = [table.get(bc) for bc in adata.obs_names]
    return fragcov.export_coverage(adata, labels, out_dir=tmp_path / "api", **kw)


def read_all(paths: dict) -> dict:
    return {g: open(p, "rb").read() for g, p in paths.items()}


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


def test_single_end_fragment_file(tmp_path):
    lines = gzip.open(FRAGS, "rt").read().splitlines()[:5000]
    se = tmp_path / "se.tsv.gz"
    with gzip.open(se, "wt") as fh:
        for i, line in enumerate(lines):
            fh.write(f"{line}\t{'+-'[i % 2]}\n")
    assert main(["-q", "export-coverage", str(se), "--groups", str(GROUPS), "--chrom-sizes", str(SIZES),
                 "--single-end", "--min-num-fragments", "0", "--suffix", ".bedgraph",
                 "--out-dir", str(tmp_path / "cli")]) == 0
    api = api_tracks(tmp_path, fragments=se, min_num_fragments=0, is_paired=False, suffix=".bedgraph")
    for g, p in api.items():
        assert open(tmp_path / "cli" / f"{g}.bedgraph", "rb").read() == open(p, "rb").read()


def test_h5ad_input_with_groupby(tmp_path):
    adata = fragcov.import_fragments(FRAGS, SIZES)
    table = dict(pd.read_csv(GROUPS, sep="\t", header=None).values)
    adata.obs["cell_type"] = [table.get(bc) for bc in adata.obs_names]
    h5 = tmp_path / "d.h5ad"
    adata.write_h5ad(h5)
    assert main(["-q", "export-coverage", str(h5), "--groupby", "cell_type", "--out-dir", str(tmp_path / "cli")]) == 0
    api = fragcov.export_coverage(adata, "cell_type", out_dir=tmp_path / "api")
    for g, p in api.items():
        assert open(tmp_path / "cli" / f"{g}.bw", "rb").read() == open(p, "rb").read()


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
        lines = gzip.open(out / f"{g}.bed.gz", "rt").read().splitlines()
        assert lines == gzip.open(p, "rt").read().splitlines()
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
    assert "bin_size must be >= 1" in capsys.readouterr().err
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
