"""Types of ``fragcov._core``, the C++ extension (cpp/bindings/python_module.cpp).

Keep in step with the bindings: tests/test_typing.py checks that this file names
exactly what the module exports, with the same parameters and class members.
"""
from collections.abc import Callable, Iterable, Iterator, Sequence
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

class ChunkSource:
    """Where the core reads an export's chunks from itself (C++ ``fragcov::ChunkSource``,
    fragcov/pipeline.hpp): FragmentFiles, H5adCells."""

    def __init__(self) -> None: ...  # not constructible (TypeError): made by its subclasses

# What export_coverage reads: a source of the core, an iterable of chunk tuples, or a
# list of sources and iterators of chunk tuples, read one after the other.
_Chunks = ChunkSource | Iterable[_Chunk] | list[ChunkSource | Iterator[_Chunk]]

class _GroupStats(TypedDict):
    n_units: int        # units binned into the track (after the blacklist)
    norm_count: int     # N, the normalisation count (docs/spec.md section 3.4)
    norm_length: int    # L, the summed length of the N units (section 3.4.4)
    bin_sum: int        # S, the summed bin values (section 3.5.3)
    denominator: float  # what values were divided by; 0.0: an empty track (section 3.6.2)
    reference_denominator: float  # comparison tracks: the other side's denominator (section 14.4)

# Profiles (docs/spec.md section 16): (chromosome index uint32, anchor base int64, minus strand bool) per
# anchor, then upstream, downstream and bin_size.
_ProfileRequest = tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], npt.NDArray[np.bool_], int, int, int]
# Per group: values float32 (anchors x bins; NaN outside the chromosome), and per anchor the TSS
# enrichment's centre and flank sums (uint64, section 16.6).
_GroupProfile = tuple[npt.NDArray[np.float32], npt.NDArray[np.uint64], npt.NDArray[np.uint64]]

class ExportOptions:
    """The core's options (C++ ``fragcov::ExportOptions``), defaults as export_coverage's.

    Enum fields read and write their user spellings (case-insensitive on
    write; the core's parsers raise ValueError for unknown ones). ``validate()``
    raises ValueError for out-of-range or contradicting values (docs/spec.md
    section 11.4).
    """

    bin_size: int
    normalization: str      # "none", "CPM", "RPKM", "BPM", "RPGC", "n_cells"
    min_frag_length: int | None
    max_frag_length: int | None
    counting_strategy: str  # "fragment", "insertion"
    smooth_base: int | None
    output_format: str      # "bigwig", "bedgraph"
    compression: str        # "none", "gzip", "zstandard"
    compression_level: int | None
    tempdir: str
    n_jobs: int
    memory_budget_bytes: int
    effective_genome_size: int | None
    norm_by: bool
    scale_factor: float
    ceiling: int | None
    compare: str            # "none", "log2", "ratio", "difference" (docs/spec.md section 14)
    pseudocount: float
    def __init__(self) -> None: ...
    def validate(self) -> None: ...

def export_coverage(
    chrom_names: Sequence[str],
    chrom_lengths: Sequence[int],
    chunks: _Chunks,
    output_paths: Sequence[str],
    blacklist: _RegionArrays,
    include_for_norm: _RegionArrays | None,
    exclude_for_norm: _RegionArrays,
    options: ExportOptions,
    n_cells: Sequence[int] | None = None,
    norm_by_totals: Sequence[float] | None = None,
    regions: _RegionArrays | None = None,
    references: Sequence[int] | None = None,
    profile: _ProfileRequest | None = None,
    before_reading: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
    after_reading: Callable[[], None] | None = None,
) -> list[_GroupStats] | tuple[list[_GroupStats], list[_GroupProfile]]:
    """Bin, normalise, smooth and write one coverage track per group.

    The engine behind :func:`fragcov.export_coverage`, which converts the
    arguments; the core checks them (``options.validate()``, the genome, the
    output paths, every chunk).

    Parameters
    ----------
    chrom_names, chrom_lengths
        The genome, in the order of the genome-wide positions in ``indices``.
    chunks
        Cells in CSR chunks (see ``_Chunks``), taken on the calling thread while
        ``binning_threads(options.n_jobs)`` worker threads read and bin the
        earlier ones (docs/spec.md section 7.2): the library's one call
        (``fragcov::export_coverage``, docs/spec.md section 11.10).
    output_paths
        One path per track (track ``g`` is ``cell_group == g``); all are
        renamed into place only when every one is complete.
    blacklist, include_for_norm, exclude_for_norm
        Region arrays; ``include_for_norm=None`` counts every unit.
    options
        The export's options.
    n_cells, norm_by_totals
        Per track: its number of cells (normalization "n_cells") and the summed
        norm_by quantity Q (``options.norm_by``).
    regions
        Write only records inside these regions (docs/spec.md section 4.9).
    references
        With ``options.compare``: per track, the other side (-1: the rest of
        the cells, else a track index); tracks with an empty path are binned
        but not written (docs/spec.md section 14).
    profile
        Anchors and window of profiles (docs/spec.md section 16, ``_ProfileRequest``); tracks with an empty
        path then get no file.
    before_reading, progress, after_reading
        Called on this thread with the GIL: once every check has passed (before
        anything is read), with each chunk's number of fragments, and once every
        chunk is binned (before anything is written; raising there leaves nothing).

    Returns
    -------
    list of dict
        Per track, in ``output_paths`` order (``_GroupStats``); with ``profile``, ``(stats, profiles)``, one
        ``_GroupProfile`` per track.

    Raises
    ------
    ValueError
        Bad options or input (from the C++ core's checks), or an interrupted export.
    OSError
        A file-system failure, with its errno.
    TypeError
        An array of the wrong dtype or layout.
    """

