"""Command line: ``fragcov export-coverage | compare | profile | plot | export-fragments | import-fragments |
demo`` (also ``python -m fragcov``); docs/spec.md sections 10, 14.7, 15.5, 16.9."""
from __future__ import annotations

import argparse
import difflib
import inspect
import logging
import re
import sys
import traceback
import warnings
from typing import Any, Mapping

from ._notices import INTERRUPTED

def _none_or_int(text: str):
    return None if text.lower() == "none" else int(text)


def _whole_number(text: str) -> int:
    """An integer, also written as a float with a whole value (2.7e9, as in deepTools' docs)."""
    from ._options import as_size

    try:
        return int(text)
    except ValueError:
        try:
            return as_size("value", float(text))
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _none_or_str(text: str):
    return None if text.lower() == "none" else text


def _regions(values):
    """One BED path, or region strings."""
    if values is None:
        return None
    return values[0] if len(values) == 1 and ":" not in values[0] else values


def _add_input_and_groups(p: argparse.ArgumentParser, input_help: str, several: bool = False) -> None:
    p.add_argument("input", help=input_help, nargs="+" if several else None)
    p.add_argument("--groupby", help="obs column holding the groups")
    p.add_argument("--groups", help="TSV of barcode<TAB>group (instead of --groupby)")
    p.add_argument("--selections", nargs="+", metavar="GROUP", help="export only these groups")


def _add_export_options(p: argparse.ArgumentParser, compare: bool = False) -> None:
    """The flags of export_coverage; with ``compare``, those compare_groups takes (its defaults)."""
    from ._compare import compare_groups
    from ._export import export_coverage

    d = {k: v.default for k, v in inspect.signature(compare_groups if compare else export_coverage).parameters.items()}
    _add_normalization_options(p, d, "; each side of a comparison by its own total" if compare else "")
    p.add_argument("--ceiling", type=_none_or_int, default=None, help="cap each cell's count in a bin (ArchR)")
    if not compare:
        _add_track_options(p, d)
    _add_binning_and_output_options(p, d)


def _add_normalization_options(p: argparse.ArgumentParser, d: dict, note: str) -> None:
    """The bins and their normalization, flags of export, compare and profile alike (``d``: the defaults
    of the command's Python function; ``note``: how the command normalizes)."""
    p.add_argument("--bin-size", type=int, default=d["bin_size"], help="bin width in bases (default %(default)s)")
    p.add_argument("--blacklist", help="BED file of regions to drop")
    p.add_argument("--normalization", type=_none_or_str, default=d["normalization"],
                   help=f"RPKM, CPM, BPM, RPGC, n_cells or none (default %(default)s){note}")
    p.add_argument("--effective-genome-size", type=_whole_number, metavar="G",
                   help="RPGC's effective genome size (e.g. 2913022398 for GRCh38)")
    p.add_argument("--scale-factor", type=float, default=d["scale_factor"],
                   help="multiply every value (default %(default)s)")


def _add_track_options(p: argparse.ArgumentParser, d: dict) -> None:
    p.add_argument("--norm-by", metavar="COLUMN",
                   help="scale by 1e4 / the sum of this per-cell column over the track's cells (e.g. ReadsInTSS, "
                        "nFrags): an obs column, or for a fragment file a column of the --groups table (its header "
                        "name, or its number: 3, 4, ...); needs --normalization none")
    p.add_argument("--max-cells", type=_none_or_int, default=None,
                   help="at most this many cells per track, drawn with --random-state")
    p.add_argument("--random-state", type=int, default=d["random_state"], help="seed of --max-cells (default 0)")
    p.add_argument("--split-by", metavar="COLUMN",
                   help="one track per (group, value of this column), e.g. sample: an obs column, or for a "
                        "fragment file a column of the --groups table (its header name, or its number: 3, 4, ...)")


def _add_binning_and_output_options(p: argparse.ArgumentParser, d: dict) -> None:
    p.add_argument("--regions", nargs="+", metavar="REGION",
                   help="write only these chromosomes, chrom:start-end regions, or a BED file")
    p.add_argument("--include-for-norm", nargs="+", metavar="REGION",
                   help="BED file or chrom:start-end regions counted for normalization")
    p.add_argument("--exclude-for-norm", nargs="+", metavar="REGION",
                   help="BED file or chrom:start-end regions not counted for normalization")
    p.add_argument("--min-frag-length", type=_none_or_int, default=d["min_frag_length"],
                   help="drop paired-end fragments shorter than this (default %(default)s; 'none' for no limit)")
    p.add_argument("--max-frag-length", type=_none_or_int, default=d["max_frag_length"],
                   help="drop paired-end fragments longer than this (default %(default)s; 'none' for no limit)")
    p.add_argument("--counting-strategy", choices=["fragment", "insertion"], default=d["counting_strategy"],
                   help="count whole fragments, or their two 1-bp Tn5 insertion sites (default %(default)s)")
    p.add_argument("--smooth-base", type=_none_or_int, default=d["smooth_base"],
                   help="moving-average window in bases, at base resolution (default: no smoothing)")
    p.add_argument("--out-dir", default=d["out_dir"], help="output folder (default %(default)s)")
    p.add_argument("--prefix", default=d["prefix"], help="prepended to every file name (default: none)")
    if d["suffix"] is None:  # compare: the operation names the default
        p.add_argument("--suffix", default=None,
                       help="e.g. .bw, .bedgraph.gz (default .<operation>.bw, e.g. A.log2.bw)")
    else:
        p.add_argument("--suffix", default=d["suffix"],
                       help="e.g. .bw, .bedgraph.gz, .bedgraph.zst (default %(default)s)")
    p.add_argument("--output-format", choices=["bigwig", "bedgraph"], help="default: from --suffix")
    p.add_argument("--compression", choices=["gzip", "zstandard"],
                   help="compress bedGraph text (default: from --suffix, e.g. .gz, .zst)")
    p.add_argument("--compression-level", type=int, help="gzip 1-9 (default 6), zstandard 1-22 (default 3)")
    p.add_argument("--tempdir", help="folder for spill files of large exports (default: system temp folder)")
    p.add_argument("--n-jobs", type=int, default=d["n_jobs"], help="threads, <= 0 for all cores (default %(default)s)")


