"""fragcov.profile: per-group profiles, heatmap matrices and TSS enrichment around anchors
(docs/spec.md section 16), computed in export_coverage's one pass over the fragments.

The arguments, the input, the groups and the normalization are export_coverage's
own (an ``ExportRequest`` on the same one pass, ``_driver``), with a ``ProfileRequest``: the
core counts every group as for a track, writes no file, and sweeps each group's units around
the anchors.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from . import _core
from ._anchors import read_anchors, reference_point_of, resolve
from ._docs import shared_params
from ._driver import OnePass, open_request, tracks_of
from ._options import DEFAULTS, as_int
from ._request import ExportRequest, with_defaults

if TYPE_CHECKING:
    from ._types import ChromSizes, Groupby, Input, PathLike, PerCell, Regions, Selections

log = logging.getLogger("fragcov")

# docs/spec.md section 16.6: ArchR's window, flanks and centre (the core's constants)
TSS_WINDOW, TSS_FLANK, TSS_CENTRE = 2000, 100, 101
_DEEPTOOLS_POINT = {"center": "center", "start": "TSS", "end": "TES"}


@dataclass
class Profiles:
    """What ``fragcov.profile`` returns: per-group profiles around anchors.

    ``matrices[group]`` is a float32 array (anchors x bins), rows in anchor order; ``anchors`` a DataFrame
    of the anchors used (chrom, start, end, name, strand, position = the anchor base, index = the place
    among the anchors read); ``bins`` the start of each bin relative to the anchor; ``mean_profile[group]``
    the mean of each bin over the anchors (NaN ignored); ``tss_enrichment[group]`` the group's TSS
    enrichment as ArchR computes it (units per base in the 101 bases at the anchor over units per base in
    the 100 bases at each end of a +-2,000 window); ``colors`` the source's scanpy colours; ``upstream``,
    ``downstream``, ``bin_size``, ``reference_point``, ``normalization``, ``counting_strategy`` as asked.

    Examples
    --------
    >>> import fragcov
    >>> from fragcov.datasets import demo
    >>> result = fragcov.profile(demo("fragment"), demo("groups"), demo("peaks"),
    ...                          chrom_sizes=demo("chrom_sizes"), upstream=500, downstream=500)
    >>> result.groups
    ['CD14 Mono', 'CD4 Naive', 'CD8 Memory']
    >>> result.bins[:3]
    array([-500, -490, -480])
    >>> result.anchors.columns.tolist()
    ['chrom', 'start', 'end', 'name', 'strand', 'position', 'index']
    >>> result.to_deeptools("peaks.mat.gz")   # then: plotHeatmap -m peaks.mat.gz -o heatmap.png
    'peaks.mat.gz'
    """

    matrices: dict
    anchors: pd.DataFrame
    bins: np.ndarray
    tss_enrichment: dict
    upstream: int
    downstream: int
    bin_size: int
    reference_point: str
    normalization: str | None
    counting_strategy: str
    colors: dict = field(default_factory=dict)
    _mean: dict | None = field(default=None, repr=False)

    @property
    def groups(self) -> list:
        return list(self.matrices)

    @property
    def mean_profile(self) -> dict:
        if self._mean is None:
            self._mean = {g: _nan_mean_rows(m) for g, m in self.matrices.items()}
        return self._mean

    def __repr__(self) -> str:
        return (f"Profiles({len(self.matrices)} groups x {len(self.anchors)} anchors x {len(self.bins)} bins; "
                f"-{self.upstream}..+{self.downstream} bp around the {self.reference_point}, bins of "
                f"{self.bin_size} bp, {self.normalization or 'no normalization'}, {self.counting_strategy}s)")

    def to_deeptools(self, path: PathLike, n_jobs: int = DEFAULTS.n_jobs) -> str:
        """Write deepTools' ``computeMatrix reference-point`` file, which ``plotHeatmap``, ``plotProfile``
        and ``computeMatrixOperations`` read: gzip, a JSON header line, then per anchor its BED fields and
        every group's values. Written under a temporary name and renamed when complete; returns ``path``.

        Parameters
        ----------
        path
            The file (conventionally ``.gz``); its folder must exist.
        n_jobs
            Threads formatting and compressing (at most one per core).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path, got {type(path).__name__}")
        path = os.fspath(path)
        _core.check_output_path(path)
        n_jobs = as_int("n_jobs", n_jobs)
        k, n_bins = len(self.matrices), len(self.bins)
        header = {
            "upstream": [self.upstream] * k, "downstream": [self.downstream] * k, "body": [0] * k,
            "bin size": [self.bin_size] * k, "ref point": [_DEEPTOOLS_POINT[self.reference_point]] * k,
            "verbose": False, "bin avg type": "mean", "missing data as zero": False, "min threshold": None,
            "max threshold": None, "scale": 1, "skip zeros": False, "nan after end": False, "proc number": 1,
            "sort regions": "keep", "sort using": "mean", "unscaled 5 prime": [0] * k, "unscaled 3 prime": [0] * k,
            "group_labels": ["anchors"], "group_boundaries": [0, len(self.anchors)],
            "sample_labels": [_label(g) for g in self.matrices],
            "sample_boundaries": [i * n_bins for i in range(k + 1)],
        }
        a = self.anchors
        prefixes = [f"{c}\t{s}\t{e}\t{_one_field(n)}\t0\t{st}" for c, s, e, n, st in
                    zip(a["chrom"], a["start"].tolist(), a["end"].tolist(), a["name"], a["strand"])]
        samples = [np.ascontiguousarray(m, dtype=np.float32) for m in self.matrices.values()]
        _core.write_deeptools_matrix(path, json.dumps(header, separators=(",", ":")), prefixes, samples, n_bins,
                                     n_jobs)
        return path


