"""fragcov.export_coverage: argument checks, group labels, streaming into the C++ core."""
from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import _core
from . import _settings as settings
from ._regions import parse_regions, to_arrays
from ._sources import open_source

log = logging.getLogger("fragcov")

NORMALIZATIONS = {"rpkm": "RPKM", "cpm": "CPM", "bpm": "BPM"}
STRATEGIES = ("fragment", "insertion")
FORMATS = {"bedgraph": "bedgraph", "bigwig": "bigwig"}
COMPRESSIONS = {"gzip": "gzip", "gz": "gzip", "zstandard": "zstandard", "zstd": "zstandard", "zst": "zstandard"}
LEVELS = {"gzip": (1, 9, 6), "zstandard": (1, 22, 3)}
_FORMAT_SUFFIXES = {".bw": "bigwig", ".bigwig": "bigwig", ".bedgraph": "bedgraph", ".bg": "bedgraph", ".bdg": "bedgraph"}
_CODEC_SUFFIXES = {".gz": "gzip", ".zst": "zstandard", ".zstd": "zstandard"}


def infer_format(suffix: str, output_format, compression) -> tuple[str, str]:
    """(format, compression) from explicit arguments, else from the file suffix (SPEC 4)."""
    s = str(suffix).lower()
    codec = next((c for ext, c in _CODEC_SUFFIXES.items() if s.endswith(ext)), None)
    base = s[: s.rfind(".")] if codec else s
    fmt_from_suffix = next((f for ext, f in _FORMAT_SUFFIXES.items() if base.endswith(ext)), None)

    if output_format is None:
        if fmt_from_suffix is None:
            raise ValueError(
                f"cannot tell the output format from suffix {suffix!r}: use a suffix ending in .bw, .bigwig, "
                ".bedgraph, .bg or .bdg (optionally + .gz or .zst), or pass output_format='bigwig' or 'bedgraph'"
            )
        fmt = fmt_from_suffix
    else:
        fmt = FORMATS.get(str(output_format).lower())
        if fmt is None:
            raise ValueError(f"unknown output_format {output_format!r}: use 'bigwig', 'bedgraph' or None")
    if compression is None:
        if fmt == "bigwig" and codec is not None and output_format is None:
            raise ValueError(
                f"suffix {suffix!r} asks for an outer {codec} codec, but bigWig files are compressed "
                "internally: use a suffix such as '.bw', or output_format='bedgraph' for compressed text"
            )
        comp = (codec or "none") if fmt == "bedgraph" else "none"
    else:
        comp = COMPRESSIONS.get(str(compression).lower())
        if comp is None:
            raise ValueError(f"unknown compression {compression!r}: use 'gzip', 'zstandard' or None")
        if fmt == "bigwig":
            raise ValueError("bigWig files are compressed internally; pass compression=None for bigWig output")
    return fmt, comp


def _check_int(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number{' or None' if allow_none else ''}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _labels(source, groupby) -> pd.Series:
    if isinstance(groupby, str):
        obs = source.obs()
        if groupby not in obs.columns:
            raise ValueError(
                f"groupby={groupby!r} is not a column of adata.obs; available columns: "
                f"{', '.join(map(str, obs.columns)) or '(none)'}"
            )
        return pd.Series(obs[groupby].values)
    if isinstance(groupby, (pd.Series, pd.Index, np.ndarray, list, tuple, pd.Categorical)):
        values = pd.Series(np.asarray(groupby, dtype=object)) if not isinstance(groupby, (pd.Series, pd.Categorical)) \
            else pd.Series(groupby).reset_index(drop=True)
        if len(values) != source.n_obs:
            hint = ""
            if len(values) and all(isinstance(v, str) for v in values[:5]):
                hint = " To group by a column of adata.obs, pass its name as a string, e.g. groupby='cell_type'."
            raise ValueError(
                f"groupby has {len(values)} labels but the data has {source.n_obs} cells: give one label per cell "
                f"in observation order.{hint}"
            )
        return values
    raise TypeError(f"groupby must be an obs column name or one label per cell, got {type(groupby).__name__}")


def _group_codes(labels: pd.Series, selections) -> tuple[list[str], np.ndarray]:
    """Group names (as strings) and an int32 code per cell (-1: no group or not selected)."""
    missing = labels.isna().to_numpy()
    if isinstance(labels.dtype, pd.CategoricalDtype):
        present = set(labels.dropna().astype(str))
        names = [str(c) for c in labels.cat.categories if str(c) in present]
    else:
        names = sorted({str(v) for v in labels[~missing]})
    if selections is not None:
        if isinstance(selections, str):
            selections = [selections]
        wanted = [str(s) for s in selections]
        unknown = [s for s in wanted if s not in names]
        if unknown:
            raise ValueError(
                f"selections name group(s) not found: {', '.join(map(repr, unknown))}; available groups: "
                f"{', '.join(map(repr, names))}"
            )
        names = list(dict.fromkeys(wanted))
    code_of = {n: i for i, n in enumerate(names)}
    as_str = labels.astype(object).where(~missing, None)
    codes = np.fromiter((-1 if v is None else code_of.get(str(v), -1) for v in as_str), dtype=np.int32,
                        count=len(as_str))
    return names, codes


def _file_name(prefix: str, group: str, suffix: str) -> str:
    name = f"{prefix}{group.replace('/', '+')}{suffix}"
    if name in ("", ".", "..") or "\0" in name or len(name.encode()) > 255:
        raise ValueError(f"group {group!r} cannot be a file name (got {name!r}); rename the group or "
                         "change prefix/suffix")
    return name


def _check_length_bounds(min_frag_length, max_frag_length) -> tuple[int | None, int | None]:
    lo = _check_int("min_frag_length", min_frag_length, 0, allow_none=True)
    hi = _check_int("max_frag_length", max_frag_length, 0, allow_none=True)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"min_frag_length ({lo}) is larger than max_frag_length ({hi})")
    return lo, hi


