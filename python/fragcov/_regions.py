"""Genomic regions for ``blacklist``, ``include_for_norm`` and ``exclude_for_norm``.

Regions are strings ``"chr1:100-200"`` (0-based, half-open, commas allowed in
numbers), ``(chrom, start, end)`` tuples, or a BED file path (plain or gzip).
They become three numpy arrays (chromosome index, start, end) for the C++ index.
"""
from __future__ import annotations

from . import _notices as notices
import gzip
import os
import re
from pathlib import Path

import numpy as np

_REGION = re.compile(r"^\s*([^\s:]+):([\d,]+)-([\d,]+)\s*$")


def _region_from_string(text: str, where: str) -> tuple[str, int, int]:
    m = _REGION.match(text)
    if not m:
        raise ValueError(
            f"{where}: cannot read region {text!r}; write regions as 'chrom:start-end', "
            "e.g. 'chr1:1,000,000-2,000,000', or give a BED file path"
        )
    chrom, start, end = m.group(1), int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))
    if start > end:
        raise ValueError(f"{where}: region {text!r} starts after it ends")
    return chrom, start, end


def read_bed(path: str | os.PathLike, param: str) -> list[tuple[str, int, int]]:
    """Read the first three columns of a BED file (plain or .gz)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{param}: BED file not found: '{path}'")
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    regions = []
    try:
        with opener(path, "rt") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                cols = line.rstrip("\r\n").split("\t")
                if len(cols) < 3:
                    cols = line.split()
                where = f"{param}: {path}, line {lineno}"
                if len(cols) < 3:
                    raise ValueError(f"{where}: expected at least 3 columns (chrom, start, end), got {line.strip()!r}")
                try:
                    start, end = int(cols[1]), int(cols[2])
                except ValueError:
                    raise ValueError(f"{where}: start and end must be whole numbers, got {line.strip()!r}") from None
                if start < 0 or start > end:
                    raise ValueError(f"{where}: need 0 <= start <= end, got {line.strip()!r}")
                regions.append((cols[0], start, end))
    except (OSError, UnicodeDecodeError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"{param}: cannot read BED file '{path}': {err}") from err
    return regions


def parse_regions(value, param: str) -> list[tuple[str, int, int]] | None:
    """Normalise a user's region argument into a list of (chrom, start, end); None stays None."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(value, str) and _REGION.match(text) and not os.path.exists(text):
            return [_region_from_string(text, param)]
        return read_bed(text, param)
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{param} must be a BED file path or a list of 'chrom:start-end' strings, "
                        f"not {type(value).__name__}") from None
    regions = []
    for i, item in enumerate(items):
        where = f"{param}[{i}]"
        if isinstance(item, str):
            regions.append(_region_from_string(item, where))
        elif isinstance(item, (tuple, list)) and len(item) == 3:
            chrom, start, end = item
            try:
                start, end = int(start), int(end)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: start and end must be whole numbers, got {item!r}") from None
            if start < 0 or start > end:
                raise ValueError(f"{where}: need 0 <= start <= end, got {item!r}")
            regions.append((str(chrom), start, end))
        else:
            raise ValueError(f"{where}: expected 'chrom:start-end' or (chrom, start, end), got {item!r}")
    return regions


def to_arrays(regions, chrom_index: dict[str, int], param: str):
    """(chrom indices uint32, starts int64, ends int64); regions on unknown chromosomes are dropped."""
    regions = regions or []
    known = [r for r in regions if r[0] in chrom_index]
    unknown = sorted({r[0] for r in regions if r[0] not in chrom_index})
    if unknown:
        notices.warn(
            f"{param}: {len(regions) - len(known)} region(s) on chromosomes not in the reference "
            f"sequences were ignored ({', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''})",
            stacklevel=3,
        )
    return (
        np.array([chrom_index[r[0]] for r in known], dtype=np.uint32),
        np.array([r[1] for r in known], dtype=np.int64),
        np.array([r[2] for r in known], dtype=np.int64),
    )


def parse_output_regions(value, chrom_sizes: dict[str, int]):
    """``regions`` of export_coverage (docs/spec.md section 4.9) -> (chroms, starts, ends) arrays, or None.

    Accepts chromosome names (``"chr1"``: the whole chromosome), region strings,
    ``(chrom, start, end)`` tuples, a BED file, or a list of these. Unlike the
    blacklist, a chromosome the data does not have is an error: a track cut to
    nothing would look like a valid, empty result.
    """
    if value is None:
        return None
    items = [value] if isinstance(value, (str, os.PathLike)) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"regions must be a chromosome name, a region string, a BED file or a list of these, "
                        f"not {type(value).__name__}")
    regions = []
    for i, item in enumerate(items):
        where = "regions" if items is not value else f"regions[{i}]"
        if isinstance(item, str) and not _REGION.match(item) and (item in chrom_sizes or not os.path.exists(item)):
            regions.append((item, 0, chrom_sizes.get(item, 0)))  # a chromosome name (unknown: refused below)
        elif isinstance(item, (str, os.PathLike)):
            regions.extend(parse_regions(item, where) or [])
        else:
            regions.extend(parse_regions([item], where) or [])
    unknown = sorted({c for c, _, _ in regions if c not in chrom_sizes})
    if unknown:
        raise ValueError(f"regions: unknown chromosome(s) {', '.join(map(repr, unknown[:5]))}; the data's reference "
                         f"sequences are {', '.join(list(chrom_sizes)[:5])}{', ...' if len(chrom_sizes) > 5 else ''}")
    if not regions:
        raise ValueError("regions is empty: give at least one chromosome, region or BED line, or None for the "
                         "whole genome")
    index = {c: i for i, c in enumerate(chrom_sizes)}
    return (np.array([index[c] for c, _, _ in regions], dtype=np.uint32),
            np.array([s for _, s, _ in regions], dtype=np.int64),
            np.array([e for _, _, e in regions], dtype=np.int64))
