"""The bigWig writer (cpp/src/output/bigwig_file.cpp) read back by independent readers.

pyBigWig (libBigWig, C), pybigtools (bigtools, Rust) and pybbi (UCSC's own bbi
code) read every track; expected records come from the numpy model
(tests/model.py), expected zoom summaries and header totals are recomputed here
from those records. The genome of the first fixture has 600 contigs and the
tracks over 256 data blocks, so the chromosome B+ tree and the data R-tree both
have more than one level, and range queries walk them.

Data blocks are bedGraph, varStep or fixedStep sections, whichever the writer
estimates smaller (docs/spec.md section 4, bigWig files); tests/bigwig_layout.py
parses them, and the tests check that each type appears where it should and that
readers return the same signal at every base whatever the encoding (a reader may
return one item per base where the model has one merged record, so intervals
are compared after merging equal touching neighbours).
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

import fragcov
import model
from bigwig_layout import read_layout
from helpers import compare_records, make_anndata, merge_items, read_bigwig, to_records
from pathlib import Path

pyBigWig = pytest.importorskip("pyBigWig")
pybigtools = pytest.importorskip("pybigtools")
bbi = pytest.importorskip("bbi")  # pybbi

BIGWIG_MAGIC = 0x888FFC26
FIRST_ZOOM = 40960  # bases per record of the finest zoom level (cpp/src/output/track_writer.cpp)


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
        raw = Path(path).read_bytes()
        index_offset = struct.unpack_from("<Q", raw, 24)[0]
        assert struct.unpack_from("<Q", raw, index_offset + 8)[0] > 256, "a one-level R-tree"
        msg = compare_records(read_bigwig(path, names), exp, label=g)
        assert not msg, msg
        bt = pybigtools.open(path)
        assert bt.chroms() == dict(many_blocks["sizes"])
        for c in ("chr1", "ctg0000", "ctg0299", "ctg0599"):
            got = [(c, *r) for r in bt.records(c)]
            sel = exp.chrom == c
            want = model.Records(exp.chrom[sel], exp.start[sel], exp.end[sel], exp.value[sel])
            msg = compare_records(merge_items(to_records(got)), want, label=f"{g} {c} pybigtools")
            assert not msg, msg


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
            want = _clip(model.Records(exp.chrom[sel], exp.start[sel], exp.end[sel], exp.value[sel]), s, e)
            for reader, got in (("pyBigWig", bw.intervals(c, s, e) or ()), ("pybigtools", bt.records(c, s, e))):
                msg = compare_records(merge_items(_clip(to_records([(c, *iv) for iv in got]), s, e)), want,
                                      label=f"{g} {c}:{s}-{e} {reader}")
                assert not msg, msg
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
        raw = Path(path).read_bytes()
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
        raw = Path(path).read_bytes()
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


# ----------------------------------------------------------------------------
# Section types: smoothed, per-bin and sparse tracks on one synthetic genome
# ----------------------------------------------------------------------------

SECTION_CONFIGS = {
    # per-base values: touching one-base records -> fixedStep, span 1
    "smoothed": dict(bin_size=20, smooth_base=51, normalization=None),
    # default options: a densely covered region -> fixedStep, span 10; the
    # sparse background (records of several bins, gaps) -> bedGraph
    "per_bin": dict(bin_size=10),
    # insertions in 10-base bins: isolated single bins -> varStep, span 10
    "sparse": dict(bin_size=10, counting_strategy="insertion", normalization=None),
}


def _clip(rec, s, e):
    """Records overlapping [s, e), cut to it."""
    rec = to_records(rec)
    keep = (rec.end > s) & (rec.start < e)
    return model.Records(rec.chrom[keep], np.maximum(rec.start[keep], s), np.minimum(rec.end[keep], e),
                         rec.value[keep])


def _per_base(rec, c, s, e):
    """Model values of bases [s, e) of chromosome c, NaN where there is no record."""
    rec = _clip(rec, s, e)
    sel = rec.chrom == c
    out = np.full(e - s, np.nan)
    lengths = rec.end[sel] - rec.start[sel]
    offset_in_record = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    idx = np.repeat(rec.start[sel] - s, lengths) + offset_in_record
    out[idx] = np.repeat(rec.value[sel], lengths)
    return out


def _bigtools_values(bt, c, s, e):
    try:
        return np.asarray(bt.values(c, s, e, fillna=None), dtype=float)
    except TypeError:  # pybigtools < 0.3: `missing`, NaN by default
        return np.asarray(bt.values(c, s, e), dtype=float)


def _reader_values(path, c, s, e):
    """Per-base values of [s, e) from each reader, NaN where there is no data."""
    bw = pyBigWig.open(path)
    try:
        out = {"pyBigWig": np.asarray(bw.values(c, s, e), dtype=float)}
    finally:
        bw.close()
    out["pybigtools"] = _bigtools_values(pybigtools.open(path), c, s, e)
    with bbi.open(path) as f:
        out["pybbi"] = np.asarray(f.fetch(c, s, e, missing=np.nan), dtype=float)
    return out


def _reader_intervals(path, c, s, e):
    """Items overlapping [s, e) from each reader, cut to it, as Records."""
    bw = pyBigWig.open(path)
    try:
        got = {"pyBigWig": [(c, *iv) for iv in (bw.intervals(c, s, e) or ())]}
    finally:
        bw.close()
    got["pybigtools"] = [(c, *r) for r in pybigtools.open(path).records(c, s, e)]
    with bbi.open(path) as f:
        df = f.fetch_intervals(c, s, e)
        got["pybbi"] = list(zip(df["chrom"], df["start"], df["end"], df["value"]))
    return {k: _clip(v, s, e) for k, v in got.items()}


def _assert_same_values(got, want, label):
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{label}: bases with data differ"
    ok = ~np.isnan(want)
    assert np.allclose(got[ok], want[ok], atol=0), f"{label}: values differ"


@pytest.fixture(scope="module")
def section_tracks(tmp_path_factory):
    """Two groups over chr1 (2 Mb: sparse background plus a 60 kb region covered
    ~70-fold), chr2 (1 Mb, sparse; its length is not a multiple of the bin size)
    and chrS (30 kb, densely covered up to the end), exported with each of
    SECTION_CONFIGS; the model's tracks for the same options."""
    import pandas as pd
    rng = np.random.default_rng(23)
    sizes = [("chr1", 2_000_000), ("chr2", 1_000_003), ("chrS", 30_007)]
    lengths = np.array([L for _, L in sizes])
    n_bg, n_dense, n_small = 4000, 20_000, 3000
    chrom = np.concatenate([rng.integers(0, 2, n_bg), np.zeros(n_dense, int), np.full(n_small, 2)])
    start = np.concatenate([(rng.random(n_bg) * (lengths[chrom[:n_bg]] - 1)).astype(np.int64),
                            rng.integers(500_000, 560_000, n_dense),
                            rng.integers(0, lengths[2] - 1, n_small)])
    end = np.minimum(start + rng.integers(30, 600, len(start)), lengths[chrom] + 100)  # some run past the end
    n_obs = 20
    cell = rng.integers(0, n_obs, len(start))
    labels = np.array(["A", "B"])[np.arange(n_obs) % 2]
    obs = pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(n_obs)])
    adata = make_anndata(sizes, chrom, start, end, cell, n_obs, obs=obs)
    out = {}
    for name, opts in SECTION_CONFIGS.items():
        d = tmp_path_factory.mktemp(name)
        paths = fragcov.export_coverage(adata, "cell_type", out_dir=str(d), suffix=".bw", n_jobs=2, **opts)
        expected = model.coverage_tracks(sizes, chrom, start, end, labels[cell], as_list=False, **opts)
        out[name] = dict(paths=paths, expected=expected)
    return dict(sizes=sizes, configs=out)