def _import_defaults() -> dict:
    """import_fragments' defaults: its Python signature is their one home (docs/spec.md 1.8)."""
    from ._import import import_fragments

    return {k: v.default for k, v in inspect.signature(import_fragments).parameters.items()}


def _add_kept_option(p: argparse.ArgumentParser) -> None:
    d = _import_defaults()
    p.add_argument("--min-kept-fraction", type=float, default=d["min_kept_fraction"], metavar="F",
                   help="fragment-file input: fail when fewer than this fraction of a file's lines fit "
                        "--chrom-sizes (the wrong genome, e.g. mm10 for human data); 0 keeps any fraction, "
                        "e.g. to take only chr21 on purpose (default %(default)s)")


def _add_shift_options(p: argparse.ArgumentParser) -> None:
    d = _import_defaults()
    p.add_argument("--shift-left", type=int, default=d["shift_left"],
                   help="fragment-file input: added to every fragment start (Tn5 offset, e.g. 4; "
                        "default %(default)s)")
    p.add_argument("--shift-right", type=int, default=d["shift_right"],
                   help="fragment-file input: added to every fragment end (Tn5 offset, e.g. -5; "
                        "default %(default)s)")


def _arguments(a: argparse.Namespace, function) -> dict:
    """The Python arguments of ``function`` (export_coverage, compare_groups, profile) that the command's
    flags give: the flags are named as the parameters; INPUT and --groupby/--groups become its first two."""
    names = inspect.signature(function).parameters
    arguments = {k: v for k, v in vars(a).items() if k in names}
    for name in ("include_for_norm", "exclude_for_norm"):
        if name in arguments:
            arguments[name] = _regions(arguments[name])
    if "regions" in arguments:
        arguments["regions"] = _output_regions(arguments["regions"])
    if "anchors" in arguments:
        arguments["anchors"] = a.anchors[0] if len(a.anchors) == 1 else a.anchors
    if "single_end" in vars(a):
        arguments["is_paired"] = not a.single_end
    first, second = list(names)[:2]
    values = a.input if isinstance(a.input, list) else [a.input]
    inputs = _fragment_inputs(values)
    if inputs is not None:
        if not a.groups or not a.chrom_sizes:
            raise UsageError("a fragment file as INPUT needs --groups TSV (barcode<TAB>group) "
                             "and --chrom-sizes (file or genome name such as hg38)")
        return dict(arguments, **{first: inputs, second: a.groups})
    # the fragment-file flags are handed on: at their defaults they are unused; given for an .h5ad, the
    # request refuses them by name (docs/spec.md 10.1.4, 13.1), as it does for a Python caller
    a.input = values[0] if len(values) == 1 else values
    return dict(arguments, **{first: a.input, second: _groupby(a)})


def cmd_compare(a) -> dict:
    from ._compare import compare_groups, compare_tracks, comparison_request

    return compare_tracks(comparison_request(_arguments(a, compare_groups)), a.reference)


