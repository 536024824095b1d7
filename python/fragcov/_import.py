"""import_fragments: 10x fragment files -> AnnData in SnapATAC2's layout.

The C++ core reads and checks the file, groups fragments into cells and
computes the QC counts (fragcov._core.FragmentImporter); this module checks the
arguments and writes the result (_h5ad_fragments). The rules reproduce
``snapatac2.pp.import_fragments`` (SnapATAC2 2.9.0); docs/spec.md section 8
(import_fragments and the fragment-file rules) gives them in full:

- Chromosomes are stored sorted by name (byte order), as SnapATAC2 does (it
  passes ``chrom_sizes`` through a ``BTreeMap``); genome position of
  ``(chrom, pos)`` = sum of the lengths of the chromosomes before ``chrom`` in
  that order + ``pos``.
- Lines starting with ``#`` are comments. Fragments with ``end == start`` are
  dropped before anything else (they neither count nor split barcode runs).
- Fragments on chromosomes missing from ``chrom_sizes`` are ignored entirely
  (not stored, not counted in any QC metric), and so are fragments starting at
  or past their chromosome's length and fragments the shifts leave empty
  (each with a warning).
- Per cell, over stored fragments: ``n_fragment`` = number of lines not on a
  ``chrM`` chromosome, ``n_mito`` = lines on a ``chrM`` chromosome, ``total`` =
  sum of the count column; ``frac_dup = 1 - (n_fragment + n_mito) / total`` and
  ``frac_mito = n_mito / (n_fragment + n_mito)``. Mitochondrial fragments are
  stored in the matrix when their chromosome is in ``chrom_sizes``.
- Cells with ``n_fragment < min_num_fragments`` are dropped.
- Cell order: order of first appearance when ``sorted_by_barcode=True``
  (a barcode whose lines are split into several runs is an error), barcodes
  sorted by byte order when ``sorted_by_barcode=False``.
- Within a cell, entries are sorted by (column, value).
"""
from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _notices as notices
from . import _core
from ._atomic import atomic_output
from ._fragment_file import check_kept, reader_settings, warn_skipped
from ._inputs import HDF5, open_input
from ._outputs import file_in_the_way

if TYPE_CHECKING:
    from anndata import AnnData

    from ._types import ChromSizes, PathLike

__all__ = ["import_fragments"]


def _as_path(x, what) -> Path:
    if not isinstance(x, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path (str or os.PathLike), not {type(x).__name__}")
    return Path(x)


def _check_input(path: Path, what: str = "fragment file"):
    """Opened as what it is (_inputs.open_input): missing is a FileNotFoundError, a folder an error; a
    stream (a pipe, /dev/stdin) is read once, front to back; an HDF5 file is not a fragment file."""
    f = open_input(path, what)
    if f.kind == HDF5:
        raise ValueError(f"{what} '{f.path}' is an HDF5 file (.h5ad?), not a fragment file")


def _check_output(path: Path):
    _core.check_output_path(os.fspath(path))  # the one output-path guard: a device, FIFO or link is refused
    parent = path.parent if str(path.parent) else Path(".")
    blocking = file_in_the_way(parent)
    if blocking is not None:
        raise NotADirectoryError(f"cannot write {str(path)!r}: {str(blocking)!r} is a file, not a folder")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist (create it first)"
        )
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    if path.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: it is a folder; give an .h5ad file name")


