"""Types of ``fragcov._core``, the C++ extension (cpp/bindings/python_module.cpp).

Keep in step with the bindings: tests/test_typing.py checks that this file names
exactly what the module exports, with the same parameters.
"""
from collections.abc import Iterable, Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

__version__: str
"""``fragcov::version()``: the version in pyproject.toml."""

# (chromosome indices uint32, starts int64, ends int64), one entry per region,
# 0-based half-open; fragcov._regions.to_arrays builds it.
_RegionArrays = tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]

# One chunk of cells in CSR form: (indptr int64 [n_cells + 1], starting at 0;
# indices int64: genome-wide start positions; values uint32 fragment lengths
# (paired-end) or int32 signed read lengths (single-end); cell_group int32
# [n_cells]: the group of each cell, -1 for none). All C-contiguous.
_Chunk = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.uint32] | npt.NDArray[np.int32],
    npt.NDArray[np.int32],
]

class _GroupStats(TypedDict):
    n_units: int     # units binned into the track (after the blacklist)
    norm_count: int  # N, the normalisation count (docs/spec.md section 3.4)
    bin_sum: int     # S, the summed bin values (docs/spec.md section 3.6)

def export_coverage(
    chrom_names: Sequence[str],
    chrom_lengths: Sequence[int],
    chunks: Iterable[_Chunk],
    output_paths: Sequence[str],
    blacklist: _RegionArrays,
    include_for_norm: _RegionArrays | None,
    exclude_for_norm: _RegionArrays,
    bin_size: int,
    normalization: str,  # "none", "CPM", "RPKM" or "BPM"
    min_frag_length: int | None,
    max_frag_length: int | None,
    counting_strategy: str,  # "fragment" or "insertion"
    smooth_base: int | None,
    output_format: str,  # "bedgraph" or "bigwig"
    compression: str,  # "none", "gzip" or "zstandard"
    compression_level: int,
    tempdir: str,
    n_jobs: int,
    memory_budget_bytes: int = ...,
) -> list[_GroupStats]:
    """Bin, normalise, smooth and write one coverage track per group.

    The engine behind :func:`fragcov.export_coverage`, which checks and
    converts the arguments; this function only converts types.

    Parameters
    ----------
    chrom_names, chrom_lengths
        The genome, in the order of the genome-wide positions in ``indices``.
    chunks
        Cells in CSR chunks (see ``_Chunk``); chunk k is binned on a worker
        thread while the next one is read.
    output_paths
        One path per group (group ``g`` is ``cell_group == g``), written under a
        temporary name and renamed when complete.
    blacklist, include_for_norm, exclude_for_norm
        Region arrays; ``include_for_norm=None`` counts every unit.
    bin_size, normalization, min_frag_length, max_frag_length, counting_strategy, smooth_base
        As in :func:`fragcov.export_coverage` (``"none"`` for no normalization).
    output_format, compression, compression_level
        Track format; ``compression_level=-1`` is the codec's default.
    tempdir
        Folder for units that do not fit in ``memory_budget_bytes``.
    n_jobs
        Threads (OpenMP over groups).
    memory_budget_bytes
        Units held in memory before spilling to ``tempdir`` (default 32 MiB).

    Returns
    -------
    list of dict
        Per group, in ``output_paths`` order: ``n_units``, ``norm_count``, ``bin_sum``.

    Raises
    ------
    ValueError
        Bad options or input (from the C++ core's checks), or an interrupted export.
    TypeError
        An array of the wrong dtype or layout.
    """
