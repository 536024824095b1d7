"""Import 10x-style fragment files into a SnapATAC2-compatible AnnData.

The rules below reproduce ``snapatac2.pp.import_fragments`` (SnapATAC2 2.9.0):

- Chromosomes are stored sorted by name (byte order), as SnapATAC2 does (it
  passes ``chrom_sizes`` through a ``BTreeMap``); genome position of
  ``(chrom, pos)`` = sum of the lengths of the chromosomes before ``chrom`` in
  that order + ``pos``.
- Lines starting with ``#`` are comments. Fragments with ``end == start`` are
  dropped before anything else (they neither count nor split barcode runs).
- Fragments on chromosomes missing from ``chrom_sizes`` are ignored entirely
  (not stored, not counted in any QC metric).
- Per cell, over fragments on known chromosomes: ``n_fragment`` = number of
  lines not on a ``chrM`` chromosome, ``n_mito`` = lines on a ``chrM``
  chromosome, ``total`` = sum of the count column;
  ``frac_dup = 1 - (n_fragment + n_mito) / total`` and
  ``frac_mito = n_mito / (n_fragment + n_mito)``. Mitochondrial fragments are
  stored in the matrix when their chromosome is in ``chrom_sizes``.
- Cells with ``n_fragment < min_num_fragments`` are dropped.
- Cell order: order of first appearance when ``sorted_by_barcode=True``
  (a barcode whose lines are split into several runs is an error), barcodes
  sorted by byte order when ``sorted_by_barcode=False``.
- Within a cell, entries are sorted by (column, value).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._genomes import resolve_chrom_sizes

__all__ = ["import_fragments"]

_BLOCK_BYTES = 32 * 1024 * 1024  # decompressed bytes parsed per block
_SINGLE_BIAS = 1 << 31


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _open_binary(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":  # gzip or bgzip (multi-member gzip)
        return gzip.open(path, "rb")
    if magic == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError:  # pragma: no cover - depends on environment
            raise ValueError(
                f"{path}: the file is zstandard-compressed; install the 'zstandard' "
                "package or decompress it first"
            ) from None
        # buffered: zstandard's reader cannot iterate lines (_first_data_line does)
        return io.BufferedReader(zstandard.open(path, "rb"))
    return open(path, "rb")


def _iter_blocks(path: Path):
    """Yield ``(first_line_number, block_bytes)``; blocks hold whole lines."""
    with _open_binary(path) as fh:
        rest = b""
        lineno = 1
        while True:
            try:
                data = fh.read(_BLOCK_BYTES)
            except (OSError, EOFError) as e:
                raise ValueError(f"{path}: cannot decompress/read the file: {e}") from e
            if not data:
                if rest:
                    yield lineno, rest + b"\n"
                return
            data = rest + data if rest else data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            block, rest = data[: cut + 1], data[cut + 1 :]
            yield lineno, block
            lineno += block.count(b"\n")


class _Block:
    """Parsed columns of one block of lines."""

    __slots__ = ("lines", "chrom_codes", "chrom_cats", "start", "end", "bc_codes",
                 "bc_cats", "count", "strand")


def _fail(path, lineno, msg, line=None):
    text = f"{path}: line {lineno}: {msg}"
    if line is not None:
        text += f": {line!r}"
    raise ValueError(text)


def _parse_slow(path, first_line, block: bytes, is_paired: bool) -> _Block:
    """Line-by-line parser: exact error messages, handles every odd case."""
    chroms, starts, ends, bcs, counts, strands, lines = [], [], [], [], [], [], []
    raw_lines = block.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for i, raw in enumerate(raw_lines):
        lineno = first_line + i
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if raw.startswith(b"#") or not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            _fail(path, lineno, "line is not valid UTF-8 text", raw)
        f = line.split("\t")
        if len(f) < 4:
            _fail(path, lineno,
                  f"expected tab-separated columns chrom, start, end, barcode, count[, strand]; "
                  f"found {len(f)} column(s)", line)
        try:
            s = int(f[1])
            e = int(f[2])
            if not (f[1].strip().isdigit() and f[2].strip().isdigit()):
                raise ValueError
        except ValueError:
            _fail(path, lineno, "start and end must be non-negative integers", line)
        if e < s:
            _fail(path, lineno, f"end ({e}) is smaller than start ({s})", line)
        bc = f[3]
        if bc == "." or bc == "":
            _fail(path, lineno, "missing cell barcode in column 4", line)
        c = 1
        if len(f) >= 5 and f[4] != ".":
            try:
                c = int(f[4])
                if c < 0:
                    raise ValueError
            except ValueError:
                _fail(path, lineno, f"count (column 5) must be a non-negative integer, got {f[4]!r}", line)
        st = 0
        if not is_paired:
            if len(f) < 6:
                _fail(path, lineno,
                      "is_paired=False needs a 6th column with the strand ('+' or '-'); "
                      "use is_paired=True for paired-end fragment files", line)
            if f[5] == "+":
                st = 1
            elif f[5] == "-":
                st = -1
            else:
                _fail(path, lineno, f"strand (column 6) must be '+' or '-', got {f[5]!r}", line)
        chroms.append(f[0])
        starts.append(s)
        ends.append(e)
        bcs.append(bc)
        counts.append(c)
        strands.append(st)
        lines.append(lineno)
    b = _Block()
    b.lines = np.asarray(lines, dtype=np.int64)
    ccat = pd.Categorical(chroms)
    b.chrom_codes = np.asarray(ccat.codes)
    b.chrom_cats = list(ccat.categories)
    b.start = np.asarray(starts, dtype=np.int64)
    b.end = np.asarray(ends, dtype=np.int64)
    bcat = pd.Categorical(bcs)
    b.bc_codes = np.asarray(bcat.codes)
    b.bc_cats = list(bcat.categories)
    b.count = np.asarray(counts, dtype=np.int64)
    b.strand = np.asarray(strands, dtype=np.int8)
    return b


def _parse_fast(path, first_line, block: bytes, is_paired: bool, ncols: int) -> _Block | None:
    """Vectorised parser for clean blocks; ``None`` means use the slow parser."""
    if block.startswith((b"#", b"\n")) or b"\r" in block or b"\n#" in block \
            or b"\n\n" in block:
        return None
    if is_paired:
        usecols = [0, 1, 2, 3, 4] if ncols >= 5 else [0, 1, 2, 3]
    else:
        if ncols < 6:
            return None
        usecols = [0, 1, 2, 3, 4, 5]
    dtype = {0: "category", 1: np.int64, 2: np.int64, 3: "category"}
    if 4 in usecols:
        dtype[4] = np.int64
    if 5 in usecols:
        dtype[5] = "category"
    try:
        df = pd.read_csv(
            io.BytesIO(block), sep="\t", header=None, usecols=usecols, dtype=dtype,
            engine="c", na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False,
            low_memory=False,
        )
    except Exception:
        return None
    n = len(df)
    if n != block.count(b"\n"):
        return None
    b = _Block()
    b.lines = None
    b.start = df[1].to_numpy()
    b.end = df[2].to_numpy()
    if n and (b.start.min() < 0 or b.end.min() < 0 or (b.end < b.start).any()):
        return None
    if 4 in usecols:
        b.count = df[4].to_numpy()
        if n and b.count.min() < 0:
            return None
    else:
        b.count = np.ones(n, dtype=np.int64)
    c = df[0].cat
    b.chrom_codes = c.codes.to_numpy()
    b.chrom_cats = list(c.categories)
    c = df[3].cat
    b.bc_codes = c.codes.to_numpy()
    b.bc_cats = list(c.categories)
    if "." in b.bc_cats or "" in b.bc_cats:
        return None
    if is_paired:
        b.strand = None
    else:
        c = df[5].cat
        cats = list(c.categories)
        if not set(cats) <= {"+", "-"}:
            return None
        lut = np.array([1 if x == "+" else -1 for x in cats], dtype=np.int8)
        b.strand = lut[c.codes.to_numpy()]
    return b


def _first_data_line(path: Path) -> str | None:
    with _open_binary(path) as fh:
        for raw in fh:
            if raw.startswith(b"#") or not raw.strip():
                continue
            return raw.decode("utf-8", errors="replace").rstrip("\r\n")
    return None


# --------------------------------------------------------------------------
# Growable helpers
# --------------------------------------------------------------------------


class _Grow:
    """Growable 1-D numeric array indexed by barcode id."""

    def __init__(self, dtype):
        self.a = np.zeros(1024, dtype=dtype)

    def ensure(self, n):
        if n > len(self.a):
            new = np.zeros(max(n, 2 * len(self.a)), dtype=self.a.dtype)
            new[: len(self.a)] = self.a
            self.a = new


# --------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------


def _import_one(path: Path, chroms, is_paired, min_num_fragments, sorted_by_barcode,
                whitelist, mito_names):
    import anndata as ad

    names = [c for c, _ in chroms]
    lengths = np.array([n for _, n in chroms], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    genome_len = int(lengths.sum())
    chrom_index = {c: i for i, c in enumerate(names)}
    is_mito_chrom = np.array([c in mito_names for c in names], dtype=bool)
    packed = genome_len < (1 << 32)

    first = _first_data_line(path)
    ncols = len(first.split("\t")) if first is not None else 5
    if is_paired and ncols >= 6:
        warnings.warn(
            f"{path}: the fragment file has a 6th (strand) column but is_paired=True; "
            "the records are imported as paired-end fragments. Pass is_paired=False for "
            "single-end reads.", UserWarning, stacklevel=3,
        )

    bc2id: dict[str, int] = {}
    bc_names: list[str] = []
    uniq = _Grow(np.int64)
    mito = _Grow(np.int64)
    total = _Grow(np.int64)
    seen = _Grow(bool)  # barcode already had a (whitelisted) run / is a candidate cell
    run_order: list[np.ndarray] = []
    prev_gid = -1  # barcode of the last non-empty line (sorted mode run tracking)
    key_parts: list[np.ndarray] = []
    gid_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []

    for first_line, block in _iter_blocks(path):
        b = _parse_fast(path, first_line, block, is_paired, ncols)
        if b is None:
            b = _parse_slow(path, first_line, block, is_paired)
        n = len(b.start)
        if n == 0:
            continue
        lines = b.lines if b.lines is not None else None

        # barcode ids (global) for this block
        lut = np.empty(len(b.bc_cats), dtype=np.int64)
        for j, bc in enumerate(b.bc_cats):
            g = bc2id.get(bc)
            if g is None:
                g = len(bc_names)
                bc2id[bc] = g
                bc_names.append(bc)
            lut[j] = g
        nb = len(bc_names)
        for arr in (uniq, mito, total, seen):
            arr.ensure(nb)
        if whitelist is not None:
            wl_lut = np.fromiter((bc in whitelist for bc in b.bc_cats), dtype=bool,
                                 count=len(b.bc_cats))
        gid = lut[b.bc_codes]

        # fragments of length 0 are dropped before anything else
        keep = b.end > b.start
        if not keep.all():
            idx = np.flatnonzero(keep)
            gid = gid[idx]
            bc_codes = b.bc_codes[idx]
            start, end, count = b.start[idx], b.end[idx], b.count[idx]
            chrom_codes = b.chrom_codes[idx]
            strand = b.strand[idx] if b.strand is not None else None
            if lines is not None:
                lines = lines[idx]
            rows = idx
        else:
            bc_codes = b.bc_codes
            start, end, count = b.start, b.end, b.count
            chrom_codes = b.chrom_codes
            strand = b.strand
            rows = None
        m = len(gid)
        if m == 0:
            continue
        wl_row = wl_lut[bc_codes] if whitelist is not None else None

        # runs of equal barcode (groups) and cell candidates
        if sorted_by_barcode:
            is_start = np.empty(m, dtype=bool)
            is_start[0] = gid[0] != prev_gid
            np.not_equal(gid[1:], gid[:-1], out=is_start[1:])
            starts_idx = np.flatnonzero(is_start)
            if wl_row is not None:
                starts_idx = starts_idx[wl_row[starts_idx]]
            rg = gid[starts_idx]
            bad = None
            if len(rg):
                dup_prev = seen.a[rg]
                if dup_prev.any():
                    bad = int(np.flatnonzero(dup_prev)[0])
                else:
                    u, first_pos, cnt = np.unique(rg, return_index=True, return_counts=True)
                    if (cnt > 1).any():
                        # second occurrence of the earliest duplicated barcode
                        occ = {}
                        for k, g in enumerate(rg.tolist()):
                            if g in occ:
                                bad = k
                                break
                            occ[g] = k
            if bad is not None:
                r = int(starts_idx[bad])
                if lines is not None:
                    ln = int(lines[r])
                else:
                    ln = first_line + int(rows[r] if rows is not None else r)
                raise ValueError(
                    f"{path}: line {ln}: barcode {bc_names[int(rg[bad])]!r} appears again "
                    "after lines of other barcodes: the file is not sorted (grouped) by "
                    "barcode. Pass sorted_by_barcode=False, or sort the file by the 4th "
                    "column first (e.g. `sort -k4,4`)."
                )
            if len(rg):
                seen.a[rg] = True
                run_order.append(rg)
            prev_gid = int(gid[-1])
        else:
            cand = gid if wl_row is None else gid[wl_row]
            seen.a[cand] = True

        # fragments on known chromosomes
        clut = np.array([chrom_index.get(c, -1) for c in b.chrom_cats], dtype=np.int64)
        ci = clut[chrom_codes]
        sel = ci >= 0
        if wl_row is not None:
            sel &= wl_row
        if not sel.all():
            idx = np.flatnonzero(sel)
            gid, ci, start, end, count = gid[idx], ci[idx], start[idx], end[idx], count[idx]
            if strand is not None:
                strand = strand[idx]
            if lines is not None:
                lines = lines[idx]
            rows = idx if rows is None else rows[idx]
        if len(gid) == 0:
            continue

        is_m = is_mito_chrom[ci]
        total.a[:nb] += np.bincount(gid, weights=count, minlength=nb).astype(np.int64)
        nm = np.bincount(gid, weights=is_m, minlength=nb).astype(np.int64)
        mito.a[:nb] += nm
        uniq.a[:nb] += np.bincount(gid, minlength=nb).astype(np.int64) - nm

        size = end - start
        if is_paired:
            pos = offsets[ci] + start
            val = size
            if size.max() >= (1 << 32):
                r = int(np.argmax(size))
                ln = int(lines[r]) if lines is not None else first_line + int(rows[r] if rows is not None else r)
                _fail(path, ln, f"fragment length {int(size[r])} does not fit in uint32")
        else:
            rev = strand < 0
            pos = offsets[ci] + np.where(rev, end - 1, start)
            val = np.where(rev, -size, size)
            if size.max() >= _SINGLE_BIAS:
                r = int(np.argmax(size))
                ln = int(lines[r]) if lines is not None else first_line + int(rows[r] if rows is not None else r)
                _fail(path, ln, f"read length {int(size[r])} does not fit in int32")
            val = val + _SINGLE_BIAS  # order-preserving non-negative encoding
        if pos.max() >= genome_len:
            r = int(np.argmax(pos))
            ln = int(lines[r]) if lines is not None else first_line + int(rows[r] if rows is not None else r)
            _fail(path, ln,
                  "fragment lies beyond the end of the genome (last chromosome in "
                  "chrom_sizes); check that chrom_sizes matches the fragment file")
        gid_parts.append(gid.astype(np.int32 if nb < (1 << 31) else np.int64))
        if packed:
            key_parts.append((pos.astype(np.uint64) << np.uint64(32)) | val.astype(np.uint64))
        else:
            pos_parts.append(pos)
            val_parts.append(val.astype(np.uint32))

    nb = len(bc_names)
    # cells (candidates) in SnapATAC2's order
    if sorted_by_barcode:
        order = np.concatenate(run_order) if run_order else np.zeros(0, dtype=np.int64)
    else:
        cand = np.flatnonzero(seen.a[:nb])
        names_c = [bc_names[g] for g in cand]
        srt = sorted(range(len(cand)), key=lambda k: names_c[k])
        order = cand[np.asarray(srt, dtype=np.int64)] if len(cand) else cand
    n_uniq = uniq.a[:nb][order]
    kept = order[n_uniq >= min_num_fragments]
    k = len(kept)
    if k == 0:
        warnings.warn(
            f"{path}: no barcode passed the filters (min_num_fragments={min_num_fragments}"
            f"{', whitelist' if whitelist is not None else ''}); no data is imported.",
            UserWarning, stacklevel=3,
        )
        return ad.AnnData()

    rank = np.full(max(nb, 1), -1, dtype=np.int64 if k >= (1 << 31) else np.int32)
    rank[kept] = np.arange(k, dtype=rank.dtype)
    gids = np.concatenate(gid_parts) if gid_parts else np.zeros(0, dtype=np.int32)
    del gid_parts
    r = rank[gids]
    del gids
    sel = r >= 0
    all_sel = bool(sel.all())
    if packed:
        keys = np.concatenate(key_parts) if key_parts else np.zeros(0, dtype=np.uint64)
        del key_parts
        if not all_sel:
            keys = keys[sel]
            r = r[sel]
        if len(r) > 1 and (np.diff(r) < 0).any():
            perm = np.argsort(r, kind="stable")
            r = r[perm]
            keys = keys[perm]
            del perm
        counts = np.bincount(r, minlength=k)
        del r
        indptr = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        for i in range(k):
            a, z = indptr[i], indptr[i + 1]
            if z - a > 1:
                keys[a:z].sort()
        indices = (keys >> np.uint64(32)).astype(np.int64)
        low = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        del keys
    else:
        pos = np.concatenate(pos_parts)
        low = np.concatenate(val_parts)
        del pos_parts, val_parts
        if not all_sel:
            pos, low, r = pos[sel], low[sel], r[sel]
        perm = np.lexsort((low, pos, r))
        pos, low = pos[perm], low[perm]
        counts = np.bincount(r, minlength=k)
        del r, perm
        indptr = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = pos.astype(np.int64)
        del pos
    if is_paired:
        data = low.astype(np.uint32, copy=False)
        key = "fragment_paired"
    else:
        data = (low.astype(np.int64) - _SINGLE_BIAS).astype(np.int32)  # undo the bias
        key = "fragment_single"
    del low
    mat = sp.csr_matrix((k, genome_len), dtype=data.dtype)
    mat.data, mat.indices, mat.indptr = data, indices, indptr  # keep int64 indices, no copy

    n_frag = uniq.a[kept]
    n_mito = mito.a[kept]
    n_tot = total.a[kept]
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = (n_frag + n_mito).astype(np.float64)
        frac_dup = 1.0 - denom / n_tot.astype(np.float64)
        frac_mito = n_mito.astype(np.float64) / denom
    obs = pd.DataFrame(
        {
            "n_fragment": n_frag.astype(np.uint64),
            "frac_dup": frac_dup.astype(np.float64),
            "frac_mito": frac_mito.astype(np.float64),
        },
        index=pd.Index([bc_names[g] for g in kept.tolist()], dtype=object),
    )
    refs = pd.DataFrame(
        {
            "reference_seq_name": pd.Series(names, dtype=object),
            "reference_seq_length": pd.Series(lengths, dtype=np.uint64),
        }
    )
    adata = ad.AnnData(obs=obs, obsm={key: mat}, uns={"reference_sequences": refs})
    return adata


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _as_path(x, what) -> Path:
    if not isinstance(x, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path (str or os.PathLike), not {type(x).__name__}")
    return Path(x)


def _check_input(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"fragment file not found: {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"fragment file {str(path)!r} is not a regular file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"fragment file {str(path)!r} is not readable")


def _check_output(path: Path):
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist (create it first)"
        )
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    if path.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: it is a folder; give an .h5ad file name")


def _write_atomic(adata, path: Path):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        adata.write_h5ad(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _load_whitelist(whitelist):
    if whitelist is None:
        return None
    if isinstance(whitelist, (str, os.PathLike)):
        p = Path(whitelist)
        if not p.is_file():
            raise FileNotFoundError(f"whitelist file not found: {str(p)!r}")
        with open(p, "r", encoding="utf-8") as fh:
            return {line.strip() for line in fh if line.strip()}
    if isinstance(whitelist, Iterable):
        wl = set()
        for x in whitelist:
            if not isinstance(x, str):
                raise TypeError(f"whitelist must contain barcode strings, found {x!r}")
            wl.add(x)
        return wl
    raise TypeError(
        "whitelist must be a file path or a list of barcodes, not "
        f"{type(whitelist).__name__}"
    )


def import_fragments(
    fragment_file,
    chrom_sizes,
    *,
    file=None,
    is_paired: bool = True,
    min_num_fragments: int = 200,
    sorted_by_barcode: bool = True,
    whitelist=None,
    chrM=("chrM", "M"),
    chunk_size: int = 2000,
    tempdir=None,
    n_jobs: int = 8,
):
    """Import a fragment file into an AnnData in SnapATAC2's layout.

    Drop-in replacement for ``snapatac2.pp.import_fragments`` (2.9.0) that needs
    neither SnapATAC2 nor Rust. The result stores one entry per fragment line
    in a CSR matrix in ``.obsm`` (see Notes) and has the QC columns
    ``n_fragment``, ``frac_dup`` and ``frac_mito`` in ``.obs``.

    Parameters
    ----------
    fragment_file
        Path of a 10x-style fragment file: plain text, gzip or bgzip
        (zstandard too when the ``zstandard`` package is installed). Tab-separated
        columns ``chrom, start, end, barcode, count[, strand]``, 0-based
        half-open coordinates; lines starting with ``#`` are comments. A list of
        paths imports each file separately and returns a list.
    chrom_sizes
        Chromosome lengths: a genome name (``"hg38"``/``"GRCh38"``,
        ``"hg19"``/``"GRCh37"``, ``"mm10"``/``"GRCm38"``, ``"mm39"``/``"GRCm39"``),
        a dict ``{name: length}``, a chrom.sizes file path or a
        ``snapatac2.genome.Genome``. Fragments on other chromosomes are skipped.
        As in SnapATAC2, the chromosomes are stored sorted by name.
    file
        Output ``.h5ad`` path. When given, the result is written there
        (atomically: under a temporary name in the same folder, then renamed)
        and returned opened with ``anndata.read_h5ad(file, backed="r")``.
        With a list of fragment files, a list of the same length.
    is_paired
        ``True``: paired-end fragments, stored in ``obsm["fragment_paired"]``.
        ``False``: single-end reads with a 6th strand column (``+``/``-``),
        stored in ``obsm["fragment_single"]``.
    min_num_fragments
        Cells with fewer unique non-mitochondrial fragments (``n_fragment``)
        are dropped.
    sorted_by_barcode
        Whether the lines of each barcode are contiguous in the file (10x
        files are). If ``True`` and a barcode reappears after other barcodes,
        a ``ValueError`` is raised. With ``False`` any line order works and the
        cells are ordered by barcode.
    whitelist
        Barcodes to keep: a list/set of strings or a text file with one barcode
        per line. ``None`` keeps all.
    chrM
        Names of mitochondrial chromosomes, used for ``frac_mito`` (only those
        also present in ``chrom_sizes`` are counted, and their fragments are
        stored like any other).
    chunk_size
        Accepted for compatibility with SnapATAC2 (there: barcodes processed
        per batch); it does not change the result.
    tempdir
        Accepted for compatibility with SnapATAC2; fragcov sorts in memory and
        writes no temporary files other than the output's temporary name.
    n_jobs
        Accepted for compatibility; files are imported one after another.

    Returns
    -------
    anndata.AnnData or list of anndata.AnnData
        ``n_obs`` cells × 0 variables; backed (read-only) when ``file`` is given.
        If no cell passes the filters, a warning is issued and an empty AnnData
        is returned (as SnapATAC2 does).

    Raises
    ------
    FileNotFoundError
        A fragment file, the whitelist file, a chrom.sizes file or the output
        folder does not exist.
    ValueError
        Bad ``chrom_sizes`` or arguments, malformed lines (the message names the
        file and line number), unsorted input with ``sorted_by_barcode=True``.

    Notes
    -----
    Genome position of ``(chrom, pos)`` = total length of the chromosomes
    before ``chrom`` (in ``uns["reference_sequences"]`` order) + ``pos``.

    - ``obsm["fragment_paired"]``: CSR (``n_obs`` × genome length), column = genome
      position of the fragment start, value = fragment length (``uint32``),
      ``int64`` indices and indptr.
    - ``obsm["fragment_single"]``: value ``+len`` (``int32``) at the read start
      for ``+`` reads, ``-len`` at the read's last base (``end - 1``) for ``-``.

    Rows are sorted by (column, value); one entry per line, so a column may repeat.
    Fragments with ``end == start`` are ignored. QC metrics, over the fragments on
    chromosomes in ``chrom_sizes``: ``n_fragment`` = non-mitochondrial lines,
    ``frac_mito`` = mitochondrial lines / all lines, ``frac_dup`` = 1 - lines /
    sum of the count column. ``uns["reference_sequences"]`` has columns
    ``reference_seq_name`` and ``reference_seq_length`` (``uint64``).
    Cells appear in file order (``sorted_by_barcode=True``) or sorted by
    barcode (``False``).

    Examples
    --------
    >>> import fragcov
    >>> adata = fragcov.import_fragments("fragments.tsv.gz", "hg38", file="pbmc.h5ad")
    """
    # ---- validate everything up front ----
    if isinstance(fragment_file, (list, tuple)):
        inputs = [_as_path(f, "fragment_file") for f in fragment_file]
        if not inputs:
            raise ValueError("fragment_file is an empty list")
        multi = True
        if file is not None:
            if isinstance(file, (str, os.PathLike)) or not isinstance(file, Sequence):
                raise ValueError(
                    "fragment_file is a list, so 'file' must be a list of output paths "
                    "of the same length"
                )
            if len(file) != len(inputs):
                raise ValueError(
                    f"The length of 'file' ({len(file)}) must be the same as the length "
                    f"of 'fragment_file' ({len(inputs)})"
                )
            outputs = [_as_path(f, "file") for f in file]
        else:
            outputs = [None] * len(inputs)
    else:
        inputs = [_as_path(fragment_file, "fragment_file")]
        multi = False
        if file is not None and not isinstance(file, (str, os.PathLike)):
            raise TypeError("file must be a path (str or os.PathLike) when fragment_file is one file")
        outputs = [None if file is None else Path(file)]
    for p in inputs:
        _check_input(p)
    for o in outputs:
        if o is not None:
            _check_output(o)
    resolved = [o.resolve() for o in outputs if o is not None]
    if len(set(resolved)) != len(resolved):
        raise ValueError("the output files in 'file' must be distinct")

    chroms = resolve_chrom_sizes(chrom_sizes)
    chroms = sorted(chroms, key=lambda x: x[0].encode("utf-8"))  # SnapATAC2 (BTreeMap) order

    if isinstance(min_num_fragments, bool) or not isinstance(min_num_fragments, (int, np.integer)) \
            or min_num_fragments < 0:
        raise ValueError(f"min_num_fragments must be a non-negative integer, got {min_num_fragments!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if tempdir is not None and not Path(tempdir).is_dir():
        raise FileNotFoundError(f"tempdir {str(tempdir)!r} does not exist or is not a folder")
    if chrM is None:
        mito_names = set()
    elif isinstance(chrM, str):
        mito_names = {chrM}
    else:
        mito_names = set(chrM)
    wl = _load_whitelist(whitelist)

    results = []
    for inp, out in zip(inputs, outputs):
        adata = _import_one(inp, chroms, bool(is_paired), int(min_num_fragments),
                            bool(sorted_by_barcode), wl, mito_names)
        if out is not None:
            import anndata as ad

            _write_atomic(adata, out)
            del adata
            adata = ad.read_h5ad(out, backed="r")
        results.append(adata)
    return results if multi else results[0]
