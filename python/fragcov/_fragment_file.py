"""10x fragment files as input: telling them from .h5ad files, the reader
settings that import_fragments and export_coverage share, barcode -> group
tables, and FragmentFileSource, which exports straight from a file in one pass.

The file is parsed by the C++ reader (fragcov._core); the rules it applies are
in docs/spec.md section 8.
"""
from __future__ import annotations

import logging
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import _notices as notices
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
    """What the C++ reader needs besides the path (docs/spec.md section 8)."""

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
    """Warnings for the fragments the reader left out (docs/spec.md section 8)."""
    if stats["past_chrom_end"]:
        notices.warn(
            f"{path}: {stats['past_chrom_end']:,} fragment(s) start at or past the end of their chromosome in "
            f"chrom_sizes and were skipped (first: line {stats['first_past_chrom_end_line']}, "
            f"{stats['first_past_chrom_end']}); check that chrom_sizes is the assembly the fragments were "
            "aligned to", stacklevel=stacklevel)
    if stats["shifted_away"]:
        notices.warn(
            f"{path}: {stats['shifted_away']:,} fragment(s) were dropped because shift_left={settings.shift_left}, "
            f"shift_right={settings.shift_right} left them with length <= 0 or a start before the chromosome "
            f"start (first: line {stats['first_shifted_away_line']})", stacklevel=stacklevel)
    if settings.is_paired and stats["first_data_columns"] >= 6:
        notices.warn(
            f"{path}: the fragment file has a 6th (strand) column but is_paired=True; the records are read as "
            "paired-end fragments. Pass is_paired=False for single-end reads.", stacklevel=stacklevel)
    if stats["unknown_chrom"]:
        notices.warn(f"{path}: {stats['unknown_chrom']:,} line(s) on chromosomes not in chrom_sizes were skipped",
                     stacklevel=stacklevel)


# --------------------------------------------------------------------------- groups


_HEADER_NAMES = ("barcode", "cell", "cell_id", "barcodes")


