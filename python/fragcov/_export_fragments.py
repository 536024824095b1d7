"""fragcov.export_fragments: per-group fragment (BED) files, SnapATAC2-compatible.

Every chunk of cells is turned into text with vectorised numpy code (no Python
loop per fragment) and its lines are appended to the open, compressed stream of
each group (the core's OutputFile: gzip/zstd, temporary name, renamed when all
are complete), so memory holds one chunk plus the compressors' buffers.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from . import _notices as notices
from . import _core
from . import _settings as settings
from ._groups import group_codes, labels_of, obs_column
from ._options import as_int, codec_of_suffix
from ._outputs import OutDir, output_paths
from ._sources import PAIRED, open_source

if TYPE_CHECKING:
    from ._types import Groupby, Input, PathLike, Selections

log = logging.getLogger("fragcov")

BATCH_LINES = 131_072  # fragments formatted at a time (bounds the temporary text matrix)
_TAB, _NL = ord("\t"), ord("\n")


# ----------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------

def _codec(suffix: str, compression) -> str:
    """The codec: `compression` (spellings as export_coverage's), else inferred from the suffix."""
    if compression is None:
        return codec_of_suffix(suffix) or "none"
    if not isinstance(compression, str):
        raise TypeError(f"compression must be a string or None, got {compression!r}")
    probe = _core.ExportOptions()
    probe.compression = compression  # the core's spellings and error message
    return probe.compression


def _length_bounds(min_frag_length, max_frag_length) -> tuple[int | None, int | None]:
    """Checked as export_coverage checks them (the core's rules)."""
    probe = _core.ExportOptions()
    probe.min_frag_length = as_int("min_frag_length", min_frag_length, allow_none=True)
    probe.max_frag_length = as_int("max_frag_length", max_frag_length, allow_none=True)
    probe.validate()
    return probe.min_frag_length, probe.max_frag_length


def _ids(source, ids, exported: np.ndarray) -> np.ndarray:
    """UTF-8 encoded name of every cell (an 'S' array); checked only for exported cells."""
    if ids is None:
        values = pd.Index(source.obs().index)
    elif isinstance(ids, str):
        values = obs_column(source, ids, "ids", ". Pass None to use obs_names, or one id per cell.")
    elif isinstance(ids, (pd.Series, pd.Index, np.ndarray, list, tuple, pd.Categorical)):
        values = ids
    else:
        raise TypeError(f"ids must be None, an obs column name or one id per cell, got {type(ids).__name__}")
    values = pd.Series(np.asarray(values, dtype=object))
    if len(values) != source.n_obs:
        raise ValueError(f"ids has {len(values)} entries but the data has {source.n_obs} cells: give one id per "
                         "cell in observation order, an obs column name, or None for obs_names")
    sub = values[exported]
    missing = sub.isna().to_numpy()
    if missing.any():
        raise ValueError(f"ids is missing (None/NaN) for {int(missing.sum())} exported cell(s), e.g. cell "
                         f"{int(np.flatnonzero(exported)[np.argmax(missing)])}; every exported cell needs an id")
    values = values.where(exported, "").astype(str)
    bad = values.str.contains("[\t\n\r\x00]", regex=True).to_numpy(dtype=bool)
    text = values.to_numpy(dtype=str)
    if bad.any():
        raise ValueError(f"id {values.iloc[int(np.argmax(bad))]!r} contains a tab, line break or NUL character, "
                         "which cannot be written in a BED column")
    return np.char.encode(text, "utf-8") if len(text) else np.zeros(0, dtype="S1")


# ----------------------------------------------------------------------------
# Vectorised line formatting
# ----------------------------------------------------------------------------

def _byte_table(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """'S' array -> (k x width uint8 matrix, byte length of each)."""
    width = max(strings.dtype.itemsize, 1)
    strings = strings.astype(f"S{width}")
    table = strings.view(np.uint8).reshape(len(strings), width)
    return table, np.char.str_len(strings).astype(np.int64)


def _text_field(byte_table: tuple[np.ndarray, np.ndarray], which):
    table, lengths = byte_table
    mat = table[which]
    return mat, np.arange(table.shape[1]) < lengths[which][:, None]


def _int_field(x: np.ndarray):
    """Non-negative int64 -> decimal digits, right-aligned, with a mask of the used columns."""
    n = len(x)
    top = int(x.max()) if n else 0
    width = len(str(top))
    mat = np.empty((n, width), dtype=np.uint8)
    ndig = np.ones(n, dtype=np.int64)
    v = x.copy()
    for col in range(width - 1, -1, -1):
        mat[:, col] = (v % 10).astype(np.uint8) + 48
        v //= 10
        if col:
            ndig += x >= 10 ** (width - col)
    return mat, np.arange(width) >= (width - ndig)[:, None]


def _const(n: int, text: bytes):
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text))), None