def _check_level(codec: str, compression_level) -> int | None:
    """The checked level for `codec`; None when not given or `codec` has no levels."""
    if compression_level is None:
        return None
    level = _check_int("compression_level", compression_level, -(2**31))
    if codec not in LEVELS:
        return None  # nothing to compress
    lo, hi, _ = LEVELS[codec]
    if not lo <= level <= hi:
        raise ValueError(f"compression_level for {codec} must be {lo}-{hi}, got {level}")
    return level


def _output_paths(out_dir, prefix: str, groups: list[str], suffix: str) -> tuple[Path, list[str]]:
    """out_dir and one file path per group; fails on name clashes or a non-directory out_dir."""
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path, got {type(out_dir).__name__}")
    names = [_file_name(prefix, g, suffix) for g in groups]
    clashes = {n for n in names if names.count(n) > 1}
    if clashes:
        raise ValueError(f"several groups map to the same file name: {sorted(clashes)}; rename the groups")
    out_dir_str = os.fspath(out_dir)
    out_path = Path(out_dir_str)
    if out_path.exists() and not out_path.is_dir():
        raise NotADirectoryError(f"out_dir '{out_path}' exists and is not a directory")
    return out_path, [os.path.join(out_dir_str, n) for n in names]


def _make_out_dir(out_path: Path) -> None:
    out_path.mkdir(parents=True, exist_ok=True)
    if not os.access(out_path, os.W_OK | os.X_OK):
        raise PermissionError(f"out_dir '{out_path}' is not writable")


