"""One request value: the arguments of export_coverage, compare_groups, profile and their commands,
checked once, in the order of docs/spec.md 6.2, before any input is opened.

``TrackOptions`` is the Python face of the core's ``ExportOptions``: one field per core option, of the
same name, each with its check (its default is the core's); ``TrackOptions.core`` is the one place that
maps it onto the core. Adding an option: one field here (its check), the parameter of the public functions
that take it, its words once in ``_docs.py``, and the core's field with its row of the core's option table
(docs/architecture.md, "Adding an option end to end").
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

from . import _core
from . import _settings as settings
from ._fragment_file import fragment_inputs
from ._options import DEFAULTS, as_float, as_int, as_size, codec_of_suffix, format_of_suffix, text
from ._regions import parse_regions

# (name, value, the request's arguments) -> the checked value
Check = Callable[[str, Any, Mapping[str, Any]], Any]


_CORE_DEFAULT = object()  # a field's default is the core's (ExportOptions), its one home


def _option(check: Check, default: Any = _CORE_DEFAULT, core: bool = True) -> Any:
    """A field checked by ``check``; ``core``: a field of the core's ExportOptions of the same name.
    ``default``: given only where Python's differs from the core's (None: read from the suffix)."""
    return field(default=default, metadata={"check": check, "core": core})


def _default(f: Any) -> Any:
    return getattr(DEFAULTS, f.name) if f.default is _CORE_DEFAULT else f.default


def _int(name: str, value: Any, given: Mapping[str, Any]) -> int:
    return as_int(name, value)


def _int_or_none(name: str, value: Any, given: Mapping[str, Any]) -> int | None:
    return as_int(name, value, allow_none=True)


def _size_or_none(name: str, value: Any, given: Mapping[str, Any]) -> int | None:
    return as_size(name, value, allow_none=True)


def _float(name: str, value: Any, given: Mapping[str, Any]) -> float:
    return as_float(name, value)


def _text(name: str, value: Any, given: Mapping[str, Any]) -> str:
    return text(name, value)


def _normalization(name: str, value: Any, given: Mapping[str, Any]) -> str:
    return "none" if value is None else text(name, value)


def _output_format(name: str, value: Any, given: Mapping[str, Any]) -> str:
    """Given, or read from the suffix (docs/spec.md 4.2)."""
    if value is not None:
        return text(name, value)
    suffix = given["suffix"]
    fmt = format_of_suffix(suffix)
    if fmt is None:
        raise ValueError(
            f"cannot tell the output format from suffix {suffix!r}: use a suffix ending in .bw, .bigwig, "
            ".bedgraph, .bg or .bdg (optionally + .gz or .zst), or pass output_format='bigwig' or 'bedgraph'")
    return fmt


def _compression(name: str, value: Any, given: Mapping[str, Any]) -> str:
    if value is not None:
        return text(name, value)
    if given["output_format"] is None or given["output_format"] == "bedgraph":
        # the suffix's codec; for a bigWig suffix such as '.bw.gz' the core's validate() explains the clash
        return codec_of_suffix(given["suffix"]) or "none"
    return DEFAULTS.compression


def _folder(name: str, value: Any, given: Mapping[str, Any]) -> str:
    """A folder path, or "" for the system's temporary folder."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path or None, got {type(value).__name__}")
    return "" if value is None else os.fspath(value)


def _given(name: str, value: Any, given: Mapping[str, Any]) -> Any:
    return value


def _per_cell(name: str, value: Any, given: Mapping[str, Any]) -> bool:
    """norm_by: the core only needs to know there is one (the request keeps the quantity)."""
    return value is not None


def with_defaults(function: Callable, arguments: Mapping[str, Any]) -> dict:
    """``arguments`` completed by the defaults of ``function``'s signature (a command's flags give some)."""
    import inspect

    defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()
                if p.default is not p.empty}
    return {**defaults, **arguments}


