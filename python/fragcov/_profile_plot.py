"""fragcov.pl.profile and fragcov.pl.heatmap: figures of a Profiles result (docs/spec.md section 16.8),
drawn headless on a bare matplotlib Figure and written atomically (16.7.2)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._outputs import figure_output, save_figure
from ._plot import literal_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._profile import Profiles
    from ._types import PathLike

# matplotlib's tab10, as scanpy uses for up to 10 categories without uns colors
_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]
MAX_ROWS = 2000  # heatmap rows drawn at most (neighbours averaged)
FLANK = 100      # bases at each end of the window that normalize an enrichment curve (ArchR's, spec 16.6)


def _figure_format(output) -> str | None:
    return figure_output(output)


def _save(fig, output, fmt, dpi) -> None:
    """Docs/spec.md 16.8.3: under a temporary name beside `output`, renamed into place when complete."""
    save_figure(fig, output, fmt, dpi)


def _label(key) -> str:
    return "_".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _chosen(result, groups) -> list:
    """The result's keys of `groups` (names, or (group, split) keys / their 'group_split' labels), in order."""
    keys = list(result.matrices)
    if groups is None:
        if not keys:
            raise ValueError("the result has no group to draw")
        return keys
    if isinstance(groups, (str, tuple)):
        groups = [groups]
    by_label = {_label(k): k for k in keys}
    out: list = []
    missing: list = []
    for g in groups:
        k = g if g in result.matrices else by_label.get(_label(g))
        (out if k is not None else missing).append(k if k is not None else g)
    if missing:
        raise ValueError(f"group(s) {', '.join(map(repr, missing))} not found; available: "
                         f"{', '.join(map(repr, map(_label, keys)))}")
    return out


def _colors(result, keys, colors) -> dict:
    out = {}
    given = {_label(k): v for k, v in (colors or {}).items()}
    for i, k in enumerate(keys):
        out[k] = given.get(_label(k)) or result.colors.get(k) or _TAB10[i % len(_TAB10)]
    return out


def _distance_ticks(result) -> tuple[list, list]:
    """Window start, anchor and end as deepTools labels them."""
    anchor = {"start": "TSS", "end": "TES"}.get(result.reference_point, "center")

    def kb(x):
        return f"{x / 1000:g} kb" if abs(x) >= 1000 else f"{x:g} bp"
    ticks, labels = [-result.upstream, 0, result.downstream], [kb(-result.upstream), anchor, kb(result.downstream)]
    return ticks, labels


def _flank_mask(result) -> np.ndarray:
    """Bins that touch the outermost FLANK bases of the window at either end (spec 16.8.1)."""
    bins = result.bins
    return (bins < -result.upstream + FLANK) | (bins + result.bin_size > result.downstream - FLANK)