def _load_whitelist(whitelist) -> list[str] | None:
    if whitelist is None:
        return None
    if isinstance(whitelist, (str, os.PathLike)):
        f = open_input(whitelist, "whitelist file")  # a stream is read once, as a file is
        barcodes = set()
        with open(f.path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    raise ValueError(f"{f.path}: line {n}: not UTF-8 text (a whitelist is one barcode per "
                                     "line)") from None
                if line:
                    barcodes.add(line)
        return sorted(barcodes)
    if isinstance(whitelist, Iterable):
        wl = set()
        for x in whitelist:
            if not isinstance(x, str):
                raise TypeError(f"whitelist must contain barcode strings, found {x!r}")
            wl.add(x)
        return sorted(wl)
    raise TypeError(f"whitelist must be a file path or a list of barcodes, not {type(whitelist).__name__}")


def _outputs(inputs: list[Path], file, multi: bool) -> list[Path | None]:
    if file is None:
        return [None] * len(inputs)
    if not multi:
        if not isinstance(file, (str, os.PathLike)):
            raise TypeError("file must be a path (str or os.PathLike) when fragment_file is one file")
        return [Path(file)]
    if isinstance(file, (str, os.PathLike)) or not isinstance(file, Sequence):
        raise ValueError("fragment_file is a list, so 'file' must be a list of output paths of the same length")
    if len(file) != len(inputs):
        raise ValueError(f"The length of 'file' ({len(file)}) must be the same as the length of "
                         f"'fragment_file' ({len(inputs)})")
    return [_as_path(f, "file") for f in file]


def _positive_int(name, value, minimum) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def import_fragments(
    fragment_file: PathLike | Sequence[PathLike] | Mapping[str, PathLike],
    chrom_sizes: ChromSizes,
    *,
    file: PathLike | Sequence[PathLike] | None = None,
    is_paired: bool = True,
    min_num_fragments: int = 200,
    sorted_by_barcode: bool = True,
    whitelist: PathLike | Sequence[str] | None = None,
    chrM: Sequence[str] = ("chrM", "M"),
    chunk_size: int = 2000,
    tempdir: PathLike | None = None,
    n_jobs: int = 8,
    shift_left: int = 0,
    shift_right: int = 0,
    groups: PathLike | Mapping[str, Any] | None = None,
    sample_sep: str = "#",
    min_kept_fraction: float = 0.01,
) -> AnnData | list[AnnData]:
    """Import a fragment file into an AnnData in SnapATAC2's layout.

    Drop-in replacement for ``snapatac2.pp.import_fragments`` (2.9.0) that needs
    neither SnapATAC2 nor Rust. The result stores one entry per fragment line
    in a CSR matrix in ``.obsm`` (see Notes) and has the QC columns
    ``n_fragment``, ``frac_dup`` and ``frac_mito`` in ``.obs``. With ``file``,
    memory does not grow with the input: cells are written as they are
    complete (input not sorted by barcode is sorted through files in ``tempdir``).

    Parameters
    ----------
    fragment_file
        Path of a 10x-style fragment file: plain text, gzip, bgzip (BGZF) or
        zstandard, told apart by content. Tab-separated columns
        ``chrom, start, end, barcode[, count[, strand]]``, 0-based half-open
        coordinates written as base-10 integers; lines starting with ``#`` are
        comments. A list of paths imports each file separately and returns a list
        (as SnapATAC2 does). A dict ``{sample: path}`` imports all files into
        one AnnData (an atlas): cells named ``sample#barcode``, in sample order
        then each file's cell order, with a ``sample`` column in ``obs``.
    chrom_sizes
        Chromosome lengths: a genome name (``"hg38"``/``"GRCh38"``,
        ``"hg19"``/``"GRCh37"``, ``"mm10"``/``"GRCm38"``, ``"mm39"``/``"GRCm39"``),
        a dict ``{name: length}``, a chrom.sizes file path or a
        ``snapatac2.genome.Genome``. Fragments on other chromosomes are skipped.
        As in SnapATAC2, the chromosomes are stored sorted by name.
    file
        Output ``.h5ad`` path. When given, the result is written there
        (under a temporary name in the same folder, renamed when complete) and
        returned as a read-only backed AnnData whose fragment matrix stays on
        disk: ``adata.obsm["fragment_paired"]`` is anndata's lazy CSR dataset
        (``[:]`` or ``.to_memory()`` loads it), so memory does not grow with the
        file. The fragment arrays are compressed as SnapATAC2 compresses them
        (Blosc/zstd: ``import hdf5plugin`` before reading them with h5py). With
        a list of fragment files, a list of the same length.
    is_paired
        ``True``: paired-end fragments, stored in ``obsm["fragment_paired"]``.
        ``False``: single-end reads with a 6th strand column (``+``/``-``),
        stored in ``obsm["fragment_single"]``.
    min_num_fragments
        Cells with fewer unique non-mitochondrial fragments (``n_fragment``)
        are dropped.
    sorted_by_barcode
        Whether the lines of each barcode are contiguous in the file (as
        SnapATAC2's ``make_fragment_file`` writes them). If ``True`` and a
        barcode reappears after other barcodes, a ``ValueError`` is raised.
        ``False`` accepts any order (10x files are sorted by position) and
        orders the cells by barcode.
    whitelist
        Barcodes to keep: a list/set of strings or a text file with one barcode
        per line. ``None`` keeps all.
    chrM
        Names of mitochondrial chromosomes, used for ``frac_mito`` (only those
        also present in ``chrom_sizes`` are counted, and their fragments are
        stored like any other).
    chunk_size
        Cells handed from the reader to the writer at a time (a batch also ends
        after about a million fragments, so memory stays bounded); it does not
        change the result.
    tempdir
        Folder for the sort files of ``sorted_by_barcode=False`` (about 16
        bytes per fragment, removed at the end); default the system temporary
        folder.
    n_jobs
        Threads that decompress BGZF input and, with a ``whitelist``, parse
        the lines; ``<= 0`` uses all cores. The result
        does not depend on it. Files in a list are imported one after another.
    groups
        A barcode -> group table, in the forms ``export_coverage`` takes
        with a fragment file: a dict ``{barcode: group}``, a Series indexed by
        barcode, or a ``barcode<TAB>group[<TAB>more]`` TSV (a header line names
        the columns; without one they are ``group``, ``3``, ``4``, ...). Its
        columns are added to ``obs`` (cells missing from the table get NaN), so
        ``export_coverage(adata, groupby="group")`` works on the result.
    sample_sep
        With a dict ``{sample: path}`` as ``fragment_file``: the separator of
        the cells' names ``sample#barcode`` (ArchR's convention).
    shift_left, shift_right
        Tn5 offsets added to every fragment as it is read: ``start += shift_left``,
        ``end += shift_right`` (ArchR's +4/-5 is ``shift_left=4, shift_right=-5``).
        A fragment left with length <= 0 or a start below 0 is dropped; a
        warning counts them.
    min_kept_fraction
        A file of which fewer than this fraction of the lines fit ``chrom_sizes``
        (the others are on chromosomes it lacks, or start past their ends) is an
        error, before any output: ``chrom_sizes`` is then almost surely not the
        file's genome (``"mm10"`` for human data). Default 0.01; ``0`` keeps
        any fraction, e.g. to import only chr21 of a whole-genome file on purpose.

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
        file and line number), unsorted input with ``sorted_by_barcode=True``,
        a file that hardly fits ``chrom_sizes`` (``min_kept_fraction``).

    Warns
    -----
    UserWarning
        Fragments starting at or past their chromosome's length were skipped
        (the warning counts them and shows the first: a sign that ``chrom_sizes``
        is not the assembly of the file); fragments dropped by the shifts; a
        6th column with ``is_paired=True``; no cell passed the filters.

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
    Fragments with ``end == start`` are ignored. A fragment that starts inside
    its chromosome but ends past it is stored whole (coverage is cut at the
    chromosome end). QC metrics, over the stored fragments: ``n_fragment`` =
    non-mitochondrial lines, ``frac_mito`` = mitochondrial lines / all lines,
    ``frac_dup`` = 1 - lines / sum of the count column.
    ``uns["reference_sequences"]`` has columns ``reference_seq_name`` and
    ``reference_seq_length`` (``uint64``). Cells appear in file order
    (``sorted_by_barcode=True``) or sorted by barcode (``False``).

    Examples
    --------
    >>> import fragcov
    >>> frags, cells = fragcov.datasets.demo("fragment"), fragcov.datasets.demo("cell_table")
    >>> adata = fragcov.import_fragments(frags, "hg38", file="pbmc.h5ad", groups=cells, min_num_fragments=0)
    >>> adata.n_obs, list(adata.obs.columns)
    (60, ['n_fragment', 'frac_dup', 'frac_mito', 'cell_type', 'sample', 'ReadsInTSS'])
    >>> fragcov.export_coverage("pbmc.h5ad", groupby="cell_type", out_dir="tracks")  # doctest: +SKIP

    A 10x file (sorted by position) of several samples into one AnnData, cells ``sample#barcode``:

    >>> fragcov.import_fragments({"s1": "s1.tsv.gz", "s2": "s2.tsv.gz"}, fragcov.genome.hg38,
    ...                          file="atlas.h5ad", sorted_by_barcode=False)  # doctest: +SKIP
    """
    # ---- validate everything up front ----
    inputs, outputs, samples = _files(fragment_file, file, sample_sep)
    settings = reader_settings(chrom_sizes, is_paired=is_paired, shift_left=shift_left, shift_right=shift_right,
                               chrM=chrM, n_jobs=n_jobs, min_kept_fraction=min_kept_fraction)
    min_num_fragments = _positive_int("min_num_fragments", min_num_fragments, 0)
    chunk_size = _positive_int("chunk_size", chunk_size, 1)
    if tempdir is not None and not Path(tempdir).is_dir():
        raise FileNotFoundError(f"tempdir {str(tempdir)!r} does not exist or is not a folder")
    spill_dir = str(tempdir) if tempdir is not None else tempfile.gettempdir()
    wl = _load_whitelist(whitelist)
    atlas_cells = None if samples is None else _AtlasCells(samples)
    obs_hook = None if groups is None and samples is None else _obs_hook(groups, atlas_cells, sample_sep)

    def importer(path):
        return _core.FragmentImporter(
            str(path), **settings.reader_kwargs(), is_mito=settings.is_mito,
            sorted_by_barcode=bool(sorted_by_barcode), whitelist=wl, min_num_fragments=min_num_fragments,
            tempdir=spill_dir, max_cells_per_batch=chunk_size)

    if samples is not None:
        return _import_atlas(list(zip(samples, inputs)), outputs[0], importer, settings, obs_hook, sample_sep,
                             min_num_fragments, wl, atlas_cells)
    results = [_import_one(inp, out, importer(inp), settings, obs_hook,
                           f"min_num_fragments={min_num_fragments}{', whitelist' if wl is not None else ''}")
               for inp, out in zip(inputs, outputs)]
    return results if isinstance(fragment_file, (list, tuple)) else results[0]


def _files(fragment_file, file, sample_sep) -> tuple[list[Path], list[Path | None], list | None]:
    """(input paths, output paths (None: in memory), the samples of an atlas or None), all checked."""
    samples = None
    multi = isinstance(fragment_file, (list, tuple))
    outputs: list[Path | None]
    if isinstance(fragment_file, dict):  # an atlas: one AnnData, cells sample#barcode (docs/spec.md 8.14)
        from ._fragment_file import check_sample_sep, fragment_inputs

        atlas = fragment_inputs(fragment_file)
        assert atlas is not None  # a dict is always fragment-file input
        samples = [i.sample for i in atlas]
        check_sample_sep(sample_sep)
        inputs = [i.path for i in atlas]
        if file is not None and not isinstance(file, (str, os.PathLike)):
            raise TypeError("file must be one path (str or os.PathLike) when fragment_file is a dict of samples")
        outputs = [None if file is None else Path(file)]
    elif multi:
        inputs = [_as_path(f, "fragment_file") for f in fragment_file]
        if not inputs:
            raise ValueError("fragment_file is an empty list")
    else:
        inputs = [_as_path(fragment_file, "fragment_file")]
    for p in inputs:  # a missing input first (docs/spec.md 6.6)
        _check_input(p)
    if samples is None:
        outputs = _outputs(inputs, file, multi)
    for o in outputs:
        if o is not None:
            _check_output(o)
    resolved = [o.resolve() for o in outputs if o is not None]
    if len(set(resolved)) != len(resolved):
        raise ValueError("the output files in 'file' must be distinct")
    return inputs, outputs, samples


def _import_one(inp: Path, out: Path | None, cells, settings, obs_hook, filters: str):
    """One fragment file into an AnnData in memory (``out`` None) or an .h5ad opened backed."""
    from ._h5ad_fragments import open_backed, to_anndata, write_h5ad  # h5py, anndata: when an import runs

    if out is None:
        adata = to_anndata(cells, settings, obs_hook)
        n_cells = 0 if adata is None else adata.n_obs
    else:
        with atomic_output(out) as tmp:
            n_cells = write_h5ad(tmp, cells, settings, obs_hook)
            check_kept(inp, cells.stats(), settings)  # before the file takes its name
    stats = cells.stats()
    warn_skipped(inp, stats, settings, stacklevel=4)
    if n_cells == 0:
        hint = ""
        if stats["stored"] == 0 and stats["unknown_chrom"]:
            hint = " None of the file's chromosomes is in chrom_sizes (naming such as '1' vs 'chr1'?)."
        notices.warn(f"{inp}: no barcode passed the filters ({filters}); no data is imported.{hint}", stacklevel=3)
    if out is not None:
        return open_backed(out)
    if n_cells == 0:
        import anndata as ad

        return ad.AnnData()
    return adata


class _AtlasCells:
    """The cells of an atlas import as they are written: each cell's sample (an index into `samples`)
    and its barcode in that sample's file, so that obs's sample column and the groups table's rows
    never have to be recovered by splitting names (a sample may be called ``a#b``)."""

    def __init__(self, samples: list[str]):
        self.samples = samples
        self.sample: list[int] = []
        self.barcode: list[str] = []


def _obs_hook(groups, atlas: _AtlasCells | None, sample_sep):
    """obs -> obs with a `sample` column (atlas) and the groups table's columns (NaN for cells the table
    lacks). In an atlas a table row names its cell as export_coverage's rows do (row_samples: a `sample`
    column, or sample#barcode decided by the known sample names; an unknown sample is an error), or by
    a bare barcode that must then occur in one sample only (docs/spec.md 8.14, 8.20, 13.6.2)."""
    import numpy as np
    import pandas as pd

    from ._fragment_file import barcode_table

    table = None
    if groups is not None:
        table, _ = barcode_table(groups)

    def hook(obs):
        obs = obs.copy()
        if atlas is not None:
            obs["sample"] = pd.Categorical.from_codes(np.asarray(atlas.sample, dtype=np.int64),
                                                      categories=atlas.samples)
        if table is None:
            return obs
        t = table if atlas is None else _atlas_rows(table, atlas, sample_sep)
        clash = [c for c in t.columns if c in obs.columns]
        if clash:
            raise ValueError(f"groups has column(s) {', '.join(map(repr, clash))}, which import_fragments writes "
                             "itself; rename them")
        joined = t.reindex(obs.index)
        for k, c in enumerate(joined.columns):  # h5ad-writable: the group column (first) and text columns
            col = joined[c]                     # categorical (NaN for cells the table lacks), numbers float
            if k > 0:
                try:
                    obs[c] = pd.to_numeric(col).astype(float)
                    continue
                except (TypeError, ValueError):
                    pass
            obs[c] = pd.Categorical(col.astype(object).where(col.notna(), None).map(
                lambda v: v if v is None else str(v)))
        return obs
    return hook


def _atlas_rows(table, atlas: _AtlasCells, sample_sep: str):
    """The groups table of an atlas indexed by cell name (sample#barcode), its sample column dropped."""
    import pandas as pd

    from ._fragment_file import SAMPLE_COLUMNS, row_samples

    column = next((c for c in SAMPLE_COLUMNS if c in table.columns), None)
    sample_of, file_barcode = row_samples(table, atlas.samples, sample_sep)
    bare: dict[str, list[int]] = {}
    for k, b in zip(atlas.sample, atlas.barcode):
        bare.setdefault(b, []).append(k)
    keys = []
    for k, b in zip(sample_of.tolist(), file_barcode):
        if k < 0:
            where = bare.get(b, [])
            if len(where) > 1:
                raise ValueError(f"barcode {b!r} of groups occurs in samples {atlas.samples[where[0]]!r} and "
                                 f"{atlas.samples[where[1]]!r}; write it as sample{sample_sep}barcode or "
                                 "give groups a sample column")
            k = where[0] if where else -1
        keys.append(b if k < 0 else f"{atlas.samples[k]}{sample_sep}{b}")
    index = pd.Index(keys, dtype=object)
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(f"cell {dup!r} is named by two rows of groups (one with its sample, one without): "
                         "give every row its sample, or none")
    table = table.set_axis(index, axis=0)
    return table if column is None else table.drop(columns=[column])


def _import_atlas(pairs, out, importer, settings, obs_hook, sample_sep, min_num_fragments, wl, atlas):
    """The files of {sample: path} into one AnnData, in sample order, cells sample#barcode."""
    from ._h5ad_fragments import open_backed, to_anndata, write_h5ad

    stats = {}

    def batches():
        for k, (sample, path) in enumerate(pairs):
            cells = importer(path)
            for b in cells:
                atlas.sample.extend([k] * len(b["barcodes"]))
                atlas.barcode.extend(b["barcodes"])
                b["barcodes"] = [f"{sample}{sample_sep}{x}" for x in b["barcodes"]]
                yield b
            stats[path] = cells.stats()
            warn_skipped(path, stats[path], settings, stacklevel=5)

    if out is None:
        adata = to_anndata(batches(), settings, obs_hook)
        n_cells = 0 if adata is None else adata.n_obs
    else:
        with atomic_output(out) as tmp:
            n_cells = write_h5ad(tmp, batches(), settings, obs_hook)
    if n_cells == 0:
        notices.warn(f"no barcode of the {len(pairs)} files passed the filters (min_num_fragments="
                     f"{min_num_fragments}{', whitelist' if wl is not None else ''}); no data is imported.",
                     stacklevel=3)
    if out is not None:
        return open_backed(out)
    if n_cells == 0:
        import anndata as ad

        return ad.AnnData()
    return adata
