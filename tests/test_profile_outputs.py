"""What a profile result writes (docs/spec.md sections 16.7-16.9): deepTools' matrix file (against a
hand-made file, and read by deepTools' own reader when deepTools is installed), the figures, and the
`fragcov profile` command."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import fragcov
from helpers import DATA, make_anndata

CHROM_SIZES = [("chr1", 100), ("chr2", 50)]
# the hand-worked example of tests/test_profile_model.py: A: chr1 [10, 30), chr1 [20, 25), chr2 [0, 5);
# B: chr1 [50, 60)
ANCHORS = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [20, 20, 2], "end": [21, 21, 3],
                        "strand": ["+", "-", "."], "name": ["up", "down\tstrand", "chr2:2-3"]})


def tiny():
    obs = pd.DataFrame({"g": ["A", "B"]}, index=["c0", "c1"])
    return make_anndata(CHROM_SIZES, [0, 0, 1, 0], [10, 20, 0, 50], [30, 25, 5, 60], [0, 0, 0, 1], 2, obs=obs)


def tiny_result(**kw):
    return fragcov.profile(tiny(), "g", ANCHORS, upstream=10, downstream=10, bin_size=5, normalization=None,
                           n_jobs=1, **kw)


def gunzip_text(path) -> str:
    with gzip.open(path, "rt") as fh:
        return fh.read()


def test_deeptools_file_equals_the_hand_made_one(tmp_path):
    path = tmp_path / "m.gz"
    assert tiny_result().to_deeptools(path) == str(path)
    assert gunzip_text(path) == (DATA / "profile" / "hand_made.matrix").read_text()
    assert sorted(os.listdir(tmp_path)) == ["m.gz"]  # no temporary file left


def test_deeptools_file_of_a_larger_result_reads_back_exactly(tmp_path):
    """Every float32 value comes back from the text (shortest round-trip form), NaN as nan."""
    rng = np.random.default_rng(1)
    n = 3000
    chrom = rng.integers(0, 2, n)
    start = rng.integers(0, 40, n)
    adata = make_anndata(CHROM_SIZES, chrom, start, start + rng.integers(1, 10, n), rng.integers(0, 2, n), 2,
                         obs=pd.DataFrame({"g": ["A", "B"]}, index=["c0", "c1"]))
    anchors = [("chr1", int(s), int(s) + 1, "+-."[i % 3]) for i, s in enumerate(rng.integers(0, 100, 500))]
    result = fragcov.profile(adata, "g", anchors, upstream=20, downstream=30, bin_size=1, n_jobs=2,
                             normalization="CPM", scale_factor=3.3)
    path = tmp_path / "m.gz"
    result.to_deeptools(path, n_jobs=3)
    lines = gunzip_text(path).splitlines()
    header = json.loads(lines[0][1:])
    assert header["sample_labels"] == ["A", "B"] and header["sample_boundaries"] == [0, 50, 100]
    values = np.array([[float(x) for x in line.split("\t")[6:]] for line in lines[1:]])
    for i, g in enumerate(("A", "B")):
        np.testing.assert_array_equal(values[:, i * 50:(i + 1) * 50].astype(np.float32), result.matrices[g])


def test_deeptools_reads_the_file(tmp_path):
    heatmapper = pytest.importorskip("deeptools.heatmapper")
    result = tiny_result(split_by=None)
    path = tmp_path / "m.gz"
    result.to_deeptools(path)
    hm = heatmapper.heatmapper()
    hm.read_matrix_file(str(path))
    assert hm.matrix.sample_labels == ["A", "B"]
    assert hm.matrix.group_labels == ["anchors"]
    assert hm.parameters["upstream"] == [10, 10] and hm.parameters["bin size"] == [5, 5]
    assert hm.parameters["ref point"] == ["center", "center"]
    got = np.asarray(hm.matrix.matrix, dtype=np.float64).astype(np.float32)  # read as float64: the same float32
    np.testing.assert_array_equal(got, np.hstack([result.matrices["A"], result.matrices["B"]]))
    assert [r[0] for r in hm.matrix.regions] == ["chr1", "chr1", "chr2"]
    assert [r[4] for r in hm.matrix.regions] == ["+", "-", "."]


def test_deeptools_plots_the_file(tmp_path):
    pytest.importorskip("deeptools.heatmapper")
    from deeptools import plotHeatmap, plotProfile

    path = tmp_path / "m.gz"
    tiny_result().to_deeptools(path)
    plotProfile.main(["-m", str(path), "-o", str(tmp_path / "p.png")])
    plotHeatmap.main(["-m", str(path), "-o", str(tmp_path / "h.png")])
    assert (tmp_path / "p.png").stat().st_size > 0 and (tmp_path / "h.png").stat().st_size > 0


def test_split_by_labels_and_tss_reference_point(tmp_path):
    obs = pd.DataFrame({"g": ["A", "A"], "s": ["x", "y"]}, index=["c0", "c1"])
    adata = make_anndata(CHROM_SIZES, [0, 0], [10, 50], [30, 60], [0, 1], 2, obs=obs)
    result = fragcov.profile(adata, "g", ANCHORS, split_by="s", upstream=10, downstream=10, bin_size=5,
                             reference_point="TSS", n_jobs=1)
    path = tmp_path / "m.gz"
    result.to_deeptools(path)
    header = json.loads(gunzip_text(path).splitlines()[0][1:])
    assert header["sample_labels"] == ["A_x", "A_y"]
    assert header["ref point"] == ["TSS", "TSS"]


@pytest.mark.parametrize("bad, error", [(3, TypeError), ("", ValueError)])
def test_deeptools_path_errors(tmp_path, bad, error):
    with pytest.raises(error):
        tiny_result().to_deeptools(bad)
    with pytest.raises(ValueError, match="is a directory"):
        tiny_result().to_deeptools(tmp_path)
    with pytest.raises(FileNotFoundError):
        tiny_result().to_deeptools(tmp_path / "missing" / "m.gz")


# ---- figures -------------------------------------------------------------------------------

def _result_for_figures():
    rng = np.random.default_rng(3)
    n = 20_000
    chrom_sizes = [("chr1", 200_000)]
    peaks = rng.integers(5_000, 195_000, 60)
    start = np.where(rng.random(n) < 0.5, peaks[rng.integers(0, 60, n)] + rng.integers(-150, 150, n),
                     rng.integers(0, 199_000, n))
    obs = pd.DataFrame({"g": pd.Categorical(["T", "B", "Mono"] * 4)}, index=[f"c{i}" for i in range(12)])
    adata = make_anndata(chrom_sizes, np.zeros(n, int), start, start + rng.integers(40, 400, n),
                         rng.integers(0, 12, n), 12, obs=obs)
    adata.uns["g_colors"] = ["#111111", "#222222", "#333333"]
    return fragcov.profile(adata, "g", [("chr1", int(p), int(p) + 1, "+") for p in peaks], n_jobs=2)


def test_profile_and_heatmap_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = _result_for_figures()
    assert result.groups == ["B", "Mono", "T"]  # category order
    assert result.colors == {"B": "#111111", "Mono": "#222222", "T": "#333333"}
    fig = fragcov.pl.profile(result, output=tmp_path / "p.svg")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()][:3] == ["B", "Mono", "T"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), result.mean_profile["B"])
    assert ax.get_lines()[0].get_color() == "#111111"
    fig = fragcov.pl.profile(result, groups=["T"], enrichment=True, output=tmp_path / "e.pdf")
    y = fig.axes[0].get_lines()[0].get_ydata()
    flank = (result.bins < -1900) | (result.bins + 10 > 1900)
    assert np.nanmean(y[flank]) == pytest.approx(1.0)
    assert y[200] > 2  # the anchors sit on peaks
    fig = fragcov.pl.heatmap(result, output=tmp_path / "h.png")
    heat = [a for a in fig.axes if a.get_label().startswith("heatmap:")]
    assert [a.get_label() for a in heat] == ["heatmap:B", "heatmap:Mono", "heatmap:T"]
    image = heat[0].get_images()[0].get_array()
    assert image.shape == (60, 400)
    rows = np.nanmean(np.stack([result.matrices[g] for g in result.groups]).mean(axis=0), axis=1)
    np.testing.assert_allclose(np.asarray(image[:, 0]), result.matrices["B"][np.argsort(-rows, kind="stable"), 0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.pdf", "h.png", "p.svg"]
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_heatmap_averages_rows_beyond_what_it_can_draw(monkeypatch):
    pytest.importorskip("matplotlib")
    from fragcov import _profile_plot

    result = _result_for_figures()
    monkeypatch.setattr(_profile_plot, "MAX_ROWS", 7)
    fig = fragcov.pl.heatmap(result, groups="T", sort=False)
    image = fig.axes[1].get_images()[0].get_array()
    assert image.shape == (7, 400)
    edges = np.linspace(0, 60, 8).astype(int)
    np.testing.assert_allclose(np.asarray(image[0]), np.nanmean(result.matrices["T"][edges[0]:edges[1]], axis=0))


@pytest.mark.parametrize("kw, error, match", [
    (dict(output="fig.jpg"), ValueError, "cannot tell the figure format"),
    (dict(groups=["X"]), ValueError, "group\\(s\\) 'X' not found; available: 'B', 'Mono', 'T'"),
])
def test_figure_errors(kw, error, match, tmp_path):
    pytest.importorskip("matplotlib")
    result = _result_for_figures()
    for draw in (fragcov.pl.profile, fragcov.pl.heatmap):
        with pytest.raises(error, match=match):
            draw(result, **kw)
    with pytest.raises(ValueError, match="no signal in the outermost 100 bases"):
        fragcov.pl.profile(tiny_result(), enrichment=True)


# ---- command line --------------------------------------------------------------------------

def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fragcov", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def _demo_like(tmp_path):
    """A fragment file, its groups table and chrom sizes, and a BED of anchors."""
    rng = np.random.default_rng(8)
    n = 4000
    start = rng.integers(0, 49_000, n)
    frag = tmp_path / "f.tsv"
    frag.write_text("".join(f"chr1\t{s}\t{s + int(length)}\tbc{int(c)}\t1\n" for s, length, c in
                            sorted(zip(start, rng.integers(20, 500, n), rng.integers(0, 6, n)))))
    (tmp_path / "groups.tsv").write_text("".join(f"bc{i}\t{'AB'[i % 2]}\n" for i in range(6)))
    (tmp_path / "chrom.sizes").write_text("chr1\t50000\n")
    (tmp_path / "a.bed").write_text("chr1\t10000\t10001\tx\t0\t+\nchr1\t30000\t30001\ty\t0\t-\n")
    return frag


def test_cli_profile(tmp_path):
    pytest.importorskip("matplotlib")
    frag = _demo_like(tmp_path)
    out = _cli("profile", frag, "--groups", tmp_path / "groups.tsv", "--chrom-sizes", tmp_path / "chrom.sizes",
               "--anchors", tmp_path / "a.bed", "--reference-point", "start", "--upstream", "1000",
               "--downstream", "500", "--bin-size", "50", "--matrix", tmp_path / "m.gz", "--plot",
               tmp_path / "p.png", "--heatmap", tmp_path / "h.svg", "--n-jobs", "2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [ln.split("\t")[0] for ln in lines[:2]] == ["A", "B"]
    assert lines[2:] == [f"wrote {tmp_path / 'm.gz'}", f"wrote {tmp_path / 'p.png'}", f"wrote {tmp_path / 'h.svg'}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fragcov.FragcovWarning)
        expect = fragcov.profile(str(frag), str(tmp_path / "groups.tsv"), str(tmp_path / "a.bed"),
                                 chrom_sizes=str(tmp_path / "chrom.sizes"), reference_point="start", upstream=1000,
                                 downstream=500, bin_size=50, n_jobs=1)
    text = gunzip_text(tmp_path / "m.gz").splitlines()
    assert len(text) == 3
    values = np.array([float(x) for x in text[1].split("\t")[6:]], dtype=np.float32)
    np.testing.assert_array_equal(values, np.concatenate([expect.matrices["A"][0], expect.matrices["B"][0]]))
    assert lines[0] == f"A\t{expect.tss_enrichment['A']:.4g}"


@pytest.mark.parametrize("extra, match", [
    ([], "give at least one of --matrix"),
    (["--plot", "p.gif"], "cannot tell the figure format"),
    (["--matrix", "missing/m.gz"], "--matrix: folder 'missing' does not exist"),
    (["--matrix", "m.gz", "--upstream", "15"], "--upstream 15 is not a multiple of --bin-size 10"),
    (["--matrix", "m.gz", "--reference-point", "summit"], "unknown --reference-point 'summit'"),
])
def test_cli_profile_errors(tmp_path, extra, match):
    frag = _demo_like(tmp_path)
    out = _cli("profile", frag, "--groups", "groups.tsv", "--chrom-sizes", "chrom.sizes", "--anchors", "a.bed",
               *extra, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("fragcov: error: ") and match in out.stderr, out.stderr
    assert not (tmp_path / "m.gz").exists()


def test_cli_profile_region_anchors_and_h5ad(tmp_path):
    adata = tiny()
    adata.write_h5ad(tmp_path / "t.h5ad")
    out = _cli("profile", tmp_path / "t.h5ad", "--groupby", "g", "--anchors", "chr1:20-21", "chr2:2-3",
               "--upstream", "10", "--downstream", "10", "--bin-size", "5", "--normalization", "none",
               "--matrix", tmp_path / "m.gz")
    assert out.returncode == 0, out.stderr
    rows = gunzip_text(tmp_path / "m.gz").splitlines()[1:]
    assert [r.split("\t")[:6] for r in rows] == [["chr1", "20", "21", "chr1:20-21", "0", "."],
                                                  ["chr2", "2", "3", "chr2:2-3", "0", "."]]
    assert rows[0].split("\t")[6:10] == ["0.2", "0", "0.4", "0.2"]


def test_readme_figure_command(tmp_path):
    """The README's `fragcov profile` command (which made docs/profile_*.png) runs as written from the
    repository."""
    import re
    import shlex
    from pathlib import Path

    pytest.importorskip("matplotlib")
    repo = Path(__file__).resolve().parents[1]
    block = re.search(r"```bash\n(fragcov profile python/fragcov/data/demo/.*?)```",
                      (repo / "README.md").read_text(), flags=re.S).group(1)
    args = shlex.split(re.sub(r"\\\n\s*", " ", block))[1:]
    args[args.index("--plot") + 1] = str(tmp_path / "enrichment.png")
    args[args.index("--heatmap") + 1] = str(tmp_path / "heatmap.png")
    r = subprocess.run([sys.executable, "-m", "fragcov", *args, "--n-jobs", "1"], cwd=repo, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert [line.split("\t")[0] for line in r.stdout.splitlines()[:3]] == ["CD14 Mono", "CD4 Naive", "CD8 Memory"]
    assert (tmp_path / "enrichment.png").stat().st_size > 10_000
    assert (tmp_path / "heatmap.png").stat().st_size > 10_000


def test_outputs_never_replace_what_is_not_a_regular_file(tmp_path):
    """A FIFO or a symbolic link at an output path is refused before anything is written (spec 4.1.2):
    renaming the new file over it would replace the node, as root even a device such as /dev/null."""
    fifo, link, target = tmp_path / "fifo", tmp_path / "link.png", tmp_path / "target.png"
    os.mkfifo(fifo)
    target.write_bytes(b"old")
    link.symlink_to(target)
    result = tiny_result()
    for path in (fifo, link):
        with pytest.raises(ValueError, match="not a regular file"):
            result.to_deeptools(path)
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="is a symbolic link, not a regular file"):
        fragcov.pl.profile(result, output=link)
    with pytest.raises(ValueError, match="is a symbolic link"):
        fragcov.pl.heatmap(result, output=link)
    assert target.read_bytes() == b"old" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.png", "target.png"]


def test_cli_profile_writes_nothing_when_a_figure_cannot_be_drawn(tmp_path):
    """The enrichment of a window without flank signal is undefined: an error before any file exists."""
    pytest.importorskip("matplotlib")
    tiny().write_h5ad(tmp_path / "t.h5ad")
    out = _cli("profile", tmp_path / "t.h5ad", "--groupby", "g", "--anchors", "chr1:20-21", "--matrix",
               tmp_path / "m.gz", "--plot", tmp_path / "p.png", "--enrichment", "--heatmap", tmp_path / "h.png")
    assert out.returncode == 2 and "no signal in the outermost 100 bases" in out.stderr, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5ad"]
