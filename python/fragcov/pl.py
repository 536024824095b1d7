"""fragcov.pl: figures. ``tracks``: a browser-track figure of one locus (one row per group, gene
models); ``profile`` and ``heatmap``: figures of a ``fragcov.profile`` result. matplotlib and
pyBigWig come with ``pip install 'fragcov[plot]'``.

Each is loaded when first used (PEP 562), so ``import fragcov`` stays light, and each is the
drawing function itself, with its own signature and help: ``help(fragcov.pl.tracks)``.
"""
from __future__ import annotations

import importlib

# name -> the module that defines it
_HOMES = {"tracks": "._plot", "profile": "._profile_plot", "heatmap": "._profile_plot"}
__all__ = list(_HOMES)  # loaded on first use by __getattr__


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __package__), name)
    raise AttributeError(f"module 'fragcov.pl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
