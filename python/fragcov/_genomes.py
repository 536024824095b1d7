"""Built-in genomes and chromosome-size resolution.

The chromosome lists and lengths are the public UCSC values (primary assembly:
autosomes, X, Y, M) in the order SnapATAC2 2.9.0 uses for its built-in
``snapatac2.genome`` objects. hg19/GRCh37 has no built-in sizes in SnapATAC2;
its values are UCSC's ``hg19.chrom.sizes`` (same chromosome set and order as hg38).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._types import ChromSizes

__all__ = ["resolve_chrom_sizes", "GENOME_ALIASES"]

_DATA_DIR = Path(__file__).resolve().parent / "data" / "genomes"

#: Accepted genome names (lower case) -> file stem under ``data/genomes``.
GENOME_ALIASES = {
    "hg38": "hg38",
    "grch38": "hg38",
    "hg19": "hg19",
    "grch37": "hg19",
    "mm10": "mm10",
    "grcm38": "mm10",
    "mm39": "mm39",
    "grcm39": "mm39",
}

_KNOWN_NAMES = "hg38/GRCh38, hg19/GRCh37, mm10/GRCm38, mm39/GRCm39"


def _check_pair(name, length, where: str) -> tuple[str, int]:
    if not isinstance(name, str) or name == "":
        raise ValueError(f"{where}: chromosome name must be a non-empty string, got {name!r}")
    if any(c in name for c in "\t\n\r"):
        raise ValueError(f"{where}: chromosome name {name!r} contains whitespace")
    if isinstance(length, bool) or not isinstance(length, numbers.Integral):
        if isinstance(length, numbers.Real) and float(length).is_integer():
            length = int(float(length))
        else:
            raise ValueError(
                f"{where}: length of chromosome {name!r} must be a positive integer, got {length!r}"
            )
    length = int(length)
    if length <= 0:
        raise ValueError(
            f"{where}: length of chromosome {name!r} must be a positive integer, got {length}"
        )
    return name, length


def _from_pairs(pairs, where: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for name, length in pairs:
        name, length = _check_pair(name, length, where)
        if name in seen:
            raise ValueError(f"{where}: chromosome {name!r} is listed more than once")
        seen.add(name)
        out.append((name, length))
    if not out:
        raise ValueError(f"{where}: no chromosomes given (chrom_sizes is empty)")
    return out


def _read_chrom_sizes_file(path: Path) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    with open(path, "r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t") if "\t" in line else line.split()
            if len(fields) < 2:
                raise ValueError(
                    f"{path}: line {lineno}: expected 2 columns (name<TAB>length), got {line!r}"
                )
            name, length_s = fields[0].strip(), fields[1].strip()
            try:
                length = int(length_s)
            except ValueError:
                raise ValueError(
                    f"{path}: line {lineno}: chromosome length {length_s!r} is not an integer"
                ) from None
            if name in seen:
                raise ValueError(
                    f"{path}: line {lineno}: chromosome {name!r} already listed on line {seen[name]}"
                )
            name, length = _check_pair(name, length, f"{path}: line {lineno}")
            seen[name] = lineno
            out.append((name, length))
    if not out:
        raise ValueError(f"{path}: the chrom.sizes file lists no chromosomes")
    return out


def resolve_chrom_sizes(chrom_sizes: ChromSizes) -> list[tuple[str, int]]:
    """Turn any accepted description of a genome into ``[(name, length), ...]``.

    Parameters
    ----------
    chrom_sizes
        One of:

        - a built-in genome name (case-insensitive): ``"hg38"``/``"GRCh38"``,
          ``"hg19"``/``"GRCh37"``, ``"mm10"``/``"GRCm38"``, ``"mm39"``/``"GRCm39"``;
        - a mapping ``{chromosome name: length}``;
        - a sequence of ``(name, length)`` pairs;
        - a path (``str`` or ``os.PathLike``) to a chrom.sizes file: one
          chromosome per line, ``name<TAB>length`` (further columns, e.g. of a
          FASTA ``.fai`` index, are ignored; ``#`` lines and blank lines are skipped);
        - an object with a ``chrom_sizes`` attribute holding one of the above,
          such as a ``snapatac2.genome.Genome``.

    Returns
    -------
    list of (str, int)
        The chromosomes in the order given.

    Raises
    ------
    FileNotFoundError
        A path was given and no such file exists.
    ValueError
        Unknown genome name, empty input, duplicate chromosome, non-positive or
        non-integer length, or a malformed chrom.sizes line (file and line number).
    TypeError
        An object of an unsupported type.

    Examples
    --------
    >>> import fragcov
    >>> fragcov.resolve_chrom_sizes("GRCh38")[:2]
    [('chr1', 248956422), ('chr2', 242193529)]
    >>> fragcov.resolve_chrom_sizes({"chr21": 46709983, "chr22": 50818468})
    [('chr21', 46709983), ('chr22', 50818468)]
    >>> fragcov.resolve_chrom_sizes(fragcov.datasets.demo("chrom_sizes"))
    [('chr21', 46709983), ('chr22', 50818468), ('chrM', 16569)]
    """
    if chrom_sizes is None:
        raise ValueError(
            "chrom_sizes is required: give a genome name "
            f"({_KNOWN_NAMES}), a dict {{name: length}} or a chrom.sizes file path"
        )
    if isinstance(chrom_sizes, (str, os.PathLike)):
        if isinstance(chrom_sizes, str):
            alias = GENOME_ALIASES.get(chrom_sizes.strip().lower())
            if alias is not None:
                return _read_chrom_sizes_file(_DATA_DIR / f"{alias}.chrom.sizes")
        path = Path(chrom_sizes)
        if path.is_file():
            return _read_chrom_sizes_file(path)
        if path.exists():
            raise ValueError(f"chrom_sizes path {str(path)!r} is not a regular file")
        text = str(chrom_sizes)
        looks_like_path = (
            isinstance(chrom_sizes, os.PathLike)
            or os.sep in text
            or "/" in text
            or "." in text
        )
        if looks_like_path:
            raise FileNotFoundError(
                f"chrom_sizes file not found: {text!r} (give an existing chrom.sizes "
                f"file, a dict {{name: length}} or a genome name: {_KNOWN_NAMES})"
            )
        raise ValueError(
            f"unknown genome {text!r}: built-in genomes are {_KNOWN_NAMES}; "
            "otherwise give a dict {name: length} or a chrom.sizes file path"
        )
    if isinstance(chrom_sizes, Mapping):
        return _from_pairs(chrom_sizes.items(), "chrom_sizes")
    inner = getattr(chrom_sizes, "chrom_sizes", None)
    if inner is not None and inner is not chrom_sizes:
        return resolve_chrom_sizes(inner)
    if isinstance(chrom_sizes, (list, tuple)):
        pairs = []
        for item in chrom_sizes:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValueError(
                    f"chrom_sizes: expected (name, length) pairs, got {item!r}"
                )
            pairs.append(tuple(item))
        return _from_pairs(pairs, "chrom_sizes")
    raise TypeError(
        f"chrom_sizes must be a genome name ({_KNOWN_NAMES}), a dict {{name: length}}, "
        f"a chrom.sizes file path or a Genome object, not {type(chrom_sizes).__name__}"
    )
