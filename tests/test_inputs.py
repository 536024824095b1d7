"""Every kind of input gives byte-identical tracks (docs/spec.md section 1).

The reference file is SnapATAC2 2.9.0's own import of smooth_tiny (Blosc/zstd HDF5
filters), see data/README.md. Its tracks are pinned to the tracks SnapATAC2 2.9.0
itself wrote from that file (test_snapatac2_file_gives_snapatac2s_tracks), and each
input form must give exactly the bytes the plain path gives.
"""
from __future__ import annotations

import h5py
import hdf5plugin  # noqa: F401
import anndata as ad
import numpy as np
import pandas as pd
from pathlib import Path

import pytest

import fragcov

try:
    from anndata.io import write_elem
except ImportError:  # pragma: no cover
    from anndata.experimental import write_elem

from helpers import (DATA, FIXTURE_CASES, assert_track_matches, fixture_case_id, fixture_options,
                     fixture_track_path, load_dataset, model_for_case, read_track,
                     require_snapatac2, rescaled_ulps)

SNAP = DATA / "snapatac2" / "tiny.snap.h5ad"
# the smooth100_bin1_bpm_insertion fixture config: SnapATAC2's tracks for both groups are in data/
OPTIONS = dict(groupby="cell_type", bin_size=1, normalization="BPM", smooth_base=100,
               counting_strategy="insertion")
SMOOTH_TINY_CASES = [c for c in FIXTURE_CASES if c[0] == "smooth_tiny"]


