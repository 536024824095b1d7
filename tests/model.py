"""Independent pure-numpy reference model of docs/spec.md section 3 (and 4.9).

It computes, for every cell group, the coverage track that ``export_coverage``
must write, as run-length records ``(chrom, start, end, value)`` (section 3.8).
It is written for clarity, not speed, but is fully vectorised and works on a
sparse *step-function* representation, so whole-genome data at ``bin_size=1``
is fine.

Representation used throughout: a per-chromosome step function is a pair of
arrays ``(pos, cnt)`` with ``len(pos) == len(cnt) + 1``; the function has the
integer value ``cnt[k]`` on ``[pos[k], pos[k+1])`` and 0 outside
``[pos[0], pos[-1])``.  All counting (including the smoothing window sums) is
done with exact integers; each value is then one float64 division written as
docs/spec.md section 3.6 states it (``v / (N/1e6)``, ``v / (N/1e6 * (bin_size/1e3))``,
``v / (S/1e6)``, ``v / (L/G)``, ``v / n_cells``, ``v / (Q/1e4)``; smoothed:
``window sum / (w * denominator)``), then multiplied by ``scale_factor``, and the
writer rounds it once to float32.  Equal-value merging is done on the exact integers,
so it never depends on floating-point noise.

Main entry point: :func:`coverage_tracks`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "coverage_tracks",
    "group_track",
    "make_units",
    "norm_stats",
    "parse_regions",
    "Records",
]


# ----------------------------------------------------------------------------
# Regions
# ----------------------------------------------------------------------------

_REGION_RE = re.compile(r"^\s*([^:\s]+):([\d,]+)-([\d,]+)\s*$")


def parse_regions(regions) -> list[tuple[str, int, int]]:
    """Regions as a list of ``(chrom, start, end)``.

    Accepts ``None`` (-> ``[]``), a list of ``"chr1:1,000-2,000"`` strings
    (0-based half-open, commas allowed), a list of tuples, or a BED file path
    (str or ``os.PathLike`` that is not a region string).
    """
    if regions is None:
        return []
    if isinstance(regions, (str, bytes)) and not _REGION_RE.match(str(regions)):
        regions = _read_bed(regions)
    elif hasattr(regions, "__fspath__"):
        regions = _read_bed(regions)
    elif isinstance(regions, str):
        regions = [regions]
    out = []
    for r in regions:
        if isinstance(r, str):
            m = _REGION_RE.match(r)
            if not m:
                raise ValueError(f"bad region string {r!r}")
            out.append((m.group(1), int(m.group(2).replace(",", "")),
                        int(m.group(3).replace(",", ""))))
        else:
            c, s, e = r
            out.append((str(c), int(s), int(e)))
    return out


def _read_bed(path) -> list[tuple[str, int, int]]:
    out = []
    with open(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.split()
            out.append((f[0], int(f[1]), int(f[2])))
    return out


class _RegionIndex:
    """Merged, sorted half-open regions per chromosome for overlap queries."""

    def __init__(self, regions, chrom_index: dict[str, int]):
        by_chrom: dict[int, list[tuple[int, int]]] = {}
        for c, s, e in parse_regions(regions):
            if c in chrom_index and e > s:  # empty regions overlap nothing
                by_chrom.setdefault(chrom_index[c], []).append((s, e))
        self.starts: dict[int, np.ndarray] = {}
        self.ends: dict[int, np.ndarray] = {}
        for ci, iv in by_chrom.items():
            iv.sort()
            ms, me = [], []
            for s, e in iv:
                if ms and s <= me[-1]:  # touching regions may merge: same overlap set
                    me[-1] = max(me[-1], e)
                else:
                    ms.append(s)
                    me.append(e)
            self.starts[ci] = np.asarray(ms, dtype=np.int64)
            self.ends[ci] = np.asarray(me, dtype=np.int64)

    def overlaps(self, chrom: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Boolean mask: unit [start, end) overlaps at least one region."""
        hit = np.zeros(len(chrom), dtype=bool)
        for ci, rs in self.starts.items():
            sel = np.flatnonzero(chrom == ci)
            if len(sel) == 0:
                continue
            re_ = self.ends[ci]
            # first region whose end is > unit start; overlap iff it starts < unit end
            k = np.searchsorted(re_, start[sel], side="right")
            ok = k < len(rs)
            kk = np.minimum(k, len(rs) - 1)
            hit[sel] = ok & (rs[kk] < end[sel]) & (end[sel] > start[sel])
        return hit


