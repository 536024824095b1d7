"""fragcov.export_coverage: arguments -> core options, cells -> groups, streaming into the C++ core."""
from __future__ import annotations

import logging
import os
import warnings

import numpy as np

from . import _core
from . import _settings as settings
from ._groups import group_codes, labels_of
from ._options import DEFAULTS, export_options
from ._outputs import OutDir, output_paths
from ._regions import parse_regions, to_arrays
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
    options = export_options(
        bin_size=bin_size, normalization=normalization, min_frag_length=min_frag_length,
        max_frag_length=max_frag_length, counting_strategy=counting_strategy, smooth_base=smooth_base,
        suffix=suffix, output_format=output_format, compression=compression,
        compression_level=compression_level, tempdir=tempdir, n_jobs=n_jobs)
    regions = {name: parse_regions(value, name) for name, value in
               (("blacklist", blacklist), ("include_for_norm", include_for_norm),
                ("exclude_for_norm", exclude_for_norm))}

    with open_source(adata) as source:
        labels = labels_of(source, groupby)
        groups, codes = group_codes(labels, selections)
        if source.kind == "fragment_single":
            if min_frag_length is not None or max_frag_length not in (None, DEFAULTS.max_frag_length):
                warnings.warn("single-end reads are not filtered by fragment length; min/max_frag_length "
                              "are ignored", stacklevel=2)
            options.min_frag_length = options.max_frag_length = None

        out_path, paths = output_paths(out_dir, prefix, groups, suffix)
        chrom_index = {n: i for i, n in enumerate(source.names)}
        arrays = {k: (None if v is None else to_arrays(v, chrom_index, k)) for k, v in regions.items()}
        empty = to_arrays([], chrom_index, "")
        if not groups:
            warnings.warn("no cell has a group label: nothing to export", stacklevel=2)
            return {}
        out = OutDir(out_path)

        def chunks():
            # The core pulls the first chunk only after its own checks (options,
            # genome, output paths), so out_dir is created once nothing can be rejected.
            out.make()
            bar = settings.progress_bar(total=source.n_fragments(), desc="reading fragments", unit="frag")
            try:
                for ch in source.chunks():
                    bar.update(len(ch.indices))
                    yield ch.indptr, ch.indices, ch.values, np.ascontiguousarray(codes[ch.rows])
            finally:
                bar.close()

        log.info("exporting %d group(s) to %s", len(groups), os.fspath(out_dir))
        try:
            stats = _core.export_coverage(
                chrom_names=source.names,
                chrom_lengths=[int(x) for x in source.lengths],
                chunks=chunks(),
                output_paths=paths,
                blacklist=arrays["blacklist"] or empty,
                include_for_norm=arrays["include_for_norm"],
                exclude_for_norm=arrays["exclude_for_norm"] or empty,
                options=options,
            )
        except BaseException:
            out.undo()
            raise
    for group, st in zip(groups, stats):
        if st["n_units"] == 0:
            warnings.warn(f"group {group!r} has no fragments to count: wrote an empty track", stacklevel=2)
    return dict(zip(groups, paths))