@literal_text
def profile(result: Profiles, groups: Any = None, *, enrichment: bool = False, colors: dict | None = None,
            output: PathLike | None = None, title: str | None = None, width: float = 3.5, height: float = 2.6,
            ylabel: str | None = None, dpi: int = 300) -> Figure:
    """Mean profile of each group around its anchors, one line per group on shared axes.

    Parameters
    ----------
    result
        What ``fragcov.profile`` returned.
    groups
        Groups to draw, in this order (default: all).
    enrichment
        Divide each line by its mean over the bins in the outermost 100 bases of the window at each end:
        with TSS anchors and the default window, ArchR's TSS enrichment curve (``plotTSSEnrichment``).
    colors
        ``{group: colour}``; default the source's ``uns`` colours (scanpy), else tab10.
    output
        A ``.png``, ``.pdf`` or ``.svg`` file, written under a temporary name and renamed when complete;
        ``None``: not saved.
    title, ylabel
        Default: what is drawn.
    width, height, dpi
        Figure size in inches, and the resolution of a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fragcov
    >>> from fragcov.datasets import demo
    >>> result = fragcov.profile(demo("fragment"), demo("groups"), demo("peaks"),
    ...                          chrom_sizes=demo("chrom_sizes"), bin_size=50)
    >>> fig = fragcov.pl.profile(result, enrichment=True, output="enrichment.png")
    >>> [line.get_label() for line in fig.axes[0].get_lines()[:3]]
    ['CD14 Mono', 'CD4 Naive', 'CD8 Memory']
    """
    fmt = _figure_format(output)
    from ._plot import _require

    _require("matplotlib")
    from matplotlib.figure import Figure

    keys = _chosen(result, groups)
    color_of = _colors(result, keys, colors)
    x = result.bins + result.bin_size / 2
    lines = {}
    for k in keys:
        y = np.asarray(result.mean_profile[k], dtype=np.float64)
        if enrichment:
            with np.errstate(invalid="ignore"):
                flank = np.nanmean(y[_flank_mask(result)]) if np.isfinite(y[_flank_mask(result)]).any() else np.nan
            if not flank > 0:
                raise ValueError(f"group {_label(k)!r} has no signal in the outermost {FLANK} bases of the window: "
                                 "its enrichment is undefined")
            y = y / flank
        lines[k] = y
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.17, 0.2, 0.78, 0.68))
    for k, y in lines.items():
        ax.plot(x, y, color=color_of[k], linewidth=1.0, label=_label(k))
    ax.axvline(0, color="#888888", linewidth=0.6, linestyle="--", zorder=0)
    ticks, labels = _distance_ticks(result)
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlim(-result.upstream, result.downstream)
    ax.tick_params(axis="y", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if ylabel is None:
        ylabel = ("enrichment over the flanks" if enrichment
                  else f"{result.normalization or 'count'} per base, {result.bin_size}-bp bins")
    ax.set_ylabel(ylabel, fontsize=7)
    ax.legend(fontsize=6, frameon=False, loc="upper right")
    if title is None:
        anchors = "TSSs" if result.reference_point == "start" else "anchors"
        title = (("TSS enrichment" if anchors == "TSSs" else "Enrichment over the flanks") if enrichment
                 else f"Profile around {len(result.anchors):,} {anchors}")
    ax.set_title(title, fontsize=8)
    if output is not None:
        _save(fig, output, fmt, dpi)
    return fig


def _row_means(m: np.ndarray) -> np.ndarray:
    """Per row, the mean of its non-NaN values (NaN for a row without one), in blocks of rows."""
    out = np.empty(m.shape[0], dtype=np.float64)
    for lo in range(0, m.shape[0], 8192):
        block = m[lo:lo + 8192].astype(np.float64)
        ok = ~np.isnan(block)
        n = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:lo + 8192] = np.where(n > 0, np.where(ok, block, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)
    return out


def _image(m: np.ndarray, order: np.ndarray, n_rows: int) -> np.ndarray:
    """The rows of `m` in `order`, neighbours averaged (NaN ignored) into n_rows rows: memory of the image,
    not of the matrix."""
    if n_rows == len(order):
        return m[order].astype(np.float64)
    edges = np.linspace(0, len(order), n_rows + 1).astype(np.int64)
    out = np.empty((n_rows, m.shape[1]), dtype=np.float64)
    for i in range(n_rows):
        block = m[order[edges[i]:edges[i + 1]]].astype(np.float64)
        ok = ~np.isnan(block)
        n = ok.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = np.where(n > 0, np.where(ok, block, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)
    return out


@literal_text
def heatmap(result: Profiles, groups: Any = None, *, sort: bool = True, cmap: str = "Reds",
            vmin: float | None = None, vmax: float | None = None, output: PathLike | None = None,
            title: str | None = None, width: float | None = None, height: float = 5.0, dpi: int = 300) -> Figure:
    """One heatmap panel per group (a row per anchor, a column per bin) under the group's mean profile, as
    deepTools' ``plotHeatmap`` draws them.

    Parameters
    ----------
    result
        What ``fragcov.profile`` returned.
    groups
        Groups to draw, in this order (default: all).
    sort
        Rows by their mean over the shown groups, highest first (rows without a value last), the same order
        in every panel; ``False``: anchor order. Beyond 2,000 rows, neighbouring rows are averaged.
    cmap, vmin, vmax
        Colour map and range (default 0, or the minimum if values are negative, to the 99th percentile of the
        shown values); NaN is light grey.
    output
        A ``.png``, ``.pdf`` or ``.svg`` file, written under a temporary name and renamed when complete;
        ``None``: not saved.
    title
        A title over the panels (default none).
    width, height, dpi
        Figure size in inches (default width: 1.55 per panel), and the resolution of a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fragcov
    >>> from fragcov.datasets import demo
    >>> result = fragcov.profile(demo("fragment"), demo("groups"), demo("peaks"),
    ...                          chrom_sizes=demo("chrom_sizes"), bin_size=50)
    >>> fig = fragcov.pl.heatmap(result, groups=["CD4 Naive", "CD14 Mono"], output="heatmap.png")
    >>> [ax.get_label() for ax in fig.axes if ax.get_label().startswith("heatmap:")]
    ['heatmap:CD4 Naive', 'heatmap:CD14 Mono']
    """
    fmt = _figure_format(output)
    from ._plot import _require

    _require("matplotlib")
    import matplotlib
    from matplotlib.figure import Figure

    keys = _chosen(result, groups)
    n_anchors = len(result.anchors)
    if n_anchors == 0:
        raise ValueError("the result has no anchor to draw")
    if sort:
        means = np.vstack([_row_means(result.matrices[k]) for k in keys])
        with np.errstate(invalid="ignore"):
            n = (~np.isnan(means)).sum(axis=0)
            key = np.where(n > 0, np.nansum(means, axis=0) / np.maximum(n, 1), np.nan)
        order = np.lexsort((np.arange(n_anchors), np.where(np.isnan(key), np.inf, -key)))  # stable, NaN last
    else:
        order = np.arange(n_anchors)
    n_rows = min(n_anchors, MAX_ROWS)
    images = {k: _image(result.matrices[k], order, n_rows) for k in keys}
    shown = np.concatenate([im[np.isfinite(im)] for im in images.values()])
    if vmin is None:
        vmin = min(0.0, float(shown.min())) if shown.size else 0.0
    if vmax is None:
        vmax = float(np.percentile(shown, 99)) if shown.size else 1.0
        if not vmax > vmin:
            vmax = vmin + 1.0
    colormap = (matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap).with_extremes(bad="#dddddd")
    color_of = _colors(result, keys, colors=None)

    n = len(keys)
    panel, gap, left, right_bar = 1.25, 0.3, 0.55, 0.75
    if width is None:
        width = left + n * panel + (n - 1) * gap + right_bar
    fig = Figure(figsize=(width, height), dpi=100)
    top_h, heat_bottom, heat_top = 0.16, 0.08, 0.70
    profile_top = max(np.nanmax(result.mean_profile[k]) if np.isfinite(result.mean_profile[k]).any() else 0.0
                      for k in keys)
    profile_top = profile_top * 1.08 if profile_top > 0 else 1.0
    ticks, labels = _distance_ticks(result)
    extent = (-result.upstream, result.downstream, n_rows, 0)
    scale = (width - left - right_bar - (n - 1) * gap) / n / width
    image = None
    for i, k in enumerate(keys):
        x0 = (left + i * (panel + gap)) / width if width else 0
        w = scale
        pax = fig.add_axes((x0, heat_top + 0.06, w, top_h))
        pax.plot(result.bins + result.bin_size / 2, result.mean_profile[k], color=color_of[k], linewidth=0.9)
        pax.set_xlim(-result.upstream, result.downstream)
        pax.set_ylim(0, profile_top)
        pax.set_xticks([])
        pax.tick_params(axis="y", labelsize=6)
        if i:
            pax.set_yticklabels([])
        pax.set_title(_label(k), fontsize=8)
        pax.set_label(f"profile:{_label(k)}")
        hax = fig.add_axes((x0, heat_bottom, w, heat_top - heat_bottom))
        image = hax.imshow(images[k], aspect="auto", interpolation="nearest", cmap=colormap, vmin=vmin, vmax=vmax,
                           extent=extent)
        hax.set_xticks(ticks)
        hax.set_xticklabels(labels, fontsize=6)
        hax.set_yticks([])
        hax.set_label(f"heatmap:{_label(k)}")
        if i == 0:
            hax.set_ylabel(f"{n_anchors:,} anchors" + (" (sorted)" if sort else ""), fontsize=7)
    cax = fig.add_axes(((width - right_bar + 0.15) / width, heat_bottom, 0.12 / width, heat_top - heat_bottom))
    assert image is not None  # one panel per group, and there is at least one
    bar = fig.colorbar(image, cax=cax)
    bar.ax.tick_params(labelsize=6)
    bar.set_label(f"{result.normalization or 'count'} per base", fontsize=6)
    if title is not None:
        fig.suptitle(title, fontsize=9)
    if output is not None:
        _save(fig, output, fmt, dpi)
    return fig