def export_bytes(adata, out_dir, suffix=".bedgraph", **kw) -> dict[str, bytes]:
    opts = {**OPTIONS, **kw}
    paths = fragcov.export_coverage(adata, out_dir=out_dir, suffix=suffix, **opts)
    return {g: Path(p).read_bytes() for g, p in paths.items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    return {s: export_bytes(str(SNAP), out / s.strip("."), suffix=s) for s in (".bedgraph", ".bw")}


def _halves(tmp_path):
    full = ad.read_h5ad(SNAP)
    half = full.n_obs // 2
    paths = []
    for i, part in enumerate((full[:half], full[half:])):
        p = tmp_path / f"part{i}.h5ad"
        part.copy().write_h5ad(p)
        paths.append(p)
    return paths


def _h5ads(tmp_path, paths):
    """A SnapATAC2-style AnnDataSet file: obs + uns/AnnDataSet listing members by relative path."""
    obs = pd.concat([ad.read_h5ad(p, backed="r").obs for p in paths])
    f_path = tmp_path / "set.h5ads"
    with h5py.File(f_path, "w") as f:
        write_elem(f, "obs", obs)
        # into the group, not "uns/AnnDataSet": newer anndata refuses a slash in the key
        write_elem(f.require_group("uns"), "AnnDataSet",
                   pd.DataFrame({"keys": ["a", "b"], "file_path": [p.name for p in paths]}))
    return f_path


@pytest.mark.parametrize("case", SMOOTH_TINY_CASES, ids=fixture_case_id)
def test_snapatac2_file_gives_snapatac2s_tracks(case, tmp_path):
    """SnapATAC2's own .h5ad of smooth_tiny, read by fragcov, gives the tracks SnapATAC2
    wrote from it (fragment-mode CPM rescaled by length/count, docs/spec.md section 3.5)."""
    _, _, group, suffix, kw = case
    paths = fragcov.export_coverage(str(SNAP), "cell_type", selections=[group], out_dir=tmp_path,
                                    suffix=suffix, **fixture_options(case))
    names = [c for c, _ in load_dataset("smooth_tiny")["chrom_sizes"]]
    expected = read_track(fixture_track_path(case), names)
    max_ulps = 0
    if kw.get("normalization") in ("CPM", "RPKM") and kw.get("counting_strategy") != "insertion":
        _, stats = model_for_case(case, return_stats=True)
        expected.value = expected.value * (stats["length"] / stats["count"])
        max_ulps = rescaled_ulps(fixture_track_path(case))
    assert_track_matches(paths[group], expected, names, max_ulps=max_ulps, label=fixture_case_id(case))


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
def test_reference_bytes_are_snapatac2s_tracks(suffix, reference, tmp_path):
    """The bytes every input form below must reproduce are SnapATAC2's own tracks
    for OPTIONS (smooth100_bin1_bpm_insertion, both groups), at 0 float32 ulps."""
    cases = [c for c in SMOOTH_TINY_CASES if c[1] == "smooth100_bin1_bpm_insertion"]
    assert {c[2] for c in cases} == set(reference[suffix]) == {"CD14 Mono", "CD4 Naive"}
    names = [c for c, _ in load_dataset("smooth_tiny")["chrom_sizes"]]
    for case in cases:
        assert fixture_options(case) == {k: v for k, v in OPTIONS.items() if k != "groupby"}
        path = tmp_path / f"{case[2]}{suffix}"
        path.write_bytes(reference[suffix][case[2]])
        assert_track_matches(path, read_track(fixture_track_path(case), names), names,
                             label=fixture_case_id(case))


@pytest.mark.parametrize("suffix", [".bedgraph", ".bw"])
@pytest.mark.parametrize("form", ["path", "pathlib", "backed", "memory", "view_all", "list_paths",
                                  "list_adata", "list_backed", "h5ads"])
def test_every_input_form_gives_identical_bytes(form, suffix, reference, tmp_path):
    if form == "path":
        data = str(SNAP)
    elif form == "pathlib":
        data = SNAP
    elif form == "backed":
        data = ad.read_h5ad(SNAP, backed="r")
    elif form == "memory":
        data = ad.read_h5ad(SNAP)
    elif form == "view_all":
        full = ad.read_h5ad(SNAP)
        data = full[full.obs_names]
        assert data.is_view
    elif form == "list_paths":
        data = [str(p) for p in _halves(tmp_path)]
    elif form == "list_adata":
        data = [ad.read_h5ad(p) for p in _halves(tmp_path)]
    elif form == "list_backed":
        data = [ad.read_h5ad(p, backed="r") for p in _halves(tmp_path)]
    else:
        data = _h5ads(tmp_path, _halves(tmp_path))
    assert export_bytes(data, tmp_path / "out", suffix=suffix) == reference[suffix]


@pytest.mark.parametrize("backed", [False, True])
def test_subset_view_equals_copied_subset(backed, tmp_path):
    full = ad.read_h5ad(SNAP, backed="r" if backed else None)
    mask = np.arange(full.n_obs) % 3 != 0
    view = full[mask]
    assert view.is_view
    copied = ad.read_h5ad(SNAP)[mask].copy()
    assert export_bytes(view, tmp_path / "a") == export_bytes(copied, tmp_path / "b")
    # a reordered view: coverage does not depend on cell order
    order = np.random.default_rng(0).permutation(full.n_obs)
    assert export_bytes(full[order], tmp_path / "c") == export_bytes(full, tmp_path / "d")


def test_streaming_in_small_chunks_is_identical(monkeypatch, tmp_path, reference):
    from fragcov import _sources

    monkeypatch.setattr(_sources, "CHUNK_FRAGMENTS", 50)
    assert export_bytes(str(SNAP), tmp_path / "a") == reference[".bedgraph"]
    assert export_bytes(ad.read_h5ad(SNAP), tmp_path / "b") == reference[".bedgraph"]


@pytest.mark.parametrize("n_jobs", [1, 2, 0, -1])
def test_output_independent_of_threads(n_jobs, reference, tmp_path):
    for suffix in (".bedgraph", ".bw"):
        assert export_bytes(str(SNAP), tmp_path / suffix.strip("."), suffix=suffix, n_jobs=n_jobs) == reference[suffix]


def test_labels_as_list_categorical_int_and_missing(tmp_path):
    full = ad.read_h5ad(SNAP)
    labels = full.obs["cell_type"].astype(str).to_numpy()
    by_column = export_bytes(full, tmp_path / "col")
    by_list = export_bytes(full, tmp_path / "list", groupby=list(labels))
    by_cat = export_bytes(full, tmp_path / "cat", groupby=pd.Categorical(labels))
    assert by_column == by_list == by_cat
    # integer labels become string group names
    codes = pd.factorize(labels)[0]
    ints = fragcov.export_coverage(full, groupby=codes, out_dir=tmp_path / "int", suffix=".bedgraph")
    assert sorted(ints) == ["0", "1"]
    # cells without a label belong to no group: same as dropping them
    with_missing = np.where(np.arange(full.n_obs) % 2 == 0, labels, None)
    a = export_bytes(full, tmp_path / "missing", groupby=with_missing)
    keep = np.arange(full.n_obs) % 2 == 0
    b = export_bytes(full[keep].copy(), tmp_path / "dropped", groupby=list(labels[keep]))
    assert a == b


def test_selections_export_only_those(tmp_path, reference):
    got = export_bytes(str(SNAP), tmp_path / "sel", selections=["CD4 Naive"])
    assert list(got) == ["CD4 Naive"] and got["CD4 Naive"] == reference[".bedgraph"]["CD4 Naive"]


def test_single_end_storage(tmp_path):
    """fragment_single: forward reads start at the column, reverse reads end there."""
    names, lengths = ["c1", "c2"], np.array([100, 50], dtype=np.uint64)
    import scipy.sparse as sp

    # c1: + read [10,20); - read with last base 29 -> [25,30); c2: - read last base 3, len 8 -> [-4,4) clipped
    cols = np.array([10, 29, 100 + 3], dtype=np.int64)
    vals = np.array([10, -5, -8], dtype=np.int32)
    m = sp.csr_matrix((vals, cols, np.array([0, 3])), shape=(1, 150))
    a = ad.AnnData(obs=pd.DataFrame(index=["cell"]))
    a.obsm["fragment_single"] = m
    a.uns["reference_sequences"] = pd.DataFrame({"reference_seq_name": names, "reference_seq_length": lengths})
    p = fragcov.export_coverage(a, ["g"], bin_size=1, normalization=None, out_dir=tmp_path, suffix=".bedgraph")
    assert Path(p["g"]).read_text() == "c1\t10\t20\t1\nc1\t25\t30\t1\nc2\t0\t4\t1\n"
    p = fragcov.export_coverage(a, ["g"], bin_size=1, normalization=None, out_dir=tmp_path, suffix=".bedgraph",
                                counting_strategy="insertion")
    assert Path(p["g"]).read_text() == "c1\t10\t11\t1\nc1\t29\t30\t1\nc2\t3\t4\t1\n"


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_snapatac2_objects_read_through_their_own_api(mode, reference, tmp_path):
    """Objects from snapatac2.read / read_dataset (Rust-backed, file held open and,
    in r+ mode, HDF5-locked) give the same bytes as the path, and labels added to
    their obs in this session are used."""
    snap = require_snapatac2("2.9.0")
    import shutil

    copy = tmp_path / "copy.h5ad"
    shutil.copy(SNAP, copy)
    data = snap.read(str(copy), backed=mode)
    try:
        assert export_bytes(data, tmp_path / "obj", suffix=".bedgraph") == reference[".bedgraph"]
        if mode == "r+":
            labels = ["even" if i % 2 == 0 else "odd" for i in range(data.n_obs)]
            data.obs["parity"] = labels
            got = export_bytes(data, tmp_path / "parity", groupby="parity")
            plain = ad.read_h5ad(SNAP)
            plain.obs["parity"] = labels
            assert got == export_bytes(plain, tmp_path / "parity_ref", groupby="parity")
    finally:
        data.close()

    halves = _halves(tmp_path)
    dataset = snap.AnnDataSet(adatas=[("a", str(halves[0])), ("b", str(halves[1]))],
                              filename=str(tmp_path / "objs.h5ads"))
    try:  # an AnnDataSet has its own obs (only 'sample'): labels go there, as in SnapATAC2
        dataset.obs["cell_type"] = [str(x) for x in ad.read_h5ad(SNAP).obs["cell_type"]]
        assert export_bytes(dataset, tmp_path / "ds", suffix=".bedgraph") == reference[".bedgraph"]
    finally:
        dataset.close()
