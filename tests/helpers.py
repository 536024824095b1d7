"""Shared test helpers: fixture readers, track readers and track comparison.

Plain functions, imported with ``from helpers import ...`` (pytest fixtures live in
conftest.py). Tests never read anything outside ``tests/data`` and their tmp dirs.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import Records

DATA = Path(__file__).resolve().parent / "data"


EMPTY_GROUP_WARNING = "group {!r} has no fragments to count: wrote an empty track"
SINGLE_END_LENGTH_WARNING = ("single-end reads are not filtered by fragment length; "
                             "min/max_frag_length are ignored")


@contextmanager
def expect_warnings(*messages):
    """Each of ``messages`` (exact text, or a compiled regex) is warned at least
    once inside the block, and no other plain UserWarning (fragcov's kind) is."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    got = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]

    def hit(m, text):
        return bool(m.search(text)) if isinstance(m, re.Pattern) else m == text
    for m in messages:
        assert any(hit(m, t) for t in got), f"expected warning {m!r}; got {got}"
    unexpected = [t for t in got if not any(hit(m, t) for m in messages)]
    assert not unexpected, f"unexpected warnings {unexpected}"


def require_snapatac2(version: str = "2.9.0"):
    """The snapatac2 module (the reference implementation) for live comparisons.

    Without it (or with another version) the test is skipped, unless the
    environment variable FRAGCOV_REQUIRE_SNAPATAC2=1 is set (CI sets it): then the
    test fails, so CI can never skip the live comparisons silently."""
    try:
        import snapatac2
    except ImportError as err:
        problem = f"snapatac2 {version} is not installed ({err})"
    else:
        if snapatac2.__version__ == version:
            import logging
            logging.getLogger("snapatac2").setLevel(logging.WARNING)
            return snapatac2
        problem = f"needs snapatac2 {version}, found {snapatac2.__version__}"
    if os.environ.get("FRAGCOV_REQUIRE_SNAPATAC2", "") not in ("", "0"):
        pytest.fail(f"{problem}; FRAGCOV_REQUIRE_SNAPATAC2 is set, so this fails instead of "
                    "skipping", pytrace=False)
    pytest.skip(problem)


# ----------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------

def read_chrom_sizes(path) -> list[tuple[str, int]]:
    out = []
    with open(path) as fh:
        for line in fh:
            if line.strip():
                name, length = line.split()[:2]
                out.append((name, int(length)))
    return out


def read_groups(path) -> dict[str, str]:
    """barcode<TAB>group file (no header) -> {barcode: group}."""
    df = pd.read_csv(path, sep="\t", header=None, names=["barcode", "group"], dtype=str)
    return dict(zip(df["barcode"], df["group"]))


def read_fragments(path) -> dict[str, np.ndarray]:
    """10x fragment file (plain or gz) -> dict of arrays.

    Keys: chrom (str), start, end (int64), barcode (str), count (int64) and
    strand (str '+'/'-', or None when the file has no 6th column). Lines
    starting with '#' are comments. One entry per line.
    """
    df = pd.read_csv(path, sep="\t", header=None, comment="#", dtype={0: str, 3: str})
    out = {
        "chrom": df[0].to_numpy(dtype=object),
        "start": df[1].to_numpy(dtype=np.int64),
        "end": df[2].to_numpy(dtype=np.int64),
        "barcode": df[3].to_numpy(dtype=object),
        "count": df[4].to_numpy(dtype=np.int64) if df.shape[1] > 4 else None,
        "strand": df[5].to_numpy(dtype=object).astype(str) if df.shape[1] > 5 else None,
    }
    return out


# ----------------------------------------------------------------------------
# Track readers
# ----------------------------------------------------------------------------

def _open_text(path):
    path = str(path)
    low = path.lower()
    if low.endswith(".gz"):
        return gzip.open(path, "rt")
    if low.endswith(".zst"):
        import zstandard
        fh = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(fh, closefd=True)
        return io.TextIOWrapper(reader, encoding="utf-8")
    return open(path, "r")


def read_bedgraph_text(path) -> str:
    with _open_text(path) as fh:
        return fh.read()


def read_bedgraph(path) -> Records:
    """bedGraph (plain/.gz/.zst, decided by file name) -> Records (column form)."""
    text = read_bedgraph_text(path)
    lines = [ln for ln in text.splitlines()
             if ln and not ln.startswith(("track", "browser", "#"))]
    if not lines:
        return empty_records()
    df = pd.read_csv(io.StringIO("\n".join(lines)), sep="\t", header=None,
                     dtype={0: str, 1: np.int64, 2: np.int64, 3: np.float64})
    assert df.shape[1] == 4, f"{path}: bedGraph must have 4 columns, got {df.shape[1]}"
    return Records(df[0].to_numpy(dtype=object), df[1].to_numpy(np.int64),
                   df[2].to_numpy(np.int64), df[3].to_numpy(np.float64))


def read_bigwig(path, chrom_order=None, items=False) -> Records:
    """bigWig -> Records via pyBigWig ``bw.intervals(chrom)``.

    Chromosomes are visited in ``chrom_order`` (default: the header order).
    A bigWig stores *items* (docs/spec.md section 4.7.7: a fixedStep or varStep
    section splits a record into per-span items), so touching items of equal
    value are merged back into the track's records, exactly (float32
    equality), unless ``items=True``.
    """
    import pyBigWig
    bw = pyBigWig.open(str(path))
    try:
        assert bw is not None and bw.isBigWig(), f"{path} is not a bigWig"
        chroms = bw.chroms()
        order = list(chroms) if chrom_order is None else [c for c in chrom_order if c in chroms]
        cs, ss, es, vs = [], [], [], []
        for c in order:
            iv = bw.intervals(c) or ()
            if not iv:
                continue
            a = np.asarray(iv, dtype=np.float64)
            cs.append(np.full(len(a), c, dtype=object))
            ss.append(a[:, 0].astype(np.int64))
            es.append(a[:, 1].astype(np.int64))
            vs.append(a[:, 2])
    finally:
        if bw is not None:
            bw.close()
    if not cs:
        return empty_records()
    rec = Records(np.concatenate(cs), np.concatenate(ss), np.concatenate(es), np.concatenate(vs))
    return rec if items else merge_items(rec)


def merge_items(rec: Records) -> Records:
    """Touching items of one chromosome with the same float32 value as one record."""
    if len(rec) == 0:
        return rec
    v = rec.value.astype(np.float32)
    joins = np.zeros(len(rec), dtype=bool)
    joins[1:] = (rec.chrom[1:] == rec.chrom[:-1]) & (rec.start[1:] == rec.end[:-1]) & (v[1:] == v[:-1])
    first = np.flatnonzero(~joins)
    last = np.append(first[1:], len(rec)) - 1
    return Records(rec.chrom[first], rec.start[first], rec.end[last], rec.value[first])


def read_track(path, chrom_order=None) -> Records:
    low = str(path).lower()
    if low.endswith((".bw", ".bigwig")):
        return read_bigwig(path, chrom_order)
    return read_bedgraph(path)


def empty_records() -> Records:
    return Records(np.array([], dtype=object), np.array([], np.int64),
                   np.array([], np.int64), np.array([], np.float64))


def to_records(x) -> Records:
    """Records, or a list of (chrom, start, end, value) tuples -> Records."""
    if isinstance(x, Records):
        return x
    x = list(x)
    if not x:
        return empty_records()
    c, s, e, v = zip(*x)
    return Records(np.array(c, dtype=object), np.array(s, np.int64),
                   np.array(e, np.int64), np.array(v, np.float64))


# ----------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------

def merge_float32(rec) -> Records:
    """Round values to float32, then merge adjacent records (same chromosome,
    touching) with equal float32 values and drop zero-valued records: the
    canonical form of docs/spec.md section 3.8 for a track written in float32."""
    r = to_records(rec)
    if len(r) == 0:
        return r
    v32 = r.value.astype(np.float32)
    new = np.ones(len(r), dtype=bool)
    new[1:] = ((v32[1:] != v32[:-1]) | (r.start[1:] != r.end[:-1])
               | (r.chrom[1:] != r.chrom[:-1]))
    idx = np.flatnonzero(new)
    last = np.append(idx[1:] - 1, len(r) - 1)
    out = Records(r.chrom[idx], r.start[idx], r.end[last], r.value[idx])
    keep = out.value.astype(np.float32) != 0
    return Records(out.chrom[keep], out.start[keep], out.end[keep], out.value[keep])


def float32_ulps(a, b) -> np.ndarray:
    """Distance in float32 units in the last place between a and b (both rounded
    to float32 first); 0 means the same float32."""
    def ordered(x):
        i = np.asarray(x, dtype=np.float64).astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)  # monotone in the float value
    return np.abs(ordered(a) - ordered(b))