@dataclass(frozen=True)
class TrackOptions:
    """How every track is computed and written (docs/spec.md 1.3): the core's ExportOptions, field for
    field, in the order spec 6.2 checks them. A field's default is the core's unless given (the public
    signatures default to the core's too; a missing argument, e.g. profile's compression, takes it)."""

    bin_size: int = _option(_int)
    smooth_base: int | None = _option(_int_or_none)
    min_frag_length: int | None = _option(_int_or_none)
    max_frag_length: int | None = _option(_int_or_none)
    normalization: str = _option(_normalization)  # the core's spelling: "none"
    counting_strategy: str = _option(_text)
    suffix: str = _option(_text, ".bw", core=False)
    output_format: str = _option(_output_format, None)
    compression: str = _option(_compression, None)
    compression_level: int | None = _option(_int_or_none)
    n_jobs: int = _option(_int)
    tempdir: str = _option(_folder)
    effective_genome_size: int | None = _option(_size_or_none)
    norm_by: bool = _option(_per_cell, None)  # the request keeps the quantity; the core: is there one
    scale_factor: float = _option(_float)
    ceiling: int | None = _option(_int_or_none)
    compare: str = _option(_text)  # compare_groups' operation
    pseudocount: float = _option(_float)

    @classmethod
    def build(cls, arguments: Mapping[str, Any]) -> TrackOptions:
        """Every field from ``arguments`` (its default where absent), checked in field order; then the
        core's own checks (ranges, spellings: ``ExportOptions.validate``)."""
        given = {f.name: arguments.get(f.name, _default(f)) for f in fields(cls)}
        options = cls(**{f.name: f.metadata["check"](f.name, given[f.name], given) for f in fields(cls)})
        options.core().validate()
        return options

    def core(self, single_end: bool = False) -> _core.ExportOptions:
        """The core's options: the one place Python's options become the core's. Single-end reads have
        no fragment length (docs/spec.md 2.2): their length bounds are dropped."""
        o = _core.ExportOptions()
        for f in fields(self):
            if f.metadata["core"]:
                setattr(o, f.name, getattr(self, f.name))
        o.memory_budget_bytes = settings.memory_budget_bytes
        if single_end:
            o.min_frag_length = o.max_frag_length = None
        return o


@dataclass(frozen=True)
class FragmentFileOptions:
    """The keywords that only apply when the input is a fragment file (docs/spec.md section 13); they
    are checked as the file is opened (its reader settings), and refused for any other input."""

    chrom_sizes: Any = None
    min_num_fragments: int | None = None
    is_paired: bool = True
    shift_left: int = 0
    shift_right: int = 0
    min_kept_fraction: float = 0.01

    @classmethod
    def build(cls, arguments: Mapping[str, Any]) -> FragmentFileOptions:
        return cls(**{f.name: arguments.get(f.name, f.default) for f in fields(cls)})

    def given(self) -> list[str]:
        """The keywords that differ from their defaults."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]


@dataclass(frozen=True)
class ExportRequest:
    """What to export and how: built and checked once by ``build`` (docs/spec.md 6.2: the options, then
    ``max_cells``, ``random_state`` and the normalization regions; the input, groups and output paths
    are checked as they are opened, in the driver)."""

    adata: Any
    groupby: Any
    selections: Any
    options: TrackOptions
    fragment_file: FragmentFileOptions
    norm_by: Any = None
    max_cells: int | None = None
    random_state: int = 0
    split_by: Any = None
    blacklist: list | None = None
    include_for_norm: list | None = None
    exclude_for_norm: list | None = None
    regions: Any = None
    out_dir: Any = "./"
    prefix: Any = ""
    sample_sep: Any = "#"
    fragment_inputs: Any = None  # the fragment files adata names (_fragment_file.fragment_inputs), or None

    @classmethod
    def build(cls, arguments: Mapping[str, Any]) -> ExportRequest:
        """The request of a public function's arguments (``locals()``: names as in its signature). An
        input path is opened as what it is first (docs/spec.md 6.6): a missing one is a FileNotFoundError
        before any rule about the other arguments."""
        inputs = fragment_inputs(arguments["adata"])
        options = TrackOptions.build(arguments)
        max_cells = as_int("max_cells", arguments.get("max_cells"), allow_none=True)
        if max_cells is not None and max_cells < 1:
            raise ValueError(f"max_cells must be >= 1 or None, got {max_cells}")
        random_state = as_int("random_state", arguments.get("random_state", 0))
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        regions = {name: parse_regions(arguments.get(name), name)
                   for name in ("blacklist", "include_for_norm", "exclude_for_norm")}
        rest = {f.name: arguments[f.name] for f in fields(cls)
                if f.name in arguments and f.name not in regions and f.name not in ("max_cells", "random_state")}
        return cls(**rest, **regions, options=options, fragment_file=FragmentFileOptions.build(arguments),
                   fragment_inputs=inputs,
                   max_cells=max_cells, random_state=random_state)
