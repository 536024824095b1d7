"""The anchors of fragcov.profile (docs/spec.md sections 16.2, 16.3): BED, GTF/GFF3
(one anchor per gene, at its TSS), region strings, tuples or a DataFrame, read
strictly (one error naming the file and line, or the item), in input order.
"""
from __future__ import annotations

import gzip
import os
import re
from urllib.parse import unquote

import numpy as np
import pandas as pd

from . import _notices as notices
from ._regions import _REGION

COLUMNS = ["chrom", "start", "end", "name", "strand"]
STRANDS = ("+", "-", ".")
MAX_COORDINATE = 2**62  # the core's bound on an anchor base (spec 16.10.3)
_DIGITS = re.compile(r"[0-9]+\Z")
_GENE_TYPES = ("gene", "pseudogene")
# one GTF attribute: key, then a quoted value (which may hold ';') or a bare one, then ';' or the end
_GTF_ATTRIBUTE = re.compile(r'\s*([^\s;"]+)\s+("(?:[^"\\]|\\.)*"|[^;"]*?)\s*(?:;|\Z)')

REFERENCE_POINTS = {"center": "center", "centre": "center", "start": "start", "tss": "start", "end": "end",
                    "tes": "end"}


def reference_point_of(value) -> str:
    """'center', 'start' or 'end' for a user's spelling (spec 16.3)."""
    if not isinstance(value, str):
        raise TypeError(f"reference_point must be a string, got {value!r}")
    point = REFERENCE_POINTS.get(value.lower())
    if point is None:
        raise ValueError(f"unknown reference_point {value!r}: use 'center', 'start' (also 'TSS') or 'end' (also "
                         "'TES')")
    return point


def read_anchors(value) -> tuple[pd.DataFrame, bool]:
    """The anchors as a DataFrame (chrom, start, end, name, strand; index 0..n-1, input order) and whether
    they come from a gene annotation (each then the one-base interval of a TSS)."""
    if isinstance(value, pd.DataFrame):
        return _from_frame(value), False
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(value, str) and _REGION.match(text) and not os.path.exists(text):
            return _from_items([value], single=True), False
        kind = _file_kind(text)
        reader = {"bed": _read_bed, "gtf": _read_gtf, "gff3": _read_gff3}[kind]
        frame = reader(text)
        if frame.empty:
            raise ValueError(f"anchors: {text} holds no anchor" +
                             (" (no gene)" if kind != "bed" else ""))
        return frame, kind != "bed"
    if isinstance(value, (list, tuple)):
        return _from_items(value), False
    raise TypeError("anchors must be a BED, GTF or GFF3 file, a region string, a list of region strings or "
                    f"(chrom, start, end[, strand]) tuples, or a DataFrame; got {type(value).__name__}")


def _file_kind(path: str) -> str:
    low = path.lower()
    if low.endswith(".gz"):
        low = low[:-3]
    if low.endswith(".gtf"):
        return "gtf"
    if low.endswith((".gff", ".gff3")):
        return "gff3"
    return "bed"


def _lines(path: str):
    """(line number, text without its line end) of a plain or gzip file, split at '\\n' only, so that a
    stray '\\r' or other control character stays inside its line."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"anchors: file not found: '{path}'")
    if os.path.isdir(path):
        raise IsADirectoryError(f"anchors: '{path}' is a folder, not a BED, GTF or GFF3 file")
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError(f"anchors: {path}, line {lineno}: not UTF-8 text") from None
                yield lineno, line.removesuffix("\n").removesuffix("\r")
    except (OSError, EOFError) as err:
        if isinstance(err, (FileNotFoundError, IsADirectoryError)):
            raise
        raise ValueError(f"anchors: cannot read '{path}': {err}") from err


def _whole(text: str, where: str, what: str) -> int:
    if not _DIGITS.match(text):
        raise ValueError(f"{where}: {what} must be a whole number, got {text!r}")
    value = int(text)
    if value >= MAX_COORDINATE:
        raise ValueError(f"{where}: {what} {value} is past 2^62")
    return value


def _strand(text: str, where: str) -> str:
    if text not in STRANDS:
        raise ValueError(f"{where}: the strand must be '+', '-' or '.', got {text!r}")
    return text


def _frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"chrom": object, "start": np.int64, "end": np.int64, "name": object, "strand": object})


def _read_bed(path: str) -> pd.DataFrame:
    rows = []
    for lineno, line in _lines(path):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        where = f"anchors: {path}, line {lineno}"
        f = line.split("\t")
        if len(f) < 3:
            f = line.split()
        if len(f) < 3:
            raise ValueError(f"{where}: expected at least 3 columns (chrom, start, end), got {line.strip()!r}; a "
                             "GTF or GFF3 file must be named .gtf, .gff or .gff3")
        start, end = _whole(f[1], where, "start"), _whole(f[2], where, "end")
        if start >= end:
            raise ValueError(f"{where}: need start < end (an anchor holds at least one base), got {start}-{end}")
        name = f[3] if len(f) > 3 and f[3] != "" else f"{f[0]}:{start}-{end}"
        strand = _strand(f[5], where) if len(f) > 5 else "."
        rows.append((f[0], start, end, name, strand))
    return _frame(rows)


def _annotation_fields(f: list, where: str) -> tuple[str, str, int, int, str]:
    """chrom, type, 0-based start, end, strand of a GTF/GFF3 line's fields."""
    if len(f) < 9:
        raise ValueError(f"{where}: expected 9 tab-separated columns (GTF/GFF3), got {len(f)}")
    start, end = _whole(f[3], where, "start"), _whole(f[4], where, "end")
    if not 1 <= start <= end:
        raise ValueError(f"{where}: need 1 <= start <= end (1-based), got {start}-{end}")
    return f[0], f[2], start - 1, end, _strand(f[6], where)