def compare_records(actual, expected, *, max_ulps=0, check_order=True, label="") -> str | None:
    """Compare a track against an independently computed one. Returns None when
    they agree, else a message describing the first differing record.

    Only ``expected`` is put in canonical form (:func:`merge_float32`: float32
    values, equal touching neighbours merged, zeros dropped); ``actual`` is taken
    as written, so an unmerged neighbour or a zero record in it is a difference.
    Coordinates must match exactly; values must be the *same float32*
    (``max_ulps=0``, the default): every track is float32 (bigWig stores float32,
    a bedGraph value reads back to the writer's float32), and an expected value is
    computed in float64 by the rule's own formula and rounded once to float32, so
    any disagreement is a wrong number, not rounding noise. Callers that rescale
    a SnapATAC2 track (a second rounding) pass ``max_ulps=1`` and say why.
    With ``check_order=False`` both sides are sorted by (chrom, start) first.
    """
    a = to_records(actual)
    b = merge_float32(expected)
    if not check_order:
        a, b = _sorted(a), _sorted(b)
    n = min(len(a), len(b))
    same_c = a.chrom[:n] == b.chrom[:n]
    same_s = a.start[:n] == b.start[:n]
    same_e = a.end[:n] == b.end[:n]
    ulps = float32_ulps(a.value[:n], b.value[:n])
    ok = same_c & same_s & same_e & (ulps <= max_ulps)
    bad = np.flatnonzero(~ok)
    if len(bad) == 0 and len(a) == len(b):
        return None
    i = int(bad[0]) if len(bad) else n

    def rec(r, j):
        if j >= len(r):
            return "<none>"
        return f"{r.chrom[j]}\t{r.start[j]}\t{r.end[j]}\t{float(np.float32(r.value[j]))!r}"
    msg = [(f"{label}: tracks differ (actual {len(a)} records, expected {len(b)}; "
            f"{len(bad)} of the first {n} differ, allowed {max_ulps} float32 ulps); "
            f"first difference at record {i}:"),
           f"  actual:   {rec(a, i)}", f"  expected: {rec(b, i)}"]
    if i < n and same_c[i] and same_s[i] and same_e[i]:
        msg.append(f"  values {int(ulps[i])} float32 ulps apart")
    if i > 0:
        msg.append(f"  previous (equal): {rec(b, i - 1)}")
    return "\n".join(msg)


