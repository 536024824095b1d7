"""fragcov.pl.tracks: a browser-track figure of one locus (docs/spec.md section 15).

One filled track per group (values read from bigWig/bedGraph files, or
computed on the fly for the locus through export_coverage's ``regions=``),
an optional gene-model row from a GTF/GFF3/BED12 file, highlight regions.
matplotlib (and pyBigWig for bigWig files) come from the ``plot`` extra and
are imported only when a figure is drawn.
"""
from __future__ import annotations

import gzip
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._regions import _REGION, _region_from_string

_FIGURE_SUFFIXES = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
_TRACK_SUFFIXES = (".bw", ".bigwig", ".bedgraph", ".bg", ".bdg", ".bedgraph.gz", ".bg.gz", ".bdg.gz",
                   ".bedgraph.zst", ".bg.zst")
# matplotlib's tab10, as scanpy uses for up to 10 categories without uns colors
_DEFAULT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf"]


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as err:
        raise ImportError(f"fragcov.pl needs {module}: pip install 'fragcov[plot]' (matplotlib, pyBigWig)") from err


# ---- gene models -------------------------------------------------------------------------

@dataclass
class Transcript:
    gene: str
    chrom: str
    start: int
    end: int
    strand: str
    exons: list[tuple[int, int]] = field(default_factory=list)

    @property
    def exonic(self) -> int:
        return sum(e - s for s, e in self.exons)


def _open_text(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"gene annotation {path!r} does not exist")
    return gzip.open(path, "rt") if path.lower().endswith(".gz") else open(path)


def _attributes(text: str, gff3: bool) -> dict[str, str]:
    out = {}
    for part in text.strip().strip(";").split(";"):
        part = part.strip()
        if not part:
            continue
        if gff3 and "=" in part:
            k, v = part.split("=", 1)
        else:
            k, _, v = part.partition(" ")
        out[k.strip()] = v.strip().strip('"')
    return out


def read_genes(path) -> list[Transcript]:
    """One transcript per gene (the one with the most exonic bases; ties: the longest, then the first)
    from a GTF, GFF3 or BED12 file (told from its lines: 12 columns of which the 10th is a number is BED12,
    attributes with ``=`` are GFF3)."""
    transcripts: dict[str, Transcript] = {}
    gene_names: dict[str, str] = {}
    parent_gene: dict[str, str] = {}
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) >= 12 and f[9].strip().isdigit():  # BED12
                chrom, s, e, name, strand = f[0], int(f[1]), int(f[2]), f[3], f[5]
                sizes = [int(x) for x in f[10].strip(",").split(",")]
                starts = [int(x) for x in f[11].strip(",").split(",")]
                key = f"{name}#{n}"
                transcripts[key] = Transcript(name, chrom, s, e, strand,
                                              [(s + a, s + a + b) for a, b in zip(starts, sizes)])
                continue
            if len(f) < 9:
                raise ValueError(f"{path}: line {n}: not a GTF/GFF3 (9 tab-separated columns) or BED12 line")
            chrom, feature, s, e, strand, attrs = f[0], f[2], int(f[3]) - 1, int(f[4]), f[6], f[8]
            gff3 = "=" in attrs and '"' not in attrs
            a = _attributes(attrs, gff3)
            if gff3:
                if feature == "gene":
                    gene_names[a.get("ID", "")] = a.get("Name", a.get("gene_name", a.get("ID", "")))
                elif feature in ("mRNA", "transcript"):
                    parent_gene[a.get("ID", "")] = a.get("Parent", "")
                    gene_names.setdefault(a.get("Parent", ""), a.get("gene_name", a.get("Parent", "")))
                elif feature == "exon":
                    for tid in a.get("Parent", "").split(","):
                        t = transcripts.setdefault(tid, Transcript(tid, chrom, s, e, strand))
                        t.exons.append((s, e))
            elif feature == "exon":
                tid = a.get("transcript_id", a.get("gene_id", ""))
                gene = a.get("gene_name", a.get("gene_id", tid))
                t = transcripts.setdefault(tid, Transcript(gene, chrom, s, e, strand))
                t.exons.append((s, e))
    best: dict[str, Transcript] = {}
    for tid, t in transcripts.items():
        if tid in parent_gene:  # GFF3: exon -> transcript -> gene name
            t.gene = gene_names.get(parent_gene[tid], parent_gene[tid])
        t.exons.sort()
        t.start, t.end = min(s for s, _ in t.exons), max(e for _, e in t.exons)
        cur = best.get(t.gene)
        if cur is None or (t.exonic, t.end - t.start) > (cur.exonic, cur.end - cur.start):
            best[t.gene] = t
    return sorted(best.values(), key=lambda t: (t.chrom, t.start))