class _Hdf5Layout(TypedDict):
    what: str                 # the dataset in messages
    dtype: str                # numpy's dtype.str, e.g. "<i8"
    shape: list[int]
    chunk_shape: list[int]    # empty: not chunked
    filters: list[tuple[int, list[int]]]  # (HDF5 filter id, cd_values) in write order
    chunk_offsets: npt.NDArray[np.uint64]  # every stored chunk, in any order
    chunk_masks: npt.NDArray[np.uint32]
    chunk_addresses: npt.NDArray[np.uint64]
    chunk_sizes: npt.NDArray[np.uint64]
    first_chunk: bytes        # chunk 0 as HDF5 reads it unfiltered
    first_chunk_mask: int

class H5adColumns:
    """The positions and values columns of an .h5ad's fragment matrix, read with
    pread and decoded by the core (docs/spec.md 2.5.0); ``open`` decides from the
    datasets' layouts whether it can."""

    def __init__(self) -> None: ...  # not constructible (TypeError): made by open()

    @staticmethod
    def open(fd: int, path: str, paired: bool, positions: _Hdf5Layout, values: _Hdf5Layout) -> "H5adColumns | None":
        """The columns, or None when the core does not decode these datasets (h5py reads them)."""
    def __len__(self) -> int: ...
    positions: "Hdf5Column"
    values: "Hdf5Column"

class H5adCells(ChunkSource):
    """Cells ``rows`` of the matrix (``indptr``: its offsets) as chunks of an export,
    cell ``rows[i]`` in group ``group_of_row[i]``, in file order, about
    ``chunk_fragments`` fragments a chunk."""

    def __init__(
        self,
        columns: H5adColumns,
        indptr: npt.NDArray[np.int64],
        rows: npt.NDArray[np.int64],
        group_of_row: npt.NDArray[np.int32],
        chunk_fragments: int,
    ) -> None: ...

class Hdf5Column:
    """A one-dimensional chunked HDF5 dataset that the core reads with pread
    from ``fd`` (open on ``path``) and decodes itself, so that binning threads
    decode in parallel (h5py serialises HDF5 calls). ``filters``: HDF5 filter
    ids in pipeline order, among 1 (deflate), 2 (shuffle), 32001 (Blosc 1.x,
    zstd codec or uncompressed) and 32015 (zstd); ``addresses``/``sizes``: byte
    offset and stored size of each chunk; ``filter_masks``: per chunk, bit i
    set when HDF5 skipped filter i for it (None or empty: none skipped). Raises ValueError for an inconsistent
    layout or another filter; ``read`` raises ValueError naming the chunk when
    it does not decode (a corrupt file), OSError when the file cannot be read."""

    def __init__(
        self,
        fd: int,
        path: str,
        what: str,
        dtype: str,  # "int64", "uint32" or "int32"
        filters: Sequence[int],
        n_elements: int,
        chunk_elements: int,
        addresses: Sequence[int] | npt.NDArray[np.uint64],
        sizes: Sequence[int] | npt.NDArray[np.uint64],
        filter_masks: Sequence[int] | npt.NDArray[np.uint32] | None = None,
    ) -> None: ...
    def __len__(self) -> int: ...
    def read(self, first: int, count: int) -> npt.NDArray[np.int64] | npt.NDArray[np.uint32] | npt.NDArray[np.int32]:
        """Elements [first, first + count) as a numpy array."""

class OutputFile:
    """A file written under a temporary name beside ``path``, plain or gzip /
    zstandard compressed, renamed into place by ``commit()``; as a context
    manager it commits on success and removes the temporary file on an
    exception."""

    def __init__(self, path: str, compression: str = "none", level: int | None = None) -> None: ...
    def write(self, data: bytes | bytearray | memoryview) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...
    def __enter__(self) -> "OutputFile": ...
    def __exit__(self, *exc: object) -> None: ...