def _label(key) -> str:
    return "_".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _one_field(text: str) -> str:
    """A name as one field of a tab-separated line (the format has no escapes)."""
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _nan_mean_rows(m: np.ndarray) -> np.ndarray:
    """Per column, the mean of the non-NaN values in float64 (NaN where there is none), without numpy's
    all-NaN warning and without a second copy of a large matrix."""
    sums = np.zeros(m.shape[1], dtype=np.float64)
    counts = np.zeros(m.shape[1], dtype=np.int64)
    for lo in range(0, m.shape[0], 8192):  # blocks: memory of 8192 rows, not of the matrix
        block = m[lo:lo + 8192].astype(np.float64)
        ok = ~np.isnan(block)
        sums += np.where(ok, block, 0.0).sum(axis=0)
        counts += ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass
class ProfileRequest:
    """What _export needs for profiles: the anchors (resolved against the input's chromosomes once it is
    open) and the window; it builds the Profiles from the core's output."""

    anchors: pd.DataFrame
    from_annotation: bool
    upstream: int
    downstream: int
    bin_size: int
    reference_point: str
    normalization: str | None
    counting_strategy: str
    colors: dict
    used: pd.DataFrame | None = None
    lengths: np.ndarray | None = None

    def core_anchors(self, chrom_names, chrom_lengths) -> tuple:
        self.used = resolve(self.anchors, chrom_names, chrom_lengths, self.reference_point)
        self.lengths = np.asarray([int(x) for x in chrom_lengths], dtype=np.int64)
        u = self.used
        return (np.ascontiguousarray(u["chrom_index"].to_numpy(dtype=np.uint32)),
                np.ascontiguousarray(u["position"].to_numpy(dtype=np.int64)),
                np.ascontiguousarray((u["strand"] == "-").to_numpy(dtype=bool)),
                self.upstream, self.downstream, self.bin_size)

    def result(self, keys, stats, profiles) -> Profiles:
        used = self.used if self.used is not None else self.anchors.assign(index=np.arange(len(self.anchors)))
        matrices, tss = {}, {}
        qualifies = None
        if self.used is not None:
            assert self.lengths is not None  # set with self.used
            pos = used["position"].to_numpy()
            inside = (pos >= TSS_WINDOW) & (pos + TSS_WINDOW < self.lengths[used["chrom_index"].to_numpy()])
            qualifies = inside & ~used.duplicated(subset=["chrom", "position"]).to_numpy()  # ArchR's unique(TSS)
        for key, (values, centre, flank) in zip(keys, profiles):
            matrices[key] = values
            c, f = int(centre[qualifies].sum()), int(flank[qualifies].sum())
            tss[key] = (c / TSS_CENTRE) / (f / (2 * TSS_FLANK)) if f > 0 else float("nan")
        anchors = used[["chrom", "start", "end", "name", "strand"] +
                       (["position"] if "position" in used else []) + ["index"]].reset_index(drop=True)
        return Profiles(matrices=matrices, anchors=anchors,
                        bins=np.arange(-self.upstream, self.downstream, self.bin_size, dtype=np.int64),
                        tss_enrichment=tss, upstream=self.upstream, downstream=self.downstream,
                        bin_size=self.bin_size, reference_point="start" if self.from_annotation else
                        self.reference_point, normalization=self.normalization,
                        counting_strategy=self.counting_strategy,
                        colors={k: v for k, v in self.colors.items() if k in matrices})