def read_groups_table(path) -> pd.DataFrame:
    """A barcode<TAB>group[<TAB>more columns] file as a table indexed by barcode ('#' lines are
    comments). With a header line (first column barcode, cell, cell_id or barcodes) the columns keep
    its names; without one the second column is "group" and further ones are named by their
    1-based number ("3", "4", ...), so split_by / norm_by can name them either way."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"groups table not found: '{path}' (with a fragment file, groupby is the path of a "
                                "barcode<TAB>group table, a dict {barcode: group} or a Series indexed by barcode)")
    table = pd.read_csv(path, sep="\t", header=None, dtype=str, comment="#", keep_default_na=False)
    if table.shape[1] < 2:
        raise ValueError(f"groups table '{path}' needs at least two tab-separated columns: barcode, group")
    if len(table) and table.iloc[0, 0].lower() in _HEADER_NAMES:
        names = [str(x) for x in table.iloc[0]]
        table = table.iloc[1:]
    else:
        names = ["barcode", "group"] + [str(i + 1) for i in range(2, table.shape[1])]
    table.columns = names
    table = table.set_index(names[0])
    table.index = pd.Index(table.index.to_numpy(), dtype=object)
    return table.replace({"": None})


def barcode_table(groupby) -> tuple[pd.DataFrame, str]:
    """(table indexed by barcode, name of its group column) from a dict, a Series indexed by
    barcode or a table path. Barcodes without a group (None/NaN/empty) are left out."""
    if isinstance(groupby, (str, os.PathLike)):
        table = read_groups_table(groupby)
        column = table.columns[0]
    elif isinstance(groupby, (pd.Series, dict)):
        labels = groupby if isinstance(groupby, pd.Series) else \
            pd.Series(list(groupby.values()), index=pd.Index(list(groupby.keys()), dtype=object), dtype=object)
        column = "group"
        table = pd.DataFrame({column: labels})
    else:
        raise TypeError(
            "with a fragment file, groupby must map barcodes to groups: a dict {barcode: group}, a pandas "
            f"Series indexed by barcode, or the path of a barcode<TAB>group table; got {type(groupby).__name__}")
    bad = next((b for b in table.index if not isinstance(b, str)), None)
    if bad is not None:
        raise TypeError(f"barcodes must be strings, got {bad!r} ({type(bad).__name__})")
    dup = table.index[table.index.duplicated()]
    if len(dup):
        raise ValueError(f"barcode {dup[0]!r} has more than one group in groupby")
    return table[table[column].notna().to_numpy()], column


# --------------------------------------------------------------------------- export source


class FragmentFileSource(Source):
    """Fragments of a fragment file whose barcode has a group.

    The source's cells are the barcodes of ``groupby`` (obs: the groups table,
    indexed by barcode; a barcode the file lacks is a cell without fragments).
    By default each chunk row is one fragment, tagged with its barcode's cell:
    the exporter only needs the fragment's group, so a position-sorted file
    streams straight into the group stores in one pass. With ``whole_cells``
    (needed by ``ceiling``, which caps per cell) the cells come whole, through
    import_fragments' barcode sort. Either way fragments are chosen as
    import_fragments stores them, so tracks equal import + export.
    """

    def __init__(self, path, table: pd.DataFrame, group_column: str, settings: ReaderSettings,
                 min_num_fragments: int, whole_cells: bool = False, tempdir=None):
        self.path = Path(path)
        self.settings = settings
        self.names, self.lengths = settings.names, np.asarray(settings.lengths, dtype=np.uint64)
        self.kind = settings.kind
        self.group_column = group_column
        self.whole_cells = whole_cells
        self.tempdir = tempdir
        if min_num_fragments > 0:  # needs n_fragment per barcode: one more pass over the file
            counts, _ = _core.count_fragments(
                str(self.path), settings.names, settings.lengths, settings.is_mito, [str(b) for b in table.index],
                settings.is_paired, settings.shift_left, settings.shift_right, settings.n_threads)
            table = table[counts >= min_num_fragments]
        labels = table[group_column]
        if isinstance(labels.dtype, pd.CategoricalDtype):
            table = table.assign(**{group_column: labels.cat.remove_unused_categories()})
        self._barcodes = [str(b) for b in table.index]
        self._obs = table
        self.n_obs = len(self._obs)

    def obs(self):
        return self._obs

    def n_fragments(self):
        return None  # unknown before the file is read; progress bars count up

    def chunks(self):
        if self.whole_cells:
            yield from self._whole_cells()
            return
        cell_of_barcode = np.arange(self.n_obs, dtype=np.int32)  # the reader numbers barcodes in this order
        it = _core.FragmentChunks(str(self.path), self.settings.names, self.settings.lengths, self._barcodes,
                                  cell_of_barcode, self.settings.is_paired, self.settings.shift_left,
                                  self.settings.shift_right, self.settings.n_threads, CHUNK_LINES)
        for indptr, indices, values, cell in it:
            yield Chunk(indptr, indices, values, cell)
        warn_skipped(self.path, it.stats(), self.settings, stacklevel=4)


    def _whole_cells(self):
        """Every cell's fragments at once, sorted by barcode through import_fragments' bounded sort."""
        import tempfile

        row_of = {b: i for i, b in enumerate(self._barcodes)}
        importer = _core.FragmentImporter(
            str(self.path), self.settings.names, self.settings.lengths, self.settings.is_mito,
            self.settings.is_paired, False, self._barcodes, 0, self.settings.shift_left,
            self.settings.shift_right, str(self.tempdir) if self.tempdir is not None else tempfile.gettempdir(),
            self.settings.n_threads, 1 << 30, 1 << 20)
        for batch in importer:
            rows = np.array([row_of[b] for b in batch["barcodes"]], dtype=np.int64)
            yield Chunk(batch["indptr"], batch["indices"], batch["data"], rows)
        warn_skipped(self.path, importer.stats(), self.settings, stacklevel=4)


def open_fragment_file(path, groupby, *, chrom_sizes, min_num_fragments, is_paired, shift_left, shift_right,
                       n_jobs, whole_cells=False, tempdir=None) -> FragmentFileSource:
    """export_coverage's fragment-file input. min_num_fragments=None means 0: the groups table
    already chooses the cells (docs/spec.md section 13)."""
    settings = reader_settings(chrom_sizes, is_paired=is_paired, shift_left=shift_left, shift_right=shift_right,
                               n_jobs=n_jobs)
    minimum = 0 if min_num_fragments is None else _check_int("min_num_fragments", min_num_fragments, 0, 2**63 - 1)
    table, column = barcode_table(groupby)
    return FragmentFileSource(path, table, column, settings, minimum, whole_cells=whole_cells, tempdir=tempdir)


def reject_fragment_file_options(**options) -> None:
    """export_coverage's fragment-file keywords given for an AnnData input."""
    defaults = dict(chrom_sizes=None, min_num_fragments=None, is_paired=True, shift_left=0, shift_right=0)
    given = [k for k, v in options.items() if (v is not None if defaults[k] is None else v != defaults[k])]
    if given:
        raise ValueError(f"{', '.join(given)} only apply when adata is a fragment file (an AnnData already "
                         "holds its fragments)")
