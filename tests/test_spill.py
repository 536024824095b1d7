"""The spill path: binned units that outgrow the memory budget go to a file in
``tempdir`` and are read back when the tracks are written (docs/spec.md section 6,
cpp/src/export/unit_store.cpp).

Real datasets always spill (the default budget is 32 MiB of units); the test data
here is small, so the tests set a budget of a few KB through
``fragcov._settings.memory_budget_bytes``. The spilled export must give the same
bytes as the unspilled one, and the model's tracks.

That a spill really happened is seen from the ``tempdir`` the test controls: the
core creates its spill file there and unlinks it at once (so nothing is left even
after a crash), which updates the folder's modification time. The test sets that
time to 0 (1970) before the export; the unspilled control run must leave it at 0,
the spilled run must change it, and neither may leave a file behind.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fragcov
import model
from fragcov import _settings
from helpers import assert_track_matches, make_anndata

CHROM_SIZES = [("chr1", 50_003), ("chr2", 20_000), ("chrS", 37), ("chr3", 9_001)]
NAMES = [c for c, _ in CHROM_SIZES]
LABELS = ["A"] * 6 + ["B"] * 5 + ["C"] * 3 + ["empty"]  # the last cell has no fragments
GROUPS = ["A", "B", "C", "empty"]
TINY_BUDGET = 4096  # bytes = 512 units per spill


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(17)
    n = 12_000
    lengths = np.array([L for _, L in CHROM_SIZES])
    chrom = rng.choice(len(lengths), size=n, p=[0.55, 0.3, 0.02, 0.13])
    start = rng.integers(0, lengths[chrom])
    end = start + rng.integers(1, 600, size=n)  # some run past the chromosome end
    cell = rng.integers(0, len(LABELS) - 1, size=n)
    obs = pd.DataFrame({"cell_type": pd.Categorical(LABELS, categories=GROUPS)},
                       index=[f"c{i}" for i in range(len(LABELS))])
    adata = make_anndata(CHROM_SIZES, chrom, start, end, cell, len(LABELS), obs=obs)
    return dict(adata=adata, chrom=chrom, start=start, end=end,
                label=np.array(LABELS, dtype=object)[cell])


def fresh_tempdir(path: Path) -> Path:
    path.mkdir()
    os.utime(path, (0, 0))
    return path


def touched(tempdir: Path) -> bool:
    """True when an entry was created or removed in tempdir since fresh_tempdir."""
    return os.stat(tempdir).st_mtime_ns != 0


def export(data, out_dir, tempdir, **kw):
    paths = fragcov.export_coverage(data["adata"], "cell_type", out_dir=str(out_dir),
                                    tempdir=str(tempdir), max_frag_length=None, **kw)
    return {g: Path(p).read_bytes() for g, p in paths.items()}, paths


CASES = [
    dict(suffix=".bw", n_jobs=1, counting_strategy="fragment", bin_size=10, normalization="RPKM"),
    dict(suffix=".bedgraph.zst", n_jobs=2, counting_strategy="insertion", bin_size=1,
         normalization="BPM"),
    dict(suffix=".bedgraph.gz", n_jobs=2, counting_strategy="fragment", bin_size=7,
         normalization="CPM", smooth_base=4),
    dict(suffix=".bw", n_jobs=2, counting_strategy="insertion", bin_size=20, normalization=None,
         smooth_base=51),
    dict(suffix=".bedgraph", n_jobs=1, counting_strategy="insertion", bin_size=3,
         normalization="CPM", smooth_base=2),
]


@pytest.mark.parametrize("budget", [TINY_BUDGET, 0])
@pytest.mark.parametrize("opts", CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_spilled_export_is_byte_identical(opts, budget, data, tmp_path, monkeypatch):
    # unspilled control: the default budget holds all units, nothing is created in tempdir
    assert _settings.memory_budget_bytes == 32 << 20
    t0 = fresh_tempdir(tmp_path / "t0")
    with pytest.warns(UserWarning, match="group 'empty' has no fragments to count"):
        plain, _ = export(data, tmp_path / "plain", t0, **opts)
    assert not touched(t0), "the control run spilled: the data is too large for this test"

    monkeypatch.setattr(_settings, "memory_budget_bytes", budget)  # 0: the core's 256-unit floor
    t1 = fresh_tempdir(tmp_path / "t1")
    with pytest.warns(UserWarning, match="group 'empty' has no fragments to count"):
        spilled, paths = export(data, tmp_path / "spilled", t1, **opts)
    assert touched(t1), "no spill file was created in tempdir"
    assert os.listdir(t1) == [], "the spill file was left behind"

    assert list(spilled) == list(plain) == GROUPS
    for g in GROUPS:
        assert spilled[g] == plain[g], f"group {g}: spilled and unspilled exports differ"
    kw = {k: v for k, v in opts.items() if k not in ("suffix", "n_jobs")}
    expected = model.coverage_tracks(CHROM_SIZES, data["chrom"], data["start"], data["end"],
                                     data["label"], groups=GROUPS, max_frag_length=None,
                                     as_list=False, **kw)
    assert len(expected["A"]) > 100
    for g in GROUPS:
        assert_track_matches(paths[g], expected[g], NAMES, label=f"spilled {g}")


def test_spill_file_goes_to_the_given_tempdir_only(data, tmp_path, monkeypatch):
    """With a tiny budget the spill file is created in ``tempdir`` and nowhere in out_dir."""
    monkeypatch.setattr(_settings, "memory_budget_bytes", TINY_BUDGET)
    out = tmp_path / "out"
    t = fresh_tempdir(tmp_path / "t")
    with pytest.warns(UserWarning, match="group 'empty' has no fragments to count"):
        _, paths = export(data, out, t, suffix=".bedgraph")
    assert touched(t)
    assert sorted(os.listdir(out)) == sorted(f"{g}.bedgraph" for g in GROUPS)