@shared_params
def profile(
    source: Input,
    groupby: Groupby,
    anchors: Any,
    *,
    upstream: int = 2000,
    downstream: int = 2000,
    bin_size: int = 10,
    reference_point: str = "center",
    counting_strategy: str = "insertion",
    normalization: str | None = "CPM",
    selections: Selections = None,
    blacklist: Regions = None,
    include_for_norm: Regions = None,
    exclude_for_norm: Regions = None,
    min_frag_length: int | None = None,
    max_frag_length: int | None = DEFAULTS.max_frag_length,
    effective_genome_size: float | None = None,
    norm_by: PerCell = None,
    scale_factor: float = DEFAULTS.scale_factor,
    max_cells: int | None = None,
    random_state: int = 0,
    split_by: Groupby | None = None,
    tempdir: PathLike | None = None,
    n_jobs: int = DEFAULTS.n_jobs,
    chrom_sizes: ChromSizes = None,
    min_num_fragments: int | None = None,
    is_paired: bool = True,
    shift_left: int = 0,
    shift_right: int = 0,
    sample_sep: str = "#",
    min_kept_fraction: float = 0.01,
) -> Profiles:
    """Per-group profiles around anchors: matrices for heatmaps, mean profiles and TSS enrichment.

    For every group of cells, the mean normalized coverage in bins from ``upstream`` bases before each
    anchor to ``downstream`` bases after it, on the anchor's strand, straight from the fragments in one
    pass over them: what deepTools' ``computeMatrix reference-point`` computes from bigWigs, and each
    group's TSS enrichment as ArchR defines it. A bin's value is the mean over its ``bin_size`` bases of
    the per-base count of the group's units (insertions or fragments), divided by the group's
    normalization total over the whole genome (as its track would be); a bin with a base outside the
    chromosome is NaN.

    Parameters
    ----------
    source
        The cells and their fragments, as ``export_coverage``'s ``adata``: an AnnData, an ``.h5ad`` or
        SnapATAC2 ``.h5ads`` path, a list of those, or 10x fragment file(s) (a path, a list, or
        ``{sample: path}``) with ``chrom_sizes``.
    groupby
        The group of each cell: an ``obs`` column name or one label per cell; for fragment files a
        ``barcode<TAB>group`` table, a dict or a Series indexed by barcode.
    anchors
        A BED file (3 or 6 columns; strand from column 6, name from column 4), a GTF or GFF3 file (named
        ``.gtf``, ``.gff`` or ``.gff3``, optionally ``.gz``: one anchor per gene, at its TSS), region
        strings ``"chr1:1,000-2,000"``, ``(chrom, start, end[, strand])`` tuples, or a DataFrame with
        columns chrom, start, end (and strand, name). Kept in input order; anchors on chromosomes the data
        lacks are left out with a warning.
    upstream, downstream
        Bases before the anchor base and from it on (each a multiple of ``bin_size``, as deepTools
        requires; defaults 2000).
    bin_size
        Bin width in bases (default 10).
    reference_point
        The anchor base of a BED interval: ``"center"`` (default: ``start + (end - start) // 2``),
        ``"start"`` (or ``"TSS"``: the 5' end on the anchor's strand) or ``"end"`` (or ``"TES"``). Gene
        annotations always give the TSS.
    normalization
        ``"CPM"`` (default), ``"RPKM"``, ``"BPM"``, ``"RPGC"`` (needs ``effective_genome_size``),
        ``"n_cells"`` or ``None`` (the mean count per base), each group by its own total.
    selections
        Groups to profile (default: every group).
    {input_filters}
    {factors}
    {per_cell}
    {threads}
    {fragment_files}

    Returns
    -------
    Profiles
        ``matrices`` ({group: float32 array, anchors x bins}), ``anchors``, ``bins``, ``mean_profile``,
        ``tss_enrichment``; ``to_deeptools(path)`` writes deepTools' matrix file (for ``plotHeatmap`` and
        ``plotProfile``). Figures: ``fragcov.pl.profile``, ``fragcov.pl.heatmap``.

    Examples
    --------
    >>> import fragcov
    >>> from fragcov.datasets import demo
    >>> result = fragcov.profile(demo("fragment"), demo("groups"), demo("peaks"),
    ...                          chrom_sizes=demo("chrom_sizes"), bin_size=50)
    >>> result.matrices["CD14 Mono"].shape      # 146 peaks x 80 bins of 50 bases
    (146, 80)
    >>> round(result.tss_enrichment["CD4 Naive"], 1)
    52.7
    >>> result.to_deeptools("peaks.mat.gz")
    'peaks.mat.gz'
    """
    return profile_tracks(*profile_requests(locals()))


