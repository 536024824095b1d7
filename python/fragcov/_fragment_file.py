"""10x fragment files as input: telling them from .h5ad files, the reader
settings that import_fragments and export_coverage share, barcode -> group
tables, and FragmentFileSource, which exports straight from a file in one pass.

The file is parsed by the C++ reader (fragcov._core); the rules it applies are
in docs/spec.md, section "Fragment files".
"""
from __future__ import annotations

import logging
import numbers
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import _core
from ._genomes import resolve_chrom_sizes
from ._sources import PAIRED, SINGLE, Chunk, Source

log = logging.getLogger("fragcov")

_ANNDATA_SUFFIXES = (".h5ad", ".h5ads", ".h5")
CHUNK_LINES = 1 << 18  # lines parsed per exporter chunk: large enough to amortise Python, small in memory
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_fragment_file(obj) -> bool:
    """A path to an existing file that is neither named nor made like an HDF5 (.h5ad) file."""
    if not isinstance(obj, (str, os.PathLike)):
        return False
    path = Path(obj)
    if path.suffix.lower() in _ANNDATA_SUFFIXES or not path.is_file():
        return False
    with open(path, "rb") as fh:
        return fh.read(8) != _HDF5_SIGNATURE


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must lie between {low} and {high}, got {value}")
    return int(value)


@dataclass
class ReaderSettings:
    """What the C++ reader needs besides the path (docs/spec.md, "Fragment files")."""

    names: list[str]          # chromosomes in storage order: sorted by name, as SnapATAC2 stores them
    lengths: list[int]
    is_mito: list[bool]
    is_paired: bool
    shift_left: int
    shift_right: int
    n_threads: int

    @property
    def kind(self) -> str:
        return PAIRED if self.is_paired else SINGLE


def reader_settings(chrom_sizes, *, is_paired=True, shift_left=0, shift_right=0, chrM=("chrM", "M"),
                    n_jobs=8) -> ReaderSettings:
    if chrom_sizes is None:
        raise ValueError("a fragment file needs chrom_sizes: a genome name such as 'hg38', a dict "
                         "{chromosome: length} or a chrom.sizes file")
    chroms = sorted(resolve_chrom_sizes(chrom_sizes), key=lambda c: c[0].encode("utf-8"))  # SnapATAC2 (BTreeMap) order
    if chrM is None:
        mito = set()
    elif isinstance(chrM, str):
        mito = {chrM}
    else:
        mito = {str(c) for c in chrM}
    return ReaderSettings(
        names=[c for c, _ in chroms],
        lengths=[n for _, n in chroms],
        is_mito=[c in mito for c, _ in chroms],
        is_paired=bool(is_paired),  # converted with bool(), as SnapATAC2 does
        shift_left=_check_int("shift_left", shift_left, -(2**31) + 1, 2**31 - 1),
        shift_right=_check_int("shift_right", shift_right, -(2**31) + 1, 2**31 - 1),
        n_threads=_check_int("n_jobs", n_jobs, -(2**31), 2**31 - 1),
    )


def warn_skipped(path, stats: dict, settings: ReaderSettings, stacklevel: int = 3) -> None:
    """Warnings for the fragments the reader left out (docs/spec.md, "Fragment files")."""
    if stats["past_chrom_end"]:
        warnings.warn(
            f"{path}: {stats['past_chrom_end']:,} fragment(s) start at or past the end of their chromosome in "
            f"chrom_sizes and were skipped (first: line {stats['first_past_chrom_end_line']}, "
            f"{stats['first_past_chrom_end']}); check that chrom_sizes is the assembly the fragments were "
            "aligned to", UserWarning, stacklevel=stacklevel)
    if stats["shifted_away"]:
        warnings.warn(
            f"{path}: {stats['shifted_away']:,} fragment(s) were dropped because shift_left={settings.shift_left}, "
            f"shift_right={settings.shift_right} left them with length <= 0 or a start before the chromosome "
            f"start (first: line {stats['first_shifted_away_line']})", UserWarning, stacklevel=stacklevel)
    if settings.is_paired and stats["first_data_columns"] >= 6:
        warnings.warn(
            f"{path}: the fragment file has a 6th (strand) column but is_paired=True; the records are read as "
            "paired-end fragments. Pass is_paired=False for single-end reads.", UserWarning, stacklevel=stacklevel)
    if stats["unknown_chrom"]:
        log.info("%s: %d line(s) on chromosomes not in chrom_sizes were skipped", path, stats["unknown_chrom"])


# --------------------------------------------------------------------------- groups


