"""fragcov.export_coverage: one coverage track per cell group (docs/spec.md sections 1-7)."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ._docs import shared_params
from ._driver import OnePass, open_request, tracks_of
from ._options import DEFAULTS
from ._outputs import output_paths
from ._request import ExportRequest

if TYPE_CHECKING:
    from ._types import ChromSizes, Groupby, Input, PathLike, PerCell, Regions, Selections


@shared_params
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
    normalization
        ``"RPKM"``, ``"CPM"``, ``"BPM"``, ``"RPGC"``, ``"n_cells"`` or ``None``.
        CPM/RPKM divide by the number of counted units (fragments or
        insertions) in millions; RPKM also by the bin size in kb; BPM by the
        sum of bin values in millions; RPGC (deepTools' 1x coverage) multiplies
        by ``effective_genome_size`` over the counted units' summed length;
        n_cells divides by the number of the track's cells.
    {input_filters}
    suffix
        The output files' suffix: ``.bw``/``.bigwig`` for bigWig, ``.bedgraph``
        (``.bg``, ``.bdg``), optionally + ``.gz`` or ``.zst``, for text.
    {output_files}
    {threads}
    {factors}
    {per_cell}
    {track_shape}
    {fragment_files}

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
