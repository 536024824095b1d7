"""fragcov.pl: figures of exported tracks and of profiles (docs/spec.md sections 15, 16.8)."""
from __future__ import annotations


def tracks(*args, **kwargs):
    from ._plot import tracks as _tracks

    return _tracks(*args, **kwargs)


def profile(*args, **kwargs):
    from ._profile_plot import profile as _profile

    return _profile(*args, **kwargs)


def heatmap(*args, **kwargs):
    from ._profile_plot import heatmap as _heatmap

    return _heatmap(*args, **kwargs)


profile.__doc__ = "Mean profile of each group around the anchors of a fragcov.profile result (spec 16.8.1)."
heatmap.__doc__ = "One heatmap panel per group of a fragcov.profile result, as plotHeatmap draws (spec 16.8.2)."

__all__ = ["tracks", "profile", "heatmap"]