def _format(chrom, start, end, cell, strand, chrom_table, id_table):
    """Lines 'chrom\\tstart\\tend\\tid\\t1[\\tstrand]\\n' -> (bytes as uint8 array, byte length per line)."""
    n = len(start)
    fields = [_text_field(chrom_table, chrom), _const(n, b"\t"), _int_field(start), _const(n, b"\t"),
              _int_field(end), _const(n, b"\t"), _text_field(id_table, cell), _const(n, b"\t1")]
    if strand is not None:
        fields += [_const(n, b"\t"), (np.where(strand, ord("+"), ord("-")).astype(np.uint8)[:, None], None)]
    fields.append(_const(n, b"\n"))
    mat = np.concatenate([f[0] for f in fields], axis=1)
    mask = np.concatenate([np.ones(f[0].shape, bool) if f[1] is None else f[1] for f in fields], axis=1)
    return mat[mask], mask.sum(axis=1)


# ----------------------------------------------------------------------------
# Public function
# ----------------------------------------------------------------------------

def export_fragments(
    adata: Input,
    groupby: Groupby,
    selections: Selections = None,
    ids: str | Sequence[str] | None = None,
    min_frag_length: int | None = None,
    max_frag_length: int | None = None,
    out_dir: PathLike = "./",
    prefix: str = "",
    suffix: str = ".bed.zst",
    compression: str | None = None,
    compression_level: int | None = None,
) -> dict[str, str]:
    """Export the fragments of each cell group to a BED file.

    Drop-in replacement for ``snapatac2.ex.export_fragments``: the same lines,
    in the same order. Each line is ``chrom, start, end, id, 1`` (tab-separated,
    0-based half-open coordinates); single-end reads get a sixth column, the
    strand (``+``/``-``). Within a file, cells appear in observation order (for
    a backed view that reorders cells: in file order) and each cell's fragments
    in the order they are stored (by position). There is no header line.

    Parameters
    ----------
    adata
        ``AnnData`` (in memory, a view, or ``backed="r"``), a path to an ``.h5ad``
        or SnapATAC2 ``.h5ads`` file, a list of those (cells concatenated), or a
        SnapATAC2 ``AnnData``/``AnnDataSet``. Fragments are read from
        ``obsm["fragment_paired"]`` or ``obsm["fragment_single"]``.
    groupby
        Column of ``adata.obs``, or one label per cell in observation order.
        Cells with a missing label are skipped.
    selections
        Group names to export; ``None`` exports every group.
    ids
        The fourth column: an ``adata.obs`` column name, or one id per cell.
        ``None`` uses ``adata.obs_names``.
    min_frag_length, max_frag_length
        Inclusive fragment length bounds (paired-end only; single-end reads are
        not filtered). ``None`` is open.
    out_dir, prefix, suffix
        Output file ``out_dir/prefix + group + suffix``; ``/`` in group names is
        replaced by ``+``. ``out_dir`` is created if missing.
    compression
        ``"gzip"`` or ``"zstandard"``; ``None`` infers it from ``suffix``
        (``.gz``: gzip, ``.zst``: zstandard, anything else: plain text).
    compression_level
        gzip 1-9 (default 6) or zstandard 1-22 (default 3).

    Returns
    -------
    dict[str, str]
        Group name to output file path.

    Notes
    -----
    Files are written under a temporary name in ``out_dir`` and renamed when
    complete; after an error or interrupt no partial file is left. Every group
    that is exported gets a file, empty if no fragment passes the filters.

    See Also
    --------
    export_coverage

    Examples
    --------
    >>> import fragcov
    >>> fragcov.export_fragments(fragcov.datasets.demo(), groupby="cell_type", out_dir="fragments",
    ...                          suffix=".bed.gz")  # doctest: +SKIP
    {'CD14 Mono': 'fragments/CD14 Mono.bed.gz', 'CD4 Naive': 'fragments/CD4 Naive.bed.gz', ...}
    >>> # one file per group for MACS3: macs3 callpeak -t "fragments/CD14 Mono.bed.gz" -f BED ...
    """
    # ---- every check that can fail comes before any file is touched ----------
    min_frag_length, max_frag_length = _length_bounds(min_frag_length, max_frag_length)
    if not isinstance(suffix, str):
        raise TypeError(f"suffix must be a string, got {type(suffix).__name__}")
    codec = _codec(suffix, compression)
    level = _core.resolve_compression_level(codec, as_int("compression_level", compression_level, allow_none=True))

    with open_source(adata) as source:
        labels = labels_of(source, groupby)
        groups, codes = group_codes(labels, selections)
        id_bytes = _ids(source, ids, codes >= 0)
        paired = source.kind == PAIRED
        if not paired and (min_frag_length is not None or max_frag_length is not None):
            notices.warn("single-end reads are not filtered by fragment length; min/max_frag_length are ignored",
                          stacklevel=2)
        out_path, paths = output_paths(out_dir, prefix, groups, suffix)
        if not groups:
            notices.warn("no cell has a group label: nothing to export", stacklevel=2)
            return {}

        offsets = np.concatenate([[0], np.cumsum(np.asarray(source.lengths, dtype=np.int64))])
        chrom_table = _byte_table(np.char.encode(np.asarray(source.names, dtype=str), "utf-8"))
        filter_length = paired and (min_frag_length is not None or max_frag_length is not None)

        # ---- stream cells into the groups' files (renamed into place when all are complete)
        log.info("exporting fragments of %d group(s) to %s", len(groups), os.fspath(out_dir))
        out = OutDir(out_path)
        files: list[_core.OutputFile] = []
        n_lines = np.zeros(len(groups), dtype=np.int64)
        bar = settings.progress_bar(total=source.n_fragments(), desc="exporting fragments", unit="frag")
        try:
            out.make()
            files = [_core.OutputFile(path, codec, level) for path in paths]
            for ch in source.chunks():
                bar.update(len(ch.indices))
                _write_chunk(ch, codes, id_bytes, offsets, chrom_table, paired,
                             min_frag_length if filter_length else None,
                             max_frag_length if filter_length else None, files, n_lines)
            for f in files:
                f.commit()
        except BaseException:
            for f in files:
                f.abort()
            out.undo()
            raise
        finally:
            bar.close()
    for group, n in zip(groups, n_lines):
        if n == 0:
            notices.warn(f"group {group!r} has no fragments to export: wrote an empty file", stacklevel=2)
    return dict(zip(groups, paths))


