"""10x fragment files as input: telling them from .h5ad files (_inputs), the
reader settings that import_fragments and export_coverage share, the samples
of several files, and FragmentFileSource, which exports straight from a file in
one pass.

The file is parsed by the C++ reader (fragcov._core); the rules it applies are
in docs/spec.md section 8.
"""
from __future__ import annotations

import logging
import numbers
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import _notices as notices
from . import _core
from ._genomes import resolve_chrom_sizes
from ._groups import SAMPLE_COLUMNS, barcode_table, read_groups_table  # noqa: F401  (their old home)
from ._inputs import HDF5, is_path, open_input
from ._sources import PAIRED, SINGLE, Source

log = logging.getLogger("fragcov")

CHUNK_LINES = 1 << 18  # lines parsed per exporter chunk: large enough to amortise Python, small in memory


def is_fragment_file(obj) -> bool:
    """A path to an existing file or stream that is neither named nor made like an HDF5 (.h5ad)
    file (docs/spec.md 10.1.3; a stream is never probed). False for a missing path."""
    if not is_path(obj):
        return False
    try:
        return open_input(obj).kind != HDF5
    except (OSError, ValueError):
        return False


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must lie between {low} and {high}, got {value}")
    return value


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
    min_kept_fraction: float = 0.01  # check_kept

    @property
    def kind(self) -> str:
        return PAIRED if self.is_paired else SINGLE

    def reader_kwargs(self) -> dict:
        """The keyword arguments every reader of the core (FragmentChunks, FragmentImporter,
        count_fragments) takes for the file's genome and parsing."""
        return dict(chrom_names=self.names, chrom_lengths=self.lengths, is_paired=self.is_paired,
                    shift_left=self.shift_left, shift_right=self.shift_right, n_threads=self.n_threads)


def reader_settings(chrom_sizes, *, is_paired=True, shift_left=0, shift_right=0, chrM=("chrM", "M"),
                    n_jobs=8, min_kept_fraction=0.01) -> ReaderSettings:
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
        min_kept_fraction=_check_fraction("min_kept_fraction", min_kept_fraction),
    )


def _check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number from 0 to 1, got {value!r}")
    if not 0 <= float(value) <= 1:
        raise ValueError(f"{name} must lie between 0 and 1, got {value!r}")
    return float(value)


def check_kept(path, stats: dict, settings: ReaderSettings) -> None:
    """docs/spec.md 8.21: a file of which almost every line is skipped for the genome (a chromosome
    not in chrom_sizes, or a start past its end) was read with the wrong chrom_sizes; that is an
    error, before any output, unless min_kept_fraction allows it (0 turns the check off)."""
    lines, unknown, past = stats["lines"], stats["unknown_chrom"], stats["past_chrom_end"]
    if not lines or not unknown + past or lines - unknown - past >= settings.min_kept_fraction * lines:
        return
    kept = lines - unknown - past
    parts = []
    if unknown:
        parts.append(f"{unknown:,} on chromosomes not in chrom_sizes")
    if past:
        parts.append(f"{past:,} past their chromosome's end (first: line {stats['first_past_chrom_end_line']}, "
                     f"{stats['first_past_chrom_end']})")
    given = ", ".join(settings.names[:4]) + (", ..." if len(settings.names) > 4 else "")
    raise ValueError(
        f"{path}: only {kept:,} of {lines:,} fragment lines ({100 * kept / lines:.2g}%) fit chrom_sizes "
        f"({len(settings.names)} chromosome(s): {given}); {' and '.join(parts)}. chrom_sizes is probably not the "
        "genome the fragments were aligned to (e.g. mm10 for human data), or names the chromosomes differently "
        "('1' vs 'chr1'). If you meant to keep only these chromosomes, pass min_kept_fraction=0.")


def warn_skipped(path, stats, settings: ReaderSettings, stacklevel: int = 3) -> None:
    """Warnings for the fragments the reader left out (docs/spec.md section 8), after check_kept."""
    check_kept(path, stats, settings)
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
    if stats.get("bgzf_eof_marker_missing"):
        notices.warn(f"{path}: the BGZF file ends without bgzip's end-of-file marker block: it may be truncated "
                     "(cut short at a block boundary); every line before that was read", stacklevel=stacklevel)


# --------------------------------------------------------------------------- several files, samples


_COMPRESSION_SUFFIXES = (".gz", ".bgz", ".zst", ".zstd")
_TEXT_SUFFIXES = (".tsv", ".bed", ".txt")