def assert_tracks_equal(actual, expected, **kw):
    msg = compare_records(actual, expected, **kw)
    assert msg is None, msg


def rescaled_ulps(reference_path) -> int:
    """Float32 ulps allowed when a SnapATAC2 reference track is rescaled (its CPM/RPKM
    by summed length / count, docs/spec.md section 3.5) before the comparison.

    SnapATAC2's bedGraph values are float64 digits: the rescaled float64 value rounds
    to the same float32 (0 ulps, measured on every fixture). Its bigWig values are
    already float32, and scaling a rounded float32 can land one float32 ulp away
    (89 of 125,081 records of pbmc_mini/default_rpkm): 1 ulp there."""
    return 1 if str(reference_path).lower().endswith((".bw", ".bigwig")) else 0


def written_record_problems(rec, chrom_order=None, label="") -> str | None:
    """None when a track *as written* is in the form of docs/spec.md section 3.8,
    else the first problem: a record with start >= end, a zero (or non-finite)
    value, records out of order or overlapping, a chromosome split in two blocks
    or out of ``chrom_order``, or two touching neighbours with the same float32
    value (which must have been one record)."""
    r = to_records(rec)
    if len(r) == 0:
        return None
    v32 = r.value.astype(np.float32)

    def at(k, what):
        return (f"{label}: {what} at record {k}: "
                f"{r.chrom[k]}\t{r.start[k]}\t{r.end[k]}\t{float(v32[k])!r}"
                + (f" (after {r.chrom[k - 1]}\t{r.start[k - 1]}\t{r.end[k - 1]}"
                   f"\t{float(v32[k - 1])!r})" if k > 0 else ""))
    bad = np.flatnonzero(r.end <= r.start)
    if len(bad):
        return at(int(bad[0]), "empty record")
    bad = np.flatnonzero((v32 == 0) | ~np.isfinite(v32))
    if len(bad):
        return at(int(bad[0]), "zero or non-finite value written")
    same = r.chrom[1:] == r.chrom[:-1]
    bad = np.flatnonzero(same & (r.start[1:] < r.end[:-1]))
    if len(bad):
        return at(int(bad[0]) + 1, "record overlaps or precedes its neighbour")
    bad = np.flatnonzero(same & (r.start[1:] == r.end[:-1]) & (v32[1:] == v32[:-1]))
    if len(bad):
        return at(int(bad[0]) + 1, "equal touching neighbours not merged")
    blocks = [c for k, c in enumerate(r.chrom) if k == 0 or c != r.chrom[k - 1]]
    if len(set(blocks)) != len(blocks):
        return f"{label}: a chromosome appears in more than one block: {blocks}"
    if chrom_order is not None:
        rank = {c: i for i, c in enumerate(chrom_order)}
        ranks = [rank.get(c, -1) for c in blocks]
        if -1 in ranks or ranks != sorted(ranks):
            return f"{label}: chromosomes {blocks} not in reference order {list(chrom_order)}"
    return None