class AtomicPath:
    """A temporary path beside ``path`` for writers that need a file name (HDF5);
    ``commit()`` renames it into place."""

    temp_path: str
    def __init__(self, path: str) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...
    def __enter__(self) -> "AtomicPath": ...
    def __exit__(self, *exc: object) -> None: ...

def check_output_path(path: str) -> None:
    """Raise ValueError when ``path`` cannot be an output file (docs/spec.md section 4.1.2)."""

def resolve_compression_level(compression: str, level: int | None = None) -> int:
    """The level a codec will use: ``level`` checked against its range, or its default (0 for "none")."""

# ---- fragment files (cpp/bindings/fragment_file_bindings.cpp, docs/spec.md section 8) ----

class _ReaderStats(TypedDict, total=False):
    lines: int                     # data lines read
    stored: int                    # fragments kept
    unknown_chrom: int             # lines on chromosomes not in chrom_sizes (skipped)
    past_chrom_end: int            # fragments starting at or past their chromosome's end (skipped)
    first_past_chrom_end: str
    first_past_chrom_end_line: int
    shifted_away: int              # fragments the Tn5 shifts left empty or before the chromosome (dropped)
    first_shifted_away_line: int
    first_data_columns: int        # columns of the first data line

class FragmentFiles(ChunkSource):
    """Fragment files as the chunks of one export (docs/spec.md 13.6): ``files`` as
    (path, sample, barcodes, cell row of each barcode); cell r in track
    ``group_of_cell[r]``. ``file_stats()`` and ``file_of_cell()`` (-1: never seen)
    are complete once the export has read every chunk."""

    def __init__(
        self,
        *,
        files: Sequence[tuple[str, str, Sequence[str], npt.NDArray[np.int32]]],
        chrom_names: Sequence[str],
        chrom_lengths: Sequence[int],
        is_mito: Sequence[bool],
        group_of_cell: npt.NDArray[np.int32],
        cell_names: Sequence[str] = ...,
        is_paired: bool = True,
        shift_left: int = 0,
        shift_right: int = 0,
        n_threads: int = 1,
        whole_cells: bool = False,
        tempdir: str = "",
        check_one_file_per_cell: bool = False,
        chunk_lines: int = 262144,
        early_open_bytes: int = 16777216,
    ) -> None: ...
    def file_stats(self) -> list[_ReaderStats]: ...
    def file_of_cell(self) -> npt.NDArray[np.int32]: ...

class _ImportBatch(TypedDict):
    barcodes: list[str]
    n_fragment: npt.NDArray[np.uint64]
    n_mito: npt.NDArray[np.uint64]
    total: npt.NDArray[np.uint64]
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    data: npt.NDArray[np.uint32] | npt.NDArray[np.int32]

class FragmentImporter:
    """import_fragments' cells, whole and in SnapATAC2's order, in batches (bounded memory;
    unsorted input is sorted by barcode through spill files in ``tempdir``)."""

    def __init__(
        self,
        path: str,
        *,
        chrom_names: Sequence[str],
        chrom_lengths: Sequence[int],
        is_mito: Sequence[bool],
        is_paired: bool = True,
        sorted_by_barcode: bool = True,
        whitelist: Sequence[str] | None = None,
        min_num_fragments: int = 200,
        shift_left: int = 0,
        shift_right: int = 0,
        tempdir: str = "",
        n_threads: int = 1,
        max_cells_per_batch: int = 2000,
        max_fragments_per_batch: int = 1048576,
        memory_budget_bytes: int = 134217728,
    ) -> None: ...
    def __iter__(self) -> "FragmentImporter": ...
    def __next__(self) -> _ImportBatch: ...
    def stats(self) -> _ReaderStats: ...

def count_fragments(
    path: str,
    *,
    chrom_names: Sequence[str],
    chrom_lengths: Sequence[int],
    is_mito: Sequence[bool],
    barcodes: Sequence[str],
    is_paired: bool = True,
    shift_left: int = 0,
    shift_right: int = 0,
    n_threads: int = 1,
) -> tuple[npt.NDArray[np.uint64], _ReaderStats]:
    """Stored non-mitochondrial fragments per barcode (n_fragment) and the reader's statistics."""

def check_profile_options(upstream: int, downstream: int, bin_size: int) -> None:
    """Raise ValueError when the window breaks docs/spec.md section 16.4.1 (multiples of bin_size, ranges)."""

def write_deeptools_matrix(path: str, header: str, prefixes: Sequence[str],
                           samples: Sequence[npt.NDArray[np.float32]], n_bins: int, n_jobs: int) -> None:
    """Write deepTools' computeMatrix file (docs/spec.md section 16.7) atomically: the line ``'@' + header``,
    then per row ``prefixes[i]`` and each sample's ``n_bins`` values of row ``i`` (C-contiguous float32,
    rows x n_bins); gzip members compressed on ``n_jobs`` threads."""
