"""The bigWig writer (cpp/src/bigwig_file.cpp) read back by two independent readers.

pyBigWig (libBigWig, C) and pybigtools (bigtools, Rust) both read every track;
expected records come from the numpy model (tests/model.py), expected zoom
summaries and header totals are recomputed here from those records. The genome
has 600 contigs and the tracks over 256 data blocks, so the chromosome B+ tree
and the data R-tree both have more than one level, and range queries walk them.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

import fragcov
import model
from helpers import compare_records, make_anndata, read_bigwig

pyBigWig = pytest.importorskip("pyBigWig")
pybigtools = pytest.importorskip("pybigtools")

BIGWIG_MAGIC = 0x888FFC26
FIRST_ZOOM = 40960  # bases per record of the finest zoom level (cpp/src/track_writer.cpp)


@pytest.fixture(scope="module")
def many_blocks(tmp_path_factory):
    """600 contigs + one 3 Mb chromosome; insertion counting at bin_size 1 gives
    ~2 records per fragment; a block holds one chromosome's records, so every
    group has well over 256 blocks."""
    rng = np.random.default_rng(11)
    sizes = [("chr1", 3_000_000)] + [(f"ctg{i:04d}", int(x))
                                     for i, x in enumerate(rng.integers(2_000, 60_000, 600))]
    lengths = np.array([L for _, L in sizes])
    n = 180_000
    # half on chr1, the rest spread over the contigs
    chrom = np.where(rng.random(n) < 0.5, 0, rng.integers(1, len(sizes), n))
    flen = rng.integers(30, 600, n)
    start = (rng.random(n) * np.maximum(lengths[chrom] - 1, 1)).astype(np.int64)
    end = np.minimum(start + flen, lengths[chrom] + 200)  # some run past the end
    n_obs = 40
    cell = rng.integers(0, n_obs, n)
    labels = np.array(["A", "B"])[np.arange(n_obs) % 2]
    import pandas as pd
    obs = pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(n_obs)])
    adata = make_anndata(sizes, chrom, start, end, cell, n_obs, obs=obs)
    opts = dict(bin_size=1, counting_strategy="insertion", normalization=None, max_frag_length=None)
    out = tmp_path_factory.mktemp("bw")
    paths = fragcov.export_coverage(adata, "cell_type", out_dir=str(out), suffix=".bw", n_jobs=2, **opts)
    expected = model.coverage_tracks(sizes, chrom, start, end, labels[cell], as_list=False, **opts)
    return dict(sizes=sizes, paths=paths, expected=expected)


def test_records_read_back_by_pybigwig_and_pybigtools(many_blocks):
    names = [c for c, _ in many_blocks["sizes"]]
    for g, path in many_blocks["paths"].items():
        exp = many_blocks["expected"][g]
        raw = open(path, "rb").read()
        index_offset = struct.unpack_from("<Q", raw, 24)[0]
        assert struct.unpack_from("<Q", raw, index_offset + 8)[0] > 256, "a one-level R-tree"
        msg = compare_records(read_bigwig(path, names), exp, label=g)
        assert not msg, msg
        bt = pybigtools.open(path)
        assert bt.chroms() == dict(many_blocks["sizes"])
        for c in ("chr1", "ctg0000", "ctg0299", "ctg0599"):
            got = np.array(list(bt.records(c)), dtype=float).reshape(-1, 3)
            sel = exp.chrom == c
            assert np.array_equal(got[:, 0], exp.start[sel]) and np.array_equal(got[:, 1], exp.end[sel]), (g, c)
            assert np.array_equal(got[:, 2].astype(np.float32), exp.value[sel].astype(np.float32)), (g, c)


def test_range_queries_walk_the_index(many_blocks):
    rng = np.random.default_rng(5)
    sizes = dict(many_blocks["sizes"])
    for g, path in many_blocks["paths"].items():
        exp = many_blocks["expected"][g]
        bw = pyBigWig.open(path)
        bt = pybigtools.open(path)
        for c in ["chr1"] * 20 + [f"ctg{i:04d}" for i in rng.integers(0, 600, 20)]:
            s = int(rng.integers(0, sizes[c] - 1))
            e = int(min(sizes[c], s + rng.integers(1, 200_000)))
            sel = (exp.chrom == c) & (exp.end > s) & (exp.start < e)
            want = np.c_[exp.start[sel], exp.end[sel]]
            got = np.array([iv[:2] for iv in (bw.intervals(c, s, e) or ())]).reshape(-1, 2)
            assert np.array_equal(got, want), (g, c, s, e)
            got_bt = np.array([r[:2] for r in bt.records(c, s, e)]).reshape(-1, 2)
            assert np.array_equal(got_bt, want), (g, c, s, e)
        bw.close()


def _expected_zoom(exp, c, length, reduction):
    """Aligned zoom bins [b*R, (b+1)*R) of the records on chromosome c."""
    sel = exp.chrom == c
    starts, ends, vals = exp.start[sel], exp.end[sel], exp.value[sel]
    out = {}
    for s, e, v in zip(starts, ends, vals):
        while s < e:
            b = s // reduction
            piece = min(e, (b + 1) * reduction) - s
            d = out.setdefault(b, [0, np.inf, -np.inf, 0.0])
            d[0] += piece
            d[1] = min(d[1], v)
            d[2] = max(d[2], v)
            d[3] += v * piece
            s += piece
    return {(b * reduction, min((b + 1) * reduction, length)): d for b, d in sorted(out.items())}


def test_zoom_levels_summarise_the_records(many_blocks):
    sizes = dict(many_blocks["sizes"])
    for g, path in many_blocks["paths"].items():
        exp = many_blocks["expected"][g]
        raw = open(path, "rb").read()
        n_levels = struct.unpack_from("<H", raw, 6)[0]
        reductions = [struct.unpack_from("<I", raw, 64 + 24 * k)[0] for k in range(n_levels)]
        # 4x coarser each level, up to the first that spans the longest chromosome
        assert reductions[0] == FIRST_ZOOM
        assert reductions == [FIRST_ZOOM * 4 ** k for k in range(n_levels)]
        assert reductions[-1] >= max(sizes.values()) > reductions[-2]
        bt = pybigtools.open(path)
        for reduction in reductions[:3]:
            for c in ("chr1", "ctg0007"):
                want = _expected_zoom(exp, c, sizes[c], reduction)
                got = {(s, e): d for s, e, d in bt.zoom_records(reduction, c)}
                assert list(got) == list(want), (g, reduction, c)
                for key, (n, lo, hi, total) in want.items():
                    d = got[key]
                    assert d["bases_covered"] == n
                    assert np.isclose(d["min_val"], lo, rtol=1e-6) and np.isclose(d["max_val"], hi, rtol=1e-6)
                    assert np.isclose(d["sum"], total, rtol=1e-5)
        # the whole-chromosome maximum and mean as genome browsers get them
        bw = pyBigWig.open(path)
        for c in ("chr1", "ctg0123"):
            sel = exp.chrom == c
            if sel.any():
                assert np.isclose(bw.stats(c, type="max")[0], exp.value[sel].max(), rtol=1e-6)
        bw.close()


def test_header_totals_and_signatures(many_blocks):
    for g, path in many_blocks["paths"].items():
        exp = many_blocks["expected"][g]
        w = exp.end - exp.start
        bw = pyBigWig.open(path)
        h = bw.header()
        bw.close()
        assert h["version"] == 4
        assert h["nBasesCovered"] == w.sum()
        assert np.isclose(h["minVal"], exp.value.min()) and np.isclose(h["maxVal"], exp.value.max())
        assert np.isclose(h["sumData"], (exp.value * w).sum(), rtol=1e-6)
        raw = open(path, "rb").read()
        # UCSC's bbiFileCheckSigs: the magic number at both ends
        assert struct.unpack_from("<I", raw, 0)[0] == BIGWIG_MAGIC
        assert struct.unpack_from("<I", raw, len(raw) - 4)[0] == BIGWIG_MAGIC
        info = pybigtools.open(path).info()
        assert info["isCompressed"] and info["summary"]["basesCovered"] == w.sum()


def test_empty_track_is_valid_for_both_readers(tmp_path):
    sizes = [("chr1", 5000), ("chr2", 3000)]
    adata = make_anndata(sizes, [0], [100], [200], [0], 1)
    adata.obs["cell_type"] = ["A"]
    with pytest.warns(UserWarning, match="group .A. has no fragments to count: wrote an empty track"):
        paths = fragcov.export_coverage(adata, "cell_type", out_dir=str(tmp_path), min_frag_length=1000)
    bt = pybigtools.open(paths["A"])
    assert bt.chroms() == dict(sizes)
    assert list(bt.records("chr1")) == []
    assert bt.info()["zoomLevels"] == 0
    bw = pyBigWig.open(paths["A"])
    assert bw.chroms() == dict(sizes) and bw.intervals("chr2") is None
    bw.close()