def _add_profile_options(p: argparse.ArgumentParser) -> None:
    """The flags of fragcov.profile (docs/spec.md section 16.9), with its defaults."""
    from ._profile import profile

    d = {k: v.default for k, v in inspect.signature(profile).parameters.items()}
    p.add_argument("--anchors", nargs="+", required=True, metavar="ANCHORS",
                   help="BED file (strand from column 6), GTF/GFF3 file (one anchor per gene, at its TSS), or "
                        "chrom:start-end region strings")
    p.add_argument("--upstream", type=int, default=d["upstream"],
                   help="bases before the anchor, a multiple of --bin-size (default %(default)s)")
    p.add_argument("--downstream", type=int, default=d["downstream"],
                   help="bases from the anchor on, a multiple of --bin-size (default %(default)s)")
    p.add_argument("--reference-point", default=d["reference_point"],
                   help="anchor base of a BED interval: center, start (TSS: 5' end on its strand) or end (TES) "
                        "(default %(default)s); gene annotations always give the TSS")
    p.add_argument("--matrix", metavar="FILE.gz", help="write deepTools' computeMatrix file (plotHeatmap, "
                                                        "plotProfile read it)")
    p.add_argument("--plot", metavar="FIGURE", help="mean profile of each group (.png, .pdf or .svg)")
    p.add_argument("--enrichment", action="store_true",
                   help="--plot: divide each line by its mean in the window's outermost 100 bases (ArchR's TSS "
                        "enrichment curve)")
    p.add_argument("--heatmap", metavar="FIGURE", help="one heatmap panel per group (.png, .pdf or .svg)")
    _add_normalization_options(p, d, "; each group by its own total")
    p.add_argument("--include-for-norm", nargs="+", metavar="REGION",
                   help="BED file or chrom:start-end regions counted for normalization")
    p.add_argument("--exclude-for-norm", nargs="+", metavar="REGION",
                   help="BED file or chrom:start-end regions not counted for normalization")
    p.add_argument("--min-frag-length", type=_none_or_int, default=d["min_frag_length"],
                   help="drop paired-end fragments shorter than this (default %(default)s)")
    p.add_argument("--max-frag-length", type=_none_or_int, default=d["max_frag_length"],
                   help="drop paired-end fragments longer than this (default %(default)s; 'none' for no limit)")
    p.add_argument("--counting-strategy", choices=["fragment", "insertion"], default=d["counting_strategy"],
                   help="count Tn5 insertion sites or whole fragments (default %(default)s)")
    _add_track_options(p, d)
    p.add_argument("--tempdir", help="folder for spill files (default: system temp folder)")
    p.add_argument("--n-jobs", type=int, default=d["n_jobs"], help="threads, <= 0 for all cores (default %(default)s)")


def _check_profile_outputs(a) -> None:
    """Every output of `fragcov profile` is usable before the input is read (docs/spec.md 16.9)."""
    import os

    from . import _core
    from ._profile_plot import _figure_format

    if not (a.matrix or a.plot or a.heatmap):
        raise UsageError("give at least one of --matrix FILE.gz, --plot FIGURE, --heatmap FIGURE")
    for flag, path in (("--matrix", a.matrix), ("--plot", a.plot), ("--heatmap", a.heatmap)):
        if path is None:
            continue
        if flag == "--matrix":
            _core.check_output_path(path)
        else:
            _figure_format(path)
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{flag}: folder '{folder}' does not exist")


def cmd_profile(a):
    from ._profile import profile, profile_requests, profile_tracks

    # what is read is checked before what is written (docs/spec.md 6.6, 16.9): building the requests opens
    # INPUT (as export_coverage's request does) and reads --anchors; the groups table is opened by the
    # pass, so its path is looked at here by the groups reader's own rule; then the outputs
    requests = profile_requests(_arguments(a, profile))
    if a.groups:
        from ._inputs import regular_file

        regular_file(a.groups, "groups table")
    _check_profile_outputs(a)
    result = profile_tracks(*requests)
    for key, value in result.tss_enrichment.items():
        print("\t".join([*(key if isinstance(key, tuple) else (key,)), f"{value:.4g}"]))
    # the figures are drawn before any file is written, so that one that cannot be drawn (an enrichment
    # without flank signal) leaves no output behind
    from ._profile_plot import _figure_format, _save, heatmap, profile as plot_profile

    figures = []
    if a.plot:
        figures.append((a.plot, plot_profile(result, enrichment=a.enrichment)))
    if a.heatmap:
        figures.append((a.heatmap, heatmap(result)))
    if a.matrix:
        result.to_deeptools(a.matrix, n_jobs=a.n_jobs)
        print(f"wrote {a.matrix}")
    for path, fig in figures:
        _save(fig, path, _figure_format(path), 300)
        print(f"wrote {path}")


def cmd_plot(a):
    from ._plot import tracks

    tracks(a.source, a.region, groupby=a.groupby if not a.groups else _groupby_table(a), groups=a.selections,
           genes=a.genes, highlight=a.highlight, shared_y=a.shared_y, output=a.output, bin_size=a.bin_size,
           normalization=a.normalization, chrom_sizes=a.chrom_sizes, flank=a.flank, title=a.title,
           width=a.width)
    print(f"wrote {a.output}")


def _groupby_table(a):
    from ._fragment_file import is_fragment_file

    if is_fragment_file(a.source):
        return a.groups
    a.input = a.source
    return _groupby(a)


def _output_regions(values):
    """--regions: one BED file or chromosome name stays a string; several values are a list."""
    if values is None:
        return None
    return values[0] if len(values) == 1 else values


def cmd_export_coverage(a) -> dict:
    from ._export import export_coverage, export_tracks
    from ._request import ExportRequest, with_defaults

    return export_tracks(ExportRequest.build(with_defaults(export_coverage, _arguments(a, export_coverage))))


