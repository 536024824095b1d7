"""fragcov.pl.tracks: a browser-track figure of one locus (docs/spec.md section 15).

One filled track per group (values read from bigWig/bedGraph files, or
computed on the fly for the locus through export_coverage's ``regions=``),
an optional gene-model row from a GTF/GFF3/BED12 file, highlight regions.
matplotlib (and pyBigWig for bigWig files) come from the ``plot`` extra and
are imported only when a figure is drawn.

Every input is data, never markup or code: text is drawn literally (no
mathtext, no TeX), a file line that cannot be read is an error naming the file
and the line, and the figure is written like every other output (the one
output-path guard, a temporary name renamed into place).
"""
from __future__ import annotations

import functools
import gzip
import io
import math
import numbers
import os
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, cast

import numpy as np

from . import _notices as notices
from ._options import codec_of_suffix, format_of_suffix
from ._outputs import figure_output, save_figure
from ._regions import _REGION, _region_from_string

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._types import ChromSizes, Groupby, Input, PathLike

# matplotlib's tab10, as scanpy uses for up to 10 categories without uns colors
_DEFAULT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf"]
MAX_GENE_ROWS = 8  # rows of gene models drawn at most; the others are counted in a "+N more genes" note
MAX_TEXT_LINE = 1 << 20  # a longer line is not a line of a track or annotation (a binary file)


def _require(module: str, pip: str = "'fragcov[plot]' (matplotlib, pyBigWig)"):
    try:
        return __import__(module)
    except ImportError as err:
        raise ImportError(f"fragcov.pl needs {module}: pip install {pip}") from err