def assert_track_matches(path, expected, chrom_order=None, *, max_ulps=0, label=""):
    """A track file written by fragcov: its records as written are canonical
    (:func:`written_record_problems`) and equal ``expected`` (:func:`compare_records`)."""
    got = read_track(path, chrom_order)
    problems = written_record_problems(got, chrom_order, label=label or str(path))
    assert problems is None, problems
    msg = compare_records(got, expected, max_ulps=max_ulps, label=label or str(path))
    assert msg is None, msg



def assert_all_tracks_match(paths: dict, expected: dict, chrom_order, *, label=""):
    """Every written track ({group: path}) equals the model's ({group: Records}), and no group is
    missing or extra."""
    assert set(paths) == set(expected), label
    for g, p in paths.items():
        assert_track_matches(p, expected[g], chrom_order, label=f"{label} {g}")


def cells_per_label(labels) -> dict:
    """{label: number of cells} of per-cell labels (None: unlabelled, not counted)."""
    out: dict = {}
    for g in labels:
        if g is not None:
            out[g] = out.get(g, 0) + 1
    return out

def _sorted(r: Records) -> Records:
    o = np.lexsort((r.start, r.chrom.astype(str)))
    return Records(r.chrom[o], r.start[o], r.end[o], r.value[o])


# ----------------------------------------------------------------------------
# SnapATAC2 2.9.0 reference tracks in tests/data (see data/README.md)
# ----------------------------------------------------------------------------

SNAP = "snapatac2_2.9.0"

# (dataset, config, group, file suffix, export_coverage options besides groupby/suffix);
# region file names are relative to the dataset folder.
_BL = dict(blacklist="blacklist.bed", include_for_norm="include_for_norm.bed",
           exclude_for_norm=["chr21:33000000-34000000"])