# ---- the locus ---------------------------------------------------------------------------

def resolve_region(region, genes: list[Transcript] | None, flank=None) -> tuple[str, int, int, str]:
    """(chrom, start, end, title) of a region string, a (chrom, start, end) tuple or a gene name."""
    if isinstance(region, (tuple, list)) and len(region) == 3:
        chrom, start, end = str(region[0]), int(region[1]), int(region[2])
    elif isinstance(region, str) and _REGION.match(region):
        chrom, start, end = _region_from_string(region, "region")
    elif isinstance(region, str):
        if genes is None:
            raise ValueError(f"region {region!r} is not 'chrom:start-end'; to name a gene, pass genes= (a GTF, "
                             "GFF3 or BED12 file)")
        hit = [t for t in genes if t.gene == region] or [t for t in genes if t.gene.lower() == region.lower()]
        if not hit:
            raise ValueError(f"gene {region!r} is not in the annotation ({len(genes)} genes)")
        t = hit[0]
        pad = max(2_000, (t.end - t.start) // 5) if flank is None else int(flank)
        return t.chrom, max(0, t.start - pad), t.end + pad, f"{t.gene} ({t.chrom}:{t.start + 1:,}-{t.end:,})"
    else:
        raise TypeError(f"region must be 'chrom:start-end', a (chrom, start, end) tuple or a gene name, "
                        f"got {region!r}")
    if end <= start:
        raise ValueError(f"region {region!r} is empty")
    return chrom, start, end, f"{chrom}:{start + 1:,}-{end:,}"


# ---- track values ------------------------------------------------------------------------

def _read_bigwig(path, chrom, start, end):
    pyBigWig = _require("pyBigWig")
    bw = pyBigWig.open(os.fspath(path))
    try:
        if chrom not in bw.chroms():
            raise ValueError(f"{path}: no chromosome {chrom!r} in this bigWig")
        iv = bw.intervals(chrom, start, min(end, bw.chroms()[chrom])) or []
    finally:
        bw.close()
    return [(max(s, start), min(e, end), v) for s, e, v in iv]


def _read_bedgraph(path, chrom, start, end):
    p = os.fspath(path)
    if p.lower().endswith((".zst", ".zstd")):
        import io

        import zstandard

        with open(p, "rb") as fh:
            text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(fh)).read()
    else:
        with (gzip.open(p, "rt") if p.lower().endswith(".gz") else open(p)) as fh:
            text = fh.read()
    out = []
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) >= 4 and f[0] == chrom:
            s, e = int(f[1]), int(f[2])
            if e > start and s < end:
                out.append((max(s, start), min(e, end), float(f[3])))
    return out


def read_track_window(path, chrom, start, end):
    """Records (start, end, value) of a bigWig or bedGraph track inside [start, end)."""
    name = os.fspath(path).lower()
    if name.endswith((".bw", ".bigwig")):
        return _read_bigwig(path, chrom, start, end)
    return _read_bedgraph(path, chrom, start, end)


def _group_name(file_name: str) -> str | None:
    low = file_name.lower()
    for suf in sorted(_TRACK_SUFFIXES, key=len, reverse=True):
        if low.endswith(suf) and not file_name.startswith("."):
            return file_name[: -len(suf)]
    return None


def _tracks_of_folder(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.iterdir()):
        g = _group_name(p.name)
        if g is not None and p.is_file():
            out[g] = str(p)
    if not out:
        raise ValueError(f"folder {str(folder)!r} holds no bigWig (.bw) or bedGraph track")
    return out


def _uns_colors(source, groupby) -> dict[str, str]:
    """scanpy's colours: adata.uns[f"{groupby}_colors"], in the order of the column's categories."""
    try:
        import anndata
    except ImportError:
        return {}
    if not isinstance(source, anndata.AnnData) or not isinstance(groupby, str) or groupby not in source.obs:
        return {}
    colors = source.uns.get(f"{groupby}_colors")
    col = source.obs[groupby]
    if colors is None or not hasattr(col, "cat"):
        return {}
    return {str(c): str(k) for c, k in zip(col.cat.categories, list(colors))}