def export_coverage(
    adata,
    groupby,
    selections=None,
    bin_size=10,
    blacklist=None,
    normalization="RPKM",
    include_for_norm=None,
    exclude_for_norm=None,
    min_frag_length=None,
    max_frag_length=2000,
    counting_strategy="fragment",
    smooth_base=None,
    out_dir="./",
    prefix="",
    suffix=".bw",
    output_format=None,
    compression=None,
    compression_level=None,
    tempdir=None,
    n_jobs=8,
) -> dict[str, str]:
    """Export one genome coverage track (bigWig or bedGraph) per cell group.

    Drop-in replacement for ``snapatac2.ex.export_coverage``. Fragments are
    counted in fixed-width bins, optionally length-filtered, normalised and
    smoothed; every output file is written under a temporary name and renamed
    when complete.

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
    bin_size
        Bin width in bases (>= 1).
    blacklist
        BED file (or list of ``"chrom:start-end"``) of regions; units overlapping
        them are dropped from the track and from normalisation.
    normalization
        ``"RPKM"``, ``"CPM"``, ``"BPM"`` or ``None``. CPM/RPKM divide by the
        number of counted units (fragments or insertions) in millions; RPKM also
        by the bin size in kb; BPM by the sum of bin values in millions.
    include_for_norm, exclude_for_norm
        Regions (``"chrom:start-end"`` strings or a BED file) restricting which
        units count towards the CPM/RPKM denominator. Exclusion wins.
    min_frag_length, max_frag_length
        Inclusive fragment length bounds (paired-end only); ``None`` is open.
    counting_strategy
        ``"fragment"`` counts whole fragments, ``"insertion"`` their two
        Tn5 insertion sites (the 5' end for single-end reads).
    smooth_base
        Width in bases of a moving-window mean applied at base resolution.
    out_dir, prefix, suffix
        Output file ``out_dir/prefix + group + suffix``, ``/`` in group names
        replaced by ``+``. ``out_dir`` is created if missing.
    output_format, compression
        ``"bigwig"``/``"bedgraph"`` and ``"gzip"``/``"zstandard"``; inferred from
        ``suffix`` when ``None``.
    compression_level
        gzip 1-9 (default 6) or zstandard 1-22 (default 3).
    tempdir
        Directory for spill files; default the system temporary directory.
    n_jobs
        Worker threads; ``<= 0`` uses all cores. Output does not depend on it.

    Returns
    -------
    dict[str, str]
        Group name to output file path.
    """
    # ---- every check that can fail comes before any file is touched ----------
    bin_size = _check_int("bin_size", bin_size, 1)
    smooth_base = _check_int("smooth_base", smooth_base, 1, allow_none=True)
    min_frag_length, max_frag_length = _check_length_bounds(min_frag_length, max_frag_length)
    if normalization is None or (isinstance(normalization, str) and normalization.lower() == "none"):
        norm = "none"
    else:
        norm = NORMALIZATIONS.get(str(normalization).lower())
        if norm is None:
            raise ValueError(f"unknown normalization {normalization!r}: use 'RPKM', 'CPM', 'BPM' or None")
    if counting_strategy not in STRATEGIES:
        raise ValueError(f"unknown counting_strategy {counting_strategy!r}: use 'fragment' or 'insertion'")
    fmt, comp = infer_format(suffix, output_format, compression)
    level = _check_level(comp, compression_level)
    n_jobs = _check_int("n_jobs", n_jobs, -(2**31))
    if tempdir is not None:
        tempdir = Path(tempdir)
        if not tempdir.is_dir():
            raise FileNotFoundError(f"tempdir '{tempdir}' does not exist or is not a directory")
        if not os.access(tempdir, os.W_OK | os.X_OK):
            raise PermissionError(f"tempdir '{tempdir}' is not writable")
    spill_dir = str(tempdir) if tempdir is not None else tempfile.gettempdir()
    regions = {name: parse_regions(value, name) for name, value in
               (("blacklist", blacklist), ("include_for_norm", include_for_norm),
                ("exclude_for_norm", exclude_for_norm))}

    source = open_source(adata)
    labels = _labels(source, groupby)
    groups, codes = _group_codes(labels, selections)
    if source.kind == "fragment_single" and (min_frag_length is not None or max_frag_length not in (None, 2000)):
        warnings.warn("single-end reads are not filtered by fragment length; min/max_frag_length are ignored",
                      stacklevel=2)
    if source.kind == "fragment_single":
        min_frag_length = max_frag_length = None

    out_path, paths = _output_paths(out_dir, str(prefix), groups, str(suffix))
    chrom_index = {n: i for i, n in enumerate(source.names)}
    arrays = {k: (None if v is None else to_arrays(v, chrom_index, k)) for k, v in regions.items()}
    empty = to_arrays([], chrom_index, "")
    if not groups:
        warnings.warn("no cell has a group label: nothing to export", stacklevel=2)
        return {}

    # ---- stream cells into the core ----------------------------------------------
    def chunks():
        # The core pulls the first chunk only after its own checks (e.g. bigWig's
        # 32-bit coordinates), so out_dir is created once nothing can be rejected.
        _make_out_dir(out_path)
        bar = settings.progress_bar(total=source.n_fragments(), desc="reading fragments", unit="frag")
        try:
            for ch in chunks_of(source):
                bar.update(len(ch.indices))
                yield ch.indptr, ch.indices, ch.values, np.ascontiguousarray(codes[ch.rows])
        finally:
            bar.close()

    log.info("exporting %d group(s) to %s", len(groups), os.fspath(out_dir))
    stats = _core.export_coverage(
        chrom_names=source.names,
        chrom_lengths=[int(x) for x in source.lengths],
        chunks=chunks(),
        output_paths=paths,
        blacklist=arrays["blacklist"] or empty,
        include_for_norm=arrays["include_for_norm"],
        exclude_for_norm=arrays["exclude_for_norm"] or empty,
        bin_size=bin_size,
        normalization=norm,
        min_frag_length=min_frag_length,
        max_frag_length=max_frag_length,
        counting_strategy=counting_strategy,
        smooth_base=smooth_base,
        output_format=fmt,
        compression=comp,
        compression_level=-1 if level is None else level,  # -1: the codec's default
        tempdir=spill_dir,
        n_jobs=n_jobs,
        memory_budget_bytes=settings.memory_budget_bytes,
    )
    for group, st in zip(groups, stats):
        if st["n_units"] == 0:
            warnings.warn(f"group {group!r} has no fragments to count: wrote an empty track", stacklevel=2)
    return dict(zip(groups, paths))


def chunks_of(source):
    """The source's chunks, skipping none (a hook for tests and progress)."""
    return source.chunks()
