"""The parameters that export_coverage, compare_groups and profile share, each described once here and
substituted into their docstrings (as scanpy's ``_doc_params``), so that ``help()`` of each function shows
every parameter in full and an option's words have one home.

A docstring names a block by a line holding only ``{block}`` (a name, so that a doctest's dict output
is left alone); ``shared_params`` replaces that line by the
block, indented as the line is. Blocks are grouped by concern, not named after one parameter.
"""
from __future__ import annotations

import re
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

BLOCKS = {
    "input_filters": """\
blacklist
    BED file (or list of ``"chrom:start-end"``) of regions; units overlapping
    them are dropped from the counts and from normalisation.
include_for_norm, exclude_for_norm
    Regions (``"chrom:start-end"`` strings or a BED file) restricting which
    units count towards the CPM/RPKM denominator. Exclusion wins.
min_frag_length, max_frag_length
    Inclusive fragment length bounds (paired-end only); ``None`` is open.
counting_strategy
    ``"fragment"`` counts whole fragments, ``"insertion"`` their two
    Tn5 insertion sites (the 5' end for single-end reads).""",
    "factors": """\
effective_genome_size
    The mappable genome size G of ``normalization="RPGC"`` (required by it;
    e.g. 2913022398 for GRCh38, as deepTools' ``--effectiveGenomeSize``;
    ``2.7e9`` is accepted).
scale_factor
    Every value is multiplied by this (finite, > 0), after normalization
    and before smoothing, as deepTools' ``--scaleFactor`` (in a comparison:
    both sides, before they are compared).""",
    "per_cell": """\
norm_by
    A per-cell quantity (an ``obs`` column name such as ArchR's
    ``"ReadsInTSS"`` or ``"nFrags"``, or one number per cell): every value
    is multiplied by 10^4 / Q, Q the quantity summed over the group's cells.
    Needs ``normalization=None``.
max_cells
    A group with more cells keeps this many, drawn with
    ``numpy.random.default_rng(random_state)`` (a fresh generator per group;
    the same cells for any input kind, chunking or ``n_jobs``).
random_state
    Seed of the ``max_cells`` draw.
split_by
    An ``obs`` column (or one label per cell), e.g. the sample: one track (or
    profile) per (group, split value) pair that has cells, keyed by
    ``(group, split)``; a track's file is ``prefix + group + "_" + split +
    suffix``.""",
    "track_shape": """\
smooth_base
    Width in bases of a moving-window mean applied at base resolution (in a
    comparison: to each side on its own, before they are compared).
ceiling
    ArchR's per-cell cap: a cell adds at most this much to any bin.
regions
    Chromosome names (``"chr1"``), region strings
    (``"chr1:1,000,000-2,000,000"``) or a BED file: only records inside them
    are written, cut at their edges. Normalization and smoothing are as
    for the whole genome.""",
    "output_files": """\
out_dir, prefix
    Output file ``out_dir/prefix + group + suffix``, ``/`` in group names
    replaced by ``+``. ``out_dir`` is created if missing.
output_format, compression
    ``"bigwig"``/``"bedgraph"`` and ``"gzip"``/``"zstandard"``; inferred from
    ``suffix`` when ``None``.
compression_level
    gzip 1-9 (default 6) or zstandard 1-22 (default 3).""",
    "threads": """\
tempdir
    Directory for spill files of large inputs; default the system temporary
    directory.
n_jobs
    Worker threads: up to this many (at most one per core) read and bin
    the input, and this many write groups at once; ``<= 0`` uses all
    cores. The output does not depend on it.""",
    "fragment_files": """\
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
    Files are read in parallel (``n_jobs``); results equal those of one file
    holding all fragments with ``sample#barcode`` barcodes.
sample_sep
    Separator of ``sample#barcode`` cell names (several fragment files).
min_kept_fraction
    Fragment-file input: a file of which fewer than this fraction of the lines fit
    ``chrom_sizes`` (the others on chromosomes it lacks, or past their ends) is an error before
    any output: ``chrom_sizes`` is then almost surely the wrong genome. Default 0.01; ``0``
    keeps any fraction (e.g. to take only chr21 of a whole-genome file on purpose).""",
}


def shared_params(function: F) -> F:
    """``function`` with every ``{block}`` line of its docstring replaced by that block of ``BLOCKS``."""
    if function.__doc__ is None:  # python -OO
        return function
    lines = []
    for line in function.__doc__.splitlines():
        block = re.fullmatch(r"(\s*)\{(\w+)\}", line)
        if block:
            indent, name = block.groups()
            lines += [indent + text if text else "" for text in BLOCKS[name].splitlines()]
        else:
            lines.append(line)
    function.__doc__ = "\n".join(lines)
    return function
