"""fragcov.compare_groups: group-vs-rest (or group-vs-group) comparison tracks (docs/spec.md section 14).

A step of its own on export_coverage's one pass (``_driver``): the request's ``compare`` option makes the
core bin every labelled cell by group and write op(group, rest), rest = all groups' bins minus the
group's own (or one reference group's).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping

from . import _notices as notices
from ._docs import shared_params
from ._driver import OnePass, open_request
from ._groups import make_tracks
from ._options import DEFAULTS
from ._outputs import output_paths
from ._request import ExportRequest, with_defaults

if TYPE_CHECKING:
    from ._types import ChromSizes, Groupby, Input, PathLike, Regions, Selections

OPERATIONS = ("log2", "ratio", "difference")
DEFAULT_PSEUDOCOUNT = DEFAULTS.pseudocount


def comparison_plan(names: list[str], selections: Selections, reference: Any) -> tuple[list[str], list[int]]:
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


def comparison_suffix(suffix: Any, operation: str) -> Any:
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


def comparison_result(names: list[str], written: list[str], references: list[int], stats: list, paths: list[str],
                      options: Any) -> dict:
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


@shared_params
def compare_groups(
    adata: Input,
    groupby: Groupby,
    selections: Selections = None,
    reference: str | None = None,
    operation: str = "log2",
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    bin_size: int = DEFAULTS.bin_size,
    blacklist: Regions = None,
    normalization: str | None = "CPM",
    include_for_norm: Regions = None,
    exclude_for_norm: Regions = None,
    min_frag_length: int | None = None,
    max_frag_length: int | None = DEFAULTS.max_frag_length,
    counting_strategy: str = DEFAULTS.counting_strategy,
    smooth_base: int | None = None,
    out_dir: PathLike = "./",
    prefix: str = "",
    suffix: str | None = None,
    output_format: str | None = None,
    compression: str | None = None,
    compression_level: int | None = None,
    tempdir: PathLike | None = None,
    n_jobs: int = DEFAULTS.n_jobs,
    *,
    effective_genome_size: float | None = None,
    scale_factor: float = DEFAULTS.scale_factor,
    ceiling: int | None = None,
    regions: Regions = None,
    chrom_sizes: ChromSizes = None,
    min_num_fragments: int | None = None,
    is_paired: bool = True,
    shift_left: int = 0,
    shift_right: int = 0,
    min_kept_fraction: float = 0.01,
    sample_sep: str = "#",
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
    bin_size
        Bin width in bases (>= 1).
    {input_filters}
    {track_shape}
    {output_files}
    {threads}
    {factors}
    {fragment_files}

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
    return compare_tracks(comparison_request(locals()), reference)


def comparison_request(arguments: Mapping[str, Any]) -> ExportRequest:
    """The request of compare_groups' arguments (its defaults where absent): the operation is checked
    first, and names the core's ``compare`` option and the files' suffix (docs/spec.md 14.1)."""
    arguments = with_defaults(compare_groups, arguments)
    operation = arguments["operation"]
    if not isinstance(operation, str) or operation.lower() not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}: use 'log2', 'ratio' or 'difference'")
    operation = operation.lower()
    return ExportRequest.build(dict(arguments, compare=operation, suffix=comparison_suffix(arguments["suffix"],
                                                                                             operation)))


def compare_tracks(request: ExportRequest, reference: Any = None) -> dict:
    """compare_groups of a built request (``request.options.compare``: the operation)."""
    with open_request(request) as (source, request):
        # every labelled cell is binned; only the chosen groups get a file
        tracks = make_tracks(source, request.groupby)
        written, references = comparison_plan(tracks.names, request.selections, reference)
        one_pass = OnePass(request, source, tracks)
        out_path, paths = output_paths(request.out_dir, request.prefix, written, request.options.suffix,
                                       keys=written)
        path_of = dict(zip(written, paths))
        other = "the rest" if reference is None else repr(str(reference))  # binned, but no track of its own
        stats = one_pass.run([path_of.get(name, "") for name in tracks.names], out_path,
                             f"writing {len(written)} {one_pass.format_name()} comparison track(s) "
                             f"({request.options.compare}, each group vs {other}) to {os.fspath(request.out_dir)}",
                             references=references)
    if stats is None:
        return {}
    return comparison_result(tracks.names, written, references, stats, paths, one_pass.options)