FIXTURE_CASES = [
    ("pbmc_mini", "default_rpkm", "CD4 Naive", ".bw", {}),
    ("pbmc_mini", "default_rpkm_bedgraph", "CD8 Memory", ".bedgraph.zst", {}),
    ("pbmc_mini", "raw_bin1", "CD4 Naive", ".bedgraph.zst",
     dict(normalization=None, bin_size=1, max_frag_length=None)),
    ("pbmc_mini", "cpm_insertion", "CD4 Naive", ".bedgraph.zst",
     dict(normalization="CPM", counting_strategy="insertion")),
    ("pbmc_mini", "bpm_blacklist_norm_regions", "CD8 Memory", ".bedgraph.zst",
     dict(normalization="BPM", **_BL)),
    ("pbmc_mini", "cpm_insertion_blacklist_norm_regions", "CD4 Naive", ".bedgraph.zst",
     dict(normalization="CPM", counting_strategy="insertion", **_BL)),
    ("pbmc_mini", "len100to300_raw", "CD14 Mono", ".bedgraph.gz",
     dict(normalization=None, min_frag_length=100, max_frag_length=300)),
    ("smooth_tiny", "smooth51_bin20_raw", "CD14 Mono", ".bedgraph.zst",
     dict(normalization=None, bin_size=20, smooth_base=51)),
    ("smooth_tiny", "smooth4_bin10_cpm", "CD14 Mono", ".bedgraph.zst",
     dict(normalization="CPM", bin_size=10, smooth_base=4)),
    ("smooth_tiny", "smooth4_bin10_cpm", "CD4 Naive", ".bedgraph.zst",
     dict(normalization="CPM", bin_size=10, smooth_base=4)),
    ("smooth_tiny", "smooth100_bin1_bpm_insertion", "CD14 Mono", ".bedgraph.zst",
     dict(normalization="BPM", bin_size=1, smooth_base=100, counting_strategy="insertion")),
    ("smooth_tiny", "smooth100_bin1_bpm_insertion", "CD4 Naive", ".bedgraph.zst",
     dict(normalization="BPM", bin_size=1, smooth_base=100, counting_strategy="insertion")),
    # single-end: every read its own barcode, all reads one group; files are named by config
    ("single_end", "fragment_bin1_raw_maxlen50", "all", ".bedgraph.gz",
     dict(bin_size=1, normalization=None, max_frag_length=50)),
    ("single_end", "insertion_bin1_raw_maxlen50", "all", ".bedgraph.gz",
     dict(bin_size=1, normalization=None, max_frag_length=50, counting_strategy="insertion")),
    # SnapATAC2's own Rust unit test: bin_size=1, no normalization
    ("snapatac2_core_test", "coverage", "all", ".bdg.gz",
     dict(bin_size=1, normalization=None)),
]

# edges/ (data/edges/make_data.py): chromosome lengths that are not multiples of
# bin_size, fragments touching region edges; configs where SnapATAC2 and
# docs/spec.md agree exactly (insertion/raw/BPM as they are, RPKM rescaled)
_EDGE_REGIONS = dict(blacklist="blacklist.bed", include_for_norm="include_for_norm.bed",
                     exclude_for_norm=["chrA:2000-2100", "chrB:1200-1201"])
_EDGE_CONFIGS = [
    ("partial_bin10_raw", dict(bin_size=10, normalization=None)),
    ("partial_bin7_smooth5_raw", dict(bin_size=7, normalization=None, smooth_base=5)),
    ("regions_bin1_raw", dict(bin_size=1, normalization=None, blacklist="blacklist.bed")),
    ("regions_bin1_insertion_raw", dict(bin_size=1, normalization=None,
                                        counting_strategy="insertion", blacklist="blacklist.bed")),
    ("regions_bin1_cpm_insertion", dict(bin_size=1, normalization="CPM",
                                        counting_strategy="insertion", **_EDGE_REGIONS)),
    ("regions_bin5_rpkm", dict(bin_size=5, normalization="RPKM", **_EDGE_REGIONS)),
]
FIXTURE_CASES += [("edges", cfg, g, ".bedgraph.gz", kw) for cfg, kw in _EDGE_CONFIGS
                  for g in ("g1", "g2")]

# edges/ configs where SnapATAC2 departs from docs/spec.md at the partial last bin
# (README "Last, partial bin"); compared through snapatac2_partial_bin_to_spec
PARTIAL_BIN_CASES = [("edges", cfg, g, ".bedgraph.gz", kw) for cfg, kw in [
    ("partial_bin7_insertion_raw", dict(bin_size=7, normalization=None,
                                        counting_strategy="insertion")),
    ("partial_bin10_bpm", dict(bin_size=10, normalization="BPM")),
] for g in ("g1", "g2")]