def _fragment_inputs(values: list[str]):
    """INPUT...: one fragment file as is; several as {sample: path} (SAMPLE=PATH, or PATH whose
    sample is its file name without extensions, docs/spec.md 10.1.5); None for .h5ad input."""
    import os

    from ._fragment_file import is_fragment_file, sample_name_of

    if len(values) == 1 and ("=" not in values[0] or os.path.exists(values[0])):
        return values[0] if is_fragment_file(values[0]) else None
    samples: dict[str, str] = {}
    for v in values:
        sample, path = (v.split("=", 1) if "=" in v and not os.path.exists(v) else (sample_name_of(v), v))
        if sample in samples:
            raise UsageError(f"sample {sample!r} is given twice ({samples[sample]}, {path}); name the samples "
                             "with SAMPLE=PATH")
        samples[sample] = path
    if all(v.lower().endswith((".h5ad", ".h5ads", ".h5")) for v in samples.values()):
        return None
    return samples


def _groupby(a):
    """--groupby COLUMN, or the labels of a --groups barcode<TAB>group table in cell order."""
    if a.groups:
        import pandas as pd

        from ._groups import SAMPLE_COLUMNS, barcode_table
        from ._sources import open_source

        table, column = barcode_table(a.groups)
        sample = next((c for c in SAMPLE_COLUMNS if c in table.columns), None)
        if sample is not None:  # rows name the cells sample#barcode, as import_fragments named them
            sep = getattr(a, "sample_sep", "#")
            names = [b if s is None or s != s or b.startswith(f"{s}{sep}") else f"{s}{sep}{b}"
                     for s, b in zip(table[sample].astype(object), table.index)]
            table = table.set_axis(pd.Index(names, dtype=object), axis=0)
            if table.index.has_duplicates:
                raise ValueError(f"--groups names cell {table.index[table.index.duplicated()][0]!r} twice")
        with open_source(a.input) as source:
            barcodes = source.obs().index.astype(str)
        return [None if v is None or v != v else v for v in table[column].reindex(barcodes).astype(object)]
    if not a.groupby:
        raise UsageError("give --groupby COLUMN (an obs column) or --groups TSV")
    return a.groupby


def cmd_export_fragments(a) -> dict:
    from ._export_fragments import export_fragments

    return export_fragments(a.input, _groupby(a), selections=a.selections, ids=a.ids,
                            min_frag_length=a.min_frag_length, max_frag_length=a.max_frag_length,
                            out_dir=a.out_dir, prefix=a.prefix, suffix=a.suffix, compression=a.compression,
                            compression_level=a.compression_level)


def cmd_import_fragments(a):
    from ._import import import_fragments

    import os

    one = len(a.fragments) == 1 and ("=" not in a.fragments[0] or os.path.exists(a.fragments[0]))
    fragments = a.fragments[0] if one else _fragment_inputs(a.fragments)  # several: {sample: path}
    if fragments is None:
        raise UsageError("import-fragments reads fragment files, not .h5ad files")
    adata = import_fragments(fragments, a.chrom_sizes, file=a.output, is_paired=not a.single_end,
                             groups=a.groups, sample_sep=a.sample_sep,
                             min_num_fragments=a.min_num_fragments, sorted_by_barcode=not a.unsorted,
                             whitelist=a.whitelist, chrM=tuple(a.chrm), tempdir=a.tempdir, n_jobs=a.n_jobs,
                             shift_left=a.shift_left, shift_right=a.shift_right,
                             min_kept_fraction=a.min_kept_fraction)
    assert not isinstance(adata, list)  # one file, or a dict of samples: one AnnData
    print(f"wrote {a.output}: {adata.n_obs} cells")


def cmd_demo(a):
    from .demo import run_demo

    run_demo(a.out_dir)


def _examples(*commands: str) -> str:
    """The 'examples:' block at the end of a command's --help."""
    return "examples:\n" + "\n".join(f"  {c}" for c in commands)


COMMANDS = ("export-coverage", "compare", "profile", "plot", "export-fragments", "import-fragments", "demo")


class UsageError(Exception):
    """A wrong combination of command-line arguments."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line 'fragcov: error: ...' and exit status 2, like every other error;
    an unknown flag names the closest known one."""

    subcommands: Mapping[str, argparse.ArgumentParser]  # name -> subparser, for messages in its flags

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_args(self, args=None, namespace=None):
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.subcommands.get(getattr(ns, "command", None) or "")
            known = _option_strings(self) + (_option_strings(command) if command is not None else [])
            hints = [f"{x.split('=')[0]} (did you mean {match[0]}?)" if (match := difflib.get_close_matches(
                     x.split("=")[0], known, n=1, cutoff=0.6)) else x for x in extras]
            (command or self).error(f"unrecognized arguments: {' '.join(hints)}")
        return ns


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [o for action in parser._actions for o in action.option_strings if o.startswith("--")]


