"""Python arguments -> the core's options.

Only type conversion and suffix reading happen here; every range, spelling and
default lives in the C++ core (``_core.ExportOptions`` and its ``validate()``,
docs/spec.md section 1), so Python and C++ users get the same checks.
"""
from __future__ import annotations

import os

import numpy as np

from . import _core
from . import _settings as settings

DEFAULTS = _core.ExportOptions()  # the core's defaults, used in the public signatures

# docs/spec.md section 4.2: the suffix names the format, optionally followed by a codec
_FORMAT_SUFFIXES = {".bw": "bigwig", ".bigwig": "bigwig", ".bedgraph": "bedgraph", ".bg": "bedgraph",
                    ".bdg": "bedgraph"}
_CODEC_SUFFIXES = {".gz": "gzip", ".zst": "zstandard", ".zstd": "zstandard"}

_INT_BITS = {"n_jobs": 32, "compression_level": 32}  # C int fields; the others are int64


def as_int(name: str, value, *, allow_none: bool = False) -> int | None:
    """``value`` as a Python int that fits the core's field, or a clear TypeError/OverflowError."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number{' or None' if allow_none else ''}, got {value!r}")
    value = int(value)
    bits = _INT_BITS.get(name, 64)
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise OverflowError(f"{name}={value} is out of range")
    return value


def as_size(name: str, value, *, allow_none: bool = False) -> int | None:
    """as_int, but a float with a whole value is accepted too (``2.7e9``: genome sizes are
    written that way, e.g. deepTools' effective genome sizes), docs/spec.md 1.3.22."""
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        if not np.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    return as_int(name, value, allow_none=allow_none)


def codec_of_suffix(suffix: str) -> str | None:
    """'gzip' / 'zstandard' when ``suffix`` ends in a codec extension, else None."""
    s = suffix.lower()
    return next((c for ext, c in _CODEC_SUFFIXES.items() if s.endswith(ext)), None)


def _format_of_suffix(suffix: str) -> str | None:
    s = suffix.lower()
    codec = codec_of_suffix(s)
    base = s[: s.rfind(".")] if codec else s
    return next((f for ext, f in _FORMAT_SUFFIXES.items() if base.endswith(ext)), None)


def export_options(*, bin_size, normalization, min_frag_length, max_frag_length, counting_strategy,
                   smooth_base, suffix, output_format, compression, compression_level, tempdir,
                   n_jobs, effective_genome_size=None, norm_by=None, scale_factor=1.0,
                   ceiling=None) -> _core.ExportOptions:
    """The checked core options for export_coverage's arguments (ValueError/TypeError/OverflowError)."""
    o = _core.ExportOptions()
    o.bin_size = as_int("bin_size", bin_size)
    o.normalization = "none" if normalization is None else _text("normalization", normalization)
    o.min_frag_length = as_int("min_frag_length", min_frag_length, allow_none=True)
    o.max_frag_length = as_int("max_frag_length", max_frag_length, allow_none=True)
    o.counting_strategy = _text("counting_strategy", counting_strategy)
    o.smooth_base = as_int("smooth_base", smooth_base, allow_none=True)
    suffix = _text("suffix", suffix)
    if output_format is None:
        fmt = _format_of_suffix(suffix)
        if fmt is None:
            raise ValueError(
                f"cannot tell the output format from suffix {suffix!r}: use a suffix ending in .bw, .bigwig, "
                ".bedgraph, .bg or .bdg (optionally + .gz or .zst), or pass output_format='bigwig' or 'bedgraph'")
        o.output_format = fmt
    else:
        o.output_format = _text("output_format", output_format)
    if compression is not None:
        o.compression = _text("compression", compression)
    elif output_format is None or o.output_format == "bedgraph":
        # the suffix's codec; for a bigWig suffix such as '.bw.gz' validate() explains the clash
        o.compression = codec_of_suffix(suffix) or "none"
    o.compression_level = as_int("compression_level", compression_level, allow_none=True)
    if tempdir is not None and not isinstance(tempdir, (str, os.PathLike)):
        raise TypeError(f"tempdir must be a path or None, got {type(tempdir).__name__}")
    o.tempdir = "" if tempdir is None else os.fspath(tempdir)
    o.n_jobs = as_int("n_jobs", n_jobs)
    o.memory_budget_bytes = settings.memory_budget_bytes
    o.effective_genome_size = as_size("effective_genome_size", effective_genome_size, allow_none=True)
    o.norm_by = norm_by is not None
    o.scale_factor = as_float("scale_factor", scale_factor)
    o.ceiling = as_int("ceiling", ceiling, allow_none=True)
    o.validate()
    return o


def as_float(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def _text(name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value
