"""fragcov.export_coverage: one coverage track per cell group (docs/spec.md sections 1-7)."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ._driver import OnePass, open_request, tracks_of
from ._options import DEFAULTS
from ._outputs import output_paths
from ._request import ExportRequest

if TYPE_CHECKING:
    from ._types import ChromSizes, Groupby, Input, PathLike, PerCell, Regions, Selections


def export_coverage(
    adata: Input,
    groupby: Groupby,
    selections: Selections = None,
    bin_size: int = DEFAULTS.bin_size,
    blacklist: Regions = None,
    normalization: str | None = DEFAULTS.normalization,
    include_for_norm: Regions = None,
    exclude_for_norm: Regions = None,
    min_frag_length: int | None = None,
    max_frag_length: int | None = DEFAULTS.max_frag_length,
    counting_strategy: str = DEFAULTS.counting_strategy,
    smooth_base: int | None = None,
    out_dir: PathLike = "./",
    prefix: str = "",
    suffix: str = ".bw",
    output_format: str | None = None,
    compression: str | None = None,
    compression_level: int | None = None,
    tempdir: PathLike | None = None,
    n_jobs: int = DEFAULTS.n_jobs,
    *,
    effective_genome_size: float | None = None,
    norm_by: PerCell = None,
    scale_factor: float = DEFAULTS.scale_factor,
    ceiling: int | None = None,
    max_cells: int | None = None,
    random_state: int = 0,
    split_by: Groupby | None = None,
    regions: Regions = None,
    chrom_sizes: ChromSizes = None,
    min_num_fragments: int | None = None,
    is_paired: bool = True,
    shift_left: int = 0,
    shift_right: int = 0,
    sample_sep: str = "#",
    min_kept_fraction: float = 0.01,
) -> dict:
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
        ``obsm["fragment_paired"]`` or ``obsm["fragment_single"]``. Or the path
        of a 10x fragment file (plain, gzip, bgzip or zstd; needs
        ``chrom_sizes``): tracks straight from the file, equal to
        ``import_fragments`` + ``export_coverage``.
    groupby
        Column of ``adata.obs``, or one label per cell in observation order (a
        Series is matched by its index). Cells with a missing label are
        skipped. For a fragment file: the path of a ``barcode<TAB>group``
        table (its other columns can be named by ``split_by``/``norm_by``), a
        dict ``{barcode: group}`` or a Series indexed by barcode.
    selections
        Group names to export; ``None`` exports every group.
    bin_size
        Bin width in bases (>= 1).
    blacklist
        BED file (or list of ``"chrom:start-end"``) of regions; units overlapping
        them are dropped from the track and from normalisation.
    normalization
        ``"RPKM"``, ``"CPM"``, ``"BPM"``, ``"RPGC"``, ``"n_cells"`` or ``None``.
        CPM/RPKM divide by the number of counted units (fragments or
        insertions) in millions; RPKM also by the bin size in kb; BPM by the
        sum of bin values in millions; RPGC (deepTools' 1x coverage) multiplies
        by ``effective_genome_size`` over the counted units' summed length;
        n_cells divides by the number of the track's cells.
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
        Worker threads: up to this many (at most one per core) read and bin
        the input, and this many write groups at once; ``<= 0`` uses all
        cores. Output does not depend on it.
    effective_genome_size
        The mappable genome size G of ``normalization="RPGC"`` (required by it;
        e.g. 2913022398 for GRCh38, as deepTools' ``--effectiveGenomeSize``).
    norm_by
        A per-cell quantity (an ``obs`` column name such as ArchR's
        ``"ReadsInTSS"`` or ``"nFrags"``, or one number per cell): every value
        is multiplied by 10^4 / Q, Q the quantity summed over the track's cells.
        Needs ``normalization=None``.
    scale_factor
        Every value is multiplied by this (finite, > 0), after normalization
        and before smoothing, as deepTools' ``--scaleFactor``.
    ceiling
        ArchR's per-cell cap: a cell adds at most this much to any bin.
    max_cells
        A track with more cells keeps this many, drawn with
        ``numpy.random.default_rng(random_state)`` (a fresh generator per track;
        the same cells for any input kind, chunking or ``n_jobs``).
    random_state
        Seed of the ``max_cells`` draw.
    split_by
        An ``obs`` column (or one label per cell): one track per (group, split
        value) pair that has cells, written to ``prefix + group + "_" + split +
        suffix``; the returned dict is keyed by ``(group, split)``.
    regions
        Chromosome names (``"chr1"``), region strings
        (``"chr1:1,000,000-2,000,000"``) or a BED file: only records inside them
        are written, cut at their edges. Normalization and smoothing are as
        for the whole genome.
    chrom_sizes, min_num_fragments, is_paired, shift_left, shift_right
        Fragment-file input only, as in ``import_fragments``: chromosome
        lengths (genome name, dict or chrom.sizes file), single-end reads
        (``is_paired=False``), Tn5 offsets (ArchR's are ``shift_left=4,
        shift_right=-5``). ``min_num_fragments=None`` (default) keeps every
        barcode of ``groupby``: a groups table already names the cells, and
        without a count threshold the file is read once; an integer drops
        barcodes with fewer fragments, as ``import_fragments`` does (one more
        pass over the file).

        Several fragment files (an atlas): a list of paths (each file's
        sample is its name without extensions, ``s1.tsv.gz`` -> ``s1``) or a
        dict ``{sample: path}``. A cell is (sample, barcode): the groups table
        gives a row's sample in a ``sample`` (or ArchR's ``Sample``) column, or
        writes the barcode ``sample#barcode`` (ArchR's cell names); a barcode
        without a sample belongs to the one file it occurs in (two files is an
        error). obs gains a ``sample`` column, so ``split_by="sample"`` works.
        Files are read in parallel (``n_jobs``); tracks equal those of one file
        holding all fragments with ``sample#barcode`` barcodes.
    sample_sep
        Separator of ``sample#barcode`` cell names (several fragment files).
    min_kept_fraction
        Fragment-file input: a file of which fewer than this fraction of the lines fit
        ``chrom_sizes`` (the others on chromosomes it lacks, or past their ends) is an error before
        any output: ``chrom_sizes`` is then almost surely the wrong genome. Default 0.01; ``0``
        keeps any fraction (e.g. to take only chr21 of a whole-genome file on purpose).

    Returns
    -------
    dict
        Group name (or ``(group, split)`` with ``split_by``) to output file path.

    Examples
    --------
    The bundled demo (60 cells, 3 cell types): an annotated ``.h5ad``, passed as a path so that
    its fragments are streamed from disk.

    >>> import fragcov
    >>> fragcov.export_coverage(fragcov.datasets.demo(), groupby="cell_type", out_dir="tracks")
    {'CD14 Mono': 'tracks/CD14 Mono.bw', 'CD4 Naive': 'tracks/CD4 Naive.bw', 'CD8 Memory': 'tracks/CD8 Memory.bw'}

    Straight from a 10x fragment file and a barcode -> cell type table, insertion counts per
    million at base resolution, as zstd-compressed bedGraph:

    >>> fragcov.export_coverage(fragcov.datasets.demo("fragment"), groupby=fragcov.datasets.demo("cell_table"),
    ...                         chrom_sizes="hg38", counting_strategy="insertion", normalization="CPM",
    ...                         bin_size=1, suffix=".bedgraph.zst", out_dir="tracks")  # doctest: +SKIP

    One track per (cell type, sample), deepTools' 1x coverage (RPGC), only chr21 written:

    >>> fragcov.export_coverage(fragcov.datasets.demo(), groupby="cell_type", split_by="sample",
    ...                         normalization="RPGC", effective_genome_size=2.7e9, regions="chr21",
    ...                         out_dir="tracks")  # doctest: +SKIP
    """
    return export_tracks(ExportRequest.build(locals()))


def export_tracks(request: ExportRequest) -> dict:
    """export_coverage of a built request (the command line builds one too)."""
    with open_request(request) as (source, request):
        tracks = tracks_of(request, source)
        one_pass = OnePass(request, source, tracks)
        out_path, paths = output_paths(request.out_dir, request.prefix, tracks.names, request.options.suffix,
                                       keys=tracks.keys)
        stats = one_pass.run(paths, out_path, f"exporting {len(tracks.keys)} {one_pass.format_name()} track(s) "
                                              f"to {os.fspath(request.out_dir)}")
    if stats is None:
        return {}
    one_pass.warn_empty(stats, "wrote an empty track")
    return dict(zip(tracks.keys, paths))
