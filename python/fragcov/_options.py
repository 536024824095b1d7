"""Python values -> the core's types: whole numbers that fit the core's fields, numbers, text, and the
format and codec a file suffix names. Only type conversion happens here; every range, spelling and
default lives in the C++ core (``_core.ExportOptions`` and its ``validate()``, docs/spec.md section 1),
so Python and C++ users get the same checks. ``_request.TrackOptions`` applies them field by field.
"""
from __future__ import annotations

from typing import Any, overload

import numpy as np

from . import _core

DEFAULTS = _core.ExportOptions()  # the core's defaults, used in the public signatures

# docs/spec.md section 4.2: the suffix names the format, optionally followed by a codec
_FORMAT_SUFFIXES = {".bw": "bigwig", ".bigwig": "bigwig", ".bedgraph": "bedgraph", ".bg": "bedgraph",
                    ".bdg": "bedgraph"}
_CODEC_SUFFIXES = {".gz": "gzip", ".zst": "zstandard", ".zstd": "zstandard"}

_INT_BITS = {"n_jobs": 32, "compression_level": 32}  # C int fields; the others are int64


@overload
def as_int(name: str, value: Any) -> int: ...
@overload
def as_int(name: str, value: Any, *, allow_none: bool) -> int | None: ...
def as_int(name: str, value: Any, *, allow_none: bool = False) -> int | None:
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


@overload
def as_size(name: str, value: Any) -> int: ...
@overload
def as_size(name: str, value: Any, *, allow_none: bool) -> int | None: ...
def as_size(name: str, value: Any, *, allow_none: bool = False) -> int | None:
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


def format_of_suffix(suffix: str) -> str | None:
    s = suffix.lower()
    codec = codec_of_suffix(s)
    base = s[: s.rfind(".")] if codec else s
    return next((f for ext, f in _FORMAT_SUFFIXES.items() if base.endswith(ext)), None)


def as_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value
