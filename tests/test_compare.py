"""compare_groups (docs/spec.md section 14) against the numpy model (tests/model.py
comparison_tracks), exact float32: log2 / ratio / difference, vs the rest and
vs a named group, with the export options, bigWig and bedGraph, the edge cases
(empty rest, all-zero bins, a selection), and the CLI."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import fragcov
import model
from helpers import assert_all_tracks_match, assert_track_matches, cells_per_label, make_anndata, read_track

CHROM_SIZES = [("chr1", 120_003), ("chr2", 60_000)]
NAMES = [c for c, _ in CHROM_SIZES]
N_CELLS = 24
# cells 0-9 A, 10-17 B, 18-21 C, 22 D (no fragments), 23 no label
LABELS = ["A"] * 10 + ["B"] * 8 + ["C"] * 4 + ["D"] + [None]


def random_data(seed=11, n=6_000):
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, 22, n)
    cell[:300] = 23  # unlabelled cell: in no side
    chrom = rng.choice(2, n, p=[0.7, 0.3])
    lengths = np.array([L for _, L in CHROM_SIZES])
    peaks = rng.integers(0, 6_000, 30) * 10
    start = np.where(rng.random(n) < 0.5, peaks[rng.integers(0, 30, n)] + rng.integers(0, 80, n),
                     rng.integers(0, lengths[chrom] - 10))
    start = np.minimum(start, lengths[chrom] - 10)
    end = start + rng.integers(20, 500, n)
    order = np.lexsort((start, chrom, cell))
    return dict(cell=cell[order], chrom=chrom[order], start=start[order], end=end[order])


DATA = random_data()


def adata(labels=LABELS):
    obs = pd.DataFrame({"cell_type": labels}, index=[f"bc{i:03d}" for i in range(N_CELLS)])
    return make_anndata(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"], DATA["cell"], N_CELLS, obs=obs)


def expected(labels=LABELS, **kw):
    n_cells = cells_per_label(labels)
    kw.setdefault("groups", sorted(n_cells))
    return model.comparison_tracks(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"],
                                   [labels[c] for c in DATA["cell"]], cell=DATA["cell"], n_cells=n_cells, **kw)


def run(tmp_path, labels=LABELS, **kw):
    kw.setdefault("suffix", ".bedgraph")
    kw.setdefault("n_jobs", 2)
    return fragcov.compare_groups(adata(labels), "cell_type", out_dir=tmp_path / "out", **kw)


def check(paths, exp, label):
    assert_all_tracks_match(paths, exp, NAMES, label=label)


COMBOS = [
    dict(),
    dict(operation="ratio"),
    dict(operation="difference"),
    dict(operation="log2", pseudocount=1.0, normalization=None),
    dict(operation="log2", normalization="RPKM", bin_size=50),
    dict(operation="ratio", normalization="BPM", counting_strategy="insertion"),
    dict(operation="log2", smooth_base=31, bin_size=20),
    dict(operation="difference", normalization="n_cells", blacklist=["chr1:10,000-20,000"]),
    dict(operation="log2", include_for_norm=["chr1:0-80,000"], exclude_for_norm=["chr1:5,000-9,000"],
         min_frag_length=50, max_frag_length=300, ceiling=1),
    dict(operation="ratio", normalization="RPGC", effective_genome_size=2_913_022_398, scale_factor=2.5),
    dict(operation="log2", regions=["chr1:1,000-40,000", "chr2:0-60,000"]),
]


def _warns_d():
    # D has cells but no fragments: its own side is 0 (section 14.4)
    return pytest.warns(fragcov.FragcovWarning, match="group 'D' has a normalization total of 0")


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "log2")
def test_vs_rest_matches_model(combo, suffix, tmp_path):
    if combo.get("normalization", "CPM") is None or combo.get("normalization") == "n_cells":
        paths = run(tmp_path, suffix=suffix, **combo)  # denominators never 0: D is compared, not empty
    else:
        with _warns_d():
            paths = run(tmp_path, suffix=suffix, **combo)
    check(paths, expected(**combo), f"{combo} {suffix}")


@pytest.mark.parametrize("operation", ["log2", "ratio", "difference"])
def test_named_reference_and_selection(operation, tmp_path):
    paths = run(tmp_path, selections=["C", "A", "B"], reference="B", operation=operation, suffix=".bw")
    assert list(paths) == ["C", "A"]  # the reference gets no track
    check(paths, expected(groups=["C", "A"], reference="B", operation=operation), operation)


def test_rest_is_every_other_labelled_cell_not_only_the_selection(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # D gets no track, so nothing to warn about
        paths = run(tmp_path, selections="A")
    assert list(paths) == ["A"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["A.log2.bedgraph"]  # tag kept (14.1)
    check(paths, expected(groups=["A"]), "A vs rest")
    # the model with the rest restricted to the selection would differ
    narrow = model.comparison_tracks(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"],
                                     [LABELS[c] if LABELS[c] in ("A", "B") else None for c in DATA["cell"]],
                                     cell=DATA["cell"], groups=["A"])
    assert narrow["A"].to_list() != read_track(paths["A"], NAMES).to_list()


def test_empty_rest_gives_empty_track_and_warning(tmp_path):
    labels = ["A"] * 22 + [None, None]
    with pytest.warns(fragcov.FragcovWarning, match="the rest of the cells has a normalization total of 0"):
        paths = run(tmp_path, labels=labels, suffix=".bw")
    assert len(read_track(paths["A"], NAMES)) == 0
    check(paths, expected(labels=labels), "empty rest")


def test_all_zero_bins(tmp_path):
    """Where both sides are 0: log2 and difference write nothing, ratio writes 1 (section 14.3)."""
    chrom_sizes = [("chr1", 1_000), ("chrE", 500)]  # chrE: no fragment at all
    a = make_anndata(chrom_sizes, [0, 0, 0], [100, 100, 600], [150, 130, 700], [0, 1, 1], 2,
                     obs=pd.DataFrame({"g": ["A", "B"]}, index=["c0", "c1"]))
    out = {}
    for op in ("log2", "ratio", "difference"):
        paths = fragcov.compare_groups(a, "g", operation=op, bin_size=100, normalization=None, pseudocount=1,
                                       out_dir=tmp_path / op, suffix=".bedgraph", n_jobs=1)
        out[op] = read_track(paths["A"], ["chr1", "chrE"]).to_list()
    assert out["log2"] == [("chr1", 600, 700, -1.0)]  # bin 1: log2((1 + 1) / (1 + 1)) = 0, not written
    assert out["difference"] == [("chr1", 600, 700, -1.0)]
    assert out["ratio"] == [("chr1", 0, 600, 1.0), ("chr1", 600, 700, 0.5), ("chr1", 700, 1000, 1.0),
                            ("chrE", 0, 500, 1.0)]


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown operation"):
        run(tmp_path, operation="log10")
    with pytest.raises(ValueError, match="pseudocount must be a finite number > 0"):
        run(tmp_path, pseudocount=0)
    with pytest.raises(ValueError, match="reference group 'Z' not found"):
        run(tmp_path, reference="Z")
    with pytest.raises(ValueError, match="selections name group"):
        run(tmp_path, selections=["Q"])
    with pytest.raises(ValueError, match="only the reference"):
        run(tmp_path, selections=["B"], reference="B")
    assert not (tmp_path / "out").exists()


def test_default_suffix_names_the_operation(tmp_path):
    with _warns_d():
        paths = fragcov.compare_groups(adata(), "cell_type", operation="ratio", out_dir=tmp_path, n_jobs=1)
    assert sorted(p.rsplit("/", 1)[1] for p in paths.values()) == ["A.ratio.bw", "B.ratio.bw", "C.ratio.bw",
                                                                     "D.ratio.bw"]


def test_cli(tmp_path):
    path = tmp_path / "in.h5ad"
    adata().write_h5ad(path)
    cmd = [sys.executable, "-m", "fragcov", "compare", str(path), "--groupby", "cell_type", "--reference", "B",
           "--operation", "difference", "--normalization", "none", "--bin-size", "50",
           "--out-dir", str(tmp_path / "o"), "--suffix", ".bedgraph.gz", "--n-jobs", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = sorted(r.stdout.split("\n")[:-1])
    assert [ln.split("\t")[0] for ln in lines] == ["A", "C", "D"]
    exp = expected(reference="B", operation="difference", normalization=None, bin_size=50)
    for ln in lines:
        g, p = ln.split("\t")
        assert_track_matches(p, exp[g], NAMES, label=g)
    r = subprocess.run([sys.executable, "-m", "fragcov", "compare", str(path), "--groupby", "cell_type",
                        "--operation", "log2", "--pseudocount", "0", "--out-dir", str(tmp_path / "x")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "pseudocount must be" in r.stderr
    r = subprocess.run([sys.executable, "-m", "fragcov", "compare", "--help"], capture_output=True, text=True)
    assert "--pseudocount" in r.stdout and "--reference" in r.stdout