def fixture_case_id(case) -> str:
    ds, cfg, grp = case[:3]
    return f"{ds}/{cfg}/{grp}".replace(" ", "_")


def fixture_options(case) -> dict:
    """export_coverage options of a case, with region file names made absolute."""
    ds, _, _, _, kw = case
    opts = dict(kw)
    for k in ("blacklist", "include_for_norm", "exclude_for_norm"):
        if isinstance(opts.get(k), str):
            opts[k] = str(DATA / ds / opts[k])
    return opts


def fixture_track_path(case) -> Path:
    ds, cfg, grp, suffix, _ = case
    if ds == "single_end":
        return DATA / ds / SNAP / f"{cfg}{suffix}"
    if ds == "snapatac2_core_test":
        return DATA / ds / f"{cfg}{suffix}"
    return DATA / ds / SNAP / cfg / f"{grp}{suffix}"


_DATASETS: dict[str, dict] = {}


def load_dataset(name) -> dict:
    """Fragments of a fixture dataset, one entry per fragment line (count ignored).

    Returns dict with chrom_sizes, chrom (names), start, end, strand (or None),
    barcode, label (per-fragment group), cells (barcodes in first-seen order),
    cell_label (per cell).
    """
    if name in _DATASETS:
        return _DATASETS[name]
    d = DATA / name
    if name == "single_end":
        fr = read_fragments(d / "fragments_single.tsv.gz")
        chrom_sizes = read_chrom_sizes(d / "chrom.sizes")
        label_of = None
    elif name == "snapatac2_core_test":
        fr = read_fragments(d / "fragments.tsv.gz")
        chrom_sizes = [("chr1", 248956422), ("chr2", 242193529)]
        label_of = None
    else:
        fr = read_fragments(d / "fragments.tsv.gz")
        chrom_sizes = read_chrom_sizes(d / "chrom.sizes")
        label_of = read_groups(d / "groups.tsv")
    cells = list(dict.fromkeys(fr["barcode"].tolist()))
    if label_of is None:
        cell_label = ["all"] * len(cells)
        label = np.full(len(fr["start"]), "all", dtype=object)
    else:
        cell_label = [label_of.get(c) for c in cells]
        label = np.array([label_of.get(b) for b in fr["barcode"]], dtype=object)
    ds = dict(fr, chrom_sizes=chrom_sizes, label=label, cells=cells, cell_label=cell_label)
    _DATASETS[name] = ds
    return ds


def model_for_case(case, *, snapatac2_denominator=False, return_stats=False):
    """The model's track (Records) for one fixture case."""
    import model
    ds = load_dataset(case[0])
    opts = dict(bin_size=10, normalization="RPKM", max_frag_length=2000)
    opts.update(fixture_options(case))
    grp = case[2]
    sel = ds["label"] == grp
    names = [c for c, _ in ds["chrom_sizes"]]
    index = {c: i for i, c in enumerate(names)}
    chrom = np.array([index.get(c, -1) for c in ds["chrom"][sel]], dtype=np.int64)
    known = chrom >= 0
    strand = None if ds["strand"] is None else ds["strand"][sel][known]
    units = model.make_units(chrom[known], ds["start"][sel][known], ds["end"][sel][known],
                             strand, min_frag_length=opts.pop("min_frag_length", None),
                             max_frag_length=opts.pop("max_frag_length"),
                             counting_strategy=opts.pop("counting_strategy", "fragment"))
    return model.group_track(units, ds["chrom_sizes"], snapatac2_denominator=snapatac2_denominator,
                             return_stats=return_stats, **opts)


# ----------------------------------------------------------------------------
# AnnData in the docs/spec.md section 2 layout
# ----------------------------------------------------------------------------

