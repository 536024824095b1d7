"""The one pass over an input's fragments into the core, shared by export_coverage, compare_groups and
profile (each front door builds an ExportRequest, opens the input, chooses its tracks and output paths,
and hands them here; the core reads, bins and writes: fragcov/pipeline.hpp, docs/spec.md section 7).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from . import _core
from . import _notices as notices
from . import _settings as settings
from ._fragment_file import open_fragment_file, reject_fragment_file_options
from ._groups import Tracks, make_tracks, per_cell_quantity
from ._options import DEFAULTS
from ._outputs import OutDir
from ._regions import parse_output_regions, to_arrays
from ._request import ExportRequest
from ._sources import Source, open_source

log = logging.getLogger("fragcov")

# notices name the user's line: user -> front door (export_coverage, ...) -> its runner -> OnePass method
_STACKLEVEL = 4


@contextmanager
def open_request(request: ExportRequest) -> Iterator[tuple[Source, ExportRequest]]:
    """The request's input, and the request as it reads it. A fragment file is its own Source (its
    cells: the barcodes of the groups table, which become the request's groupby; split_by and norm_by
    may map barcodes too, docs/spec.md 13.2); every other input is opened as AnnData."""
    inputs = request.fragment_inputs
    if inputs is not None:
        o = request.options
        file = open_fragment_file(
            inputs, request.groupby, n_jobs=o.n_jobs, whole_cells=o.ceiling is not None, tempdir=o.tempdir or None,
            sample_sep=request.sample_sep, **asdict(request.fragment_file))
        source: Source = file
        by_barcode: dict[str, Any] = {name: file.by_barcode(value, name) for name, value in
                      (("split_by", request.split_by), ("norm_by", request.norm_by))
                      if isinstance(value, (dict, pd.Series))}
        request = replace(request, groupby=file.group_column, **by_barcode)
    else:
        reject_fragment_file_options(request.fragment_file.given())
        source = open_source(request.adata)
    with source:
        yield source, request


def tracks_of(request: ExportRequest, source: Source) -> Tracks:
    """The request's tracks: its groups (or (group, split) pairs), at most max_cells cells each."""
    return make_tracks(source, request.groupby, request.selections, request.split_by, request.max_cells,
                       request.random_state)


class OnePass:
    """The core's options and per-track totals for ``tracks`` of ``source``; ``run`` makes the pass."""

    def __init__(self, request: ExportRequest, source: Source, tracks: Tracks):
        self.request, self.source, self.tracks = request, source, tracks
        self.norm_by_totals = None
        if request.norm_by is not None:
            quantity = per_cell_quantity(source, request.norm_by)
            self.norm_by_totals = tracks.norm_by_totals(quantity, source.obs().index)
        self.options = request.options.core(single_end=self._single_end())

    def _single_end(self) -> bool:
        if self.source.kind != "fragment_single":
            return False
        o = self.request.options
        if o.min_frag_length is not None or o.max_frag_length not in (None, DEFAULTS.max_frag_length):
            notices.warn("single-end reads are not filtered by fragment length; min/max_frag_length are ignored",
                         stacklevel=_STACKLEVEL + 1)
        return True

    def run(self, paths: list[str], out_dir: Path | None, describe: str, references: list[int] | None = None,
            anchors: Callable[[list[str], Any], tuple] | None = None) -> Any:
        """Count every track in one pass and write the non-empty ``paths`` (creating ``out_dir`` once the
        core has checked everything; removed again on failure). None when no cell has a track. With
        ``anchors`` (anchors(chromosome names, lengths) -> the core's anchors): (stats, profiles)."""
        source, request = self.source, self.request
        chrom_index = {n: i for i, n in enumerate(source.names)}
        regions = {name: None if value is None else to_arrays(value, chrom_index, name) for name, value in
                   (("blacklist", request.blacklist), ("include_for_norm", request.include_for_norm),
                    ("exclude_for_norm", request.exclude_for_norm))}
        empty = to_arrays([], chrom_index, "")
        output_regions = parse_output_regions(request.regions, dict(zip(source.names, map(int, source.lengths))))
        if not self.tracks.keys:
            notices.warn("no cell has a group label: nothing to export", stacklevel=_STACKLEVEL)
            return None
        profile = None if anchors is None else anchors(source.names, source.lengths)
        if describe:
            log.info("%s", describe)
        progress = _Progress(source, None if out_dir is None else OutDir(out_dir))
        with progress:
            return _core.export_coverage(
                chrom_names=source.names, chrom_lengths=[int(x) for x in source.lengths],
                chunks=source.core_input(self.tracks.codes), output_paths=paths,
                blacklist=regions["blacklist"] or empty, include_for_norm=regions["include_for_norm"],
                exclude_for_norm=regions["exclude_for_norm"] or empty, options=self.options,
                n_cells=[int(n) for n in self.tracks.n_cells], norm_by_totals=self.norm_by_totals,
                regions=output_regions, references=references, profile=profile,
                before_reading=progress.before_reading, progress=progress.update,
                after_reading=progress.after_reading)

    def warn_empty(self, stats: list, what: str) -> None:
        """Docs/spec.md 4.8 and 16.4.4: a track without units, or with a normalization total of 0."""
        for key, st in zip(self.tracks.keys, stats):
            if st["n_units"] == 0:
                notices.warn(f"group {key!r} has no fragments to count: {what}", stacklevel=_STACKLEVEL)
            elif st["denominator"] == 0:
                notices.warn(f"group {key!r} has a normalization total of 0 ({self._total_name()}): {what}",
                             stacklevel=_STACKLEVEL)

    def _total_name(self) -> str:
        if self.options.norm_by:
            return "the norm_by sum Q is 0"
        return {"CPM": "no unit counts towards N", "RPKM": "no unit counts towards N",
                "BPM": "all bins are 0", "RPGC": "no unit counts towards L",
                "n_cells": "the track has no cells"}.get(self.options.normalization, "0")

    def format_name(self) -> str:
        """'bigWig', 'bedGraph' or e.g. 'bedGraph (zstd)', for the progress message."""
        if str(self.options.output_format) == "bigwig":
            return "bigWig"
        codec = str(self.options.compression)
        return "bedGraph" if codec == "none" else f"bedGraph ({codec})"


class _Progress:
    """The core's hooks: ``out_dir`` is created only after the core's own checks (options, genome, output
    paths), so nothing exists when anything is rejected, and removed again when the pass fails; the
    progress bar counts the fragments read."""

    def __init__(self, source: Source, out: OutDir | None):
        self.source, self.out = source, out
        self.bar: Any = None

    def before_reading(self) -> None:
        if self.out is not None:
            self.out.make()
        self.bar = settings.progress_bar(total=self.source.n_fragments(), desc="reading fragments", unit="frag")

    def update(self, n: int) -> None:
        self.bar.update(n)

    def after_reading(self) -> None:
        self.bar.close()
        self.source.after_reading()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is not None and self.out is not None:
            self.out.undo()
        if self.bar is not None:
            self.bar.close()