# ----------------------------------------------------------------------------
# Units (docs/spec.md sections 3.1-3.2)
# ----------------------------------------------------------------------------

def make_units(chrom, start, end, strand=None, *, min_frag_length=None,
               max_frag_length=2000, counting_strategy="fragment", cell=None):
    """Length filter + unit construction. Returns (chrom, start, end) int64 arrays,
    and the cell of each unit as a fourth array when ``cell`` (per fragment) is given.

    ``strand`` None means paired-end fragments; otherwise single-end reads with
    strand given as '+'/'-' strings, bools (True = '+') or +1/-1.
    """
    chrom = np.asarray(chrom, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    cells = np.zeros(len(chrom), dtype=np.int64) if cell is None else np.asarray(cell, dtype=np.int64)
    out = None
    if strand is None:
        length = end - start
        keep = np.ones(len(start), dtype=bool)
        if min_frag_length is not None:
            keep &= length >= min_frag_length
        if max_frag_length is not None:
            keep &= length <= max_frag_length
        chrom, start, end, cells = chrom[keep], start[keep], end[keep], cells[keep]
        if counting_strategy == "fragment":
            out = chrom, start, end, cells
        elif counting_strategy == "insertion":
            # two 1-bp units per fragment: [start, start+1) and [end-1, end)
            c = np.concatenate([chrom, chrom])
            s = np.concatenate([start, end - 1])
            out = c, s, s + 1, np.concatenate([cells, cells])
    else:  # single-end: no length filter
        forward = _strand_is_forward(strand)
        if counting_strategy == "fragment":
            out = chrom, start, end, cells
        elif counting_strategy == "insertion":
            s = np.where(forward, start, end - 1)  # the read's 5' end
            out = chrom, s, s + 1, cells
    if out is None:
        raise ValueError(counting_strategy)
    return out if cell is not None else out[:3]


def _strand_is_forward(strand) -> np.ndarray:
    a = np.asarray(strand)
    if a.dtype == bool:
        return a
    if a.dtype.kind in "iuf":
        return a > 0
    a = a.astype(str)
    if not np.all((a == "+") | (a == "-")):
        raise ValueError("strand must be '+' or '-'")
    return a == "+"


# ----------------------------------------------------------------------------
# Binning (docs/spec.md section 3.5) as step functions
# ----------------------------------------------------------------------------

def _bin_counts(start, end, length, bin_size):
    """Units on one chromosome -> step function over *bin indices*.

    Returns (bpos, bcnt): bin count bcnt[k] on bins [bpos[k], bpos[k+1]).
    Unit parts beyond the chromosome end are dropped.
    """
    nbins = -(-length // bin_size)
    s = np.clip(start, 0, length)
    e = np.clip(end, 0, length)
    ok = e > s
    s, e = s[ok], e[ok]
    first = s // bin_size
    last_excl = (e - 1) // bin_size + 1  # one past the last overlapped bin
    pos = np.concatenate([first, last_excl, [0, nbins]])
    delta = np.concatenate([np.ones(len(first), np.int64), -np.ones(len(first), np.int64),
                            [0, 0]])
    upos, inv = np.unique(pos, return_inverse=True)
    d = np.zeros(len(upos), dtype=np.int64)
    np.add.at(d, inv, delta)
    cnt = np.cumsum(d)[:-1]  # value on [upos[k], upos[k+1])
    return upos, cnt


def _bins_to_bases(bpos, bcnt, length, bin_size):
    pos = np.minimum(bpos * bin_size, length)
    return pos, bcnt


# ----------------------------------------------------------------------------
# Smoothing (docs/spec.md section 3.7), exact integer window sums on a step function
# ----------------------------------------------------------------------------

def _smooth(pos, cnt, length, w):
    """Box-smooth the base-level step function (pos, cnt) with window w.

    g(i) = sum_{j=i-right}^{i+left} f(j), left=(w-1)//2, right=w-1-left,
    f = 0 outside [0, length); evaluated for i in [0, length).
    Returns a step function (pos2, num) with integer numerators (divide by w).
    """
    left = (w - 1) // 2
    right = w - 1 - left
    # prefix sums F(x) = sum_{j<x} f(j) at the breakpoints
    seg = np.diff(pos) * cnt
    Fk = np.concatenate([[0], np.cumsum(seg)])

    def F(x):
        x = np.clip(x, pos[0], pos[-1])
        k = np.searchsorted(pos, x, side="right") - 1
        k = np.clip(k, 0, len(cnt) - 1)
        return Fk[k] + (x - pos[k]) * cnt[k]

    # g(i+1)-g(i) = f(i+left+1) - f(i-right): constant between these points
    brk = np.concatenate([pos - left - 1, pos + right, [0, length]])
    brk = np.unique(np.clip(brk, 0, length))
    seglen = np.diff(brk)
    g0 = F(brk[:-1] + left + 1) - F(brk[:-1] - right)
    g1 = F(brk[:-1] + left + 2) - F(brk[:-1] - right + 1)
    sloped = (g1 != g0) & (seglen > 1)
    # flat segments: one record; sloped segments: one record per base
    starts = [brk[:-1][~sloped]]
    sl = seglen[sloped]
    if len(sl):
        base0 = np.repeat(brk[:-1][sloped], sl)
        offs = np.arange(sl.sum()) - np.repeat(np.cumsum(sl) - sl, sl)
        starts.append(base0 + offs)
    p = np.sort(np.concatenate(starts))
    num = F(p + left + 1) - F(p - right)
    return np.concatenate([p, [length]]), num


# ----------------------------------------------------------------------------
# Records (docs/spec.md section 3.8)
# ----------------------------------------------------------------------------

def _runs(pos, val):
    """Merge consecutive equal values, drop zeros and empty runs.

    Returns (start, end, val) arrays.
    """
    pos = np.asarray(pos)
    val = np.asarray(val)
    keep = pos[1:] > pos[:-1]
    s, e, v = pos[:-1][keep], pos[1:][keep], val[keep]
    if len(v) == 0:
        return s, e, v
    new = np.ones(len(v), dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (s[1:] != e[:-1])
    idx = np.flatnonzero(new)
    s2 = s[idx]
    e2 = np.append(e[idx[1:] - 1], e[-1])
    v2 = v[idx]
    nz = v2 != 0
    return s2[nz], e2[nz], v2[nz]


@dataclass
class Records:
    """Column form of a track: parallel arrays, sorted, non-overlapping."""
    chrom: np.ndarray   # str chromosome names
    start: np.ndarray   # int64
    end: np.ndarray     # int64
    value: np.ndarray   # float64

    def __len__(self):
        return len(self.start)

    def to_list(self):
        return list(zip(self.chrom.tolist(), self.start.tolist(),
                        self.end.tolist(), self.value.tolist()))


# ----------------------------------------------------------------------------
# One group
# ----------------------------------------------------------------------------

def norm_stats(units, include_for_norm=None, exclude_for_norm=None, *, chrom_index):
    """(count, summed length) of the units that enter the normalization (docs/spec.md section 3.4)."""
    c, s, e = units
    inc = np.ones(len(c), dtype=bool)
    if include_for_norm is not None:
        inc = _RegionIndex(include_for_norm, chrom_index).overlaps(c, s, e)
    if exclude_for_norm is not None:
        inc &= ~_RegionIndex(exclude_for_norm, chrom_index).overlaps(c, s, e)
    return int(inc.sum()), int((e - s)[inc].sum())


def _binned(units, cells, chrom_sizes, *, bin_size, blacklist, include_for_norm, exclude_for_norm, ceiling):
    """Sections 3.3-3.5 for one track: (per-chromosome base step functions of the exact integer bin
    counts, S = sum of all bin values, N = units counted for normalization, their summed length)."""
    names = [str(n) for n, _ in chrom_sizes]
    lengths = [int(L) for _, L in chrom_sizes]
    chrom_index = {n: i for i, n in enumerate(names)}
    c, s, e = (np.asarray(a, dtype=np.int64) for a in units)
    cells = np.zeros(len(c), dtype=np.int64) if cells is None else np.asarray(cells, dtype=np.int64)

    # 3.3 blacklist: drop overlapping units entirely
    if blacklist is not None:
        bad = _RegionIndex(blacklist, chrom_index).overlaps(c, s, e)
        c, s, e, cells = c[~bad], s[~bad], e[~bad], cells[~bad]

    # 3.4 normalization count
    n_count, n_len = norm_stats((c, s, e), include_for_norm, exclude_for_norm, chrom_index=chrom_index)

    # 3.5 binning, per chromosome (integer counts)
    per_chrom, S = [], 0
    for ci, L in enumerate(lengths):
        sel = c == ci
        if ceiling is None:
            bpos, bcnt = _bin_counts(s[sel], e[sel], L, bin_size)
        else:
            bpos, bcnt = _capped_bin_counts(s[sel], e[sel], cells[sel], L, bin_size, ceiling)
        S += int((np.diff(bpos) * bcnt).sum())
        per_chrom.append(_bins_to_bases(bpos, bcnt, L, bin_size))
    return per_chrom, S, n_count, n_len


def _denominator(normalization, *, bin_size, N, S, n_len, effective_genome_size, n_cells, norm_by_total=None):
    """Section 3.6: the denominator exactly as docs/spec.md writes it, evaluated left to right in
    float64 (0 -> empty track)."""
    if norm_by_total is not None:
        return norm_by_total / 1e4
    if normalization is None:
        return 1.0
    if normalization == "CPM":
        return N / 1e6
    if normalization == "RPKM":
        return N / 1e6 * (bin_size / 1e3)
    if normalization == "BPM":
        return S / 1e6
    if normalization == "RPGC":
        return n_len / effective_genome_size
    if normalization == "n_cells":
        return float(n_cells)
    raise ValueError(f"unknown normalization {normalization!r}")


def group_track(units, chrom_sizes, *, bin_size=10, blacklist=None,
                normalization="RPKM", include_for_norm=None, exclude_for_norm=None,
                smooth_base=None, snapatac2_denominator=False, return_stats=False,
                cells=None, ceiling=None, effective_genome_size=None, n_cells=0,
                norm_by_total=None, scale_factor=1.0, regions=None):
    """Track of one group from its units (chrom index, start, end) -> Records.

    ``cells``: the cell of each unit (needed by ``ceiling``, section 3.5.5);
    ``n_cells``: the group's cells (normalization "n_cells"); ``norm_by_total``:
    Q of ``norm_by`` (then ``normalization`` must be None); ``regions``: write
    only records inside these (section 4.9).
    """
    names = [str(n) for n, _ in chrom_sizes]
    lengths = [int(L) for _, L in chrom_sizes]
    chrom_index = {n: i for i, n in enumerate(names)}
    per_chrom, S, n_count, n_len = _binned(units, cells, chrom_sizes, bin_size=bin_size, blacklist=blacklist,
                                           include_for_norm=include_for_norm, exclude_for_norm=exclude_for_norm,
                                           ceiling=ceiling)
    if norm_by_total is not None and normalization is not None:
        raise ValueError("norm_by needs normalization=None")
    denom = _denominator(normalization, bin_size=bin_size, N=n_len if snapatac2_denominator else n_count,
                         S=S, n_len=n_len, effective_genome_size=effective_genome_size, n_cells=n_cells,
                         norm_by_total=norm_by_total)

    # 3.7 smoothing + 3.8 records: one float64 division of the exact integer
    # (bin count, or window sum over w * denominator); the writer rounds to float32
    out_c, out_s, out_e, out_v = [], [], [], []
    for ci, (pos, cnt) in enumerate(per_chrom):
        L = lengths[ci]
        if smooth_base is not None and len(cnt) and np.any(cnt):
            pos, cnt = _smooth(pos, cnt, L, int(smooth_base))
            divisor = int(smooth_base) * denom
        else:
            divisor = denom
        rs, re_, rv = _runs(pos, cnt)
        if denom == 0.0:
            rs, re_, rv = rs[:0], re_[:0], rv[:0]
        out_c.append(np.full(len(rs), names[ci], dtype=object))
        out_s.append(rs)
        out_e.append(re_)
        out_v.append(rv / divisor * scale_factor if len(rv) else rv.astype(np.float64))
    rec = Records(np.concatenate(out_c) if out_c else np.array([], dtype=object),
                  np.concatenate(out_s).astype(np.int64),
                  np.concatenate(out_e).astype(np.int64),
                  np.concatenate(out_v).astype(np.float64))
    if regions is not None:
        rec = _clip_to_regions(rec, regions, chrom_index)
    if return_stats:
        return rec, {"count": n_count, "length": n_len, "S": S, "denominator": denom}
    return rec


def _capped_bin_counts(start, end, cell, length, bin_size, ceiling):
    """Section 3.5.5: each cell's bin counts capped at ``ceiling``, then summed
    over the cells (a step function as _bin_counts returns)."""
    events: dict[int, int] = {}
    for k in np.unique(cell):
        sel = cell == k
        bpos, bcnt = _bin_counts(start[sel], end[sel], length, bin_size)
        capped = np.minimum(bcnt, ceiling)
        for p, d in zip(bpos.tolist(), np.diff(np.r_[0, capped, 0]).tolist()):
            events[p] = events.get(p, 0) + d
    if not events:
        return _bin_counts(start[:0], end[:0], length, bin_size)
    pos = np.array(sorted(events), dtype=np.int64)
    cnt = np.cumsum([events[p] for p in pos.tolist()])[:-1].astype(np.int64)
    return pos, cnt


def _clip_to_regions(rec: Records, regions, chrom_index) -> Records:
    """Section 4.9: the records cut to the (merged) regions."""
    index = _RegionIndex(regions, chrom_index)
    names = {i: n for n, i in chrom_index.items()}
    keep = []
    for ci, starts in index.starts.items():
        ends = index.ends[ci]
        on = rec.chrom == names[ci]
        for a, b in zip(starts.tolist(), ends.tolist()):
            sel = np.flatnonzero(on & (rec.end > a) & (rec.start < b))
            for i in sel.tolist():
                keep.append((rec.chrom[i], max(int(rec.start[i]), a), min(int(rec.end[i]), b), rec.value[i]))
    keep.sort(key=lambda r: (chrom_index[r[0]], r[1]))
    if not keep:
        return Records(rec.chrom[:0], rec.start[:0], rec.end[:0], rec.value[:0])
    c, s, e, v = zip(*keep)
    return Records(np.array(c, dtype=object), np.array(s, dtype=np.int64), np.array(e, dtype=np.int64),
                   np.array(v, dtype=np.float64))


# ----------------------------------------------------------------------------
# All groups
# ----------------------------------------------------------------------------

def coverage_tracks(chrom_sizes: Sequence[tuple[str, int]], chrom, start, end, group,
                    strand=None, *, groups: Iterable | None = None, bin_size=10,
                    blacklist=None, normalization="RPKM", include_for_norm=None,
                    exclude_for_norm=None, min_frag_length=None, max_frag_length=2000,
                    counting_strategy="fragment", smooth_base=None,
                    snapatac2_denominator=False, as_list=True, cell=None, ceiling=None,
                    effective_genome_size=None, n_cells=None, norm_by=None, scale_factor=1.0,
                    regions=None):
    """Model of export_coverage's tracks, per docs/spec.md section 3.

    chrom_sizes: ordered ``[(name, length), ...]`` (the reference_sequences).
    chrom: per fragment, chromosome index into chrom_sizes or chromosome name
        (names not in chrom_sizes are ignored).
    start, end: 0-based half-open fragment/read coordinates.
    group: per-fragment group label (None/NaN labels belong to no group).
    strand: None for paired-end fragments, else per-read strand ('+'/'-').
    groups: which groups to return (default: every label present, sorted as str);
        a requested group without fragments gets an empty track.
    snapatac2_denominator: CPM/RPKM divide by summed unit length (SnapATAC2 >= 2.8)
        instead of the unit count (docs/spec.md section 3.9).
    as_list: return ``{group: [(chrom, start, end, value), ...]}``; with False,
        ``{group: Records}``.
    cell: per-fragment cell id (for ``ceiling``).
    n_cells, norm_by: ``{group: number of cells}`` / ``{group: Q}`` for
        normalization "n_cells" / the norm_by scaling.
    effective_genome_size, scale_factor, regions: as export_coverage's.
    """
    if normalization not in (None, "CPM", "RPKM", "BPM", "RPGC", "n_cells"):
        raise ValueError(f"unknown normalization {normalization!r}")
    if counting_strategy not in ("fragment", "insertion"):
        raise ValueError(counting_strategy)
    if bin_size < 1 or (smooth_base is not None and smooth_base < 1):
        raise ValueError("bin_size and smooth_base must be >= 1")
    names = [str(n) for n, _ in chrom_sizes]
    chrom = np.asarray(chrom)
    if chrom.dtype.kind not in "iu":
        idx = {n: i for i, n in enumerate(names)}
        chrom = np.array([idx.get(str(x), -1) for x in chrom], dtype=np.int64)
    chrom = chrom.astype(np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    known = (chrom >= 0) & (chrom < len(names))
    labels = np.array([None if _is_missing(g) else str(g) for g in group], dtype=object)
    if groups is None:
        groups = sorted({g for g in labels if g is not None})
    out = {}
    for g in groups:
        g = str(g)
        sel = known & (labels == g)
        frag_cell = np.zeros(int(sel.sum()), dtype=np.int64) if cell is None else np.asarray(cell)[sel]
        units = make_units(chrom[sel], start[sel], end[sel],
                           None if strand is None else np.asarray(strand)[sel],
                           min_frag_length=min_frag_length, max_frag_length=max_frag_length,
                           counting_strategy=counting_strategy, cell=frag_cell)
        rec = group_track(units[:3], chrom_sizes, bin_size=bin_size, blacklist=blacklist,
                          normalization=normalization, include_for_norm=include_for_norm,
                          exclude_for_norm=exclude_for_norm, smooth_base=smooth_base,
                          snapatac2_denominator=snapatac2_denominator, cells=units[3], ceiling=ceiling,
                          effective_genome_size=effective_genome_size,
                          n_cells=0 if n_cells is None else n_cells.get(g, 0),
                          norm_by_total=None if norm_by is None else norm_by.get(g, 0.0),
                          scale_factor=scale_factor, regions=regions)
        out[g] = rec.to_list() if as_list else rec
    return out


def _is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(np.isnan(x))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------
# Comparison tracks (docs/spec.md section 14)
# ----------------------------------------------------------------------------

def _side(units, cells, chrom_sizes, *, bin_size, blacklist, normalization, include_for_norm,
          exclude_for_norm, ceiling, effective_genome_size, n_cells):
    """One side of a comparison: per-chromosome base step functions (exact
    integer bin counts, sections 3.3-3.5) and its denominator (3.6), as group_track computes them."""
    steps, S, N, n_len = _binned(units, cells, chrom_sizes, bin_size=bin_size, blacklist=blacklist,
                                 include_for_norm=include_for_norm, exclude_for_norm=exclude_for_norm,
                                 ceiling=ceiling)
    return steps, _denominator(normalization, bin_size=bin_size, N=N, S=S, n_len=n_len,
                               effective_genome_size=effective_genome_size, n_cells=n_cells)


def _value_at(pos, cnt, x):
    """The step function (pos, cnt) at positions x (0 outside)."""
    k = np.searchsorted(pos, x, side="right") - 1
    ok = (k >= 0) & (k < len(cnt))
    return np.where(ok, np.asarray(cnt)[np.clip(k, 0, max(len(cnt) - 1, 0))] if len(cnt) else 0, 0)


def compare_track(g_side, r_side, chrom_sizes, *, operation, pseudocount, smooth_base=None, scale_factor=1.0,
                  regions=None):
    """Section 14.2: op(g, r) per piece, each side v / D x F in float64 (smoothed: window sum / (w x D) x F),
    the operation in float64 (log2: math.log2, the C library's), rounded once to float32; equal
    neighbours merged, zeros dropped."""
    names = [str(n) for n, _ in chrom_sizes]
    (g_steps, dg), (r_steps, dr) = g_side, r_side
    out = []
    if dg > 0 and dr > 0:
        for ci, (name, L) in enumerate(chrom_sizes):
            sides = []
            for (pos, cnt), d in ((g_steps[ci], dg), (r_steps[ci], dr)):
                if smooth_base is not None:
                    if len(cnt) and np.any(cnt):
                        pos, cnt = _smooth(pos, cnt, L, int(smooth_base))
                    else:
                        pos, cnt = np.array([0, L]), np.array([0])
                    d = int(smooth_base) * d
                sides.append((np.asarray(pos), np.asarray(cnt), d))
            brk = np.unique(np.clip(np.concatenate([sides[0][0], sides[1][0], [0, L]]), 0, L))
            x = brk[:-1]
            a = _value_at(sides[0][0], sides[0][1], x).astype(np.float64) / sides[0][2] * scale_factor
            b = _value_at(sides[1][0], sides[1][1], x).astype(np.float64) / sides[1][2] * scale_factor
            p = pseudocount
            if operation == "log2":
                v = np.array([math.log2((ai + p) / (bi + p)) for ai, bi in zip(a.tolist(), b.tolist())])
            elif operation == "ratio":
                v = (a + p) / (b + p)
            elif operation == "difference":
                v = a - b
            else:
                raise ValueError(operation)
            v32 = v.astype(np.float32)
            rs, re_, rv = _runs(brk, v32)
            out += [(name, int(s_), int(e_), float(v_)) for s_, e_, v_ in zip(rs, re_, rv)]
    rec = Records(np.array([r[0] for r in out], dtype=object), np.array([r[1] for r in out], dtype=np.int64),
                  np.array([r[2] for r in out], dtype=np.int64), np.array([r[3] for r in out], dtype=np.float64))
    if regions is not None:
        rec = _clip_to_regions(rec, regions, {n: i for i, n in enumerate(names)})
    return rec


def comparison_tracks(chrom_sizes, chrom, start, end, group, *, cell, groups=None, reference=None,
                      operation="log2", pseudocount=0.1, bin_size=10, blacklist=None, normalization="CPM",
                      include_for_norm=None, exclude_for_norm=None, min_frag_length=None, max_frag_length=2000,
                      counting_strategy="fragment", smooth_base=None, ceiling=None, effective_genome_size=None,
                      n_cells=None, scale_factor=1.0, regions=None):
    """Model of compare_groups (section 14): ``{group: Records}`` for ``groups``
    (default every label), each against the rest of the labelled fragments (all
    other labels, selected or not) or against ``reference``. Paired-end."""
    names = [str(n) for n, _ in chrom_sizes]
    chrom = np.asarray(chrom, dtype=np.int64)
    start, end, cell = (np.asarray(a, dtype=np.int64) for a in (start, end, cell))
    labels = np.array([None if _is_missing(x) else str(x) for x in group], dtype=object)
    present = sorted({x for x in labels if x is not None})
    groups = present if groups is None else [str(x) for x in groups]
    n_cells = n_cells or {}
    kw = dict(bin_size=bin_size, blacklist=blacklist, normalization=normalization, include_for_norm=include_for_norm,
              exclude_for_norm=exclude_for_norm, ceiling=ceiling, effective_genome_size=effective_genome_size)

    def side(mask, cells_count):
        units = make_units(chrom[mask], start[mask], end[mask], min_frag_length=min_frag_length,
                           max_frag_length=max_frag_length, counting_strategy=counting_strategy, cell=cell[mask])
        return _side(units[:3], units[3], chrom_sizes, n_cells=cells_count, **kw)

    out = {}
    labelled = labels != None  # noqa: E711  (object array)
    for g in groups:
        if g == reference:
            continue
        if reference is None:
            other = labelled & (labels != g)
            other_cells = sum(v for k, v in n_cells.items() if k != g)
        else:
            other = labels == reference
            other_cells = n_cells.get(reference, 0)
        out[g] = compare_track(side(labels == g, n_cells.get(g, 0)), side(other, other_cells), chrom_sizes,
                               operation=operation, pseudocount=pseudocount, smooth_base=smooth_base,
                               scale_factor=scale_factor, regions=regions)
    del names
    return out


# ----------------------------------------------------------------------------
# Profiles around anchors (docs/spec.md section 16)
# ----------------------------------------------------------------------------

def anchor_base(start: int, end: int, strand: str, reference_point: str) -> int:
    """Section 16.3: the anchor base a of the interval [start, end) on ``strand``."""
    minus = strand == "-"
    if reference_point == "center":
        return start + (end - start) // 2
    if reference_point == "start":
        return end - 1 if minus else start
    if reference_point == "end":
        return start if minus else end - 1
    raise ValueError(reference_point)


def _coverage_at(starts: np.ndarray, ends: np.ndarray, x: np.ndarray) -> np.ndarray:
    """c(x): how many units [s, e) hold base x, for every base in ``x`` (sorted unit starts and ends)."""
    return np.searchsorted(starts, x, side="right") - np.searchsorted(ends, x, side="right")


TSS_WINDOW, TSS_FLANK, TSS_CENTRE = 2000, 100, 101  # section 16.6 (ArchR's numbers)


def profile_matrices(chrom_sizes, chrom, start, end, group, strand=None, *, anchors, upstream=2000,
                     downstream=2000, bin_size=10, reference_point="center", counting_strategy="insertion",
                     normalization="CPM", groups=None, blacklist=None, include_for_norm=None,
                     exclude_for_norm=None, min_frag_length=None, max_frag_length=2000,
                     effective_genome_size=None, n_cells=None, norm_by=None, scale_factor=1.0):
    """Model of fragcov.profile (section 16): ``{group: (matrix, tss_enrichment)}``.

    ``anchors``: ``[(chrom name, start, end, strand), ...]`` on known chromosomes, in order.
    The fragments are given as for :func:`coverage_tracks`. Each bin value is counted
    base by base: for every base of the bin, the number of the group's units holding
    it (3.1-3.3), summed exactly, then one float64 division by ``bin_size x D``
    (D of 3.6 for the group's own units), times ``scale_factor``, rounded to float32;
    NaN when a base of the bin is outside its chromosome. The TSS enrichment is
    section 16.6's ratio of raw counts.
    """
    names = [str(n) for n, _ in chrom_sizes]
    lengths = {str(n): int(L) for n, L in chrom_sizes}
    chrom_index = {n: i for i, n in enumerate(names)}
    chrom = np.asarray(chrom)
    if chrom.dtype.kind not in "iu":
        chrom = np.array([chrom_index.get(str(x), -1) for x in chrom], dtype=np.int64)
    chrom = chrom.astype(np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    known = (chrom >= 0) & (chrom < len(names))
    labels = np.array([None if _is_missing(g) else str(g) for g in group], dtype=object)
    if groups is None:
        groups = sorted({g for g in labels if g is not None})
    n_bins = (upstream + downstream) // bin_size
    offsets = np.arange(-upstream, downstream, dtype=np.int64)  # r of every base of the window
    out = {}
    for g in groups:
        g = str(g)
        sel = known & (labels == g)
        c, s, e = make_units(chrom[sel], start[sel], end[sel], None if strand is None else np.asarray(strand)[sel],
                             min_frag_length=min_frag_length, max_frag_length=max_frag_length,
                             counting_strategy=counting_strategy)
        if blacklist is not None:
            keep = ~_RegionIndex(blacklist, chrom_index).overlaps(c, s, e)
            c, s, e = c[keep], s[keep], e[keep]
        _, S, N, n_len = _binned((c, s, e), None, chrom_sizes, bin_size=bin_size, blacklist=None,
                                 include_for_norm=include_for_norm, exclude_for_norm=exclude_for_norm,
                                 ceiling=None)
        denom = _denominator(normalization, bin_size=bin_size, N=N, S=S, n_len=n_len,
                             effective_genome_size=effective_genome_size,
                             n_cells=0 if n_cells is None else n_cells.get(g, 0),
                             norm_by_total=None if norm_by is None else norm_by.get(g, 0.0))
        per_chrom = {ci: (np.sort(s[c == ci]), np.sort(e[c == ci])) for ci in range(len(names))}
        matrix = np.empty((len(anchors), n_bins), dtype=np.float32)
        centre = flank = 0
        seen = set()
        for i, (name, a_start, a_end, a_strand) in enumerate(anchors):
            a = anchor_base(int(a_start), int(a_end), a_strand, reference_point)
            minus = a_strand == "-"
            L = lengths[name]
            starts, ends = per_chrom[chrom_index[name]]
            bases = a - offsets if minus else a + offsets
            counts = _coverage_at(starts, ends, bases).reshape(n_bins, bin_size)
            inside = ((bases >= 0) & (bases < L)).reshape(n_bins, bin_size).all(axis=1)
            sums = counts.sum(axis=1)
            if denom > 0:
                values = sums / (bin_size * denom) * scale_factor
            else:
                values = np.zeros(n_bins)
            matrix[i] = np.where(inside, values, np.nan).astype(np.float32)
            if a >= TSS_WINDOW and a + TSS_WINDOW < L and (name, a) not in seen:
                seen.add((name, a))
                half = TSS_CENTRE // 2
                centre += int(_coverage_at(starts, ends, np.arange(a - half, a + half + 1)).sum())
                flank += int(_coverage_at(starts, ends, np.arange(a - TSS_WINDOW, a - TSS_WINDOW + TSS_FLANK)).sum())
                flank += int(_coverage_at(starts, ends, np.arange(a + TSS_WINDOW - TSS_FLANK + 1,
                                                                  a + TSS_WINDOW + 1)).sum())
        tss = (centre / TSS_CENTRE) / (flank / (2 * TSS_FLANK)) if flank > 0 else float("nan")
        out[g] = (matrix, tss)
    return out