def snapatac2_partial_bin_to_spec(case, snap: Records) -> Records:
    """SnapATAC2 2.9.0's track of a PARTIAL_BIN_CASES case turned into the
    docs/spec.md track, undoing exactly the two differences README.md documents
    for the last, partial bin of a chromosome (length L not a multiple of b):

    (a) SnapATAC2 rounds a unit out to bin edges before cutting at L, so an
        insertion at p in [L, ceil(L/b)*b) still adds 1 to the last bin; the spec
        drops it: subtract, per chromosome, the number k of such insertions from
        the last bin [floor((L-1)/b)*b, L).
    (b) SnapATAC2's BPM total S' leaves the partial last bins out; the spec's S
        counts every bin: multiply every value by S' / S, with S' = S minus the
        counts of the partial last bins.
    Only bedGraph references (float64 digits) are used, so the result is compared
    at 0 float32 ulps.
    """
    _, _, _, _, kw = case
    b = kw["bin_size"]
    sizes = dict(load_dataset(case[0])["chrom_sizes"])
    r = to_records(snap)
    chrom, start, end, value = (list(x) for x in (r.chrom, r.start, r.end, r.value))
    if kw.get("counting_strategy") == "insertion":  # (a)
        assert kw.get("normalization") is None, "(a) is written for raw counts"
        ds = load_dataset(case[0])
        assert (ds["end"] - ds["start"]).max() <= 2000, "no fragment may be length-filtered"
        sel = ds["label"] == case[2]
        for c, L in sizes.items():
            last = (L - 1) // b * b
            if last + b == L:
                continue  # no partial bin
            ends = ds["end"][sel & (ds["chrom"] == c)]
            starts = ds["start"][sel & (ds["chrom"] == c)]
            ins = np.concatenate([starts, ends - 1])  # both insertions of each fragment
            k = int(((ins >= L) & (ins < last + b)).sum())
            i = next((j for j in range(len(chrom)) if chrom[j] == c and start[j] <= last < end[j]),
                     None)
            assert i is not None and end[i] == L, f"no SnapATAC2 record over the last bin of {c}"
            if start[i] < last:  # split off the last bin
                chrom.insert(i + 1, c)
                start.insert(i + 1, last)
                end.insert(i + 1, L)
                value.insert(i + 1, value[i])
                end[i] = last
                i += 1
            value[i] -= k
    if kw.get("normalization") == "BPM":  # (b)
        raw = model_for_case((case[0], case[1], case[2], case[3], {**kw, "normalization": None}))
        _, stats = model_for_case(case, return_stats=True)
        S = stats["S"]
        partial = 0
        for c, L in sizes.items():
            last = (L - 1) // b * b
            if last + b != L:
                on_last = (raw.chrom == c) & (raw.start <= last) & (raw.end > last)
                partial += int(raw.value[on_last].sum())
        assert partial > 0, "no partial last bin holds a count: (b) would be vacuous"
        value = [v * ((S - partial) / S) for v in value]
    return to_records(list(zip(chrom, start, end, value)))


def make_anndata(chrom_sizes, chrom, start, end, cell, n_obs, obs=None, strand=None):
    """Build an AnnData with fragments in the docs/spec.md section 2 layout.

    chrom: chromosome index per fragment; cell: row (cell index) per fragment.
    Paired-end (strand None): obsm["fragment_paired"], column = offset + start,
    value = length (uint32). Single-end: obsm["fragment_single"], value int32
    +len (column = start) or -len (column = end-1). Rows are sorted by column;
    repeated columns are kept (non-canonical CSR). indices/indptr are int64.
    """
    import anndata as ad
    import scipy.sparse as sp
    lengths = np.array([L for _, L in chrom_sizes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    chrom = np.asarray(chrom, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    cell = np.asarray(cell, dtype=np.int64)
    length = end - start
    if strand is None:
        col = offsets[chrom] + start
        data = length.astype(np.uint32)
        key = "fragment_paired"
    else:
        fwd = np.asarray(strand).astype(str) == "+"
        col = offsets[chrom] + np.where(fwd, start, end - 1)
        data = np.where(fwd, length, -length).astype(np.int32)
        key = "fragment_single"
    order = np.lexsort((data, col, cell))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_obs))])
    m = sp.csr_matrix((data[order], col[order].astype(np.int64), indptr.astype(np.int64)),
                      shape=(n_obs, int(lengths.sum())))
    m.indices = m.indices.astype(np.int64)
    m.indptr = m.indptr.astype(np.int64)
    if obs is None:
        obs = pd.DataFrame(index=[f"cell{i}" for i in range(n_obs)])
    a = ad.AnnData(obs=obs)
    a.obsm[key] = m
    a.uns["reference_sequences"] = pd.DataFrame({
        "reference_seq_name": [str(c) for c, _ in chrom_sizes],
        "reference_seq_length": lengths.astype(np.uint64),
    })
    return a