def profile_requests(arguments: Mapping[str, Any]) -> tuple[ExportRequest, ProfileRequest]:
    """The requests of profile's arguments (its defaults where absent): the window and the anchors
    (checked first), and the counting, as export_coverage's (docs/spec.md 16.2)."""
    a = with_defaults(profile, arguments)
    upstream, downstream = as_int("upstream", a["upstream"]), as_int("downstream", a["downstream"])
    bin_size = as_int("bin_size", a["bin_size"])
    _core.check_profile_options(upstream, downstream, bin_size)
    point = reference_point_of(a["reference_point"])
    frame, from_annotation = read_anchors(a["anchors"])
    from ._plot import _uns_colors

    window = ProfileRequest(anchors=frame, from_annotation=from_annotation, upstream=upstream,
                            downstream=downstream, bin_size=bin_size, reference_point=point,
                            normalization=a["normalization"], counting_strategy=a["counting_strategy"],
                            colors=_uns_colors(a["source"], a["groupby"]))
    # no file is written: a format that fits any genome
    return ExportRequest.build(dict(a, adata=a["source"], suffix=".bedgraph")), window


def profile_tracks(request: ExportRequest, profile: ProfileRequest) -> Profiles:
    """profile of a built request: every track counted in one pass, written nowhere, and its profile
    computed around ``profile``'s anchors (docs/spec.md 16.4)."""
    with open_request(request) as (source, request):
        tracks = tracks_of(request, source)
        one_pass = OnePass(request, source, tracks)

        def anchors(names: list[str], lengths: Any) -> tuple:
            core = profile.core_anchors(names, lengths)
            log.info("computing the profiles of %d group(s) around %d anchor(s)", len(tracks.keys), len(core[0]))
            return core

        result = one_pass.run([""] * len(tracks.names), None, "", anchors=anchors)
    if result is None:
        return profile.result([], [], [])
    stats, profiles = result
    one_pass.warn_empty(stats, "its profile is 0")
    return profile.result(tracks.keys, stats, profiles)
