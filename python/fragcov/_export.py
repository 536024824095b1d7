"""fragcov.export_coverage: arguments -> core options, cells -> groups, streaming into the C++ core."""
from __future__ import annotations

import logging
import os

import pandas as pd

from . import _notices as notices
from . import _core
from . import _settings as settings
from ._fragment_file import fragment_inputs, open_fragment_file, reject_fragment_file_options
from ._groups import make_tracks, per_cell_quantity
from ._compare import comparison_plan, comparison_result
from ._options import DEFAULTS, as_float, as_int, export_options
from ._outputs import OutDir, output_paths
from ._regions import parse_output_regions, parse_regions, to_arrays
from ._sources import open_source

log = logging.getLogger("fragcov")


def export_coverage(
    adata,
    groupby,
    selections=None,
    bin_size=DEFAULTS.bin_size,
    blacklist=None,
    normalization=DEFAULTS.normalization,
    include_for_norm=None,
    exclude_for_norm=None,
    min_frag_length=None,
    max_frag_length=DEFAULTS.max_frag_length,
    counting_strategy=DEFAULTS.counting_strategy,
    smooth_base=None,
    out_dir="./",
    prefix="",
    suffix=".bw",
    output_format=None,
    compression=None,
    compression_level=None,
    tempdir=None,
    n_jobs=DEFAULTS.n_jobs,
    *,
    effective_genome_size=None,
    norm_by=None,
    scale_factor=DEFAULTS.scale_factor,
    ceiling=None,
    max_cells=None,
    random_state=0,
    split_by=None,
    regions=None,
    chrom_sizes=None,
    min_num_fragments=None,
    is_paired=True,
    shift_left=0,
    shift_right=0,
    sample_sep="#",
    min_kept_fraction=0.01,
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
    return _export(
        adata, groupby, selections, bin_size=bin_size, blacklist=blacklist, normalization=normalization,
        include_for_norm=include_for_norm, exclude_for_norm=exclude_for_norm, min_frag_length=min_frag_length,
        max_frag_length=max_frag_length, counting_strategy=counting_strategy, smooth_base=smooth_base,
        out_dir=out_dir, prefix=prefix, suffix=suffix, output_format=output_format, compression=compression,
        compression_level=compression_level, tempdir=tempdir, n_jobs=n_jobs,
        effective_genome_size=effective_genome_size, norm_by=norm_by, scale_factor=scale_factor, ceiling=ceiling,
        max_cells=max_cells, random_state=random_state, split_by=split_by, regions=regions,
        chrom_sizes=chrom_sizes, min_num_fragments=min_num_fragments, is_paired=is_paired, shift_left=shift_left,
        shift_right=shift_right, sample_sep=sample_sep, min_kept_fraction=min_kept_fraction)


def _export(adata, groupby, selections, *, bin_size, blacklist, normalization, include_for_norm, exclude_for_norm,
            min_frag_length, max_frag_length, counting_strategy, smooth_base, out_dir, prefix, suffix,
            output_format, compression, compression_level, tempdir, n_jobs, effective_genome_size, norm_by,
            scale_factor, ceiling, max_cells, random_state, split_by, regions, chrom_sizes, min_num_fragments,
            is_paired, shift_left, shift_right, sample_sep="#", min_kept_fraction=0.01, compare=None,
            reference=None, pseudocount=None, profile=None):
    """export_coverage, and with ``compare`` (an operation name) compare_groups (docs/spec.md section 14).

    With ``profile`` (a ``_profile.ProfileRequest``) no file is written: every group is counted in the same
    one pass and its profile around the request's anchors computed (docs/spec.md section 16); the request
    makes the result.
    """

    # ---- every check that can fail comes before any file is touched ----------
    # An input path is opened as what it is first (docs/spec.md 6.6): a missing one is a FileNotFoundError
    # before any rule about the other arguments; a fragment file (or stream) is its own Source below.
    inputs = fragment_inputs(adata)
    options = export_options(
        bin_size=bin_size, normalization=normalization, min_frag_length=min_frag_length,
        max_frag_length=max_frag_length, counting_strategy=counting_strategy, smooth_base=smooth_base,
        suffix=suffix, output_format=output_format, compression=compression,
        compression_level=compression_level, tempdir=tempdir, n_jobs=n_jobs,
        effective_genome_size=effective_genome_size, norm_by=norm_by, scale_factor=scale_factor, ceiling=ceiling)
    if compare is not None:
        options.compare = _text_op(compare)
        options.pseudocount = as_float("pseudocount", pseudocount)
        options.validate()
    max_cells = as_int("max_cells", max_cells, allow_none=True)
    if max_cells is not None and max_cells < 1:
        raise ValueError(f"max_cells must be >= 1 or None, got {max_cells}")
    random_state = as_int("random_state", random_state)
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0, got {random_state}")
    norm_regions = {name: parse_regions(value, name) for name, value in
                    (("blacklist", blacklist), ("include_for_norm", include_for_norm),
                     ("exclude_for_norm", exclude_for_norm))}

    # a fragment file is its own Source (its cells: the barcodes of groupby); all else is as for AnnData input
    fragment_options = dict(chrom_sizes=chrom_sizes, min_num_fragments=min_num_fragments, is_paired=is_paired,
                            shift_left=shift_left, shift_right=shift_right, min_kept_fraction=min_kept_fraction)
    if inputs is not None:
        source = open_fragment_file(inputs, groupby, n_jobs=n_jobs, whole_cells=options.ceiling is not None,
                                    tempdir=tempdir, sample_sep=sample_sep, **fragment_options)
        groupby = source.group_column
        # split_by / norm_by may map barcodes too, as groupby does (docs/spec.md 13.2)
        if isinstance(split_by, (dict, pd.Series)):
            split_by = source.by_barcode(split_by, "split_by")
        if isinstance(norm_by, (dict, pd.Series)):
            norm_by = source.by_barcode(norm_by, "norm_by")
    else:
        reject_fragment_file_options(**fragment_options)
        source = open_source(adata)

    with source:
        if compare is None:
            tracks = make_tracks(source, groupby, selections, split_by, max_cells, random_state)
            written, references = tracks.names, None
        else:  # every labelled cell is binned (the rest of each group); only the chosen groups get a file
            tracks = make_tracks(source, groupby)
            written, references = comparison_plan(tracks.names, selections, reference)
        norm_by_totals = None
        if norm_by is not None:
            norm_by_totals = tracks.norm_by_totals(per_cell_quantity(source, norm_by), source.obs().index)
        if source.kind == "fragment_single":
            if min_frag_length is not None or max_frag_length not in (None, DEFAULTS.max_frag_length):
                notices.warn("single-end reads are not filtered by fragment length; min/max_frag_length "
                              "are ignored", stacklevel=3)
            options.min_frag_length = options.max_frag_length = None

        if profile is None:
            out_path, paths = output_paths(out_dir, prefix, written, suffix,
                                           keys=tracks.keys if compare is None else written)
        else:  # profiles only: no file (an empty path), no out_dir
            out_path, paths = None, [""] * len(written)
        core_paths = paths
        if compare is not None:
            path_of = dict(zip(written, paths))
            core_paths = [path_of.get(name, "") for name in tracks.names]
        chrom_index = {n: i for i, n in enumerate(source.names)}
        arrays = {k: (None if v is None else to_arrays(v, chrom_index, k)) for k, v in norm_regions.items()}
        empty = to_arrays([], chrom_index, "")
        output_regions = parse_output_regions(regions, dict(zip(source.names, map(int, source.lengths))))
        if not tracks.keys:
            notices.warn("no cell has a group label: nothing to export", stacklevel=3)
            return {} if profile is None else profile.result([], [], [])
        core_profile = None if profile is None else profile.core_anchors(source.names, source.lengths)
        codes = tracks.codes
        out = OutDir(out_path) if out_path is not None else None

        bar = None

        def before_reading():
            # The core calls this only after its own checks (options, genome, output
            # paths), so out_dir is created once nothing can be rejected.
            nonlocal bar
            if out is not None:
                out.make()
            bar = settings.progress_bar(total=source.n_fragments(), desc="reading fragments", unit="frag")

        def after_reading():
            bar.close()
            source.after_reading()

        if profile is not None:
            log.info("computing the profiles of %d group(s) around %d anchor(s)", len(tracks.keys),
                     len(core_profile[0]))
        elif compare is None:
            log.info("exporting %d %s track(s) to %s", len(tracks.keys), _format_name(options), os.fspath(out_dir))
        else:  # the reference group is binned but gets no track
            log.info("writing %d %s comparison track(s) (%s, each group vs %s) to %s", len(written),
                     _format_name(options), compare, "the rest" if reference is None else repr(str(reference)),
                     os.fspath(out_dir))
        try:
            stats = _core.export_coverage(
                chrom_names=source.names,
                chrom_lengths=[int(x) for x in source.lengths],
                chunks=source.core_input(codes),
                output_paths=core_paths,
                blacklist=arrays["blacklist"] or empty,
                include_for_norm=arrays["include_for_norm"],
                exclude_for_norm=arrays["exclude_for_norm"] or empty,
                options=options,
                n_cells=[int(n) for n in tracks.n_cells],
                norm_by_totals=norm_by_totals,
                regions=output_regions,
                references=references,
                profile=core_profile,
                before_reading=before_reading,
                progress=lambda n: bar.update(n),
                after_reading=after_reading,
            )
        except BaseException:
            if out is not None:
                out.undo()
            raise
        finally:
            if bar is not None:
                bar.close()
    if profile is not None:
        stats, profiles = stats
        for key, st in zip(tracks.keys, stats):
            _warn_empty(key, st, options, "its profile is 0")
        return profile.result(tracks.keys, stats, profiles)
    if compare is not None:
        return comparison_result(tracks.names, written, references, stats, paths, options)
    for key, st in zip(tracks.keys, stats):
        _warn_empty(key, st, options, "wrote an empty track")
    return dict(zip(tracks.keys, paths))


def _warn_empty(key, st, options, what: str) -> None:
    """Docs/spec.md 4.8 and 16.4.4: a group without units, or with a normalization total of 0."""
    if st["n_units"] == 0:
        notices.warn(f"group {key!r} has no fragments to count: {what}", stacklevel=4)
    elif st["denominator"] == 0:
        notices.warn(f"group {key!r} has a normalization total of 0 ({_total_name(options)}): {what}",
                     stacklevel=4)


def _total_name(options) -> str:
    if options.norm_by:
        return "the norm_by sum Q is 0"
    return {"CPM": "no unit counts towards N", "RPKM": "no unit counts towards N",
            "BPM": "all bins are 0", "RPGC": "no unit counts towards L",
            "n_cells": "the track has no cells"}.get(options.normalization, "0")


def _text_op(value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"operation must be a string, got {value!r}")
    return value


def _format_name(options) -> str:
    """'bigWig', 'bedGraph' or e.g. 'bedGraph (zstd)', for the progress message."""
    if str(options.output_format) == "bigwig":
        return "bigWig"
    codec = str(options.compression)
    return "bedGraph" if codec == "none" else f"bedGraph ({codec})"