def literal_text(draw):
    """Runs a drawing function with matplotlib's mathtext and TeX off (docs/spec.md 15.7): group,
    gene and title text holding ``$``, ``_`` or ``\\`` is drawn as written, never parsed as markup
    (a ``$`` pair would turn a name into math, an odd one fail at saving)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        matplotlib = _require("matplotlib")
        off = {key: False for key in ("text.parse_math", "text.usetex") if key in matplotlib.rcParams}
        with matplotlib.rc_context(off):
            return draw(*args, **kwargs)

    return wrapper


# ---- reading text files line by line --------------------------------------------------------

class _Lines:
    """The lines of a plain, gzip or zstd text file, read as they come (a window of a 100 MB track
    costs the window, not the file), each decoded as UTF-8; a line that cannot be read is a
    ValueError naming the file and the line."""

    def __init__(self, path: str, what: str):
        self.path, self.what = path, what

    def __iter__(self):
        with open(self.path, "rb") as f:
            head = f.read(4)
        opener: Callable[[], Any]
        if head[:2] == b"\x1f\x8b":
            def opener() -> Any:
                return gzip.open(self.path, "rb")
        elif head == b"\x28\xb5\x2f\xfd":
            zstandard = _require("zstandard", "zstandard (to read zstd-compressed text)")

            def opener() -> Any:
                raw = open(self.path, "rb")
                try:  # every frame (zstandard >= 0.19), not only the first
                    reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True, read_across_frames=True)
                except TypeError:
                    reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
                return io.BufferedReader(reader)
        else:
            def opener() -> Any:
                return open(self.path, "rb")
        n = 0
        with opener() as fh:
            while True:
                try:
                    raw = fh.readline(MAX_TEXT_LINE + 1)
                except Exception as err:  # noqa: BLE001  (corrupt or truncated compressed data: OSError,
                    # EOFError, zlib.error, zstandard.ZstdError, ...)
                    raise ValueError(f"{self.path}: line {n + 1}: cannot be read: {err}") from None
                if not raw:
                    return
                n += 1
                if len(raw) > MAX_TEXT_LINE:
                    raise ValueError(f"{self.path}: line {n} is longer than {MAX_TEXT_LINE >> 20} MiB: this is not "
                                     f"a {self.what}")
                try:
                    yield n, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise ValueError(f"{self.path}: line {n}: not UTF-8 text: this is not a {self.what}") from None


def _open_text(path, what: str) -> _Lines:
    from ._inputs import regular_file

    return _Lines(regular_file(path, what).path, what)


def _int(text: str, where: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where}: {name} {text!r} is not a whole number") from None
    return value


# ---- gene models -------------------------------------------------------------------------

@dataclass
class Transcript:
    gene: str          # the name drawn (may be empty)
    chrom: str
    start: int
    end: int
    strand: str
    exons: list[tuple[int, int]] = field(default_factory=list)
    gene_key: str = ""  # what makes two transcripts one gene (its id; a line of its own when it has none)

    @property
    def exonic(self) -> int:
        return sum(e - s for s, e in self.exons)


def _attributes(text: str, gff3: bool) -> dict[str, str]:
    """GTF ``key "value";`` or GFF3 ``key=value;`` attributes; GFF3 values are %-decoded (``%3B`` is ``;``)."""
    out = {}
    for part in text.strip().strip(";").split(";"):
        part = part.strip()
        if not part:
            continue
        if gff3 and "=" in part:
            k, v = part.split("=", 1)
            out[urllib.parse.unquote(k.strip())] = urllib.parse.unquote(v.strip())
        else:
            k, _, v = part.partition(" ")
            out[k.strip()] = v.strip().strip('"')
    return out


def _bed12(f: list[str], where: str, line_key: str) -> Transcript:
    chrom, name, strand = f[0], f[3], f[5]
    s, e = _int(f[1], where, "chromStart"), _int(f[2], where, "chromEnd")
    if not 0 <= s <= e:
        raise ValueError(f"{where}: chromStart {s} and chromEnd {e} are not 0 <= start <= end")
    count = _int(f[9], where, "blockCount")
    sizes = [_int(x, where, "blockSizes") for x in f[10].strip().strip(",").split(",") if x.strip()]
    starts = [_int(x, where, "blockStarts") for x in f[11].strip().strip(",").split(",") if x.strip()]
    if count < 1 or len(sizes) != count or len(starts) != count:
        raise ValueError(f"{where}: blockCount is {count} but there are {len(sizes)} blockSizes and {len(starts)} "
                         "blockStarts")
    exons = [(s + a, s + a + b) for a, b in zip(starts, sizes)]
    if any(b < 0 or a < 0 or s + a + b > e for a, b in zip(starts, sizes)):
        raise ValueError(f"{where}: a block lies outside chromStart-chromEnd ({s}-{e})")
    return Transcript(name, chrom, s, e, strand, exons, gene_key=name or line_key)


def read_genes(path) -> list[Transcript]:
    """One transcript per gene (the one with the most exonic bases; ties: the longest, then the first)
    from a GTF, GFF3 or BED12 file, plain or gzip (told from its lines: 12 columns of which the 10th is a
    number is BED12, attributes with ``=`` are GFF3). An exon without any id is a gene of its own (it
    never merges with other unnamed exons). A line that cannot be read is a ValueError naming the file
    and the line."""
    transcripts: dict[str, Transcript] = {}
    gene_names: dict[str, str] = {}
    parent_gene: dict[str, str] = {}
    lines = _open_text(path, "GTF, GFF3 or BED12 file")
    for n, line in lines:
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        where = f"{lines.path}: line {n}"
        f = line.split("\t")
        if len(f) >= 12 and f[9].strip().isdigit():  # BED12
            t = _bed12(f, where, f"line {n}")
            transcripts[f"{t.gene}\0{n}"] = t
            continue
        if len(f) < 9:
            raise ValueError(f"{where}: not a GTF/GFF3 (9 tab-separated columns) or BED12 line")
        chrom, feature, strand, attrs = f[0], f[2], f[6], f[8]
        s, e = _int(f[3], where, "start") - 1, _int(f[4], where, "end")
        if not 0 <= s < e:
            raise ValueError(f"{where}: start {s + 1} and end {e} are not 1 <= start <= end")
        gff3 = "=" in attrs and '"' not in attrs
        a = _attributes(attrs, gff3)
        own = f"\0line {n}"  # the key of a feature without ids
        if gff3:
            if feature == "gene":
                gid = a.get("ID", own)
                gene_names[gid] = a.get("Name", a.get("gene_name", a.get("ID", "")))
            elif feature in ("mRNA", "transcript"):
                tid = a.get("ID", own)
                parent_gene[tid] = a.get("Parent", tid)
                gene_names.setdefault(parent_gene[tid], a.get("gene_name", a.get("Name", a.get("Parent", ""))))
            elif feature == "exon":
                parents = [p for p in a.get("Parent", "").split(",") if p] or [own]
                for tid in parents:
                    label = a.get("gene_name", a.get("Name", "")) if tid == own else tid
                    t = transcripts.setdefault(tid, Transcript(label, chrom, s, e, strand, gene_key=tid))
                    t.exons.append((s, e))
        elif feature == "exon":
            tid = a.get("transcript_id") or a.get("gene_id") or own
            gene_key = a.get("gene_id") or a.get("gene_name") or tid
            gene = a.get("gene_name") or a.get("gene_id") or ""
            t = transcripts.setdefault(tid, Transcript(gene, chrom, s, e, strand, gene_key=gene_key))
            t.exons.append((s, e))
    return _one_per_gene(transcripts, gene_names, parent_gene)


def _one_per_gene(transcripts: dict[str, Transcript], gene_names: dict[str, str],
                  parent_gene: dict[str, str]) -> list[Transcript]:
    """Each gene's transcript with the most exonic bases (ties: the longest, then the first), its gene
    named through GFF3's parents, sorted by position."""
    best: dict[str, Transcript] = {}
    for tid, t in transcripts.items():
        if tid in parent_gene:  # GFF3: exon -> transcript -> gene
            t.gene_key = parent_gene[tid]
            t.gene = gene_names.get(parent_gene[tid], parent_gene[tid])
        elif tid in gene_names:  # GFF3: an exon whose parent is the gene itself
            t.gene = gene_names[tid]
        t.exons.sort()
        t.start, t.end = min(s for s, _ in t.exons), max(e for _, e in t.exons)
        cur = best.get(t.gene_key)
        if cur is None or (t.exonic, t.end - t.start) > (cur.exonic, cur.end - cur.start):
            best[t.gene_key] = t
    return sorted(best.values(), key=lambda t: (t.chrom, t.start))