def _tracks(section_tracks):
    for name, t in section_tracks["configs"].items():
        for g, path in t["paths"].items():
            yield name, g, path, t["expected"][g]


def test_section_types_where_expected(section_tracks):
    """Count the sections of each type (and span) in every file."""
    counts = {}
    for name, g, path, _ in _tracks(section_tracks):
        layout = read_layout(path)
        c = {}
        for sec in layout.sections:
            key = (sec.type_name, sec.span if sec.type != 1 else None)
            c[key] = c.get(key, 0) + 1
        counts[(name, g)] = c
    for g in ("A", "B"):
        smoothed, per_bin, sparse = (counts[(n, g)] for n in ("smoothed", "per_bin", "sparse"))
        # smoothed: fixedStep at span 1, most blocks
        assert smoothed.get(("fixedStep", 1), 0) > 0.8 * sum(smoothed.values()), smoothed
        # per-bin: fixedStep at span 10 in the dense region, bedGraph for the background
        assert per_bin.get(("fixedStep", 10), 0) >= 3, per_bin
        assert per_bin.get(("bedGraph", None), 0) >= 3, per_bin
        assert not any(t == "fixedStep" and span != 10 for t, span in per_bin), per_bin
        # sparse per-bin: varStep at span 10, most blocks
        assert sparse.get(("varStep", 10), 0) > 0.5 * sum(sparse.values()), sparse