def _on_the_fly(source, groupby, groups, chrom, start, end, bin_size, normalization, chrom_sizes, n_jobs):
    """Tracks of the window computed through the core (export_coverage with regions=, bedGraph in a
    temporary folder, read back): no whole-genome export."""
    from ._export import export_coverage
    from ._fragment_file import is_fragment_file

    extra = {"chrom_sizes": chrom_sizes} if is_fragment_file(source) else {}
    with tempfile.TemporaryDirectory(prefix="fragcov-plot-") as tmp:
        paths = export_coverage(source, groupby, selections=groups, bin_size=bin_size, normalization=normalization,
                                out_dir=tmp, suffix=".bedgraph", regions=[(chrom, start, end)], n_jobs=n_jobs,
                                **extra)
        return {("_".join(k) if isinstance(k, tuple) else k): _read_bedgraph(p, chrom, start, end)
                for k, p in paths.items()}


# ---- drawing -----------------------------------------------------------------------------

def _gene_rows(genes: list[Transcript], start: int, end: int, min_gap: float) -> list[list[Transcript]]:
    rows: list[list[Transcript]] = []
    last_end: list[float] = []
    for t in genes:
        lo = max(t.start, start)
        for i, e in enumerate(last_end):
            if lo > e + min_gap:
                rows[i].append(t)
                last_end[i] = max(t.end, lo + min_gap)
                break
        else:
            rows.append([t])
            last_end.append(max(t.end, lo + min_gap))
    return rows


def _fmt_value(v: float) -> str:
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


def _fmt_position(x: float, span: int) -> str:
    if span >= 2_000_000:
        return f"{x / 1e6:,.1f} Mb"
    if span >= 20_000:
        return f"{x / 1e6:,.3f} Mb"
    return f"{x:,.0f}"


