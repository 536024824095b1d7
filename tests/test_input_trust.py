"""Hostile input never crashes, never gives a wrong track, never writes outside
out_dir, and is refused before any file exists (docs/spec.md section 6).

Each regression test below failed on the code before these checks existed
(a segmentation fault, a silently wrong track, a file outside out_dir, or an
error after other tracks were written). The property-based tests at the end
feed generated hostile fragment matrices and reference tables, through the
Python API and straight into the core, and compare every accepted export with
the numpy model (tests/model.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anndata as ad
import h5py
import hdf5plugin  # noqa: F401
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import fragcov
import model
from fragcov import _core

GENOME = [("chr1", 1000), ("chr2", 500)]


def adata_with(indptr, indices, values, n_obs=None, labels=None, genome=GENOME, kind="fragment_paired"):
    """An AnnData whose fragment matrix has exactly these arrays (no scipy checks)."""
    n_obs = len(indptr) - 1 if n_obs is None else n_obs
    labels = ["a"] * n_obs if labels is None else labels
    a = ad.AnnData(obs=pd.DataFrame({"grp": labels}, index=[f"c{i}" for i in range(n_obs)]))
    m = sp.csr_matrix((n_obs, sum(L for _, L in genome)), dtype=np.uint32 if kind == "fragment_paired" else np.int32)
    m.indptr, m.indices, m.data = (np.asarray(indptr, np.int64), np.asarray(indices, np.int64), np.asarray(values))
    a.obsm[kind] = m
    a.uns["reference_sequences"] = pd.DataFrame({
        "reference_seq_name": [c for c, _ in genome],
        "reference_seq_length": np.array([L for _, L in genome], np.uint64)})
    return a


def good_adata(labels=("a", "b")):
    n = len(labels)
    return adata_with(np.arange(n + 1), np.arange(n) * 100 + 5, np.full(n, 50, np.uint32), labels=list(labels))


def export(a, out_dir, **kw):
    kw.setdefault("suffix", ".bedgraph")
    return fragcov.export_coverage(a, kw.pop("groupby", "grp"), out_dir=out_dir, **kw)


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


# ---- corrupt fragment matrices ---------------------------------------------------

@pytest.mark.parametrize("name,indptr,indices,pattern", [
    ("indptr past the data", [0, 1, 50], [5, 10], r"end within its 2 fragments"),
    ("decreasing indptr", [0, 2, 1, 2], [5, 10], r"never decrease"),
    ("indptr not starting at 0", [1, 2], [5, 10], r"start at 0"),
    ("negative position", [0, 2], [5, -3], r"outside the reference sequences"),
    ("position past the genome", [0, 2], [5, 1500], r"outside the reference sequences"),
])
def test_corrupt_matrix_is_refused(name, indptr, indices, pattern, tmp_path):
    a = adata_with(indptr, indices, np.full(len(indices), 50, np.uint32))
    with pytest.raises(ValueError, match=pattern):
        export(a, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_indptr_shorter_than_obs_is_refused(tmp_path):
    a = adata_with([0, 1, 2], [5, 10], np.full(2, 50, np.uint32), n_obs=2)
    a.obsm["fragment_paired"].indptr = np.array([0, 2], np.int64)  # 1 row for 2 cells
    with pytest.raises(ValueError, match=r"1 rows but obs has 2 cells"):
        export(a, tmp_path / "out")


def test_corrupt_h5ad_is_refused_and_closed(tmp_path):
    """A file whose indptr points past its data is refused, and the file is closed
    afterwards, so the same session can rewrite it."""
    path = tmp_path / "bad.h5ad"
    good_adata().write_h5ad(path)
    with h5py.File(path, "r+") as f:
        f["obsm/fragment_paired/indptr"][...] = np.array([0, 1, 99])
    with pytest.raises(ValueError, match="end within its 2 fragments"):
        export(str(path), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with h5py.File(path, "w"):  # fails if fragcov still holds the file open
        pass


@pytest.mark.parametrize("values,pattern", [
    (np.array([50, -3], np.int64), r"fragment lengths hold -3"),
    (np.array([50, 2**33], np.int64), r"fragment lengths hold 8589934592"),
    (np.array([50.0, 60.5]), r"must be integers"),
])
def test_fragment_lengths_are_not_silently_cast(values, pattern, tmp_path):
    a = adata_with([0, 1, 2], [5, 10], np.zeros(2, np.uint32))
    a.obsm["fragment_paired"].data = values
    with pytest.raises(ValueError, match=pattern):
        export(a, tmp_path / "out")


# ---- reference tables --------------------------------------------------------------

@pytest.mark.parametrize("genome,pattern", [
    ([("chr1", 1000), ("chr1", 500)], r"'chr1'\) has the same name as reference sequence 0"),
    ([("chr1", 1000), ("", 500)], r"reference sequence 1 \(''\) has an empty name"),
    ([("chr1", 1000), ("chr 2", 500)], r"'chr 2'\) has a name with whitespace"),
    ([("chr1", 1000), ("chr\t2", 500)], r"'chr\\x092'\) has a name with whitespace"),
    ([("chr1", 1000), ("chr2", 0)], r"'chr2'\) has length 0"),
])
@pytest.mark.parametrize("suffix", [".bw", ".bedgraph"])
def test_bad_reference_table_is_refused(genome, pattern, suffix, tmp_path):
    a = adata_with([0, 1, 2], [5, 10], np.full(2, 50, np.uint32), genome=genome)
    with pytest.raises(ValueError, match=pattern):
        export(a, tmp_path / "out", suffix=suffix)
    assert not (tmp_path / "out").exists()


# ---- where files go ------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["../../x_", "ABSOLUTE/outside_", "sub/x_"])
def test_prefix_cannot_leave_out_dir(prefix, tmp_path):
    out = tmp_path / "a" / "b" / "out"
    prefix = prefix.replace("ABSOLUTE", str(tmp_path))  # an absolute path outside out_dir
    with pytest.raises(ValueError, match="path separator: folders belong in out_dir"):
        export(good_adata(), out, prefix=prefix)
    assert files_under(tmp_path) == []


def test_group_name_too_long_for_its_temporary_name_fails_before_any_track(tmp_path):
    long_name = "g" * (255 - len(".bedgraph") - 5)  # fits 255 bytes, not with ".name.fragcov-XXXXXX"
    with pytest.raises(ValueError, match=r"at most 239 fit"):
        export(good_adata(("a", long_name)), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_directory_at_an_output_path_fails_before_any_track(tmp_path):
    out = tmp_path / "out"
    (out / "b.bedgraph").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"b.bedgraph' is a directory"):
        export(good_adata(), out)
    assert files_under(out) == ["b.bedgraph"]


def test_a_failed_export_removes_the_out_dir_it_created(tmp_path, monkeypatch):
    import fragcov._sources as sources

    real = sources.MemorySource.chunks

    def broken(self):
        yield from real(self)
        raise RuntimeError("disk gone")

    monkeypatch.setattr(sources.MemorySource, "chunks", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        export(good_adata(), tmp_path / "new" / "out")
    assert files_under(tmp_path) == []


# ---- labels --------------------------------------------------------------------------

def test_groupby_series_is_matched_by_index(tmp_path):
    a = good_adata(("x", "y"))
    shuffled = pd.Series(["B", "A"], index=["c1", "c0"])  # c0 -> A, c1 -> B
    paths = export(a, tmp_path / "s", groupby=shuffled, normalization=None)
    by_position = export(a, tmp_path / "p", groupby=["A", "B"], normalization=None)
    for g in ("A", "B"):
        assert Path(paths[g]).read_bytes() == Path(by_position[g]).read_bytes()
    # hand-worked: cell c0 holds chr1:5-55, which touches the 10-bp bins 0-5
    assert Path(paths["A"]).read_text() == "chr1\t0\t60\t1\n"


def test_groupby_series_with_foreign_index_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"index does not match adata.obs_names"):
        export(good_adata(), tmp_path / "out", groupby=pd.Series(["A", "B"]))


def test_labels_that_print_alike_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"group labels 1 and '1' both become the group name '1'"):
        export(good_adata(), tmp_path / "out", groupby=[1, "1"])


# ---- numbers out of range ------------------------------------------------------------

@pytest.mark.parametrize("kw,exc,pattern", [
    (dict(bin_size=2**40), ValueError, r"bin_size must be at most 2147483648, got 1099511627776"),
    (dict(bin_size=2**70), OverflowError, r"bin_size=1180591620717411303424 is out of range"),
    (dict(smooth_base=-(2**63)), ValueError, r"smooth_base must be >= 1"),
    (dict(n_jobs=2**40), OverflowError, r"n_jobs=.* is out of range"),
    (dict(compression_level=2**40, suffix=".bedgraph.gz"), OverflowError, r"compression_level=.* out of range"),
    (dict(max_frag_length=-1), ValueError, r"max_frag_length must be >= 0"),
])
def test_out_of_range_integers_are_clear_errors(kw, exc, pattern, tmp_path):
    with pytest.raises(exc, match=pattern):
        export(good_adata(), tmp_path / "out", **kw)
    assert not (tmp_path / "out").exists()


# ---- the command line ------------------------------------------------------------------

def test_cli_errors_are_one_line_without_traceback(tmp_path):
    path = tmp_path / "in.h5ad"
    good_adata().write_h5ad(path)
    cases = [
        ["export-coverage", str(path), "--groupby", "grp", "--bin-size", str(2**70)],
        ["export-coverage", str(path), "--groupby", "grp", "--prefix", "../x"],
        ["export-coverage", str(path), "--groupby", "nope"],
        ["export-coverage", str(path)],
        ["export-coverage", str(path), "--groupby", "grp", "--bin-size", "ten"],
        ["no-such-command"],
    ]
    for args in cases:
        proc = subprocess.run([sys.executable, "-m", "fragcov", "-q", *args, "--out-dir", str(tmp_path / "o")]
                              if args[0] != "no-such-command" else [sys.executable, "-m", "fragcov", *args],
                              capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fragcov: error: "), (args, proc.stderr)
    assert not (tmp_path / "o").exists()
    debug = subprocess.run([sys.executable, "-m", "fragcov", "--debug", "export-coverage", str(path),
                            "--groupby", "nope"], capture_output=True, text=True, cwd=tmp_path)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


# ---- property-based: hostile matrices through the API ------------------------------------

def model_tracks(genome, chrom, start, end, label, **opts):
    return model.coverage_tracks(genome, chrom, start, end, label, as_list=True, **opts)


def merged_float32(records):
    """Records as written: float32 values, equal neighbours merged, zeros dropped."""
    out = []
    for c, s, e, v in records:
        v = np.float32(v)
        if v == 0:
            continue
        if out and out[-1][0] == c and out[-1][2] == s and out[-1][3] == v:
            out[-1] = (c, out[-1][1], e, v)
        else:
            out.append((c, s, e, v))
    return out


def read_bedgraph(path):
    rows = []
    for line in Path(path).read_text().splitlines():
        c, s, e, v = line.split("\t")
        rows.append((c, int(s), int(e), np.float32(v)))
    return rows


@st.composite
def hostile_exports(draw):
    n_chroms = draw(st.integers(1, 3))
    genome = [(f"chr{i + 1}", draw(st.integers(1, 400))) for i in range(n_chroms)]
    total = sum(L for _, L in genome)
    n_cells = draw(st.integers(1, 6))
    n_frags = draw(st.integers(0, 40))
    cell = np.sort(np.array(draw(st.lists(st.integers(0, n_cells - 1), min_size=n_frags, max_size=n_frags)),
                            dtype=np.int64))
    pos = np.array(draw(st.lists(st.integers(0, total - 1), min_size=n_frags, max_size=n_frags)), np.int64)
    length = np.array(draw(st.lists(st.integers(1, 300), min_size=n_frags, max_size=n_frags)), np.int64)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_cells))]).astype(np.int64)
    labels = draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n_cells, max_size=n_cells))
    corruption = draw(st.sampled_from(["none", "none", "indptr_past", "indptr_decrease", "indptr_extreme",
                                       "negative_pos", "pos_past_genome", "dup_name", "empty_name", "space_name",
                                       "zero_len"]))
    names = [c for c, _ in genome]
    lengths = [L for _, L in genome]
    if corruption == "indptr_past":
        indptr[-1] += draw(st.integers(1, 5))
    elif corruption == "indptr_decrease" and n_cells >= 2:
        indptr[1] = indptr[2] + 1
    elif corruption == "indptr_extreme":  # differences of such values overflow int64
        indptr[draw(st.integers(1, n_cells))] = draw(st.sampled_from([-(2**63), 2**63 - 1]))
    elif corruption == "negative_pos" and n_frags:
        pos[draw(st.integers(0, n_frags - 1))] = -draw(st.integers(1, 2**62))
    elif corruption == "pos_past_genome" and n_frags:
        pos[draw(st.integers(0, n_frags - 1))] = total + draw(st.integers(0, 2**40))
    elif corruption == "dup_name" and n_chroms >= 2:
        names[1] = names[0]
    elif corruption == "empty_name":
        names[0] = ""
    elif corruption == "space_name":
        names[0] = "chr 1"
    elif corruption == "zero_len":
        lengths[-1] = 0
    else:
        corruption = "none"
    options = dict(bin_size=draw(st.sampled_from([1, 7, 50])),
                   normalization=draw(st.sampled_from([None, "CPM", "BPM", "RPKM"])),
                   counting_strategy=draw(st.sampled_from(["fragment", "insertion"])),
                   smooth_base=draw(st.sampled_from([None, None, 3, 10])))
    return genome, list(zip(names, lengths)), indptr, pos, length, cell, labels, corruption, options


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=hostile_exports())
def test_hostile_matrices_error_cleanly_or_match_the_model(case, tmp_path_factory):
    genome, stored_genome, indptr, pos, length, cell, labels, corruption, options = case
    out = tmp_path_factory.mktemp("fuzz") / "out"
    a = adata_with(indptr, pos, length.astype(np.uint32), labels=labels, genome=stored_genome)
    if all(g is None for g in labels):  # nothing to export: nothing is read or written, whatever the data
        with pytest.warns(UserWarning, match="no cell has a group label"):
            assert export(a, out, **options) == {}
        assert files_under(out.parent) == []
        return
    if corruption != "none":
        with pytest.raises(ValueError):
            export(a, out, **options)
        assert files_under(out.parent) == []
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = export(a, out, **options)
    offsets = np.concatenate([[0], np.cumsum([L for _, L in genome])])
    chrom = np.searchsorted(offsets, pos, side="right") - 1
    start = pos - offsets[chrom]
    label_of_fragment = [labels[c] for c in cell]
    groups = sorted({g for g in labels if g is not None})  # every labelled cell makes a track, fragments or not
    expected = model_tracks(genome, chrom, start, start + length, label_of_fragment, groups=groups, **options)
    assert set(paths) == set(expected)
    for g, p in paths.items():
        assert read_bedgraph(p) == merged_float32(expected[g]), (g, options)
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in paths.values())


# ---- property-based: arbitrary chunks straight into the core ------------------------------

@st.composite
def raw_chunks(draw):
    n_cells = draw(st.integers(0, 5))
    n_frags = draw(st.integers(0, 12))
    big = st.integers(-(2**63), 2**63 - 1)
    indptr = np.array(draw(st.lists(st.one_of(st.integers(-3, 15), big), min_size=n_cells + 1,
                                    max_size=n_cells + 1)), np.int64)
    indices = np.array(draw(st.lists(st.one_of(st.integers(-5, 1600), big), min_size=n_frags,
                                     max_size=n_frags)), np.int64)
    values = np.array(draw(st.lists(st.integers(0, 2**32 - 1), min_size=n_frags, max_size=n_frags)), np.uint32)
    groups = np.array(draw(st.lists(st.integers(-3, 3), min_size=n_cells, max_size=n_cells)), np.int32)
    return indptr, indices, values, groups


def chunk_is_valid(indptr, indices, groups, n_groups, total):
    if len(groups) == 0:
        return True
    if indptr[0] != 0 or (indptr[1:] < indptr[:-1]).any() or indptr[-1] > len(indices):
        return False
    if ((groups < -1) | (groups >= n_groups)).any():
        return False
    used = indices[: indptr[-1]]
    return bool(((used >= 0) & (used < total)).all())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=raw_chunks())
def test_core_refuses_inconsistent_chunks(chunk, tmp_path_factory):
    """The C++ core guards itself: what Python's checks would catch is caught again there."""
    indptr, indices, values, groups = chunk
    out = tmp_path_factory.mktemp("core")
    names, lengths = ["chr1", "chr2"], [1000, 500]
    options = _core.ExportOptions()
    options.output_format = "bedgraph"
    options.normalization = "none"
    options.max_frag_length = None
    empty = (np.zeros(0, np.uint32), np.zeros(0, np.int64), np.zeros(0, np.int64))
    call = lambda: _core.export_coverage(names, lengths, [(indptr, indices, values, groups)],  # noqa: E731
                                         [str(out / "g0.bg"), str(out / "g1.bg")], empty, None, empty, options)
    if not chunk_is_valid(indptr, indices, groups, 2, 1500):
        with pytest.raises(ValueError):
            call()
        assert os.listdir(out) == []
        return
    call()
    offsets = np.array([0, 1000])
    cell_of = np.repeat(np.arange(len(groups)), np.diff(indptr)) if len(groups) else np.zeros(0, int)
    used = indices[: len(cell_of)]
    chrom = np.searchsorted(np.array([0, 1000, 1500]), used, side="right") - 1
    start = used - offsets[chrom]
    label = [str(groups[c]) if groups[c] >= 0 else None for c in cell_of]
    expected = model_tracks(list(zip(names, lengths)), chrom, start, start + values[: len(cell_of)].astype(np.int64),
                            label, groups=["0", "1"], normalization=None, max_frag_length=None, bin_size=10)
    for g in ("0", "1"):
        assert read_bedgraph(out / f"g{g}.bg") == merged_float32(expected[g])