def test_sections_are_well_formed(section_tracks, many_blocks):
    """R-tree entries are the sections' bounds, which are the items' bounds; items
    tile no base twice; at most 1024 items per block; readers' inflate buffer is
    large enough; and the items, merged, are the model's records."""
    files = [(n, g, p, e) for n, g, p, e in _tracks(section_tracks)]
    files += [("many_blocks", g, p, many_blocks["expected"][g]) for g, p in many_blocks["paths"].items()]
    for name, g, path, exp in files:
        layout = read_layout(path)
        names = [c for c, _ in (section_tracks["sizes"] if name != "many_blocks" else many_blocks["sizes"])]
        assert layout.section_count == len(layout.sections)
        assert layout.uncompress_buf_size >= max(sec.raw_size for sec in layout.sections)
        prev = (-1, 0)
        items = []
        for sec in layout.sections:
            assert 0 < len(sec.values) <= 1024, (name, g)
            assert sec.index_start == sec.start == sec.starts[0], (name, g, sec)
            assert sec.index_end == sec.end == sec.ends[-1], (name, g, sec)
            assert np.all(sec.ends > sec.starts) and np.all(sec.starts[1:] >= sec.ends[:-1]), (name, g, sec)
            assert (sec.chrom, sec.start) >= prev, (name, g, "blocks out of order or overlapping")
            prev = (sec.chrom, sec.end)
            if sec.type == 3:
                assert sec.step == sec.span  # items touch
            items.append(model.Records(np.full(len(sec.starts), names[sec.chrom], dtype=object),
                                       sec.starts, sec.ends, sec.values.astype(float)))
        got = model.Records(*(np.concatenate([getattr(r, f) for r in items])
                              for f in ("chrom", "start", "end", "value")))
        msg = compare_records(merge_items(got), exp, label=f"{name} {g} sections")
        assert not msg, msg


def test_three_readers_match_the_model_at_every_base(section_tracks):
    for name, g, path, exp in _tracks(section_tracks):
        for c, L in section_tracks["sizes"]:
            want = _per_base(exp, c, 0, L)
            for reader, got in _reader_values(path, c, 0, L).items():
                _assert_same_values(got, want, f"{name} {g} {c} {reader}")
            sel = exp.chrom == c
            want_rec = model.Records(exp.chrom[sel], exp.start[sel], exp.end[sel], exp.value[sel])
            for reader, got in _reader_intervals(path, c, 0, L).items():
                msg = compare_records(merge_items(to_records(got)), want_rec, label=f"{name} {g} {c} {reader}")
                assert not msg, msg


def test_range_queries_across_section_boundaries(section_tracks):
    """Queries that start and end inside different sections, found through the
    R-tree by every reader."""
    rng = np.random.default_rng(7)
    names = [c for c, _ in section_tracks["sizes"]]
    for name, g, path, exp in _tracks(section_tracks):
        sections = read_layout(path).sections
        for _ in range(12):
            k = int(rng.integers(0, len(sections) - 1))
            a, b = sections[k], sections[min(k + int(rng.integers(1, 4)), len(sections) - 1)]
            if a.chrom != b.chrom:
                continue
            c = names[a.chrom]
            s = int(rng.integers(a.start, a.end))
            e = int(rng.integers(b.start, b.end)) + 1
            want = _per_base(exp, c, s, e)
            for reader, got in _reader_values(path, c, s, e).items():
                _assert_same_values(got, want, f"{name} {g} {c}:{s}-{e} {reader}")
            sel = exp.chrom == c
            want_rec = _clip(model.Records(exp.chrom[sel], exp.start[sel], exp.end[sel], exp.value[sel]), s, e)
            for reader, got in _reader_intervals(path, c, s, e).items():
                msg = compare_records(merge_items(to_records(got)), want_rec,
                                      label=f"{name} {g} {c}:{s}-{e} {reader}")
                assert not msg, msg


def test_zoom_levels_and_totals_describe_the_signal(section_tracks):
    """Zoom records and header totals are the signal's, not the items': recomputed
    from the model's records."""
    sizes = dict(section_tracks["sizes"])
    for name, g, path, exp in _tracks(section_tracks):
        bt = pybigtools.open(path)
        raw = Path(path).read_bytes()
        n_levels = struct.unpack_from("<H", raw, 6)[0]
        levels = [struct.unpack_from("<I", raw, 64 + 24 * k)[0] for k in range(n_levels)]
        assert levels[:2] == [FIRST_ZOOM, 4 * FIRST_ZOOM]
        for reduction in levels[:2]:
            for c in ("chr1", "chrS"):
                want = _expected_zoom(exp, c, sizes[c], reduction)
                got = {(s, e): d for s, e, d in bt.zoom_records(reduction, c)}
                assert list(got) == list(want), (name, g, reduction, c)
                for key, (n, lo, hi, total) in want.items():
                    d = got[key]
                    assert d["bases_covered"] == n
                    assert np.isclose(d["min_val"], lo, rtol=1e-6) and np.isclose(d["max_val"], hi, rtol=1e-6)
                    assert np.isclose(d["sum"], total, rtol=1e-5)
        w = exp.end - exp.start
        bw = pyBigWig.open(path)
        h = bw.header()
        bw.close()
        assert h["nBasesCovered"] == w.sum(), (name, g)
        assert np.isclose(h["sumData"], (exp.value * w).sum(), rtol=1e-6)
        with bbi.open(path) as f:
            summary = f.info["summary"]
        assert summary["basesCovered"] == w.sum()
        assert np.isclose(summary["min"], exp.value.min(), rtol=1e-6)
        assert np.isclose(summary["max"], exp.value.max(), rtol=1e-6)
        assert np.isclose(summary["sum"], (exp.value * w).sum(), rtol=1e-6)