# ---- the locus ---------------------------------------------------------------------------

def _whole(value, name: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def resolve_region(region, genes: list[Transcript] | None, flank=None) -> tuple[str, int, int, str]:
    """(chrom, start, end, title) of a region string, a (chrom, start, end) tuple or a gene name."""
    if flank is not None:
        flank = _whole(flank, "flank", 0)
    if isinstance(region, (tuple, list)) and len(region) == 3:
        chrom = str(region[0])
        start, end = _whole(region[1], "region start", 0), _whole(region[2], "region end", 0)
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
        pad = max(2_000, (t.end - t.start) // 5) if flank is None else flank
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
    try:
        bw = pyBigWig.open(os.fspath(path))
    except RuntimeError as err:
        raise ValueError(f"{path}: not a readable bigWig file ({err})") from None
    if bw is None or not bw.isBigWig():
        raise ValueError(f"{path}: not a readable bigWig file")
    try:
        chroms = bw.chroms()
        if chrom not in chroms:
            raise ValueError(f"{path}: no chromosome {chrom!r} in this bigWig")
        try:
            iv = bw.intervals(chrom, start, min(end, chroms[chrom])) or []
        except RuntimeError as err:
            raise ValueError(f"{path}: the bigWig's data cannot be read ({err}): the file is corrupt") from None
    finally:
        bw.close()
    return [(max(s, start), min(e, end), v) for s, e, v in iv]


def _read_bedgraph(path, chrom, start, end):
    """Records of a bedGraph (plain, gzip or zstd) inside the window, read line by line: only the
    window's records are kept. Every line is checked: 4 fields (tab or whitespace separated), whole
    numbers 0 <= start <= end, a number; header lines (track, browser, #) are skipped."""
    out = []
    lines = _open_text(path, "bedGraph track")
    for n, line in lines:
        f = line.split()
        if not f or f[0] in ("track", "browser") or f[0].startswith("#"):
            continue
        if len(f) < 4:
            raise ValueError(f"{lines.path}: line {n}: a bedGraph line has 4 fields (chrom, start, end, value): "
                             f"{line[:200]!r}")
        if f[0] != chrom:
            continue
        where = f"{lines.path}: line {n}"
        s, e = _int(f[1], where, "start"), _int(f[2], where, "end")
        try:
            v = float(f[3])
        except ValueError:
            raise ValueError(f"{where}: value {f[3]!r} is not a number") from None
        if not 0 <= s <= e:
            raise ValueError(f"{where}: start {s} and end {e} are not 0 <= start <= end")
        if e > start and s < end:
            out.append((max(s, start), min(e, end), v))
    return out


def track_suffix(file_name: str) -> str | None:
    """The suffix by which export_coverage would read this file as a track (docs/spec.md 4.3:
    ``.bw``/``.bigwig``, ``.bedgraph``/``.bg``/``.bdg`` optionally + ``.gz``/``.zst``/``.zstd``, any case),
    or None."""
    low = file_name.lower()
    codec = codec_of_suffix(low)
    base = low[: low.rfind(".")] if codec else low
    fmt = format_of_suffix(low)
    if fmt is None or (fmt == "bigwig" and codec):
        return None
    for ext in (".bigwig", ".bw", ".bedgraph", ".bdg", ".bg"):
        if base.endswith(ext):
            return file_name[len(base) - len(ext):]
    return None


def _is_bigwig(path) -> bool:
    return format_of_suffix(os.fspath(path).lower()) == "bigwig"


def read_track_window(path, chrom, start, end):
    """Records (start, end, value) of a bigWig or bedGraph track inside [start, end)."""
    from ._inputs import regular_file

    regular_file(path, "track")
    if _is_bigwig(path):
        return _read_bigwig(path, chrom, start, end)
    return _read_bedgraph(path, chrom, start, end)


# which of two tracks of one group a folder's figure draws: bigWig, then plain, gzip, zstd bedGraph
def _preference(name: str) -> tuple:
    suffix = (track_suffix(name) or "").lower()
    codec = codec_of_suffix(suffix)
    return (0 if format_of_suffix(suffix) == "bigwig" else 1 + ("none", "gzip", "zstandard").index(codec or "none"),
            name)


def _tracks_of_folder(folder: Path) -> dict[str, str]:
    """{group: path} of the folder's tracks (group = file name without its track suffix). Two tracks of
    one group (``fragcov demo`` writes ``A.bw`` and ``A.bedgraph.gz``) are resolved by one stated rule,
    bigWig first, then bedGraph plain, gzip, zstd, and a warning names the file not drawn."""
    found: dict[str, list[str]] = {}
    for p in sorted(folder.iterdir()):
        suffix = None if p.name.startswith(".") else track_suffix(p.name)
        if suffix is None or len(suffix) == len(p.name) or not p.is_file():
            continue
        found.setdefault(p.name[: -len(suffix)], []).append(p.name)
    if not found:
        raise ValueError(f"folder {str(folder)!r} holds no bigWig (.bw) or bedGraph track")
    out = {}
    for group, names in found.items():
        names = sorted(names, key=_preference)
        out[group] = str(folder / names[0])
        if len(names) > 1:
            notices.warn(f"folder '{folder}' has {len(names)} tracks of group {group!r}: drew {names[0]!r}, not "
                         f"{', '.join(map(repr, names[1:]))} (bigWig before bedGraph, then plain, gzip, zstd); "
                         "pass {group: path} to choose", stacklevel=4)
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
    from ._fragment_file import fragment_inputs

    extra = {"chrom_sizes": chrom_sizes} if fragment_inputs(source) is not None else {}
    with tempfile.TemporaryDirectory(prefix="fragcov-plot-") as tmp:
        paths = export_coverage(source, groupby, selections=groups, bin_size=bin_size, normalization=normalization,
                                out_dir=tmp, suffix=".bedgraph", regions=[(chrom, start, end)], n_jobs=n_jobs,
                                **extra)
        return {("_".join(k) if isinstance(k, tuple) else k): _read_bedgraph(p, chrom, start, end)
                for k, p in paths.items()}


def _track_dict(source) -> dict | None:
    """{group: track path} when `source` names tracks: a dict of track files, a folder, or one track
    file; None when it names cells to count (an AnnData, an .h5ad, fragment files, {sample: file})."""
    from ._inputs import is_path

    if isinstance(source, dict):
        paths = list(source.values())
        tracks = [is_path(p) and track_suffix(os.path.basename(os.fspath(p))) is not None for p in paths]
        if paths and all(tracks):
            return {("_".join(map(str, k)) if isinstance(k, tuple) else str(k)): os.fspath(p)
                    for k, p in source.items()}
        if any(tracks):
            raise ValueError("source mixes track files (.bw, .bedgraph, ...) with other values: give {group: track} "
                             "or {sample: fragment file}")
        return None
    if is_path(source):
        if os.path.isdir(source):
            return _tracks_of_folder(Path(source))
        name = os.path.basename(os.fspath(source))
        suffix = track_suffix(name)
        if suffix is not None and len(suffix) < len(name):
            return {name[: -len(suffix)]: os.fspath(source)}
    return None


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
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _fmt_position(x: float, span: int) -> str:
    if span >= 2_000_000:
        return f"{x / 1e6:,.1f} Mb"
    if span >= 20_000:
        return f"{x / 1e6:,.3f} Mb"
    return f"{x:,.0f}"


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _y_range(records) -> tuple[float, float]:
    """(lowest, highest) value of a row's records; 0 when there are none."""
    values = [v for _, _, v in records if math.isfinite(v)]
    return (min(values, default=0.0), max(values, default=0.0))


@literal_text
def tracks(source: Input | dict, region: str | tuple[str, int, int], groups: str | list | None = None, *,
           groupby: Groupby | None = None, genes: PathLike | None = None, highlight: Any = None,
           shared_y: bool = True, colors: dict | None = None, output: PathLike | None = None,
           bin_size: int | None = None, normalization: str | None = "CPM", chrom_sizes: ChromSizes = None,
           flank: int | None = None, title: str | None = None, width: float = 3.5, track_height: float = 0.42,
           ylabel: str | None = None, n_jobs: int = 2, dpi: float = 300) -> Figure:
    """Browser-track figure of one locus: one filled track per group, optional gene models and highlights.

    Parameters
    ----------
    source
        ``{group: path}`` as returned by :func:`fragcov.export_coverage` (or :func:`fragcov.compare_groups`), a
        folder of bigWig/bedGraph tracks (group = file name without its suffix), one track file, or an
        AnnData / ``.h5ad`` path / fragment file(s) (a path, a list, or ``{sample: path}``) with ``groupby``
        (the window is then computed through the core with ``regions=``, no whole-genome export).
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
        exons as boxes, introns as lines with strand arrows, the gene name below; at most 8 rows of genes,
        a note counts the others.
    highlight
        Region strings or ``(chrom, start, end)`` tuples shaded on every track.
    shared_y
        One y scale for all tracks (default), else one per track; each row states its range. Tracks with
        negative values (log2 or difference tracks of ``compare_groups``) get a range symmetric around 0.
    colors
        ``{group: colour}``; default ``adata.uns[f"{groupby}_colors"]`` when present (as scanpy), else tab10.
    output
        Figure file; ``.png``, ``.pdf`` or ``.svg`` (format by suffix), written under a temporary name and
        renamed when complete. ``None``: not saved.
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
    fmt = figure_output(output)  # before anything is drawn or read (docs/spec.md 15.6)
    width = _positive(width, "width")
    track_height = _positive(track_height, "track_height")
    dpi = _positive(dpi, "dpi")
    from ._inputs import is_path, open_input

    if is_path(source) and not os.path.isdir(cast("PathLike", source)):
        open_input(source, "source")  # a missing path is a FileNotFoundError before anything else
    # a bare Figure (no pyplot): drawn headless whatever the session's backend; Jupyter shows it when returned
    from matplotlib.figure import Figure

    models = read_genes(genes) if genes is not None else None
    chrom, start, end, default_title = resolve_region(region, models, flank)
    window = _Window(chrom, start, end, _highlight_list(highlight))
    values, color_of, computed_label = _window_tracks(source, groupby, groups, window, bin_size, normalization,
                                                      chrom_sizes, n_jobs)
    values = _chosen(values, groups)
    if colors:
        color_of.update({str(k): v for k, v in colors.items()})
    for i, g in enumerate(values):
        color_of.setdefault(g, _DEFAULT_COLORS[i % len(_DEFAULT_COLORS)])

    genes_drawn = None if models is None else _GeneRows.of(models, window)
    gene_h = 0.0 if genes_drawn is None else 0.32 * genes_drawn.n_rows
    top_h, axis_h = 0.28, 0.32
    height = top_h + len(values) * track_height + gene_h + axis_h
    fig = Figure(figsize=(width, height), dpi=100)
    left, right = 0.27, 0.97
    y = 1 - top_h / height
    for g, rec, y_axis in _y_axes(values, shared_y):
        h = track_height / height
        _draw_track(fig.add_axes((left, y - h, right - left, h * 0.88)), g, rec, window, y_axis, color_of[g])
        y -= h
    if genes_drawn is not None:
        h = gene_h / height
        _draw_genes(fig.add_axes((left, y - h, right - left, h)), genes_drawn, window)
        y -= h
    _draw_coordinates(fig.add_axes((left, max(0.0, y - axis_h / height), right - left, axis_h / height * 0.9)),
                      window)
    fig.text(0.02, 1 - 0.06 / height, str(title) if title is not None else default_title, ha="left", va="top",
             fontsize=_FONT + 0.5, weight="bold")
    ylabel = computed_label if ylabel is None else ylabel
    if ylabel:
        fig.text(right, 1 - 0.06 / height, str(ylabel), ha="right", va="top", fontsize=_FONT - 1.5, color="#555555")
    if fmt is not None:  # output names a figure file
        save_figure(fig, output, fmt, dpi)
    return fig


_FONT = 7  # points: a one-column figure


@dataclass(frozen=True)
class _Window:
    """The locus drawn, and the highlighted spans on its chromosome."""

    chrom: str
    start: int
    end: int
    highlight: list

    @property
    def span(self) -> int:
        return self.end - self.start

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(s, e) for c, s, e in self.highlight if c == self.chrom]


def _window_tracks(source: Any, groupby: Any, groups: Any, window: _Window, bin_size: int | None,
                   normalization: str | None, chrom_sizes: Any, n_jobs: int) -> tuple[dict, dict, str | None]:
    """(group -> records in the window, group -> colour of the source, the y label of computed tracks):
    read from track files (a dict of paths, a folder, one file), or computed from the fragments."""
    chrom, start, end = window.chrom, window.start, window.end
    track_paths = _track_dict(source)
    if track_paths is not None:
        return {g: read_track_window(p, chrom, start, end) for g, p in track_paths.items()}, {}, None
    if groupby is None:
        raise ValueError("an AnnData, .h5ad or fragment-file source needs groupby (the obs column or groups "
                         "table); or pass the dict export_coverage returned, or a folder of bigWigs")
    if bin_size is None:
        bin_size = max(10, int(round(window.span / 500, -1)) or 10)
    values = _on_the_fly(source, groupby, None if groups is None else list(groups), chrom, start, end,
                         bin_size, normalization, chrom_sizes, n_jobs)
    return values, _uns_colors(source, groupby), f"{normalization or 'count'}, {bin_size}-bp bins"


def _chosen(values: dict, groups: Any) -> dict:
    """The tracks of ``groups``, in that order (default: all)."""
    if groups is not None:
        groups = [groups] if isinstance(groups, str) else list(groups)
        missing = [g for g in groups if str(g) not in values]
        if missing:
            raise ValueError(f"group(s) {', '.join(map(repr, missing))} not found; available: "
                             f"{', '.join(map(repr, values))}")
        values = {str(g): values[str(g)] for g in groups}
    if not values:
        raise ValueError("no track to draw")
    return values


def _y_axes(values: dict, shared_y: bool) -> Iterator[tuple[str, list, tuple[bool, float]]]:
    """(group, records, (symmetric, top)) of each track: docs/spec.md 15.4, [0, top], or [-top, top]
    when a track (shared_y: any track) has negative values."""
    ranges = {g: _y_range(rec) for g, rec in values.items()}
    shared_low = min(lo for lo, _ in ranges.values())
    shared_top = max(max(abs(lo), hi) if shared_low < 0 else hi for lo, hi in ranges.values())
    for g, rec in values.items():
        lo, hi = ranges[g]
        symmetric = (shared_low < 0) if shared_y else (lo < 0)
        top = shared_top if shared_y else (max(abs(lo), hi) if symmetric else hi)
        yield g, rec, (symmetric, top if top > 0 else 1.0)


def _draw_track(ax: Any, group: str, records: list, window: _Window, y_axis: tuple[bool, float],
                color: str) -> None:
    """One filled track row, labelled with its group and y range."""
    symmetric, top = y_axis
    for s, e in window.spans:
        ax.axvspan(s, e, color="#f2d95c", alpha=0.35, linewidth=0, zorder=0)
    if records:
        xx: list[float] = []
        vv: list[float] = []
        prev = None
        for (s, e, val) in records:
            if prev is not None and s > prev:  # gaps between records are 0: break the polygon there
                xx += [prev, s]
                vv += [0.0, 0.0]
            xx += [s, e]
            vv += [val, val]
            prev = e
        ax.fill_between(np.array(xx, dtype=float), np.array(vv), 0, color=color, linewidth=0, zorder=2)
    ax.set_xlim(window.start, window.end)
    ax.set_ylim(-top if symmetric else 0, top)
    ax.set_axis_off()
    ax.text(-0.03, 0.4, group, transform=ax.transAxes, ha="right", va="center", fontsize=_FONT, color="#222222")
    label = f"[{_fmt_value(-top)} - {_fmt_value(top)}]" if symmetric else f"[0-{_fmt_value(top)}]"
    ax.text(0.005, 0.97, label, transform=ax.transAxes, ha="left", va="top", fontsize=_FONT - 1.5,
            color="#555555")
    ax.axhline(0, color="#bbbbbb", linewidth=0.4, zorder=1)
    ax.set_label(f"track:{group}")


@dataclass(frozen=True)
class _GeneRows:
    """The gene models in the window, in rows; at most MAX_GENE_ROWS rows, the rest counted."""

    rows: list
    hidden: int

    @classmethod
    def of(cls, models: list[Transcript], window: _Window) -> _GeneRows:
        start, end = window.start, window.end
        in_window = [t for t in models if t.chrom == window.chrom and t.end > start and t.start < end]
        rows = _gene_rows(in_window, start, end, min_gap=window.span * 0.12)
        hidden = sum(len(r) for r in rows[MAX_GENE_ROWS:]) if len(rows) > MAX_GENE_ROWS else 0
        return cls(rows[:MAX_GENE_ROWS], hidden)

    @property
    def n_rows(self) -> int:
        """Rows drawn: at least one, and one for the "+N more genes" note."""
        return max(1, len(self.rows)) + (1 if self.hidden else 0)


def _draw_genes(gax: Any, genes: _GeneRows, window: _Window) -> None:
    """Gene models: exons as boxes, introns as lines with strand arrows, names below."""
    from matplotlib.patches import Rectangle

    start, end = window.start, window.end
    n_rows = len(genes.rows) + (1 if genes.hidden else 0)
    gax.set_xlim(start, end)
    gax.set_ylim(max(1, n_rows) - 0.35, -0.45)
    gax.set_axis_off()
    gax.set_label("genes")
    for s, e in window.spans:
        gax.axvspan(s, e, color="#f2d95c", alpha=0.35, linewidth=0, zorder=0)
    for r, row in enumerate(genes.rows):
        for t in row:
            gax.plot([max(t.start, start), min(t.end, end)], [r, r], color="#333333", linewidth=0.6,
                     zorder=1, solid_capstyle="butt")
            for s, e in t.exons:
                gax.add_patch(Rectangle((s, r - 0.16), e - s, 0.32, color="#333333", linewidth=0, zorder=2))
            _strand_arrows(gax, t, r, start, end)
            mid = (max(t.start, start) + min(t.end, end)) / 2
            gax.text(mid, r + 0.22, t.gene, ha="center", va="top", fontsize=_FONT - 1, style="italic",
                     color="#222222", clip_on=False)
    if genes.hidden:  # the rows past MAX_GENE_ROWS: counted, not drawn (a 5,000-gene window stays a figure)
        gax.text((start + end) / 2, len(genes.rows), f"+{genes.hidden:,} more genes", ha="center", va="center",
                 fontsize=_FONT - 1, color="#555555")
    gax.text(-0.03, 1 - 0.45 / (max(1, n_rows) + 0.1), "genes", transform=gax.transAxes, ha="right",
             va="center", fontsize=_FONT, color="#222222")


def _draw_coordinates(cax: Any, window: _Window) -> None:
    """The coordinate axis: start and end of the window and a scale bar."""
    start, end, span = window.start, window.end, window.span
    cax.set_xlim(start, end)
    cax.set_ylim(0, 1)
    cax.set_axis_off()
    cax.set_label("coordinates")
    bar = _scale_bar(span)
    cax.plot([end - bar, end], [0.72, 0.72], color="#222222", linewidth=1)
    cax.text(end - bar / 2, 0.55, _fmt_bar(bar), ha="center", va="top", fontsize=_FONT - 1)
    cax.text(start, 0.55, f"{window.chrom}:{_fmt_position(start, span)}", ha="left", va="top", fontsize=_FONT - 1)


def _highlight_list(highlight):
    if highlight is None:
        return []
    if isinstance(highlight, str) or (isinstance(highlight, tuple) and len(highlight) == 3
                                      and not isinstance(highlight[0], (tuple, list))):
        highlight = [highlight]
    out = []
    for h in highlight:
        if isinstance(h, str):
            out.append(_region_from_string(h, "highlight"))
        elif isinstance(h, (tuple, list)) and len(h) == 3:
            out.append((str(h[0]), _whole(h[1], "highlight start", 0), _whole(h[2], "highlight end", 0)))
        else:
            raise TypeError(f"highlight regions are 'chrom:start-end' strings or (chrom, start, end) tuples, got {h!r}")
    return out


def _strand_arrows(ax, t: Transcript, row: int, start: int, end: int) -> None:
    if t.strand not in ("+", "-"):
        return
    lo, hi = max(t.start, start), min(t.end, end)
    n = int((hi - lo) / (end - start) * 12)
    marker = ">" if t.strand == "+" else "<"
    grid = np.linspace(lo, hi, n + 2)[1:-1]
    xs = [x for x in grid if not any(s <= x < e for s, e in t.exons)]
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