def _global_flags() -> argparse.ArgumentParser:
    """-q/--quiet and --debug, accepted after the subcommand too (spec 10.6). SUPPRESS: when not
    given there, the subcommand leaves the value given before it in place."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress bars or log messages")
    flags.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the Python traceback of an error")
    return flags


# Python argument -> flag, where the CLI's flag is not the argument's name in kebab case
# (errors come from the Python API and name its arguments; the CLI speaks in flags, spec 10.5.3)
_FLAG_OF_ARGUMENT = {
    "sorted_by_barcode=False": "--unsorted", "sorted_by_barcode": "--unsorted",
    "is_paired=False": "--single-end", "is_paired": "--single-end",
    "chrM": "--chrm", "fragment_file": "FRAGMENTS", "adata": "INPUT",
}


def in_flags(message: str, parser: argparse.ArgumentParser | None) -> str:
    """An error message of the Python API in the words of the command line: ``name=value`` and
    ``snake_case`` argument names become the subcommand's flags (``normalization=None`` ->
    ``--normalization none``, ``effective_genome_size`` -> ``--effective-genome-size``)."""
    if parser is None:
        return message
    flags = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs:
            flags[action.dest] = longs[0]

    def value_text(v: str) -> str:
        v = v.strip("'\"")
        return "none" if v == "None" else v

    def replace(m: re.Match) -> str:
        word, value = m.group(1), m.group(3)
        after = message[m.end():m.end() + 2]
        if m.group(2) is None and after[:1] in tuple("./-") and after[1:].isalnum():
            return m.group(0)  # part of a file name
        if m.group(0) in _FLAG_OF_ARGUMENT:
            return _FLAG_OF_ARGUMENT[m.group(0)]
        if word in _FLAG_OF_ARGUMENT and value is None:
            return _FLAG_OF_ARGUMENT[word]
        flag = flags.get(word)
        if flag is None or (value is None and m.group(2) is None and "_" not in word):
            return m.group(0)  # an ordinary word (e.g. "groups"), not an argument
        if value is None:
            return flag
        if value in ("True", "False") and word in flags:
            return flag
        return f"{flag} {value_text(value)}"

    message = re.sub(r"(?<![\w./'-])([A-Za-z][A-Za-z0-9_]*)(=('[^']*'|\"[^\"]*\"|[^\s,;)]+)?)?", replace, message)
    return re.sub(r"(?<![\w'])None\b", "none", message)  # the flags' spelling of None


def _export_coverage_arguments(p: argparse.ArgumentParser) -> None:
    _add_input_and_groups(p, ".h5ad/.h5ads file(s), or fragment file(s) (.tsv.gz) with --groups and "
                             "--chrom-sizes; several fragment files (one per sample) as SAMPLE=PATH, or PATH "
                             "(sample = file name without extensions)", several=True)
    p.add_argument("--sample-sep", default="#",
                   help="several fragment files: separator of sample#barcode names in --groups (default "
                        "%(default)s); a 'sample' column of --groups names the sample instead")
    p.add_argument("--chrom-sizes", help="fragment-file input: chrom.sizes file or genome name (hg38, mm10, ...)")
    p.add_argument("--single-end", action="store_true", help="fragment-file input holds single-end reads")
    p.add_argument("--min-num-fragments", type=int, default=None,
                   help="fragment-file input: drop barcodes with fewer fragments, as import does (default: keep "
                        "every barcode of --groups, which already names the cells; a threshold reads the file twice)")
    _add_shift_options(p)
    _add_kept_option(p)
    _add_export_options(p)
    p.set_defaults(func=cmd_export_coverage)


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    _add_input_and_groups(p, ".h5ad/.h5ads file(s), or fragment file(s) (.tsv.gz) with --groups and "
                             "--chrom-sizes; several fragment files (one per sample) as SAMPLE=PATH, or PATH "
                             "(sample = file name without extensions)", several=True)
    p.add_argument("--sample-sep", default="#",
                   help="several fragment files: separator of sample#barcode names in --groups (default "
                        "%(default)s); a 'sample' column of --groups names the sample instead")
    p.add_argument("--reference", metavar="GROUP",
                   help="compare every group with this group instead of with the rest of the cells")
    p.add_argument("--operation", choices=["log2", "ratio", "difference"], default="log2",
                   help="log2((g + p) / (r + p)), (g + p) / (r + p) or g - r (default %(default)s)")
    p.add_argument("--pseudocount", type=float, default=0.1,
                   help="p, in the units of the normalized values (default %(default)s; > 0 for log2 and ratio)")
    p.add_argument("--chrom-sizes", help="fragment-file input: chrom.sizes file or genome name (hg38, mm10, ...)")
    p.add_argument("--single-end", action="store_true", help="fragment-file input holds single-end reads")
    p.add_argument("--min-num-fragments", type=int, default=None,
                   help="fragment-file input: drop barcodes with fewer fragments (default: keep every barcode)")
    _add_shift_options(p)
    _add_kept_option(p)
    _add_export_options(p, compare=True)
    p.set_defaults(func=cmd_compare)


def _profile_arguments(p: argparse.ArgumentParser) -> None:
    _add_input_and_groups(p, ".h5ad/.h5ads file(s), or fragment file(s) with --groups and --chrom-sizes (several "
                             "as SAMPLE=PATH)", several=True)
    p.add_argument("--sample-sep", default="#", help="several fragment files: separator of sample#barcode names "
                                                     "(default %(default)s)")
    p.add_argument("--chrom-sizes", help="fragment-file input: chrom.sizes file or genome name (hg38, mm10, ...)")
    p.add_argument("--single-end", action="store_true", help="fragment-file input holds single-end reads")
    p.add_argument("--min-num-fragments", type=int, default=None,
                   help="fragment-file input: drop barcodes with fewer fragments (default: keep every barcode)")
    _add_shift_options(p)
    _add_kept_option(p)
    _add_profile_options(p)
    p.set_defaults(func=cmd_profile)


def _plot_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="folder of bigWig/bedGraph tracks, an .h5ad/.h5ads file (with --groupby), or a "
                                  "fragment file (with --groups and --chrom-sizes)")
    p.add_argument("--region", required=True,
                   help="chrom:start-end (commas allowed), or a gene name of --genes")
    p.add_argument("--groupby", help="obs column holding the groups (.h5ad source)")
    p.add_argument("--groups", help="TSV of barcode<TAB>group (fragment file source, or instead of --groupby)")
    p.add_argument("--selections", nargs="+", metavar="GROUP", help="draw only these groups, in this order")
    p.add_argument("--genes", help="gene annotation: GTF, GFF3 or BED12 file (plain or .gz)")
    p.add_argument("--highlight", nargs="+", metavar="REGION", help="chrom:start-end regions to shade")
    y = p.add_mutually_exclusive_group()
    y.add_argument("--shared-y", dest="shared_y", action="store_true", default=True,
                   help="one y scale for every track (default)")
    y.add_argument("--per-track-y", dest="shared_y", action="store_false", help="each track its own y scale")
    p.add_argument("--bin-size", type=int, default=None,
                   help="on-the-fly tracks: bin width in bases (default: about 1,000 bins over the window)")
    p.add_argument("--normalization", type=_none_or_str, default="CPM",
                   help="on-the-fly tracks: RPKM, CPM, BPM or none (default %(default)s)")
    p.add_argument("--chrom-sizes", help="fragment-file source: chrom.sizes file or genome name")
    p.add_argument("--flank", type=int, default=None,
                   help="bases added on each side of a gene given as --region (default: 20%% of its length, "
                        "at least 2,000)")
    p.add_argument("--title", help="figure title (default: the region)")
    p.add_argument("--width", type=float, default=3.5, help="figure width in inches (default %(default)s: one column)")
    p.add_argument("--output", "-o", required=True, help="output figure; .png, .pdf or .svg")
    p.set_defaults(func=cmd_plot)


def _export_fragments_arguments(p: argparse.ArgumentParser) -> None:
    _add_input_and_groups(p, ".h5ad/.h5ads file")
    p.add_argument("--ids", help="obs column used as the cell id (default: obs names)")
    p.add_argument("--min-frag-length", type=_none_or_int, help="drop fragments shorter than this (default: none)")
    p.add_argument("--max-frag-length", type=_none_or_int, help="drop fragments longer than this (default: none)")
    p.add_argument("--out-dir", default="./", help="output folder (default %(default)s)")
    p.add_argument("--prefix", default="", help="prepended to every file name (default: none)")
    p.add_argument("--suffix", default=".bed.zst", help=".bed.zst, .bed.gz or .bed (default %(default)s)")
    p.add_argument("--compression", choices=["gzip", "zstandard"], help="default: from --suffix")
    p.add_argument("--compression-level", type=int, help="gzip 1-9 (default 6), zstandard 1-22 (default 3)")
    p.set_defaults(func=cmd_export_fragments)


def _import_fragments_arguments(p: argparse.ArgumentParser) -> None:
    d = _import_defaults()
    p.add_argument("fragments", nargs="+",
                   help="fragment file; several (one per sample) as SAMPLE=PATH or PATH (sample = file name "
                        "without extensions) are imported into one .h5ad with cells named SAMPLE#BARCODE")
    p.add_argument("--chrom-sizes", required=True, help="chrom.sizes file or genome name (hg38, mm10, ...)")
    p.add_argument("--output", required=True, help="output .h5ad")
    p.add_argument("--groups", metavar="TSV",
                   help="barcode<TAB>group[<TAB>more columns] table whose columns are added to obs (first column "
                        "'group' unless a header line names it), so 'export-coverage OUTPUT --groupby group' works")
    p.add_argument("--sample-sep", default=d["sample_sep"],
                   help="several files: separator of SAMPLE#BARCODE cell names (default %(default)s)")
    p.add_argument("--single-end", action="store_true", help="the file holds single-end reads (6th column: strand)")
    p.add_argument("--min-num-fragments", type=int, default=d["min_num_fragments"],
                   help="drop cells with fewer fragments (default %(default)s)")
    p.add_argument("--unsorted", action="store_true", help="the file is not sorted by barcode")
    p.add_argument("--whitelist", help="file with one barcode per line")
    p.add_argument("--chrm", nargs="+", default=list(d["chrM"]),
                   help="mitochondrial chromosome names (default: %(default)s)")
    _add_shift_options(p)
    _add_kept_option(p)
    p.add_argument("--tempdir", help="folder for the sort files of --unsorted input (default: system temp folder)")
    p.add_argument("--n-jobs", type=int, default=d["n_jobs"],
                   help="BGZF decompression threads, and parsing threads with --whitelist; <= 0 for all cores "
                        "(default %(default)s)")
    p.set_defaults(func=cmd_import_fragments)


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="fragcov-demo", help="output folder (default %(default)s)")
    p.set_defaults(func=cmd_demo)


def build_parser(command: str | None = "all") -> _Parser:
    """Every sub-command; `command`: fill in the arguments of that one only (None: of none). Their
    defaults come from the Python functions' signatures, whose modules import numpy and pandas, which
    `fragcov --version` and `fragcov --help` do not need (docs/spec.md 1.1.1)."""
    from . import __version__

    parser = _Parser(prog="fragcov", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Coverage tracks per cell group from single-cell ATAC-seq fragments (bigWig / "
                                 "bedGraph), a faster drop-in for snapatac2.ex.export_coverage.",
                     epilog=_examples("fragcov demo --out-dir demo",
                                      "fragcov export-coverage data.h5ad --groupby cell_type --out-dir tracks",
                                      "fragcov export-coverage --help     # every command explains itself"))
    parser.add_argument("--version", action="version", version=f"fragcov {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or log messages")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parser.subcommands = sub.choices  # name -> subparser, for messages in its flags
    _add = sub.add_parser
    def add_parser(name: str, **kw: Any) -> _Parser:
        return _add(name, parents=[_global_flags()],  # type: ignore[list-item]
                    formatter_class=argparse.RawDescriptionHelpFormatter, **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("export-coverage", help="write one coverage track per group",
                       description="Write one coverage track per cell group (bigWig, or bedGraph plain, .gz or "
                                   ".zst by --suffix) from an .h5ad/.h5ads file (fragments streamed from disk) or "
                                   "straight from 10x fragment files with a barcode<TAB>group table, in one pass. "
                                   "Per group: fragments are length-filtered, counted per bin (whole fragments or "
                                   "their two Tn5 insertion sites), normalized (RPKM by default) and optionally "
                                   "smoothed. Prints group<TAB>path per track. Files appear complete or not at all.",
                       epilog=_examples(
                           "fragcov export-coverage data.h5ad --groupby cell_type --out-dir tracks",
                           "fragcov export-coverage fragments.tsv.gz --groups barcode_to_cluster.tsv \\\n"
                           "    --chrom-sizes hg38 --suffix .bedgraph.zst --normalization CPM --bin-size 1",
                           "fragcov export-coverage s1=a.tsv.gz s2=b.tsv.gz --groups cells.tsv --chrom-sizes hg38 "
                           "--split-by sample",
                           "fragcov export-coverage data.h5ad --groupby cell_type --normalization RPGC "
                           "--effective-genome-size 2.7e9"))
    if command in ("all", "export-coverage"):
        _export_coverage_arguments(p)

    p = sub.add_parser("compare", help="write one group-vs-rest (or group-vs-group) comparison track per group",
                       description="Write one track per cell group of log2((group + p) / (rest + p)) (or ratio, "
                                   "difference), both sides normalized by their own totals (CPM by default), from "
                                   "an .h5ad/.h5ads file or a fragment file, in one pass. The rest is every other "
                                   "labelled cell; --reference GROUP compares with that group instead (it gets no "
                                   "track). File names keep the operation: GROUP.log2.bw, also with --suffix.",
                       epilog=_examples(
                           "fragcov compare data.h5ad --groupby cell_type --out-dir compare",
                           "fragcov compare data.h5ad --groupby cell_type --reference 'CD4 Naive' "
                           "--operation difference",
                           "fragcov compare fragments.tsv.gz --groups barcode_to_cluster.tsv --chrom-sizes hg38 "
                           "--suffix .bedgraph.gz",
                           "fragcov compare s1=s1.tsv.gz s2=s2.tsv.gz --groups cells.tsv --chrom-sizes hg38"))
    if command in ("all", "compare"):
        _compare_arguments(p)

    p = sub.add_parser("profile", help="profiles, heatmaps and TSS enrichment of each group around anchors",
                       description="Per group, the mean normalized coverage around each anchor (a BED, GTF/GFF3 or "
                                   "regions) in one pass over an .h5ad or fragment file: deepTools' matrix file "
                                   "(--matrix), a profile plot, a heatmap, and each group's TSS enrichment "
                                   "(printed).",
                       epilog=_examples(
                           "fragcov profile data.h5ad --groupby cell_type --anchors genes.gtf --plot tss.png "
                           "--enrichment",
                           "fragcov profile fragments.tsv.gz --groups barcode_to_cluster.tsv --chrom-sizes hg38 "
                           "\\\n    --anchors peaks.bed --matrix matrix.gz --heatmap heatmap.pdf"))
    if command in ("all", "profile"):
        _profile_arguments(p)

    p = sub.add_parser("plot", help="draw a browser-track figure of a locus (one row per group, gene models)",
                       description="Draw one filled coverage track per group at a locus, with gene models, from "
                                   "a folder of bigWig/bedGraph tracks or computed on the fly from an .h5ad or "
                                   "fragment file (only the window is computed; normalization is over the whole "
                                   "genome). Needs the plot extra: pip install 'fragcov[plot]'.",
                       epilog=_examples(
                           "fragcov plot fragments.tsv.gz --groups barcode_to_cluster.tsv --chrom-sizes chrom.sizes "
                           "\\\n    --region chr21:11,900,000-11,960,000 --genes genes.gtf --output locus.png",
                           "fragcov plot tracks/ --region MONO1 --genes genes.gtf --output mono1.pdf"))
    if command in ("all", "plot"):
        _plot_arguments(p)

    p = sub.add_parser("export-fragments", help="write one fragment BED file per group (for peak callers)",
                       description="Write the fragments of each cell group to a BED file "
                                   "(chrom, start, end, cell id, 1), the lines of snapatac2.ex.export_fragments, "
                                   "for peak callers such as MACS3. Prints group<TAB>path per file.",
                       epilog=_examples(
                           "fragcov export-fragments data.h5ad --groupby cell_type --out-dir fragments "
                           "--suffix .bed.gz"))
    if command in ("all", "export-fragments"):
        _export_fragments_arguments(p)

    p = sub.add_parser("import-fragments", help="fragment file -> .h5ad (SnapATAC2 layout)",
                       description="Import a 10x fragment file (plain, gzip, bgzip or zstd; chrom, start, end, "
                                   "barcode[, count]) into an .h5ad in SnapATAC2's layout (fragments in "
                                   "obsm['fragment_paired'], QC columns n_fragment, frac_dup, frac_mito), like "
                                   "snapatac2.pp.import_fragments, with flat memory. Cells with fewer than "
                                   "--min-num-fragments fragments are dropped; lines on chromosomes missing from "
                                   "--chrom-sizes are skipped (a warning counts them; almost all skipped is an "
                                   "error, see --min-kept-fraction). Prints 'wrote OUTPUT: N cells'.",
                       epilog=_examples(
                           "fragcov import-fragments fragments.tsv.gz --chrom-sizes hg38 --output data.h5ad "
                           "--unsorted   # 10x files are sorted by position",
                           "fragcov import-fragments fragments.tsv.gz --chrom-sizes hg38 --output data.h5ad "
                           "--groups barcode_to_cluster.tsv",
                           "fragcov import-fragments s1=a.tsv.gz s2=b.tsv.gz --chrom-sizes mm10 --output atlas.h5ad"))
    if command in ("all", "import-fragments"):
        _import_fragments_arguments(p)

    p = sub.add_parser("demo", help="export tracks from a small bundled dataset",
                       description="Import the bundled demo (60 cells of 3 cell types on chr21/chr22, shipped in "
                                   "the package) and write one bigWig (bin 10, RPKM) and one .bedgraph.gz (bin 100, "
                                   "CPM, insertions) per cell type into --out-dir; prints where they are.",
                       epilog=_examples("fragcov demo --out-dir demo"))
    if command in ("all", "demo"):
        _demo_arguments(p)
    return parser


# What a user can cause: each is reported as one line and exit status 2
# (docs/spec.md section 10); anything else is a bug and keeps its traceback.
USER_ERRORS = (UsageError, ValueError, TypeError, OSError, OverflowError, ImportError, RuntimeError)


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning for the CLI: one line, no Python internals."""
    print(f"fragcov: warning: {' '.join(str(message).split())}", file=sys.stderr)