def _gtf_attributes(text: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _GTF_ATTRIBUTE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"{where}: cannot read the attributes at {text[pos:pos + 40]!r} (GTF attributes are "
                             "key \"value\"; pairs)")
        value = m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.setdefault(m.group(1), value)
        pos = m.end()
    return out


def _tss(chrom: str, start: int, end: int, strand: str) -> tuple[str, int, int]:
    """The one-base interval of the 5' end of [start, end) (spec 16.2.2)."""
    s = end - 1 if strand == "-" else start
    return chrom, s, s + 1


def _read_gtf(path: str) -> pd.DataFrame:
    genes: dict[str, list] = {}  # gene_id -> [chrom, strand, start, end, name]; insertion order = first line
    for lineno, line in _lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"anchors: {path}, line {lineno}"
        f = line.split("\t")
        chrom, _, start, end, strand = _annotation_fields(f, where)
        attrs = _gtf_attributes(f[8], where)
        gene_id = attrs.get("gene_id")
        if not gene_id:
            raise ValueError(f"{where}: no gene_id attribute (every GTF line names its gene)")
        gene = genes.get(gene_id)
        if gene is None:
            genes[gene_id] = [chrom, strand, start, end, attrs.get("gene_name")]
            continue
        if gene[0] != chrom or gene[1] != strand:
            raise ValueError(f"{where}: gene {gene_id!r} is on {gene[0]} {gene[1]} in an earlier line and on "
                             f"{chrom} {strand} here")
        gene[2], gene[3] = min(gene[2], start), max(gene[3], end)
        if gene[4] is None:
            gene[4] = attrs.get("gene_name")
    rows = []
    for gene_id, (chrom, strand, start, end, name) in genes.items():
        c, s, e = _tss(chrom, start, end, strand)
        rows.append((c, s, e, name or gene_id, strand))
    return _frame(rows)


def _read_gff3(path: str) -> pd.DataFrame:
    rows = []
    for lineno, line in _lines(path):
        if line.startswith("##FASTA"):
            break
        if not line.strip() or line.startswith("#"):
            continue
        where = f"anchors: {path}, line {lineno}"
        f = line.split("\t")
        chrom, kind, start, end, strand = _annotation_fields(f, where)
        if not (kind in _GENE_TYPES or kind.endswith("_gene")):
            continue
        attrs: dict[str, str] = {}
        for part in f[8].split(";"):
            key, eq, value = part.strip().partition("=")
            if eq:
                attrs.setdefault(key, unquote(value))
        name = attrs.get("Name") or attrs.get("gene_name") or attrs.get("ID") or f"{chrom}:{start}-{end}"
        c, s, e = _tss(chrom, start, end, strand)
        rows.append((c, s, e, name, strand))
    return _frame(rows)


def _from_items(items, single: bool = False) -> pd.DataFrame:
    rows = []
    for i, item in enumerate(items):
        where = "anchors" if single else f"anchors[{i}]"
        if isinstance(item, str):
            m = _REGION.match(item)
            if not m:
                raise ValueError(f"{where}: cannot read region {item!r}; write anchors as 'chrom:start-end' or "
                                 "(chrom, start, end[, strand]), or give a BED, GTF or GFF3 file")
            chrom, start, end, strand = m.group(1), int(m.group(2).replace(",", "")), \
                int(m.group(3).replace(",", "")), "."
        elif isinstance(item, (tuple, list)) and len(item) in (3, 4):
            chrom, start, end = item[:3]
            strand = item[3] if len(item) == 4 else "."
            for what, v in (("start", start), ("end", end)):
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                    raise ValueError(f"{where}: {what} must be a whole number, got {v!r}")
            chrom, start, end = str(chrom), int(start), int(end)
            if not isinstance(strand, str):
                raise ValueError(f"{where}: the strand must be '+', '-' or '.', got {strand!r}")
            strand = _strand(strand, where)
        else:
            raise ValueError(f"{where}: expected 'chrom:start-end' or (chrom, start, end[, strand]), got {item!r}")
        if not 0 <= start < end:
            raise ValueError(f"{where}: need 0 <= start < end (an anchor holds at least one base), got "
                             f"{start}-{end}")
        if end > MAX_COORDINATE:
            raise ValueError(f"{where}: end {end} is past 2^62")
        rows.append((chrom, start, end, f"{chrom}:{start}-{end}", strand))
    if not rows:
        raise ValueError("anchors is empty: give at least one anchor")
    return _frame(rows)