def sample_name_of(path) -> str:
    """A file's sample name when a plain list is given: its name without the fragment-file
    extensions (``s1.tsv.gz`` -> ``s1``, ``s1_fragments.tsv.bgz`` -> ``s1_fragments``)."""
    name = Path(path).name
    for group in (_COMPRESSION_SUFFIXES, _TEXT_SUFFIXES):
        for suffix in group:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
    return name


@dataclass
class FragmentInput:
    """One fragment file of an export or import; sample None for a single file (no sample logic);
    stream: a pipe or device, read once front to back (docs/spec.md 13.8)."""

    sample: str | None
    path: Path
    stream: bool = False


def fragment_inputs(adata) -> list[FragmentInput] | None:
    """The fragment files `adata` names (docs/spec.md 13.6), or None when it is not fragment-file input:
    one path; a list/tuple of paths (samples named by sample_name_of); a dict {sample: path}. Every
    path is opened as what it is (_inputs.open_input): a missing one is a FileNotFoundError naming
    it, before any other rule, and a stream is a fragment file (never probed as HDF5)."""
    if is_path(adata):
        f = open_input(adata)
        return None if f.kind == HDF5 else [FragmentInput(None, Path(adata), f.is_stream)]
    if isinstance(adata, dict):
        if not adata:
            raise ValueError("the dict of fragment files is empty: give {sample: path, ...}")
        pairs = list(adata.items())
        for sample, path in pairs:
            if not isinstance(sample, str) or not sample:
                raise TypeError(f"sample names must be non-empty strings, got {sample!r}")
            if not is_path(path):
                raise TypeError(f"the fragment file of sample {sample!r} must be a path, got {type(path).__name__}")
    elif isinstance(adata, (list, tuple)) and not adata:
        raise ValueError("the list of inputs is empty: give one or more fragment files (or .h5ad files)")
    elif isinstance(adata, (list, tuple)) and all(is_path(x) for x in adata):
        files = [open_input(x) for x in adata]
        hdf5 = [f.kind == HDF5 for f in files]
        if all(hdf5):
            return None
        if any(hdf5):
            f = files[hdf5.index(True)]
            raise ValueError(f"'{f.path}' is an HDF5/.h5ad file, not a fragment file: a list of inputs holds either "
                             "fragment files or .h5ad files")
        pairs = [(sample_name_of(x), x) for x in adata]
        names = [n for n, _ in pairs]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            same = [str(x) for n, x in pairs if n == dup]
            raise ValueError(f"two fragment files give the sample name {dup!r} ({same[0]}, {same[1]}): a list "
                             "names each sample after its file name without extensions; pass a dict "
                             "{sample: path} to name the samples")
    else:
        return None
    inputs = []
    for sample, path in pairs:
        f = open_input(path, f"fragment file of sample {sample!r}")
        if f.kind == HDF5:
            raise ValueError(f"'{f.path}' (sample {sample!r}) is an HDF5/.h5ad file, not a fragment file: a list "
                             "of inputs holds either fragment files or .h5ad files")
        inputs.append(FragmentInput(sample, Path(path), f.is_stream))
    return inputs



@dataclass
class Cells:
    """The cells of an export from fragment files: obs (indexed by the cell name) and, per file,
    the file's barcodes and their rows in obs."""

    obs: pd.DataFrame
    sample_of_row: np.ndarray  # index of the file per row, -1: not known before reading
    file_barcodes: list[list[str]]
    file_rows: list[np.ndarray]
    keys: pd.Index  # each row's barcode as the groups table writes it (split_by / norm_by by barcode)


def check_sample_sep(sample_sep) -> str:
    if not isinstance(sample_sep, str) or not sample_sep:
        raise ValueError(f"sample_sep must be a non-empty string, got {sample_sep!r}")
    return sample_sep


def split_cell_name(name: str, index_of: dict, sample_sep: str):
    """(sample index, barcode) of a cell name ``sample + sample_sep + barcode``: the known sample
    names decide, not the first separator (a sample may be called ``a#b``); the longest sample name
    that starts the name wins. None when no separator is in the name. A separator without a known
    sample before it is a ValueError (docs/spec.md 13.6.2)."""
    best, start = None, 0
    while True:
        i = name.find(sample_sep, start)
        if i < 0:
            break
        k = index_of.get(name[:i])
        if k is not None:
            best = (k, name[i + len(sample_sep):])
        start = i + 1
    if best is None and sample_sep in name:
        raise ValueError(f"barcode {name!r} is written sample{sample_sep}barcode, but no sample is called "
                         f"{name.split(sample_sep, 1)[0]!r} or any other start of it; the samples are "
                         f"{', '.join(map(repr, index_of))}")
    return best