def main(argv=None) -> int:
    """Exit status 0, 2 (a user error, one line) or 130 (Ctrl-C, one line, at any moment from here
    on: while the flags are read, modules imported, input read or tracks written; spec 10.5)."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        debug = "--debug" in argv
        show = warnings.showwarning
        if not debug:  # --debug keeps Python's format (file, line, source)
            warnings.showwarning = _print_warning
        try:
            status = _run(argv, debug)
            sys.stdout.flush()  # buffered output meets a closed stdout here, in the handler below, not at exit
            return status
        finally:
            warnings.showwarning = show
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (`fragcov ... | head -1`): the files are written
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


def _run(argv, debug: bool) -> int:
    # the first word that is not a flag names the sub-command (the global flags take no value)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = None
    try:
        args = parser.parse_args(argv)
        from ._settings import set_quiet

        if args.quiet:
            set_quiet(True)
        else:
            logging.basicConfig(level=logging.INFO, format="%(message)s")
        result = args.func(args)
    except USER_ERRORS as err:
        if debug:
            traceback.print_exc()
        message = " ".join(str(err).split()) or type(err).__name__  # one line
        if not isinstance(err, UsageError) and args is not None:
            message = in_flags(message, parser.subcommands.get(args.command))
        print(f"fragcov: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    if isinstance(result, dict):
        for key, path in result.items():
            print("\t".join([*(key if isinstance(key, tuple) else (key,)), path]))
    return 0