def _write_chunk(ch, codes, id_bytes, offsets, chrom_table, paired, min_len, max_len, files, n_lines) -> None:
    n_cells = len(ch.rows)
    cell_codes = codes[ch.rows]
    per_cell = np.diff(ch.indptr)
    frag_cell = np.repeat(np.arange(n_cells, dtype=np.int64), per_cell)
    frag_code = cell_codes[frag_cell]
    keep = frag_code >= 0
    values = ch.values.astype(np.int64)
    if min_len is not None:
        keep &= values >= min_len
    if max_len is not None:
        keep &= values <= max_len
    sel = np.flatnonzero(keep)
    if not len(sel):
        return
    # group-major, then the chunk's own (cell, position) order
    sel = sel[np.argsort(frag_code[sel], kind="stable")]
    id_table = _byte_table(id_bytes[ch.rows])
    for b in range(0, len(sel), BATCH_LINES):
        idx = sel[b:b + BATCH_LINES]
        gpos = ch.indices[idx]
        chrom = np.searchsorted(offsets, gpos, side="right") - 1
        if len(gpos) and (gpos.min() < 0 or gpos.max() >= offsets[-1]):
            raise ValueError("a fragment lies outside the reference sequences (uns['reference_sequences']): "
                             "the fragment data is inconsistent with its genome")
        pos = gpos - offsets[chrom]
        v = values[idx]
        if paired:
            start, end, strand = pos, pos + v, None
        else:  # +len: start at pos; -len: pos is the last base
            strand = v > 0
            start = np.where(strand, pos, pos + 1 + v)
            end = np.where(strand, pos + v, pos + 1)
            if len(start) and start.min() < 0:
                raise ValueError("a single-end read starts before its chromosome: the fragment data is corrupt")
        text, line_len = _format(chrom, start, end, frag_cell[idx], strand, chrom_table, id_table)
        code = frag_code[idx]
        bounds = np.flatnonzero(np.diff(code)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [len(code)]])
        byte_end = np.cumsum(line_len)
        view = memoryview(text)
        for a, z in zip(starts, stops):
            lo = int(byte_end[a - 1]) if a else 0
            files[code[a]].write(view[lo:int(byte_end[z - 1])])
            n_lines[code[a]] += int(z - a)