def tracks(source, region, groups=None, *, groupby=None, genes=None, highlight=None, shared_y=True, colors=None,
           output=None, bin_size=None, normalization="CPM", chrom_sizes=None, flank=None, title=None,
           width=3.5, track_height=0.42, ylabel=None, n_jobs=2, dpi=300):
    """Browser-track figure of one locus: one filled track per group, optional gene models and highlights.

    Parameters
    ----------
    source
        ``{group: path}`` as returned by :func:`fragcov.export_coverage`, a folder of bigWig/bedGraph tracks
        (group = file name without its suffix), or an AnnData / ``.h5ad`` path / fragment file with
        ``groupby`` (the window is then computed through the core with ``regions=``, no whole-genome export).
    region
        ``"chr1:1,000,000-1,200,000"`` (0-based half-open, commas allowed), ``(chrom, start, end)``, or a gene
        name of ``genes`` (padded by ``flank`` bases each side; default 20% of the gene, at least 2,000).
    groups
        Groups to draw, in this order (default: all, in the source's order).
    groupby
        For AnnData / fragment-file sources: the ``obs`` column (or a groups table / labels, as
        ``export_coverage``'s ``groupby``).
    genes
        A GTF, GFF3 or BED12 file (plain or ``.gz``): one transcript per gene (the most exonic bases) is drawn,
        exons as boxes, introns as lines with strand arrows, the gene name below.
    highlight
        Region strings or ``(chrom, start, end)`` tuples shaded on every track.
    shared_y
        One y scale for all tracks (default), else one per track; each row states its range.
    colors
        ``{group: colour}``; default ``adata.uns[f"{groupby}_colors"]`` when present (as scanpy), else tab10.
    output
        Figure file; ``.png``, ``.pdf`` or ``.svg`` (format by suffix). ``None``: not saved.
    bin_size, normalization, chrom_sizes, n_jobs
        On-the-fly tracks: bin width (default: about 500 bins over the window, at least 10), normalization
        (default CPM), the fragment file's genome, threads.
    flank
        Bases added on each side of a gene given as ``region`` (default: 20% of its length, at least 2,000).
    title, width, track_height, ylabel, dpi
        Figure title (default: the region), width in inches (default 3.5: one journal column), height of one
        track row in inches, y-axis label, resolution of a ``.png``.

    Returns
    -------
    matplotlib.figure.Figure
        A bare ``Figure`` (no pyplot state), drawn headless; Jupyter shows it when it is the cell's value.

    Raises
    ------
    ImportError
        matplotlib (or pyBigWig, to read bigWigs) is missing: ``pip install 'fragcov[plot]'``.
    FileNotFoundError
        ``source`` is a path that does not exist.
    ValueError
        An unreadable region, a gene not in ``genes``, an output suffix other than .png/.pdf/.svg.

    Examples
    --------
    >>> import fragcov
    >>> demo = fragcov.datasets.demo
    >>> fig = fragcov.pl.tracks(demo("fragment"), "chr21:11,900,000-11,960,000", groupby=demo("cell_table"),
    ...                         chrom_sizes=demo("chrom_sizes"), genes=demo("genes"),
    ...                         highlight=["chr21:11,939,000-11,940,500"], output="locus.png")

    From tracks already exported (the dict ``export_coverage`` returns, or their folder), at a gene:

    >>> tracks = fragcov.export_coverage(demo(), groupby="cell_type", out_dir="tracks")  # doctest: +SKIP
    >>> fig = fragcov.pl.tracks(tracks, "MONO1", genes=demo("genes"), output="mono1.pdf")  # doctest: +SKIP
    """
    if output is not None:
        fmt = _FIGURE_SUFFIXES.get(Path(os.fspath(output)).suffix.lower())
        if fmt is None:
            raise ValueError(f"cannot tell the figure format of {os.fspath(output)!r}: use a .png, .pdf or .svg "
                             "file name")
    if isinstance(source, (str, os.PathLike)) and not os.path.exists(source):
        raise FileNotFoundError(f"source not found: '{os.fspath(source)}'")
    _require("matplotlib")
    # a bare Figure (no pyplot): drawn headless whatever the session's backend; Jupyter shows it when returned
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    models = read_genes(genes) if genes is not None else None
    chrom, start, end, default_title = resolve_region(region, models, flank)
    span = end - start

    color_of: dict[str, str] = {}
    if isinstance(source, dict):
        values = {("_".join(k) if isinstance(k, tuple) else str(k)): read_track_window(p, chrom, start, end)
                  for k, p in source.items()}
    elif isinstance(source, (str, os.PathLike)) and Path(os.fspath(source)).is_dir():
        values = {g: read_track_window(p, chrom, start, end) for g, p in _tracks_of_folder(Path(source)).items()}
    else:
        if groupby is None:
            raise ValueError("an AnnData, .h5ad or fragment-file source needs groupby (the obs column or groups "
                             "table); or pass the dict export_coverage returned, or a folder of bigWigs")
        if bin_size is None:
            bin_size = max(10, int(round(span / 500, -1)) or 10)
        values = _on_the_fly(source, groupby, None if groups is None else list(groups), chrom, start, end,
                             bin_size, normalization, chrom_sizes, n_jobs)
        color_of = _uns_colors(source, groupby)
        if ylabel is None:
            ylabel = f"{normalization or 'count'}, {bin_size}-bp bins"
    if groups is not None:
        missing = [g for g in groups if str(g) not in values]
        if missing:
            raise ValueError(f"group(s) {', '.join(map(repr, missing))} not found; available: "
                             f"{', '.join(map(repr, values))}")
        values = {str(g): values[str(g)] for g in groups}
    if not values:
        raise ValueError("no track to draw")
    if colors:
        color_of.update({str(k): v for k, v in colors.items()})
    for i, g in enumerate(values):
        color_of.setdefault(g, _DEFAULT_COLORS[i % len(_DEFAULT_COLORS)])

    maxima = {g: max((v for _, _, v in rec), default=0.0) for g, rec in values.items()}
    shared_top = max(maxima.values())

    gene_rows = []
    if models is not None:
        in_window = [t for t in models if t.chrom == chrom and t.end > start and t.start < end]
        gene_rows = _gene_rows(in_window, start, end, min_gap=span * 0.12)
    n = len(values)
    gene_h = 0.32 * max(1, len(gene_rows)) if models is not None else 0.0
    top_h = 0.28
    axis_h = 0.32
    height = top_h + n * track_height + gene_h + axis_h
    fig = Figure(figsize=(width, height), dpi=100)
    left, right = 0.27, 0.97
    fs = 7
    y = 1 - top_h / height
    axes = []
    spans = [(s, e) for c, s, e in (_highlight_list(highlight)) if c == chrom]
    for g, rec in values.items():
        h = track_height / height
        ax = fig.add_axes([left, y - h, right - left, h * 0.88])
        y -= h
        top = shared_top if shared_y else maxima[g]
        top = top if top > 0 else 1.0
        for s, e in spans:
            ax.axvspan(s, e, color="#f2d95c", alpha=0.35, linewidth=0, zorder=0)
        if rec:
            # gaps between records are 0: break the polygon there
            xx, vv = [], []
            prev = None
            for (s, e, val) in rec:
                if prev is not None and s > prev:
                    xx += [prev, s]
                    vv += [0.0, 0.0]
                xx += [s, e]
                vv += [val, val]
                prev = e
            x, v = np.array(xx, dtype=float), np.array(vv)
            ax.fill_between(x, v, 0, color=color_of[g], linewidth=0, zorder=2)
        ax.set_xlim(start, end)
        ax.set_ylim(0, top)
        ax.set_axis_off()
        ax.text(-0.03, 0.4, g, transform=ax.transAxes, ha="right", va="center", fontsize=fs, color="#222222")
        ax.text(0.005, 0.97, f"[0-{_fmt_value(top)}]", transform=ax.transAxes, ha="left", va="top",
                fontsize=fs - 1.5, color="#555555")
        ax.axhline(0, color="#bbbbbb", linewidth=0.4, zorder=1)
        ax.set_label(f"track:{g}")
        axes.append(ax)
    if models is not None:
        h = gene_h / height
        gax = fig.add_axes([left, y - h, right - left, h])
        y -= h
        gax.set_xlim(start, end)
        gax.set_ylim(len(gene_rows) - 0.35, -0.45)
        gax.set_axis_off()
        gax.set_label("genes")
        for s, e in spans:
            gax.axvspan(s, e, color="#f2d95c", alpha=0.35, linewidth=0, zorder=0)
        for r, row in enumerate(gene_rows):
            for t in row:
                gax.plot([max(t.start, start), min(t.end, end)], [r, r], color="#333333", linewidth=0.6,
                         zorder=1, solid_capstyle="butt")
                for s, e in t.exons:
                    gax.add_patch(Rectangle((s, r - 0.16), e - s, 0.32, color="#333333", linewidth=0, zorder=2))
                _strand_arrows(gax, t, r, start, end)
                mid = (max(t.start, start) + min(t.end, end)) / 2
                gax.text(mid, r + 0.22, t.gene, ha="center", va="top", fontsize=fs - 1, style="italic",
                         color="#222222", clip_on=False)
        gax.text(-0.03, 1 - 0.45 / (len(gene_rows) + 0.1), "genes", transform=gax.transAxes, ha="right",
                 va="center", fontsize=fs, color="#222222")
    # coordinate axis: start and end of the window and a scale bar
    cax = fig.add_axes([left, max(0.0, y - axis_h / height), right - left, axis_h / height * 0.9])
    cax.set_xlim(start, end)
    cax.set_ylim(0, 1)
    cax.set_axis_off()
    cax.set_label("coordinates")
    bar = _scale_bar(span)
    cax.plot([end - bar, end], [0.72, 0.72], color="#222222", linewidth=1)
    cax.text(end - bar / 2, 0.55, _fmt_bar(bar), ha="center", va="top", fontsize=fs - 1)
    cax.text(start, 0.55, f"{chrom}:{_fmt_position(start, span)}", ha="left", va="top", fontsize=fs - 1)
    fig.text(0.02, 1 - 0.06 / height, title if title is not None else default_title, ha="left", va="top",
             fontsize=fs + 0.5, weight="bold")
    if ylabel:
        fig.text(right, 1 - 0.06 / height, ylabel, ha="right", va="top", fontsize=fs - 1.5, color="#555555")
    if output is not None:
        fig.savefig(os.fspath(output), format=fmt, dpi=dpi)
    return fig


