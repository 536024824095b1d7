"""fragcov.compare_groups: group-vs-rest (or group-vs-group) comparison tracks (docs/spec.md section 14).

The tracks are computed by the same one pass over the input as export_coverage
(``_export._export`` with ``compare=``): the core bins every labelled cell by
group, and writes op(group, rest) with rest = all groups' bins minus the
group's own.
"""
from __future__ import annotations

from . import _notices as notices
from ._options import DEFAULTS

OPERATIONS = ("log2", "ratio", "difference")
DEFAULT_PSEUDOCOUNT = DEFAULTS.pseudocount


def comparison_plan(names: list[str], selections, reference) -> tuple[list[str], list[int]]:
    """The groups that get a file and, for every group, its reference (-1: the rest, else a group index)."""
    if selections is None:
        chosen = list(names)
    else:
        chosen = [str(s) for s in ([selections] if isinstance(selections, str) else selections)]
        unknown = [s for s in chosen if s not in names]
        if unknown:
            raise ValueError(f"selections name group(s) not found: {', '.join(map(repr, unknown))}; available "
                             f"groups: {', '.join(map(repr, names))}")
        chosen = list(dict.fromkeys(chosen))
    ref = -1
    if reference is not None:
        reference = str(reference)
        if reference not in names:
            raise ValueError(f"reference group {reference!r} not found; available groups: "
                             f"{', '.join(map(repr, names))}")
        ref = names.index(reference)
        chosen = [g for g in chosen if g != reference]  # a group against itself says nothing
    if not chosen and names:
        raise ValueError("no group to compare: selections name only the reference group")
    written = set(chosen)
    return chosen, [ref if n in written else -1 for n in names]


def comparison_suffix(suffix, operation: str):
    """The file suffix of a comparison track always starts with the operation's tag (spec 14.1), so
    that comparison tracks never take the names of export_coverage's tracks in the same folder:
    None -> ".log2.bw"; ".bedgraph.gz" -> ".log2.bedgraph.gz"; ".log2.bw" stays."""
    if suffix is None:
        return f".{operation}.bw"
    if not isinstance(suffix, str):
        return suffix  # output_paths names the type error
    tag = f".{operation}"
    if suffix.lower().startswith(tag + ".") or suffix.lower() == tag:
        return suffix
    return tag + (suffix if suffix.startswith(".") or not suffix else "." + suffix)


def comparison_result(names, written, references, stats, paths, options) -> dict:
    """Warn about empty comparison tracks (section 14.4) and return {group: path}."""
    by_name = dict(zip(names, zip(stats, references)))
    for g in written:
        st, ref = by_name[g]
        other = "the rest of the cells" if ref < 0 else f"group {names[ref]!r}"
        if st["denominator"] == 0 or st["reference_denominator"] == 0:
            side = f"group {g!r}" if st["denominator"] == 0 else other
            notices.warn(f"comparison track of group {g!r}: {side} has a normalization total of 0 "
                         f"({options.normalization}): wrote an empty track", stacklevel=4)
    return dict(zip(written, paths))


