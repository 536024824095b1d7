"""SnapATAC2-style namespace: ``fragcov.pp.import_fragments``."""
try:
    from ._import import import_fragments
except ImportError:  # pragma: no cover
    pass

__all__ = ["import_fragments"]
