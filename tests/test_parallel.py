"""Reading and binning on n_jobs threads (docs/spec.md section 7).

Output bytes must not depend on n_jobs, on the chunking, on spilling, or on how
the fragment matrix is stored in the .h5ad (the core reads chunked datasets
itself with Hdf5Column; other layouts and filters go through h5py). The core's
HDF5 reader must return exactly what h5py returns.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pandas as pd
import pytest

import fragcov
from fragcov import _core, _settings, _sources
import model
from helpers import compare_records, make_anndata, read_track
from test_export_vs_model import (CELL_LABELS, CHROM_SIZES, GROUPS, check_against_model, model_tracks,
                                  random_fragments)

MATRIX = "obsm/fragment_paired"

# (name, h5py create_dataset keywords, environment for the writer, does the core read it itself?)
STORAGES = [
    ("contiguous", dict(), {}, False),
    ("raw chunks 1000", dict(chunks=(1000,)), {}, True),
    ("raw chunks 777", dict(chunks=(777,)), {}, True),
    ("gzip", dict(chunks=(1000,), compression="gzip"), {}, True),
    ("shuffle+gzip", dict(chunks=(1000,), compression="gzip", shuffle=True), {}, True),
    ("zstd filter", dict(chunks=(1000,), **hdf5plugin.Zstd()), {}, True),
    # SnapATAC2's own choice: Blosc, zstd, byte shuffle, chunks of 1000
    ("blosc zstd shuffle", dict(chunks=(1000,), **hdf5plugin.Blosc("zstd", 5, hdf5plugin.Blosc.SHUFFLE)), {}, True),
    ("blosc zstd no shuffle", dict(chunks=(1000,), **hdf5plugin.Blosc("zstd", 5, hdf5plugin.Blosc.NOSHUFFLE)), {},
     True),
    ("blosc stored (clevel 0)", dict(chunks=(1000,), **hdf5plugin.Blosc("zstd", 0, hdf5plugin.Blosc.SHUFFLE)), {},
     True),
    # chunks of 320 kB: several Blosc blocks of 128 kB and a partial last block
    ("blosc zstd big chunk", dict(chunks=(40_000,), **hdf5plugin.Blosc("zstd", 5, hdf5plugin.Blosc.SHUFFLE)), {},
     True),
    # Blosc splits each block into one stream per byte of the type
    ("blosc zstd split", dict(chunks=(5000,), **hdf5plugin.Blosc("zstd", 5, hdf5plugin.Blosc.SHUFFLE)),
     {"BLOSC_SPLITMODE": "ALWAYS"}, True),
    ("blosc lz4 (h5py)", dict(chunks=(1000,), **hdf5plugin.Blosc("lz4", 5, hdf5plugin.Blosc.SHUFFLE)), {}, False),
    ("blosc bitshuffle (h5py)", dict(chunks=(1000,), **hdf5plugin.Blosc("zstd", 5, hdf5plugin.Blosc.BITSHUFFLE)),
     {}, False),
    ("lzf (h5py)", dict(chunks=(1000,), compression="lzf"), {}, False),
]
OPTIONS = dict(bin_size=10, normalization="RPKM", max_frag_length=2000)


@pytest.fixture(scope="module")
def data():
    chrom, start, end, cell = random_fragments(seed=515, n=150_000)
    obs = pd.DataFrame({"cell_type": pd.Categorical(CELL_LABELS, categories=GROUPS)},
                       index=[f"cell{i}" for i in range(len(CELL_LABELS))])
    adata = make_anndata(CHROM_SIZES, chrom, start, end, cell, len(CELL_LABELS), obs=obs)
    labels = np.array([CELL_LABELS[c] for c in cell], dtype=object)
    return dict(adata=adata, chrom=chrom, start=start, end=end, label=labels)


def write_h5ad(adata, path: Path, create_kw: dict, env: dict, monkeypatch) -> Path:
    """adata as an .h5ad whose fragment positions and values are stored with `create_kw`."""
    adata.write_h5ad(path)
    with monkeypatch.context() as m:
        for k, v in env.items():
            m.setenv(k, v)  # read by c-blosc inside the HDF5 filter
        with h5py.File(path, "r+") as f:
            for name in ("indices", "data"):
                values = f[MATRIX][name][:]
                del f[MATRIX][name]
                f[MATRIX].create_dataset(name, data=values, **create_kw)
    return path


def export_bytes(adata, out_dir: Path, **kw) -> dict[str, bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the group without fragments
        paths = fragcov.export_coverage(adata, "cell_type", out_dir=str(out_dir), **{**OPTIONS, **kw})
    return {g: Path(p).read_bytes() for g, p in paths.items()}


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """Bytes of the in-memory export on one thread, checked against the model."""
    out = {}
    for suffix in (".bw", ".bedgraph.gz"):
        d = tmp_path_factory.mktemp("ref")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            paths = fragcov.export_coverage(data["adata"], "cell_type", out_dir=str(d), suffix=suffix, n_jobs=1,
                                            **OPTIONS)
        check_against_model(paths, model_tracks(data, {}), f"reference {suffix}")
        out[suffix] = {g: Path(p).read_bytes() for g, p in paths.items()}
    return out


@pytest.mark.parametrize("name,create_kw,env,core_reads", STORAGES, ids=[s[0] for s in STORAGES])
def test_storage_and_n_jobs_give_the_same_bytes(name, create_kw, env, core_reads, data, reference, tmp_path,
                                                monkeypatch):
    path = write_h5ad(data["adata"], tmp_path / "data.h5ad", create_kw, env, monkeypatch)
    with _sources.open_source(str(path)) as src:
        columns = src._core_columns()
        assert (columns is not None) == core_reads, f"{name}: who reads the file"
        if columns is not None:  # the core's reader gives h5py's elements, whole and in random pieces
            rng = np.random.default_rng(7)
            for col, ds in zip((columns.positions, columns.values), (src.indices_ds, src.data_ds)):
                whole = ds[:]
                got = col.read(0, len(col))
                assert got.dtype == whole.dtype and np.array_equal(got, whole)
                for _ in range(50):
                    lo = int(rng.integers(0, len(whole)))
                    n = int(rng.integers(0, min(len(whole) - lo, 3000) + 1))
                    assert np.array_equal(col.read(lo, n), whole[lo:lo + n])
    if name == "blosc zstd split":  # the writer really split the blocks (flag 0x10 clear)
        with h5py.File(path) as f:
            assert f[MATRIX]["indices"].id.read_direct_chunk((0,))[1][2] & 0x10 == 0
    for n_jobs in (1, 2, 4):
        for suffix in (".bw", ".bedgraph.gz"):
            got = export_bytes(str(path), tmp_path / f"out{n_jobs}{suffix}", suffix=suffix, n_jobs=n_jobs)
            assert got == reference[suffix], f"{name}, n_jobs={n_jobs}, {suffix}"


@pytest.mark.parametrize("chunk_fragments", [50, 997, 1_000_000])
def test_chunking_spilling_and_ceiling_give_the_same_bytes(chunk_fragments, data, tmp_path, monkeypatch):
    """Insertion counting gives ~300k units; with the smallest budget a
    binning slot spills every 65,536 units (UnitStore's floor), so with up to
    4 slots at least one spills."""
    path = write_h5ad(data["adata"], tmp_path / "data.h5ad", dict(chunks=(1000,), **hdf5plugin.Blosc(
        "zstd", 5, hdf5plugin.Blosc.SHUFFLE)), {}, monkeypatch)
    assert 2 * len(data["chrom"]) > min(4, len(os.sched_getaffinity(0))) * 65_536
    opts = dict(counting_strategy="insertion", ceiling=2, suffix=".bedgraph.gz")
    expected = export_bytes(data["adata"], tmp_path / "ref", n_jobs=1, **opts)
    # the ceiling's values are checked by hand in cpp/src/export/exporter_test.cpp; here it must bite
    uncapped = export_bytes(data["adata"], tmp_path / "uncapped", n_jobs=1, **{**opts, "ceiling": None})
    assert uncapped != expected
    monkeypatch.setattr(_sources, "CHUNK_FRAGMENTS", chunk_fragments)
    monkeypatch.setattr(_settings, "memory_budget_bytes", 1)
    for n_jobs in (1, 2, 4):
        for source in (str(path), data["adata"]):  # the core's reader and in-memory arrays
            got = export_bytes(source, tmp_path / f"o{n_jobs}", n_jobs=n_jobs, **opts)
            assert got == expected, f"chunks of {chunk_fragments}, n_jobs={n_jobs}, {type(source).__name__}"


def test_corrupt_chunk_is_named_whatever_n_jobs(data, tmp_path, monkeypatch):
    path = write_h5ad(data["adata"], tmp_path / "data.h5ad", dict(chunks=(1000,), **hdf5plugin.Blosc(
        "zstd", 5, hdf5plugin.Blosc.SHUFFLE)), {}, monkeypatch)
    with h5py.File(path) as f:
        info = f[MATRIX]["indices"].id.get_chunk_info_by_coord((37_000,))
    # Blosc has no checksum (garbled zstd data may still decode), but a wrong
    # size in chunk 37's header is seen
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + 4)
        fh.write(b"\xff" * 4)
    monkeypatch.setattr(_sources, "CHUNK_FRAGMENTS", 4000)  # many chunks, several in flight
    for n_jobs in (1, 2, 4):
        out = tmp_path / f"out{n_jobs}"
        with pytest.raises(ValueError, match=r"chunk 37 of the fragment positions .* is corrupt: its Blosc header"):
            export_bytes(str(path), out, n_jobs=n_jobs, suffix=".bw")
        assert not out.exists()  # created for the export, removed again


def test_first_bad_chunk_is_reported_whatever_n_jobs(data, tmp_path, monkeypatch):
    """Two chunks with positions outside the genome: the error names the cell
    of the first one, as on one thread."""
    path = write_h5ad(data["adata"], tmp_path / "data.h5ad", dict(chunks=(1000,)), {}, monkeypatch)
    total = sum(n for _, n in CHROM_SIZES)
    with h5py.File(path, "r+") as f:
        indptr = f[MATRIX]["indptr"][:]
        ind = f[MATRIX]["indices"]
        for cell in (31, 12):  # cell 12's chunk comes first (cells are read in order)
            ind[indptr[cell] + 3] = total + cell
    monkeypatch.setattr(_sources, "CHUNK_FRAGMENTS", 500)
    for n_jobs in (1, 2, 4):
        with pytest.raises(ValueError, match=rf"position {total + 12}, outside the reference"):
            export_bytes(str(path), tmp_path / f"out{n_jobs}", n_jobs=n_jobs, suffix=".bw")


def test_hdf5_column_refuses_inconsistent_layouts(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(64))
    fd = os.open(path, os.O_RDONLY)
    try:
        ok = dict(fd=fd, path=str(path), what="fragment positions", dtype="int64", filters=[], n_elements=8,
                  chunk_elements=4, addresses=[0, 32], sizes=[32, 32])
        assert np.array_equal(_core.Hdf5Column(**ok).read(0, 8), np.zeros(8, np.int64))
        with pytest.raises(ValueError, match="filter 32000"):
            _core.Hdf5Column(**{**ok, "filters": [32000]})
        with pytest.raises(ValueError, match="needs 2 chunk addresses"):
            _core.Hdf5Column(**{**ok, "addresses": [0]})
        with pytest.raises(ValueError, match="dtype must be"):
            _core.Hdf5Column(**{**ok, "dtype": "float64"})
        with pytest.raises(ValueError, match=r"chunk 1 .* unfiltered chunk must hold 32 bytes"):
            _core.Hdf5Column(**{**ok, "sizes": [32, 31]})
        with pytest.raises(ValueError, match="past the end"):
            _core.Hdf5Column(**ok).read(5, 4)
        with pytest.raises(ValueError, match="ends inside the fragment positions"):
            _core.Hdf5Column(**{**ok, "addresses": [0, 40]}).read(0, 8)
        with pytest.raises(ValueError, match=r"chunk 0 .* zstd frame"):
            _core.Hdf5Column(**{**ok, "filters": [32015]}).read(0, 4)
    finally:
        os.close(fd)


def _raw_layout(what, dtype, n, chunk, addresses):
    """The layout of a dataset of n elements stored unfiltered at `addresses` of a file of zeros."""
    size = chunk * np.dtype(dtype).itemsize
    return dict(what=what, dtype=np.dtype(dtype).str, shape=[n], chunk_shape=[chunk], filters=[],
                chunk_offsets=np.arange(len(addresses), dtype=np.uint64) * chunk,
                chunk_masks=np.zeros(len(addresses), np.uint32), chunk_addresses=np.array(addresses, np.uint64),
                chunk_sizes=np.full(len(addresses), size, np.uint64), first_chunk=bytes(size), first_chunk_mask=0)


def test_core_decides_which_columns_it_reads(tmp_path):
    """docs/spec.md 2.5.0: the core reads a dataset itself only when it decodes every filter and finds
    every chunk where HDF5 says it is (fragcov/hdf5_layout.hpp)."""
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(96))
    fd = os.open(path, os.O_RDONLY)
    try:
        pos = _raw_layout("positions", np.int64, 8, 4, [0, 32])
        val = _raw_layout("values", np.uint32, 8, 8, [64])
        cols = _core.H5adColumns.open(fd, str(path), True, pos, val)
        assert cols is not None and len(cols) == 8 and len(cols.positions) == 8
        assert np.array_equal(cols.values.read(0, 8), np.zeros(8, np.uint32))
        refused = [
            {**pos, "filters": [(32000, [])]},  # a filter the core does not decode (lzf)
            {**pos, "filters": [(32001, [2, 2, 8, 32, 5, 1, 1])]},  # Blosc with lz4
            {**pos, "filters": [(32001, [2, 2, 8, 32, 5, 2, 5])]},  # Blosc zstd with bit shuffle
            {**pos, "dtype": ">i8"},  # big-endian
            {**pos, "dtype": "<u8"},
            {**pos, "chunk_shape": []},  # contiguous
            {**pos, "shape": [8, 1]},
            {**pos, "chunk_offsets": np.array([0], np.uint64), "chunk_masks": np.zeros(1, np.uint32),
             "chunk_addresses": np.zeros(1, np.uint64), "chunk_sizes": np.full(1, 32, np.uint64)},  # a chunk missing
            {**pos, "chunk_offsets": np.array([0, 0], np.uint64)},  # not chunk 1 at element 4
            {**pos, "first_chunk": b"\x01" + bytes(31)},  # the bytes at the address are not HDF5's
            {**pos, "first_chunk_mask": 1},
        ]
        for layout in refused:
            assert _core.H5adColumns.open(fd, str(path), True, layout, val) is None, layout
        assert _core.H5adColumns.open(fd, str(path), False, pos, val) is None  # single-end values are int32
    finally:
        os.close(fd)


def test_core_refuses_cells_that_do_not_fit_the_columns(tmp_path):
    """H5adCells checks indptr and rows against the columns before any buffer is sized from them."""
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(96))
    fd = os.open(path, os.O_RDONLY)
    try:
        cols = _core.H5adColumns.open(fd, str(path), True, _raw_layout("positions", np.int64, 8, 4, [0, 32]),
                                      _raw_layout("values", np.uint32, 8, 8, [64]))
        opts = _core.ExportOptions()
        opts.output_format, opts.normalization = "bedgraph", "none"
        empty = (np.zeros(0, np.uint32), np.zeros(0, np.int64), np.zeros(0, np.int64))

        def run(indptr, rows, groups):
            cells = _core.H5adCells(cols, np.array(indptr, np.int64), np.array(rows, np.int64),
                                    np.array(groups, np.int32), 4)
            _core.export_coverage(["chr1"], [100], cells, [str(tmp_path / "a.bg")], empty, None, empty, opts)

        with pytest.raises(ValueError, match="end within the columns' 8"):
            run([0, 2**62], [0], [0])
        with pytest.raises(ValueError, match="indptr decreases"):
            run([0, 6, 4, 8], [0], [0])
        with pytest.raises(ValueError, match="row 3 is not a cell"):
            run([0, 4, 8], [3], [0])
        with pytest.raises(ValueError, match="one group per row"):
            run([0, 4, 8], [0, 1], [0])
        run([0, 4, 6, 8], [2, 0], [0, 0])  # all zero: lengths 0 are ignored, an empty track
        assert (tmp_path / "a.bg").read_text() == ""
    finally:
        os.close(fd)


def test_single_end_file_read_by_the_core(tmp_path):
    """Signed int32 values (docs/spec.md section 2.4) through the core's reader
    give the bytes of the same matrix in memory."""
    import anndata as ad

    path = Path(__file__).parent / "data" / "export_fragments" / "single_end.h5ad"  # SnapATAC2, Blosc/zstd
    with _sources.open_source(str(path)) as src:
        assert src.kind == "fragment_single" and src._core_columns() is not None
    in_memory = ad.read_h5ad(path)
    for n_jobs in (1, 2):
        for suffix in (".bw", ".bedgraph"):
            kw = dict(groupby="grp", suffix=suffix, n_jobs=n_jobs, bin_size=5)
            a = fragcov.export_coverage(str(path), out_dir=str(tmp_path / f"f{n_jobs}{suffix}"), **kw)
            b = fragcov.export_coverage(in_memory, out_dir=str(tmp_path / f"m{n_jobs}{suffix}"), **kw)
            assert a.keys() == b.keys() and len(a) >= 2
            for g in a:
                assert Path(a[g]).read_bytes() == Path(b[g]).read_bytes(), (g, n_jobs, suffix)
            if suffix == ".bedgraph":
                assert any(Path(p).stat().st_size for p in a.values())


# One pooled track (fewer groups than threads): its chromosomes are swept, encoded and
# compressed on several threads (docs/spec.md 7.1); the bytes must be those of one thread.
MANY_CHROMS = [(f"chr{k}", 40_000 + 7_919 * (k % 9)) for k in range(1, 24)] + [("chrX", 61_000), ("chrM", 16_569)]
WITHIN_TRACK = [
    (".bw", dict(bin_size=10)),
    (".bw", dict(bin_size=1, counting_strategy="insertion", normalization=None)),
    (".bw", dict(bin_size=5, smooth_base=31)),
    (".bedgraph", dict(bin_size=1)),
    (".bedgraph.gz", dict(bin_size=10, smooth_base=51)),
    (".bedgraph.zst", dict(bin_size=1, counting_strategy="insertion")),
    (".bedgraph.gz", dict(bin_size=1, compression_level=1)),
]


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    rng = np.random.default_rng(31)
    n = 120_000
    lengths = np.array([length for _, length in MANY_CHROMS])
    chrom = rng.choice(len(MANY_CHROMS), size=n, p=lengths / lengths.sum())
    start = (rng.random(n) * (lengths[chrom] - 600)).astype(np.int64)
    start[: n // 3] = (start[: n // 3] // 2000) * 2000 + rng.integers(0, 300, n // 3)  # piles of overlaps
    end = start + rng.integers(20, 600, n)
    cell = rng.integers(0, 30, n)
    obs = pd.DataFrame({"cell_type": pd.Categorical(["pool"] * 30)}, index=[f"c{i}" for i in range(30)])
    adata = make_anndata(MANY_CHROMS, chrom, start, end, cell, 30, obs=obs)
    return dict(adata=adata, chrom=chrom, start=start, end=end, label=np.array(["pool"] * n, dtype=object))


@pytest.mark.parametrize("suffix,opts", WITHIN_TRACK, ids=[f"{s}-{o}" for s, o in WITHIN_TRACK])
def test_one_track_on_several_threads_gives_the_bytes_of_one(suffix, opts, pooled, tmp_path):
    got = {}
    for n_jobs in (1, 2, 3, 4):
        paths = fragcov.export_coverage(pooled["adata"], "cell_type", out_dir=str(tmp_path / f"n{n_jobs}"),
                                        suffix=suffix, n_jobs=n_jobs, max_frag_length=None, **opts)
        got[n_jobs] = Path(paths["pool"]).read_bytes()
    assert len(got[1]) > 1000
    assert all(got[n] == got[1] for n in got), {n: len(b) for n, b in got.items()}
    model_opts = {k: v for k, v in opts.items() if k != "compression_level"}
    expected = model.coverage_tracks(MANY_CHROMS, pooled["chrom"], pooled["start"], pooled["end"],
                                     pooled["label"], groups=["pool"], as_list=False, max_frag_length=None,
                                     **model_opts)
    track = read_track(tmp_path / "n1" / f"pool{suffix}", [c for c, _ in MANY_CHROMS])
    assert compare_records(track, expected["pool"]) is None