def compare_groups(
    adata,
    groupby,
    selections=None,
    reference=None,
    operation="log2",
    pseudocount=DEFAULT_PSEUDOCOUNT,
    bin_size=DEFAULTS.bin_size,
    blacklist=None,
    normalization="CPM",
    include_for_norm=None,
    exclude_for_norm=None,
    min_frag_length=None,
    max_frag_length=DEFAULTS.max_frag_length,
    counting_strategy=DEFAULTS.counting_strategy,
    smooth_base=None,
    out_dir="./",
    prefix="",
    suffix=None,
    output_format=None,
    compression=None,
    compression_level=None,
    tempdir=None,
    n_jobs=DEFAULTS.n_jobs,
    *,
    effective_genome_size=None,
    scale_factor=DEFAULTS.scale_factor,
    ceiling=None,
    regions=None,
    chrom_sizes=None,
    min_num_fragments=None,
    is_paired=True,
    shift_left=0,
    shift_right=0,
    min_kept_fraction=0.01,
    sample_sep="#",
) -> dict:
    """Write one comparison track per group: the group against the rest of the cells, or against one group.

    Per bin (or per base when smoothed), with g the group's and r the other
    side's normalized value (each side normalized by its own total, with
    ``normalization``):
    ``log2((g + p) / (r + p))`` (default), ``(g + p) / (r + p)`` (``"ratio"``)
    or ``g - r`` (``"difference"``), as deepTools' ``bigwigCompare`` names
    them, but from the fragments in one pass, and against "all other cells".

    Parameters
    ----------
    adata, groupby
        As :func:`fragcov.export_coverage` (AnnData, .h5ad path, fragment file,
        several fragment files as a list or ``{sample: path}``, ...).
    selections
        Groups that get a track (default: every group). The rest of a group is
        always every other labelled cell, selected or not.
    reference
        A group name: compare every selected group against it instead of
        against the rest (the reference gets no track of its own).
    operation
        ``"log2"``, ``"ratio"`` or ``"difference"``.
    pseudocount
        p, added to both sides in the units of the normalized values (default
        0.1: for CPM, a tenth of a unit per million). Must be > 0 for log2 and
        ratio; unused by difference.
    normalization
        Applied to each side with its own total: ``"CPM"`` (default), ``"RPKM"``,
        ``"BPM"``, ``"RPGC"``, ``"n_cells"`` or ``None``.
    suffix
        Default ``".<operation>.bw"``; ``.bedgraph`` (+ ``.gz``/``.zst``) for text. The
        operation's tag is always kept: ``suffix=".bw"`` writes ``A.log2.bw``, so comparison
        tracks never overwrite the tracks of ``export_coverage`` in the same folder.
    bin_size, blacklist, include_for_norm, exclude_for_norm
        As :func:`fragcov.export_coverage`: bin width in bases (default 10);
        regions whose units are dropped from both sides; regions that count (or
        do not count) towards each side's CPM/RPKM total.
    min_frag_length, max_frag_length, counting_strategy
        Paired-end length bounds (inclusive; ``None`` is open) and what is
        counted: ``"fragment"`` (whole fragments) or ``"insertion"`` (their two
        Tn5 insertion sites).
    smooth_base
        Width in bases of a moving-window mean applied to each side, at base
        resolution, before the comparison.
    out_dir, prefix, output_format, compression, compression_level
        Output file ``out_dir/prefix + group + suffix``; format and codec from
        ``suffix`` unless given (``"bigwig"``/``"bedgraph"``,
        ``"gzip"``/``"zstandard"``); gzip level 1-9, zstandard 1-22.
    tempdir, n_jobs
        Folder of the spill file of large inputs; threads (``<= 0``: all cores;
        the output does not depend on it).
    effective_genome_size, scale_factor, ceiling, regions
        RPGC's genome size (``2.7e9`` is accepted); a factor applied to both
        sides before the comparison; ArchR's per-cell cap of a bin; chromosome
        names, region strings or a BED file: only records inside them are
        written.
    chrom_sizes, min_num_fragments, is_paired, shift_left, shift_right, min_kept_fraction
        Fragment-file input, as :func:`fragcov.export_coverage`: the genome,
        a per-barcode fragment threshold (default none), single-end reads, Tn5
        offsets, and the smallest fraction of the file's lines that must fit
        ``chrom_sizes`` (default 0.01; ``0`` turns the check off).
    sample_sep
        Several fragment files (a list, or ``{sample: path}``): the separator of
        ``sample#barcode`` cell names in ``groupby``.

    Returns
    -------
    dict
        Group name -> output path, for the groups that got a track.

    Examples
    --------
    >>> import fragcov
    >>> fragcov.compare_groups(fragcov.datasets.demo(), "cell_type", out_dir="compare")  # each vs the rest
    {'CD14 Mono': 'compare/CD14 Mono.log2.bw', 'CD4 Naive': 'compare/CD4 Naive.log2.bw', ...}
    >>> fragcov.compare_groups(fragcov.datasets.demo(), "cell_type", reference="CD4 Naive",
    ...                        operation="difference", out_dir="compare")  # doctest: +SKIP
    {'CD14 Mono': 'compare/CD14 Mono.difference.bw', 'CD8 Memory': 'compare/CD8 Memory.difference.bw'}
    """
    from ._export import _export

    if not isinstance(operation, str) or operation.lower() not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}: use 'log2', 'ratio' or 'difference'")
    operation = operation.lower()
    suffix = comparison_suffix(suffix, operation)
    return _export(
        adata, groupby, selections, bin_size=bin_size, blacklist=blacklist, normalization=normalization,
        include_for_norm=include_for_norm, exclude_for_norm=exclude_for_norm, min_frag_length=min_frag_length,
        max_frag_length=max_frag_length, counting_strategy=counting_strategy, smooth_base=smooth_base,
        out_dir=out_dir, prefix=prefix, suffix=suffix, output_format=output_format, compression=compression,
        compression_level=compression_level, tempdir=tempdir, n_jobs=n_jobs,
        effective_genome_size=effective_genome_size, norm_by=None, scale_factor=scale_factor, ceiling=ceiling,
        max_cells=None, random_state=0, split_by=None, regions=regions, chrom_sizes=chrom_sizes,
        min_num_fragments=min_num_fragments, is_paired=is_paired, shift_left=shift_left, shift_right=shift_right,
        min_kept_fraction=min_kept_fraction, sample_sep=sample_sep, compare=operation, reference=reference,
        pseudocount=pseudocount)
