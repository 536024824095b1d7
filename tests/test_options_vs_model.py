"""The options other tools' users bring (docs/spec.md sections 3.5.5, 3.6, 4.9,
5.7, 5.8): normalization RPGC / n_cells, norm_by, scale_factor, ceiling,
max_cells, split_by and regions, alone and combined, bigWig and bedGraph,
against the numpy model (tests/model.py). The model gets the cells' labels,
sampled cells and totals from this file's own implementation of each rule,
never from fragcov.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import fragcov
import model
from helpers import assert_all_tracks_match, assert_track_matches, cells_per_label, make_anndata, read_track
from pathlib import Path

CHROM_SIZES = [("chr1", 200_003), ("chr2", 90_000), ("chrM", 16_571)]
NAMES = [c for c, _ in CHROM_SIZES]
N_CELLS = 36
# cells 0-13 A, 14-25 B, 26-33 C, 34 D (no fragments), 35 no label
LABELS = ["A"] * 14 + ["B"] * 12 + ["C"] * 8 + ["D"] + [None]
SAMPLES = ["s1", "s2", "s3"] * 12  # split_by: one sample per cell


def random_data(seed=7, n=12_000):
    """Peaky fragments, with stacks of one cell's fragments on one bin (so the
    ceiling bites) and a tail of long fragments."""
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, 34, n)
    chrom = rng.choice(3, n, p=[0.6, 0.35, 0.05])
    lengths = np.array([L for _, L in CHROM_SIZES])
    peaks = rng.integers(0, 9_000, 40) * 10
    start = np.where(rng.random(n) < 0.5, peaks[rng.integers(0, 40, n)] + rng.integers(0, 60, n),
                     rng.integers(0, lengths[chrom] - 10))
    start = np.minimum(start, lengths[chrom] - 10)
    length = np.where(rng.random(n) < 0.9, rng.integers(20, 400, n), rng.integers(400, 3000, n))
    # stacks: cells 0-5 pile 6-9 fragments onto one spot of chr1
    stack_cell = np.repeat(np.arange(6), 8)
    stack_start = np.repeat(rng.integers(1_000, 150_000, 6), 8) + np.tile(np.arange(8), 6)
    cell = np.r_[cell, stack_cell]
    chrom = np.r_[chrom, np.zeros(len(stack_cell), dtype=np.int64)]
    start = np.r_[start, stack_start]
    end = np.r_[start[:n] + length, stack_start + 35]
    order = np.lexsort((start, chrom, cell))
    return dict(cell=cell[order], chrom=chrom[order], start=start[order], end=end[order])


DATA = random_data()
# per-cell quantity for norm_by: e.g. ArchR's ReadsInTSS
TSS = np.round(np.random.default_rng(3).uniform(50, 900, N_CELLS), 3)


def adata(obs_extra=None):
    obs = pd.DataFrame({"cell_type": LABELS, "sample": SAMPLES, "tss": TSS},
                       index=[f"bc{i:03d}" for i in range(N_CELLS)])
    if obs_extra:
        for k, v in obs_extra.items():
            obs[k] = v
    return make_anndata(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"], DATA["cell"], N_CELLS, obs=obs)


def cell_labels_for(labels):
    """Per-fragment labels from per-cell labels."""
    return [labels[c] for c in DATA["cell"]]


def groups_of(labels):
    return sorted({g for g in labels if g is not None})


def exact_sum(values) -> float:
    """Q by exact rational arithmetic, rounded once (independent of math.fsum)."""
    return float(sum((Fraction(float(v)) for v in values), Fraction(0)))


def norm_by_totals(labels, quantity):
    out = {}
    for g in groups_of(labels):
        out[g] = exact_sum(q for lab, q in zip(labels, quantity) if lab == g)
    return out


def expected_tracks(labels=LABELS, **kw):
    return model.coverage_tracks(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"],
                                 cell_labels_for(labels), groups=groups_of(labels), cell=DATA["cell"],
                                 as_list=False, **kw)


def export(tmp_path, **kw):
    kw.setdefault("suffix", ".bedgraph")
    kw.setdefault("n_jobs", 2)
    with pytest.warns(UserWarning, match="'D' has no fragments"):
        return fragcov.export_coverage(adata(), kw.pop("groupby", "cell_type"), out_dir=tmp_path / "out", **kw)


def check(paths, expected, label):
    assert_all_tracks_match(paths, expected, NAMES, label=label)


# ---- normalizations --------------------------------------------------------------------

COMBOS = [
    dict(),
    dict(counting_strategy="insertion"),
    dict(blacklist=["chr1:20,000-60,000", "chr2:0-5,000"]),
    dict(include_for_norm=["chr1:0-120,000"], exclude_for_norm=["chr1:50,000-70,000"]),
    dict(smooth_base=31, bin_size=20),
    dict(bin_size=1, counting_strategy="insertion", smooth_base=10),
    dict(min_frag_length=50, max_frag_length=1000, bin_size=50),
]


def _model_kw(kw):
    return {k: v for k, v in kw.items() if k != "suffix"}


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_rpgc(combo, suffix, tmp_path):
    kw = dict(combo, normalization="RPGC", effective_genome_size=2_913_022_398)
    paths = export(tmp_path, suffix=suffix, **kw)
    check(paths, expected_tracks(**_model_kw(kw)), f"RPGC {combo}")


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("combo", COMBOS[:5], ids=lambda c: ",".join(c) or "plain")
def test_n_cells(combo, suffix, tmp_path):
    kw = dict(combo, normalization="n_cells")
    paths = export(tmp_path, suffix=suffix, **kw)
    check(paths, expected_tracks(n_cells=cells_per_label(LABELS), **_model_kw(kw)), f"n_cells {combo}")


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("combo", COMBOS[:5], ids=lambda c: ",".join(c) or "plain")
def test_norm_by_column(combo, suffix, tmp_path):
    kw = dict(combo, normalization=None, norm_by="tss")
    paths = export(tmp_path, suffix=suffix, **kw)
    expected = expected_tracks(normalization=None, norm_by=norm_by_totals(LABELS, TSS),
                               **_model_kw({k: v for k, v in kw.items() if k not in ("normalization", "norm_by")}))
    check(paths, expected, f"norm_by {combo}")


def test_norm_by_array_and_series_equal_the_column(tmp_path):
    a = export(tmp_path / "a", normalization=None, norm_by="tss")
    b = export(tmp_path / "b", normalization=None, norm_by=TSS)
    series = pd.Series(TSS, index=[f"bc{i:03d}" for i in range(N_CELLS)]).iloc[::-1]  # matched by index
    c = export(tmp_path / "c", normalization=None, norm_by=series)
    for g in a:
        assert Path(a[g]).read_bytes() == Path(b[g]).read_bytes() == Path(c[g]).read_bytes()


@pytest.mark.parametrize("normalization", [None, "CPM", "RPKM", "BPM", "RPGC"])
@pytest.mark.parametrize("scale", [0.37, 3.0, 1e-3])
@pytest.mark.parametrize("smooth_base", [None, 7])  # the core scales binned and smoothed values apart
def test_scale_factor(normalization, scale, smooth_base, tmp_path):
    kw = dict(normalization=normalization, scale_factor=scale, smooth_base=smooth_base)
    if normalization == "RPGC":
        kw["effective_genome_size"] = 1_000_000
    paths = export(tmp_path, **kw)
    check(paths, expected_tracks(**kw), f"scale {normalization} {scale}")


def test_scale_factor_one_changes_no_byte(tmp_path):
    a = export(tmp_path / "a", suffix=".bw")
    b = export(tmp_path / "b", suffix=".bw", scale_factor=1.0)
    for g in a:
        assert Path(a[g]).read_bytes() == Path(b[g]).read_bytes()


# ---- ceiling ---------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("ceiling", [1, 2, 4])
@pytest.mark.parametrize("combo", [
    dict(normalization=None), dict(normalization="BPM"), dict(counting_strategy="insertion", normalization=None),
    dict(normalization="CPM", smooth_base=15), dict(normalization=None, bin_size=1),
    dict(normalization="BPM", blacklist=["chr1:0-30,000"]),
], ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_ceiling(combo, ceiling, suffix, tmp_path):
    kw = dict(combo, ceiling=ceiling)
    paths = export(tmp_path, suffix=suffix, **kw)
    check(paths, expected_tracks(**kw), f"ceiling {kw}")


def test_ceiling_bites_in_this_data(tmp_path):
    """The data has stacks: capping changes the tracks (so the test above can fail)."""
    capped = expected_tracks(normalization=None, ceiling=2)["A"]
    plain = expected_tracks(normalization=None)["A"]
    assert capped.value.max() < plain.value.max()


@pytest.mark.parametrize("n_jobs", [1, 2, 4])
def test_ceiling_does_not_depend_on_threads_chunks_or_spilling(n_jobs, tmp_path, monkeypatch):
    import fragcov._settings as settings
    import fragcov._sources as sources

    ref = export(tmp_path / "ref", suffix=".bw", normalization="BPM", ceiling=3, n_jobs=1)
    monkeypatch.setattr(sources, "CHUNK_FRAGMENTS", 997)
    monkeypatch.setattr(settings, "memory_budget_bytes", 4096)
    got = export(tmp_path / "got", suffix=".bw", normalization="BPM", ceiling=3, n_jobs=n_jobs)
    for g in ref:
        assert Path(ref[g]).read_bytes() == Path(got[g]).read_bytes(), g


# ---- max_cells ------------------------------------------------------------------------------

def sampled_labels(labels, max_cells, seed):
    """docs/spec.md section 5.7, implemented here from its text."""
    out = list(labels)
    for g in groups_of(labels):
        cells = np.array([i for i, lab in enumerate(labels) if lab == g])
        if len(cells) > max_cells:
            keep = cells[np.sort(np.random.default_rng(seed).choice(len(cells), size=max_cells, replace=False))]
            for i in set(cells.tolist()) - set(keep.tolist()):
                out[i] = None
    return out


def one_spot_per_cell():
    """Each cell its own fragment at its own place: a track shows exactly which cells it kept."""
    cells = np.arange(35)
    start = 1_000 + cells * 1_000
    return make_anndata(CHROM_SIZES, np.zeros(35, dtype=np.int64), start, start + 50, cells, N_CELLS,
                        obs=pd.DataFrame({"cell_type": LABELS}, index=[f"bc{i:03d}" for i in range(N_CELLS)]))


@pytest.mark.parametrize("max_cells,seed", [(5, 0), (5, 1), (9, 42), (1, 7), (100, 0)])
def test_max_cells_keeps_the_rule_s_cells(max_cells, seed, tmp_path):
    paths = fragcov.export_coverage(one_spot_per_cell(), "cell_type", out_dir=tmp_path, suffix=".bedgraph",
                                    normalization=None, max_cells=max_cells, random_state=seed)
    want = sampled_labels(LABELS, max_cells, seed)
    for g, p in paths.items():
        starts = {int(line.split("\t")[1]) for line in Path(p).read_text().splitlines()}
        kept = sorted((s - 1_000) // 1_000 for s in starts)
        assert kept == [i for i, lab in enumerate(want) if lab == g], (g, kept)


@pytest.mark.parametrize("normalization", [None, "CPM", "n_cells"])
def test_max_cells_counts_only_kept_cells(normalization, tmp_path):
    kw = dict(normalization=normalization, max_cells=6, random_state=11, suffix=".bw")
    paths = export(tmp_path, **kw)
    want = sampled_labels(LABELS, 6, 11)
    expected = model.coverage_tracks(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"], cell_labels_for(want),
                                     groups=groups_of(LABELS), cell=DATA["cell"], as_list=False,
                                     normalization=normalization, n_cells=cells_per_label(want))
    check(paths, expected, f"max_cells {normalization}")


def test_max_cells_same_cells_for_any_input_kind_and_n_jobs(tmp_path):
    a = adata()
    path = tmp_path / "in.h5ad"
    a.write_h5ad(path)
    kw = dict(normalization="n_cells", max_cells=5, random_state=3, suffix=".bedgraph")
    ref = export(tmp_path / "mem", n_jobs=1, **kw)
    with pytest.warns(UserWarning, match="'D' has no fragments"):
        disk = fragcov.export_coverage(str(path), "cell_type", out_dir=tmp_path / "disk", n_jobs=4, **kw)
    for g in ref:
        assert Path(ref[g]).read_bytes() == Path(disk[g]).read_bytes()


# ---- split_by -------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
def test_split_by_one_track_per_group_and_sample(suffix, tmp_path):
    with pytest.warns(UserWarning, match=r"\('D', 's2'\) has no fragments"):
        paths = fragcov.export_coverage(adata(), "cell_type", split_by="sample", out_dir=tmp_path, suffix=suffix,
                                        normalization="n_cells", max_cells=3, random_state=5)
    pairs = [(lab, s) if lab is not None else None for lab, s in zip(LABELS, SAMPLES)]
    keys = sorted({p for p in pairs if p is not None})
    assert list(paths) == keys  # group order, then sample order
    for (g, s), p in paths.items():
        assert os.path.basename(p) == f"{g}_{s}{suffix}"
    want = sampled_labels([f"{p[0]}|{p[1]}" if p else None for p in pairs], 3, 5)
    expected = model.coverage_tracks(CHROM_SIZES, DATA["chrom"], DATA["start"], DATA["end"], cell_labels_for(want),
                                     groups=[f"{g}|{s}" for g, s in keys], cell=DATA["cell"], as_list=False,
                                     normalization="n_cells", n_cells=cells_per_label(want))
    for (g, s), p in paths.items():
        assert_track_matches(p, expected[f"{g}|{s}"], NAMES, label=f"{g} {s}")


def test_split_by_clashing_file_names_fail_before_output(tmp_path):
    labels = ["a_b"] * 18 + ["a"] * 18
    split = ["c"] * 18 + ["b_c"] * 18  # ("a_b", "c") and ("a", "b_c") both make a_b_c
    with pytest.raises(ValueError, match=r"same file name 'a_b_c.bedgraph'"):
        fragcov.export_coverage(adata(), labels, split_by=split, out_dir=tmp_path / "out", suffix=".bedgraph")
    assert not (tmp_path / "out").exists()


def test_list_of_columns_points_to_split_by(tmp_path):
    with pytest.raises(ValueError, match="split_by='sample'"):
        fragcov.export_coverage(adata(), ["cell_type", "sample"], out_dir=tmp_path / "out")


# ---- regions ---------------------------------------------------------------------------------

REGION_CASES = [
    ["chr2"],
    ["chr1:1,000-2,500", "chr1:2,000-9,999", "chrM"],
    ["chr1:150,000-150,001"],
]


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("regions", REGION_CASES, ids=str)
@pytest.mark.parametrize("combo", [dict(), dict(smooth_base=101, normalization="BPM"), dict(ceiling=2)],
                         ids=["plain", "smooth-bpm", "ceiling"])
def test_regions_equal_the_whole_track_cut(regions, combo, suffix, tmp_path):
    paths = export(tmp_path / "cut", suffix=suffix, regions=regions, **combo)
    whole = export(tmp_path / "whole", suffix=suffix, **combo)
    region_tuples = model.parse_regions([r for r in regions if ":" in r]) + \
        [(r, 0, dict(CHROM_SIZES)[r]) for r in regions if ":" not in r]
    expected = expected_tracks(regions=region_tuples, **combo)
    for g, p in paths.items():
        assert_track_matches(p, expected[g], NAMES, label=f"{regions} {g}")
        cut = model._clip_to_regions(read_track(whole[g], NAMES), region_tuples, {n: i for i, n in enumerate(NAMES)})
        assert_track_matches(p, cut, NAMES, label=f"{regions} {g} vs whole")
    if suffix == ".bw":
        import pyBigWig

        bw = pyBigWig.open(paths["A"])
        assert bw.chroms() == dict(CHROM_SIZES)  # every chromosome stays in the header
        bw.close()


def test_regions_bed_file_and_errors(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t1000\t2500\nchr1\t2000\t9999\n")
    a = export(tmp_path / "a", regions=str(bed))
    b = export(tmp_path / "b", regions=["chr1:1000-9999"])
    for g in a:
        assert Path(a[g]).read_bytes() == Path(b[g]).read_bytes()
    with pytest.raises(ValueError, match=r"unknown chromosome.*'chr9'"):
        fragcov.export_coverage(adata(), "cell_type", regions=["chr9"], out_dir=tmp_path / "x")
    with pytest.raises(ValueError, match=r"unknown chromosome.*'chrX'"):
        fragcov.export_coverage(adata(), "cell_type", regions="chrX:1-100", out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ---- bad values ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kw,exc,pattern", [
    (dict(normalization="RPGC"), ValueError, "needs effective_genome_size"),
    (dict(normalization="CPM", effective_genome_size=100), ValueError, "only used by normalization='RPGC'"),
    (dict(normalization="RPGC", effective_genome_size=0), ValueError, "effective_genome_size must be >= 1"),
    (dict(norm_by="tss"), ValueError, "needs normalization=None, not 'RPKM'"),
    (dict(normalization=None, norm_by="nope"), ValueError, "norm_by='nope' is not a column"),
    (dict(normalization=None, norm_by="bad"), ValueError, r"norm_by is nan for cell 'bc004'"),
    (dict(normalization=None, norm_by="neg"), ValueError, r"norm_by is -1.0 for cell 'bc002'"),
    (dict(normalization=None, norm_by=[1.0, 2.0]), ValueError, "norm_by has 2 values"),
    (dict(scale_factor=0), ValueError, "scale_factor must be a finite number > 0"),
    (dict(scale_factor=float("inf")), ValueError, "scale_factor must be a finite number > 0"),
    (dict(scale_factor="2"), TypeError, "scale_factor must be a number"),
    (dict(ceiling=0), ValueError, "ceiling must be >= 1"),
    (dict(ceiling=1.5), TypeError, "ceiling must be a whole number"),
    (dict(max_cells=0), ValueError, "max_cells must be >= 1"),
    (dict(random_state=-1), ValueError, "random_state must be >= 0"),
    (dict(split_by="nope"), ValueError, "split_by='nope' is not a column"),
])
def test_bad_values_fail_before_output(kw, exc, pattern, tmp_path):
    bad = np.full(N_CELLS, 5.0)
    bad[4] = np.nan
    neg = np.full(N_CELLS, 5.0)
    neg[2] = -1.0
    with pytest.raises(exc, match=pattern):
        fragcov.export_coverage(adata({"bad": bad, "neg": neg}), "cell_type", out_dir=tmp_path / "out", **kw)
    assert not (tmp_path / "out").exists()


@pytest.mark.filterwarnings("ignore:group 'D' has no fragments")  # its one cell has none; B is the case
def test_norm_by_zero_total_gives_an_empty_track_and_a_warning(tmp_path):
    zero = np.where(np.array(LABELS, dtype=object) == "B", 0.0, 5.0)
    with pytest.warns(UserWarning, match=r"group 'B' has a normalization total of 0 \(the norm_by sum Q is 0\)"):
        paths = fragcov.export_coverage(adata({"z": zero}), "cell_type", out_dir=tmp_path, suffix=".bedgraph",
                                        normalization=None, norm_by="z")
    assert Path(paths["B"]).read_text() == ""
    assert Path(paths["A"]).read_text() != ""


# ---- command line -----------------------------------------------------------------------------------

def test_cli_flags_give_the_api_s_tracks(tmp_path):
    path = tmp_path / "in.h5ad"
    adata().write_h5ad(path)
    kw = dict(normalization=None, norm_by="tss", scale_factor=2.5, ceiling=3, max_cells=7, random_state=2,
              split_by="sample", regions=["chr1", "chr2:100-50,000"], suffix=".bedgraph")
    with pytest.warns(UserWarning):
        api = fragcov.export_coverage(str(path), "cell_type", out_dir=tmp_path / "api", **kw)
    proc = subprocess.run(
        [sys.executable, "-m", "fragcov", "-q", "export-coverage", str(path), "--groupby", "cell_type",
         "--normalization", "none", "--norm-by", "tss", "--scale-factor", "2.5", "--ceiling", "3",
         "--max-cells", "7", "--random-state", "2", "--split-by", "sample", "--regions", "chr1",
         "chr2:100-50,000", "--suffix", ".bedgraph", "--out-dir", str(tmp_path / "cli")],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    printed = [line.split("\t") for line in proc.stdout.strip().splitlines()]
    assert [(g, s) for g, s, _ in printed] == list(api)
    for g, s, p in printed:
        assert Path(p).read_bytes() == Path(api[(g, s)]).read_bytes()
    rpgc = subprocess.run(
        [sys.executable, "-m", "fragcov", "-q", "export-coverage", str(path), "--groupby", "cell_type",
         "--normalization", "RPGC", "--effective-genome-size", "1000000", "--suffix", ".bedgraph",
         "--out-dir", str(tmp_path / "rpgc")], capture_output=True, text=True)
    assert rpgc.returncode == 0, rpgc.stderr
    expected = expected_tracks(normalization="RPGC", effective_genome_size=1_000_000)
    for g in ("A", "B", "C"):
        assert_track_matches(tmp_path / "rpgc" / f"{g}.bedgraph", expected[g], NAMES, label=f"cli RPGC {g}")


def test_exact_sum_is_fsum():
    """Q is correctly rounded: math.fsum (fragcov) and exact rationals (this test) agree."""
    assert exact_sum(TSS) == math.fsum(TSS.tolist())
