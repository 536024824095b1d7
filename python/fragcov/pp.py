"""SnapATAC2-style namespace: ``fragcov.pp.import_fragments``."""
from ._import import import_fragments

__all__ = ["import_fragments"]