def _from_frame(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("chrom", "start", "end") if c not in df.columns]
    if missing:
        raise ValueError(f"anchors: the DataFrame has no column(s) {', '.join(map(repr, missing))}; it needs "
                         "'chrom', 'start', 'end' and may have 'strand' and 'name'")
    if df.empty:
        raise ValueError("anchors is empty: give at least one anchor")
    out = pd.DataFrame({"chrom": df["chrom"].astype(str).to_numpy(dtype=object)})
    for col in ("start", "end"):
        values = df[col].to_numpy()
        if values.dtype.kind not in "iu":
            raise ValueError(f"anchors: column {col!r} must hold whole numbers, got dtype {values.dtype}")
        out[col] = values.astype(np.int64)
    bad = np.flatnonzero(~((out["start"] >= 0) & (out["start"] < out["end"]) & (out["end"] <= MAX_COORDINATE)))
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"anchors: row {i} has start {out['start'][i]} and end {out['end'][i]}; need "
                         "0 <= start < end")
    names = (out["chrom"] + ":" + out["start"].astype(str) + "-" + out["end"].astype(str)).to_numpy(dtype=object)
    out["name"] = df["name"].astype(str).to_numpy(dtype=object) if "name" in df.columns else names
    if "strand" in df.columns:
        strand = df["strand"].astype(str).to_numpy(dtype=object)
        bad = np.flatnonzero(~np.isin(strand, STRANDS))
        if len(bad):
            raise ValueError(f"anchors: row {int(bad[0])} has strand {strand[bad[0]]!r}; the strand must be '+', "
                             "'-' or '.'")
        out["strand"] = strand
    else:
        out["strand"] = "."
    return out[COLUMNS].reset_index(drop=True)


def resolve(frame: pd.DataFrame, chrom_names, chrom_lengths, reference_point: str) -> pd.DataFrame:
    """Spec 16.2.4 and 16.3: the anchors on the data's chromosomes (others left out with a warning), with
    their anchor base (``position``), chromosome index (``chrom_index``) and place in the input (``index``)."""
    index = {str(n): i for i, n in enumerate(chrom_names)}
    lengths = np.asarray([int(x) for x in chrom_lengths], dtype=np.int64)
    chrom_index = frame["chrom"].map(index)
    known = chrom_index.notna().to_numpy()
    if not known.all():
        unknown = list(dict.fromkeys(frame["chrom"][~known]))
        if not known.any():
            raise ValueError(f"anchors: none of the {len(frame)} anchors is on a chromosome of the data (e.g. "
                             f"{', '.join(map(repr, unknown[:3]))}); the data's chromosomes are "
                             f"{', '.join(list(index)[:5])}{', ...' if len(index) > 5 else ''}")
        notices.warn(f"anchors: {int((~known).sum())} of {len(frame)} anchors are on chromosomes the data does not "
                     f"have ({', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''}): left out",
                     stacklevel=4)
    used = frame[known].copy()
    used.insert(len(used.columns), "index", np.flatnonzero(known).astype(np.int64))
    used["chrom_index"] = chrom_index[known].astype(np.int64).to_numpy()
    start, end = used["start"].to_numpy(), used["end"].to_numpy()
    minus = (used["strand"] == "-").to_numpy()
    if reference_point == "center":
        position = start + (end - start) // 2
    elif reference_point == "start":
        position = np.where(minus, end - 1, start)
    else:
        position = np.where(minus, start, end - 1)
    used.insert(5, "position", position.astype(np.int64))
    past = position >= lengths[used["chrom_index"].to_numpy()]
    if past.any():
        first = used[past].iloc[0]
        notices.warn(f"anchors: {int(past.sum())} anchors lie at or past the end of their chromosome (e.g. "
                     f"{first['name']!r} at {first['chrom']}:{int(first['position'])}): their bins are NaN",
                     stacklevel=4)
    return used.reset_index(drop=True)