def read_groups_table(path) -> pd.Series:
    """A barcode<TAB>group file (no header, or a first line whose first column is barcode,
    cell, cell_id or barcodes; '#' lines are comments) as a Series of groups indexed by barcode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"groups table not found: '{path}' (with a fragment file, groupby is the path of a "
                                "barcode<TAB>group table, a dict {barcode: group} or a Series indexed by barcode)")
    table = pd.read_csv(path, sep="\t", header=None, dtype=str, comment="#", usecols=[0, 1],
                        keep_default_na=False)
    if len(table) and table.iloc[0, 0].lower() in ("barcode", "cell", "cell_id", "barcodes"):
        table = table.iloc[1:]
    return pd.Series(table[1].to_numpy(), index=pd.Index(table[0].to_numpy(), dtype=object))


def barcode_labels(groupby) -> pd.Series:
    """Group labels indexed by barcode, from a dict, a Series indexed by barcode or a table path.
    Barcodes without a label (None/NaN) are left out."""
    if isinstance(groupby, (str, os.PathLike)):
        labels = read_groups_table(groupby)
    elif isinstance(groupby, pd.Series):
        labels = groupby
    elif isinstance(groupby, dict):
        labels = pd.Series(list(groupby.values()), index=pd.Index(list(groupby.keys()), dtype=object), dtype=object)
    else:
        raise TypeError(
            "with a fragment file, groupby must map barcodes to groups: a dict {barcode: group}, a pandas "
            f"Series indexed by barcode, or the path of a barcode<TAB>group table; got {type(groupby).__name__}")
    bad = next((b for b in labels.index if not isinstance(b, str)), None)
    if bad is not None:
        raise TypeError(f"barcodes must be strings, got {bad!r} ({type(bad).__name__})")
    dup = labels.index[labels.index.duplicated()]
    if len(dup):
        raise ValueError(f"barcode {dup[0]!r} has more than one group in groupby")
    return labels[labels.notna().to_numpy()]


# --------------------------------------------------------------------------- export source


class FragmentFileSource(Source):
    """Fragments of a fragment file whose barcode has a group, in one pass.

    The source's cells are the barcodes of ``groupby`` (obs: their "group").
    Each chunk row is one fragment, tagged with its barcode's cell: the
    exporter only needs the fragment's group, so a position-sorted file streams
    straight into the group stores. Fragments are chosen as import_fragments
    stores them, so tracks equal import + export.
    """

    def __init__(self, path, labels: pd.Series, settings: ReaderSettings, min_num_fragments: int):
        self.path = Path(path)
        self.settings = settings
        self.names, self.lengths = settings.names, np.asarray(settings.lengths, dtype=np.uint64)
        self.kind = settings.kind
        if min_num_fragments > 0:  # needs n_fragment per barcode: one more pass over the file
            counts, _ = _core.count_fragments(
                str(self.path), settings.names, settings.lengths, settings.is_mito, [str(b) for b in labels.index],
                settings.is_paired, settings.shift_left, settings.shift_right, settings.n_threads)
            labels = labels[counts >= min_num_fragments]
        if isinstance(labels.dtype, pd.CategoricalDtype):
            labels = labels.cat.remove_unused_categories()
        self._barcodes = [str(b) for b in labels.index]
        self._obs = pd.DataFrame({"group": labels.to_numpy() if not isinstance(labels.dtype, pd.CategoricalDtype)
                                  else labels.array}, index=pd.Index(self._barcodes, dtype=object))
        self.n_obs = len(self._obs)

    def obs(self):
        return self._obs

    def n_fragments(self):
        return None  # unknown before the file is read; progress bars count up

    def chunks(self):
        cell_of_barcode = np.arange(self.n_obs, dtype=np.int32)  # the reader numbers barcodes in this order
        it = _core.FragmentChunks(str(self.path), self.settings.names, self.settings.lengths, self._barcodes,
                                  cell_of_barcode, self.settings.is_paired, self.settings.shift_left,
                                  self.settings.shift_right, self.settings.n_threads, CHUNK_LINES)
        for indptr, indices, values, cell in it:
            yield Chunk(indptr, indices, values, cell)
        warn_skipped(self.path, it.stats(), self.settings, stacklevel=4)


def open_fragment_file(path, groupby, *, chrom_sizes, min_num_fragments, is_paired, shift_left, shift_right,
                       n_jobs) -> FragmentFileSource:
    """export_coverage's fragment-file input. min_num_fragments=None means 0: the groups table
    already chooses the cells (docs/spec.md, "Fragment files")."""
    settings = reader_settings(chrom_sizes, is_paired=is_paired, shift_left=shift_left, shift_right=shift_right,
                               n_jobs=n_jobs)
    minimum = 0 if min_num_fragments is None else _check_int("min_num_fragments", min_num_fragments, 0, 2**63 - 1)
    return FragmentFileSource(path, barcode_labels(groupby), settings, minimum)


def reject_fragment_file_options(**options) -> None:
    """export_coverage's fragment-file keywords given for an AnnData input."""
    defaults = dict(chrom_sizes=None, min_num_fragments=None, is_paired=True, shift_left=0, shift_right=0)
    given = [k for k, v in options.items() if (v is not None if defaults[k] is None else v != defaults[k])]
    if given:
        raise ValueError(f"{', '.join(given)} only apply when adata is a fragment file (an AnnData already "
                         "holds its fragments)")