def row_samples(table: pd.DataFrame, samples: list[str], sample_sep: str) -> tuple[np.ndarray, list[str]]:
    """docs/spec.md 13.6.2, the one rule of export_coverage, compare_groups and import_fragments: the
    sample of each row of a groups table (an index into `samples`, -1: none given) and its barcode in
    that sample's file. A `sample` (or ArchR's `Sample`) column names it (an unknown sample is a
    ValueError; a barcode already written sample#barcode is stripped of it), else a barcode written
    sample#barcode (split_cell_name); a row with neither has no sample. The same (sample, barcode)
    twice is a ValueError."""
    index_of = {s: k for k, s in enumerate(samples)}
    barcodes = [str(b) for b in table.index]
    sample_of = np.full(len(barcodes), -1, dtype=np.int64)
    file_barcode = list(barcodes)
    column = next((c for c in SAMPLE_COLUMNS if c in table.columns), None)
    if column is not None:
        for r, value in enumerate(table[column].astype(object)):
            if value is None or value != value or value == "":
                continue
            k = index_of.get(str(value))
            if k is None:
                raise ValueError(f"the groups table's {column!r} column names sample {value!r} (barcode "
                                 f"{barcodes[r]!r}), which is not one of the fragment files' samples: "
                                 f"{', '.join(map(repr, samples))}")
            sample_of[r] = k
            prefix = f"{value}{sample_sep}"
            if file_barcode[r].startswith(prefix):
                file_barcode[r] = file_barcode[r][len(prefix):]
    else:
        for r, b in enumerate(barcodes):
            found = split_cell_name(b, index_of, sample_sep)
            if found is not None:
                sample_of[r], file_barcode[r] = found
    keys = pd.Index(list(zip(sample_of.tolist(), file_barcode)))
    if keys.has_duplicates:
        r = int(np.flatnonzero(keys.duplicated())[0])
        cell = file_barcode[r] if sample_of[r] < 0 else f"{samples[sample_of[r]]}{sample_sep}{file_barcode[r]}"
        raise ValueError(f"cell {cell} is listed twice in the groups table")
    return sample_of, file_barcode


def assign_cells(table: pd.DataFrame, inputs: list[FragmentInput], sample_sep: str) -> Cells:
    """docs/spec.md 13.6: a cell is (sample, barcode), its sample from row_samples; a row without one
    belongs to the file it occurs in (checked while reading: two files is an error)."""
    n = len(table)
    barcodes = [str(b) for b in table.index]
    if len(inputs) == 1 and inputs[0].sample is None:
        return Cells(table, np.zeros(n, np.int64), [barcodes], [np.arange(n, dtype=np.int64)],
                     pd.Index(barcodes, dtype=object))
    sample_sep = check_sample_sep(sample_sep)
    samples = [i.sample for i in inputs if i.sample is not None]  # several files: each names its sample
    sample_of, file_barcode = row_samples(table, samples, sample_sep)
    column = next((c for c in SAMPLE_COLUMNS if c in table.columns), None)
    unknown = np.flatnonzero(sample_of < 0)
    unknown_set = {file_barcode[r] for r in unknown}
    file_barcodes, file_rows = [], []
    for k in range(len(inputs)):
        rows = np.flatnonzero(sample_of == k)
        clash = next((file_barcode[r] for r in rows if file_barcode[r] in unknown_set), None)
        if clash is not None:
            raise ValueError(f"barcode {clash!r} is listed for sample {samples[k]!r} and also without a sample: "
                             "give every row of the groups table its sample, or none")
        rows = np.sort(np.concatenate([rows, unknown]))  # table order
        file_rows.append(rows.astype(np.int64))
        file_barcodes.append([file_barcode[r] for r in rows])
    names = [b if k < 0 else f"{samples[k]}{sample_sep}{b}" for k, b in zip(sample_of.tolist(), file_barcode)]
    obs = table.copy()
    obs.index = pd.Index(names, dtype=object)
    if column is None:
        obs["sample"] = pd.Series([samples[k] if k >= 0 else None for k in sample_of.tolist()], index=obs.index,
                                  dtype=object)
    return Cells(obs, sample_of, file_barcodes, file_rows, pd.Index(barcodes, dtype=object))


# --------------------------------------------------------------------------- export source


EARLY_OPEN_BYTES = 16 << 20  # a file smaller than this (compressed) is opened before its turn (the core's rule)


def processors() -> int:
    """The processors this process may run on (the affinity mask, as the core's processor_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def thread_count(n_jobs: int) -> int:
    """docs/spec.md 7.1, as the core's thread_count: every processor for n_jobs <= 0, never more."""
    cores = processors()
    return cores if n_jobs <= 0 else min(n_jobs, cores)