def _highlight_list(highlight):
    if highlight is None:
        return []
    if isinstance(highlight, str) or (isinstance(highlight, tuple) and len(highlight) == 3
                                      and not isinstance(highlight[0], (tuple, list))):
        highlight = [highlight]
    out = []
    for h in highlight:
        out.append(_region_from_string(h, "highlight") if isinstance(h, str) else (str(h[0]), int(h[1]), int(h[2])))
    return out


def _strand_arrows(ax, t: Transcript, row: int, start: int, end: int) -> None:
    if t.strand not in "+-":
        return
    lo, hi = max(t.start, start), min(t.end, end)
    n = int((hi - lo) / (end - start) * 12)
    marker = ">" if t.strand == "+" else "<"
    xs = np.linspace(lo, hi, n + 2)[1:-1]
    in_exon = [any(s <= x < e for s, e in t.exons) for x in xs]
    xs = [x for x, ex in zip(xs, in_exon) if not ex]
    if xs:
        ax.plot(xs, [row] * len(xs), linestyle="none", marker=marker, markersize=2.2, color="#333333",
                markeredgewidth=0, zorder=1)


def _scale_bar(span: int) -> int:
    target = span / 5
    mag = 10 ** int(np.floor(np.log10(target)))
    for m in (5, 2, 1):
        if m * mag <= target:
            return m * mag
    return mag


def _fmt_bar(b: int) -> str:
    if b >= 1_000_000:
        return f"{b // 1_000_000} Mb"
    if b >= 1_000:
        return f"{b // 1_000} kb"
    return f"{b} bp"

