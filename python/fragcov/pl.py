"""fragcov.pl: figures of exported tracks (docs/spec.md section 15)."""
from __future__ import annotations


def tracks(*args, **kwargs):
    from ._plot import tracks as _tracks

    return _tracks(*args, **kwargs)


__all__ = ["tracks"]