class FragmentFileSource(Source):
    """Fragments of one or several fragment files whose cell has a group (docs/spec.md 13).

    The source's cells are the rows of ``groupby`` (obs: the groups table, indexed by the cell's
    name: the barcode, or ``sample#barcode`` with several files; a cell the files lack has no
    fragments). By default each chunk row is one fragment, tagged with its cell: the exporter only
    needs the fragment's group, so a position-sorted file streams straight into the group stores in
    one pass. Several files are read at once, one reader thread each (the exporter's binning does not
    depend on chunk order, docs/spec.md 7.3). With ``whole_cells`` (needed by ``ceiling``, which caps
    per cell) the cells come whole, through import_fragments' barcode sort. Either way fragments are
    chosen as import_fragments stores them, so tracks equal import + export.
    """

    def __init__(self, inputs: list[FragmentInput], table: pd.DataFrame, group_column: str,
                 settings: ReaderSettings, min_num_fragments: int, whole_cells: bool = False, tempdir=None,
                 sample_sep: str = "#"):
        self.inputs = inputs
        self.path = inputs[0].path
        self.settings = settings
        self.names, self.lengths = settings.names, np.asarray(settings.lengths, dtype=np.uint64)
        self.kind = settings.kind
        self.group_column = group_column
        self.whole_cells = whole_cells
        self.tempdir = tempdir
        cells = assign_cells(table, inputs, sample_sep)
        self._report_done = False
        if min_num_fragments > 0:  # needs n_fragment per cell: one more pass over the files
            stream = next((inp for inp in inputs if inp.stream), None)
            if stream is not None:
                raise ValueError(
                    f"min_num_fragments={min_num_fragments} counts each barcode's fragments in a first pass over "
                    f"the file, but '{stream.path}' is a stream (a pipe or device), which can be read only once: "
                    "save it to a file, or leave min_num_fragments=None (the groups table names the cells)")
            counts = np.zeros(len(cells.obs), dtype=np.uint64)
            stored = 0
            for k, inp in enumerate(inputs):
                c, st = _core.count_fragments(str(inp.path), barcodes=cells.file_barcodes[k],
                                              **self._reader_kwargs(), is_mito=settings.is_mito)
                counts[cells.file_rows[k]] += c
                stored += int(st["stored"])
            self._report(counts > 0, cells.obs.index, stored)
            keep = counts >= min_num_fragments
            cells = assign_cells(table[keep], inputs, sample_sep)
        labels = cells.obs[group_column]
        if isinstance(labels.dtype, pd.CategoricalDtype):
            cells.obs[group_column] = labels.cat.remove_unused_categories()
        self._cells = cells
        self._obs = cells.obs
        self.n_obs = len(self._obs)

    def by_barcode(self, values, what: str) -> np.ndarray:
        """split_by / norm_by as a dict or Series indexed by barcode: one value per cell (docs/spec.md 13.2)."""
        from ._groups import by_barcode

        return by_barcode(values, self._cells.keys, self._obs.index, what)

    def _reader_kwargs(self) -> dict:
        kw = self.settings.reader_kwargs()
        if len(self.inputs) > 1:  # decompression and parsing threads (docs/spec.md 8.1.1) are shared out
            # between the files read at once (as the core's FragmentFiles does)
            threads = thread_count(self.settings.n_threads)
            kw["n_threads"] = max(1, threads // max(1, min(len(self.inputs), threads)))
        return kw

    def obs(self):
        return self._obs

    def n_fragments(self):
        return None  # unknown before the files are read; progress bars count up

    def chunks(self):
        raise NotImplementedError("a fragment file is read by the core: core_input()")

    def core_input(self, codes):
        """The files as the core reads them (docs/spec.md 13.6: n_jobs files at once, round robin,
        errors in file order, a cell in two files refused); codes: each cell's track."""
        cells, s = self._cells, self.settings
        tempdir = str(self.tempdir) if self.tempdir is not None else tempfile.gettempdir()
        self._reading = _core.FragmentFiles(
            files=[(str(inp.path), inp.sample or "", cells.file_barcodes[k], cells.file_rows[k].astype(np.int32))
                   for k, inp in enumerate(self.inputs)],
            chrom_names=s.names, chrom_lengths=s.lengths, is_mito=s.is_mito,
            group_of_cell=np.ascontiguousarray(codes, dtype=np.int32), cell_names=[str(n) for n in self._obs.index],
            is_paired=s.is_paired, shift_left=s.shift_left, shift_right=s.shift_right, n_threads=s.n_threads,
            whole_cells=self.whole_cells, tempdir=tempdir,
            check_one_file_per_cell=bool((cells.sample_of_row < 0).any()), chunk_lines=CHUNK_LINES,
            early_open_bytes=EARLY_OPEN_BYTES)
        return self._reading

    def after_reading(self):
        """The barcode match report (docs/spec.md 13.7; first: "no fragment at all" is the more precise
        error), then per-file errors (8.21) and warnings, in file order."""
        stats = self._reading.file_stats()
        if not self._report_done:
            self._report(self._reading.file_of_cell() >= 0, self._obs.index, sum(int(st["stored"]) for st in stats))
        for k, st in enumerate(stats):
            warn_skipped(self.inputs[k].path, st, self.settings, stacklevel=4)

    def _report(self, present: np.ndarray, names, stored: int) -> None:
        """docs/spec.md 13.7: the table-vs-file barcode match report (`stored`: the fragments the files kept)."""
        self._report_done = True
        n, matched = len(present), int(np.count_nonzero(present))
        where = "the file" if len(self.inputs) == 1 else f"the {len(self.inputs)} files"
        if n and not matched:
            example = self._file_example() if stored else None
            table_example = str(names[0])
            hint = ""
            if example is not None:
                if example.endswith("-1") and not table_example.endswith("-1"):
                    hint = (" The file's barcodes end in '-1' (Cell Ranger's GEM-well suffix) and the table's do "
                            "not: add the suffix to the table's barcodes.")
                elif table_example.endswith("-1") and not example.endswith("-1"):
                    hint = (" The table's barcodes end in '-1' (Cell Ranger's GEM-well suffix) and the file's do "
                            "not: strip it from the table's barcodes.")
            if not stored:  # no file has a fragment line (empty, comments only, or no stored fragment)
                holds = "holds" if len(self.inputs) == 1 else "hold"
                raise ValueError(f"{where} ('{self.inputs[0].path}'{'' if len(self.inputs) == 1 else ', ...'}) "
                                 f"{holds} no fragment on the chromosomes of chrom_sizes, so none of the {n:,} "
                                 "barcodes of the groups table has fragments; check the file and chrom_sizes")
            in_file = f"; file '{self.inputs[0].path}': {example!r}" if example is not None else ""
            raise ValueError(
                f"none of the {n:,} barcodes of the groups table occurs in {where} (e.g. table: {table_example!r}"
                f"{in_file}); check that the table belongs to these fragments." + hint)
        if matched < n:
            notices.warn(f"{matched:,} of {n:,} barcodes of the groups table occur in {where} "
                         f"({100 * matched / n:.1f}%); the others are cells without fragments", stacklevel=5)

    def _file_example(self) -> str | None:
        """The first barcode with a stored fragment, in file order (for the no-match error); None when
        no file stores any fragment."""
        for inp in self.inputs:
            if inp.stream:  # read once already: no example rather than a second reading
                continue
            importer = _core.FragmentImporter(str(inp.path), **self._reader_kwargs(), is_mito=self.settings.is_mito,
                                              sorted_by_barcode=True, min_num_fragments=0, max_cells_per_batch=1)
            try:
                for batch in importer:
                    stored = np.flatnonzero(np.diff(batch["indptr"]) > 0)
                    if len(stored):
                        return batch["barcodes"][int(stored[0])]
            except ValueError:
                return None
        return None


def open_fragment_file(inputs, groupby, *, chrom_sizes, min_num_fragments, is_paired, shift_left, shift_right,
                       n_jobs, whole_cells=False, tempdir=None, sample_sep="#",
                       min_kept_fraction=0.01) -> FragmentFileSource:
    """export_coverage's fragment-file input. min_num_fragments=None means 0: the groups table
    already chooses the cells (docs/spec.md section 13)."""
    if not isinstance(inputs, list):
        inputs = fragment_inputs(inputs)
    settings = reader_settings(chrom_sizes, is_paired=is_paired, shift_left=shift_left, shift_right=shift_right,
                               n_jobs=n_jobs, min_kept_fraction=min_kept_fraction)
    minimum = 0 if min_num_fragments is None else _check_int("min_num_fragments", min_num_fragments, 0, 2**63 - 1)
    table, column = barcode_table(groupby)
    return FragmentFileSource(inputs, table, column, settings, minimum, whole_cells=whole_cells, tempdir=tempdir,
                              sample_sep=sample_sep)


def reject_fragment_file_options(given: list[str]) -> None:
    """export_coverage's fragment-file keywords (``given``: those not at their defaults) for an AnnData input."""
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise ValueError(f"{', '.join(given)} only {verb} when adata is a fragment file (an AnnData already "
                         "holds its fragments)")