def assert_import_matches(adata, name):
    """Compare an imported AnnData with SnapATAC2's result stored in expected_<name>.npz."""
    e = np.load(DATA / "import" / f"expected_{name}.npz")
    key = str(e["key"])
    assert list(adata.obsm.keys()) == [key]
    m = adata.obsm[key]
    if hasattr(m, "to_memory"):  # import_fragments(file=...) keeps the matrix on disk (lazy)
        m = m.to_memory()
    assert tuple(m.shape) == tuple(e["shape"])
    # SnapATAC2's in-memory result lets scipy shrink index arrays to int32 when
    # they fit; its .h5ad files (and fragcov, always) use int64.
    assert m.indptr.dtype == np.int64 and m.indices.dtype == np.int64
    assert m.data.dtype == e["data"].dtype
    np.testing.assert_array_equal(m.indptr, e["indptr"])
    np.testing.assert_array_equal(m.indices, e["indices"])
    np.testing.assert_array_equal(m.data, e["data"])
    assert list(adata.obs_names) == list(e["obs_names"])
    assert list(adata.obs.columns) == ["n_fragment", "frac_dup", "frac_mito"]
    for col in ["n_fragment", "frac_dup", "frac_mito"]:
        got = adata.obs[col].to_numpy()
        assert got.dtype == e[col].dtype, col
        np.testing.assert_array_equal(got, e[col], err_msg=col)
    ref = adata.uns["reference_sequences"]
    assert list(ref.columns) == ["reference_seq_name", "reference_seq_length"]
    assert list(ref["reference_seq_name"]) == list(e["ref_names"])
    assert ref["reference_seq_length"].dtype == np.uint64
    np.testing.assert_array_equal(ref["reference_seq_length"].to_numpy(), e["ref_lengths"])


def dataset_anndata(name):
    """AnnData (docs/spec.md section 2 layout) of a fixture dataset, obs["cell_type"] = group."""
    ds = load_dataset(name)
    names = [c for c, _ in ds["chrom_sizes"]]
    index = {c: i for i, c in enumerate(names)}
    chrom = np.array([index.get(c, -1) for c in ds["chrom"]], dtype=np.int64)
    cell_index = {c: i for i, c in enumerate(ds["cells"])}
    cell = np.array([cell_index[b] for b in ds["barcode"]], dtype=np.int64)
    keep = chrom >= 0
    obs = pd.DataFrame({"cell_type": pd.Categorical(ds["cell_label"])},
                       index=pd.Index(ds["cells"], dtype=str))
    return make_anndata(ds["chrom_sizes"], chrom[keep], ds["start"][keep], ds["end"][keep],
                        cell[keep], len(ds["cells"]), obs=obs,
                        strand=None if ds["strand"] is None else ds["strand"][keep])


# ----------------------------------------------------------------------------
# The project's version: pyproject.toml is its one source
# ----------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def project_version() -> str:
    """``[project] version`` of pyproject.toml."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def interrupt_at_gate(script: str, args, *, gate: str, tmp_path) -> None:
    """Runs `script` in a fresh interpreter with the core's test gate `gate` armed (the work is held
    there until it is cancelled: cpp/src/util/test_gate.hpp), sends SIGINT once a thread holds at the
    gate, and asserts that the script ended with KeyboardInterrupt. The gate makes the signal land
    while the C++ work runs, whatever the machine's speed."""
    marker = tmp_path / "gate-reached"
    env = dict(os.environ, FRAGCOV_TEST_GATE=f"{gate}:{marker}")
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "READY"
        while not marker.exists():  # waits for the event; the work cannot end before it (held at the gate)
            if proc.poll() is not None:
                raise AssertionError(f"ended before reaching the gate {gate!r}: {proc.stderr.read()[-2000:]}")
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    marker.unlink()
    assert "DONE" not in stdout
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr, stderr[-2000:]
